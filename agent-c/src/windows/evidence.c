/* Evidence files on Windows (see evidence.h). */
#include "evidence.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define TEMP_ATTEMPTS 16

static volatile LONG temp_counter; /* only touched with InterlockedIncrement */

wchar_t *ms__win_wide(const char *utf8, ms_status *st)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (n <= 0) {
        *st = ms__fail(MS_E_INVALID_ARGUMENT, "path is not valid UTF-8");
        return NULL;
    }
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (!w) {
        *st = ms__fail(MS_E_NO_MEMORY, "path conversion");
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n);
    *st = MS_OK;
    return w;
}

/* A DACL with one entry: full control for the token's user, nothing
 * inherited from the folder. */
typedef struct owner_only {
    SECURITY_ATTRIBUTES sa;
    SECURITY_DESCRIPTOR sd;
    unsigned char user[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    unsigned char acl[sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + SECURITY_MAX_SID_SIZE];
} owner_only;

static ms_status owner_only_init(owner_only *o)
{
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return ms__win_fail(GetLastError(), "OpenProcessToken");
    DWORD size = 0;
    BOOL ok = GetTokenInformation(token, TokenUser, o->user, sizeof o->user, &size);
    DWORD err = GetLastError();
    CloseHandle(token);
    if (!ok)
        return ms__win_fail(err, "GetTokenInformation(TokenUser)");
    PSID sid = ((TOKEN_USER *)(void *)o->user)->User.Sid;
    ACL *acl = (ACL *)(void *)o->acl;
    if (!InitializeAcl(acl, sizeof o->acl, ACL_REVISION) ||
        !AddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, sid) ||
        !InitializeSecurityDescriptor(&o->sd, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorDacl(&o->sd, TRUE, acl, FALSE) ||
        !SetSecurityDescriptorControl(&o->sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
        return ms__win_fail(GetLastError(), "building the evidence file's DACL");
    o->sa.nLength = sizeof o->sa;
    o->sa.lpSecurityDescriptor = &o->sd;
    o->sa.bInheritHandle = FALSE;
    return MS_OK;
}

static bool is_link(DWORD attributes)
{
    return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_REPARSE_POINT);
}

ms_status ms__win_evidence_open(const char *utf8_path, bool force, ms_win_evidence *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->file = INVALID_HANDLE_VALUE;
    ev->force = force;
    ms_status st;
    ev->final_path = ms__win_wide(utf8_path, &st);
    if (!ev->final_path)
        return st;
    DWORD attributes = GetFileAttributesW(ev->final_path);
    if (is_link(attributes)) {
        st = ms__fail(MS_E_EXISTS, "%s is a link: refusing to write evidence through it", utf8_path);
        goto fail;
    }
    if (attributes != INVALID_FILE_ATTRIBUTES && (!force || (attributes & FILE_ATTRIBUTE_DIRECTORY))) {
        st = ms__fail(MS_E_EXISTS, "%s already exists", utf8_path);
        goto fail;
    }
    owner_only security;
    st = owner_only_init(&security);
    if (st != MS_OK)
        goto fail;
    size_t len = wcslen(ev->final_path);
    size_t cap = len + 40;
    ev->temp_path = malloc(cap * sizeof(wchar_t));
    if (!ev->temp_path) {
        st = ms__fail(MS_E_NO_MEMORY, "temporary path");
        goto fail;
    }
    DWORD err = ERROR_FILE_EXISTS;
    for (int attempt = 0; attempt < TEMP_ATTEMPTS && ev->file == INVALID_HANDLE_VALUE; attempt++) {
        _snwprintf(ev->temp_path, cap, L"%ls.partial-%lu-%ld", ev->final_path, (unsigned long)GetCurrentProcessId(),
                   (long)InterlockedIncrement(&temp_counter));
        ev->temp_path[cap - 1] = L'\0';
        ev->file = CreateFileW(ev->temp_path, GENERIC_READ | GENERIC_WRITE | DELETE, 0, &security.sa, CREATE_NEW,
                               FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
        if (ev->file == INVALID_HANDLE_VALUE) {
            err = GetLastError();
            if (err != ERROR_FILE_EXISTS && err != ERROR_ALREADY_EXISTS)
                break;
        }
    }
    if (ev->file == INVALID_HANDLE_VALUE) {
        st = err == ERROR_FILE_EXISTS || err == ERROR_ALREADY_EXISTS
                 ? ms__fail(MS_E_EXISTS, "no free temporary name next to %s", utf8_path)
                 : ms__win_fail(err, "creating a temporary file next to %s", utf8_path);
        goto fail;
    }
    return MS_OK;
fail:
    free(ev->temp_path);
    free(ev->final_path);
    memset(ev, 0, sizeof *ev);
    ev->file = INVALID_HANDLE_VALUE;
    return st;
}

ms_status ms__win_evidence_write(ms_win_evidence *ev, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        DWORD chunk = len > (1u << 30) ? (1u << 30) : (DWORD)len;
        DWORD wrote = 0;
        if (!WriteFile(ev->file, p, chunk, &wrote, NULL) || wrote == 0) {
            DWORD err = GetLastError();
            return ms__win_fail(err == ERROR_SUCCESS ? ERROR_WRITE_FAULT : err, "writing evidence");
        }
        p += wrote;
        len -= wrote;
    }
    return MS_OK;
}

static void release(ms_win_evidence *ev)
{
    free(ev->temp_path);
    free(ev->final_path);
    memset(ev, 0, sizeof *ev);
    ev->file = INVALID_HANDLE_VALUE;
}

void ms__win_evidence_abort(ms_win_evidence *ev)
{
    if (ev->file && ev->file != INVALID_HANDLE_VALUE)
        CloseHandle(ev->file);
    if (ev->temp_path)
        DeleteFileW(ev->temp_path);
    release(ev);
}

ms_status ms__win_evidence_commit(ms_win_evidence *ev)
{
    if (!FlushFileBuffers(ev->file)) {
        ms_status st = ms__win_fail(GetLastError(), "flushing evidence");
        ms__win_evidence_abort(ev);
        return st;
    }
    CloseHandle(ev->file);
    ev->file = INVALID_HANDLE_VALUE;
    /* The final name may have appeared meanwhile: never replace it unless
     * asked, never replace a link. */
    if (is_link(GetFileAttributesW(ev->final_path))) {
        ms__win_evidence_abort(ev);
        return ms__fail(MS_E_EXISTS, "the output path became a link while dumping");
    }
    DWORD flags = MOVEFILE_WRITE_THROUGH | (ev->force ? MOVEFILE_REPLACE_EXISTING : 0);
    if (!MoveFileExW(ev->temp_path, ev->final_path, flags)) {
        DWORD err = GetLastError();
        ms_status st = err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS
                           ? ms__fail(MS_E_EXISTS, "the output path was created while dumping")
                           : ms__win_fail(err, "renaming the finished evidence file");
        ms__win_evidence_abort(ev);
        return st;
    }
    release(ev);
    return MS_OK;
}

ms_status ms__win_check_free_space(const char *utf8_path, uint64_t need)
{
    ms_status st;
    wchar_t *path = ms__win_wide(utf8_path, &st);
    if (!path)
        return st;
    /* GetDiskFreeSpaceExW wants a directory: cut at the last separator. */
    wchar_t *slash = wcsrchr(path, L'\\');
    wchar_t *fwd = wcsrchr(path, L'/');
    if (fwd && (!slash || fwd > slash))
        slash = fwd;
    if (slash)
        slash[1] = L'\0';
    ULARGE_INTEGER avail;
    BOOL ok = GetDiskFreeSpaceExW(slash ? path : NULL, &avail, NULL, NULL);
    DWORD err = GetLastError();
    free(path);
    if (!ok)
        return ms__win_fail(err, "GetDiskFreeSpaceExW for %s", utf8_path);
    if (avail.QuadPart < need)
        return ms__fail(MS_E_NO_SPACE, "%llu bytes needed for %s, %llu free", (unsigned long long)need, utf8_path,
                        (unsigned long long)avail.QuadPart);
    return MS_OK;
}
