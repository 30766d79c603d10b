/* Raw and minidump process dumps on Windows (see dump.h). */
#include "../common/bytes.h"
#include "dump.h"
#include "evidence.h"

#include <bcrypt.h>
#include <dbghelp.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (1u << 20) /* one reused read buffer */
#define PAGE 4096u

typedef struct planned {
    uint64_t start, end;
    uint32_t perms;
    int32_t kind;
    DWORD protect, type;
    char *path;
    uint64_t keep; /* bytes that go into the file */
    uint64_t file_offset;
    uint64_t bytes_read;
    const char *status;
    const char *reason;
    char sha256[65];
} planned;

typedef struct plan {
    planned *r;
    size_t n, cap;
    uint64_t max_region;
    uint64_t total;
    ms_status err;
} plan;

static const char *skip_reason(DWORD protect)
{
    if (protect & PAGE_GUARD)
        return "guard page: reading it would fire the guard";
    if ((protect & 0xffu) == PAGE_NOACCESS)
        return "no access";
    if (!(ms__win_perms(protect) & MS_PERM_READ))
        return "execute-only";
    return "not readable";
}

static int collect(const ms_win_region *wr, void *user_data)
{
    plan *p = user_data;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        planned *grown = realloc(p->r, cap * sizeof *grown);
        if (!grown) {
            p->err = ms__fail(MS_E_NO_MEMORY, "region plan");
            return 1;
        }
        p->r = grown;
        p->cap = cap;
    }
    planned *r = &p->r[p->n];
    memset(r, 0, sizeof *r);
    r->start = wr->region.start;
    r->end = wr->region.end;
    r->perms = wr->region.perms;
    r->kind = wr->region.kind;
    r->protect = wr->mbi.Protect;
    r->type = wr->mbi.Type;
    r->path = _strdup(wr->region.path);
    if (!r->path) {
        p->err = ms__fail(MS_E_NO_MEMORY, "region plan");
        return 1;
    }
    p->n++;
    uint64_t size = r->end - r->start;
    if (!ms__win_readable(wr->mbi.State, wr->mbi.Protect)) {
        r->status = "skipped";
        r->reason = skip_reason(wr->mbi.Protect);
        return 0;
    }
    r->keep = p->max_region && size > p->max_region ? p->max_region : size;
    r->status = r->keep < size ? "truncated" : "ok";
    r->reason = r->keep < size ? "cut at the per-region cap" : "";
    p->total += r->keep;
    return 0;
}

static void plan_free(plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->r[i].path);
    free(p->r);
    memset(p, 0, sizeof *p);
}

static ms_status plan_regions(ms_agent *agent, HANDLE h, uint64_t max_region, plan *p)
{
    memset(p, 0, sizeof *p);
    p->max_region = max_region;
    ms_status st = ms__win_region_walk(agent, h, collect, p);
    if (st == MS_E_STOPPED && p->err != MS_OK)
        st = p->err;
    if (st != MS_OK)
        plan_free(p);
    return st;
}

static bool process_gone(HANDLE h)
{
    DWORD code;
    return GetExitCodeProcess(h, &code) && code != STILL_ACTIVE;
}

/* Reads len bytes at addr into buf; unreadable pages become zeros. Returns
 * the bytes actually read. Windows reports ERROR_PARTIAL_COPY, Wine
 * ERROR_NOACCESS: both just mean "not these pages". */
static uint64_t read_filled(HANDLE h, uint64_t addr, uint8_t *buf, size_t len)
{
    SIZE_T got = 0;
    if (ReadProcessMemory(h, (LPCVOID)(uintptr_t)addr, buf, len, &got) && got == len)
        return len;
    uint64_t total = 0;
    for (size_t off = 0; off < len;) {
        size_t n = PAGE - (size_t)((addr + off) % PAGE);
        if (n > len - off)
            n = len - off;
        got = 0;
        if (ReadProcessMemory(h, (LPCVOID)(uintptr_t)(addr + off), buf + off, n, &got) && got == n)
            total += n;
        else
            memset(buf + off, 0, n);
        off += n;
    }
    return total;
}

typedef struct sha256 {
    BCRYPT_ALG_HANDLE alg;
    BCRYPT_HASH_HANDLE hash;
} sha256;

static ms_status hash_begin(sha256 *s)
{
    LONG nt = BCryptCreateHash(s->alg, &s->hash, NULL, 0, NULL, 0, 0);
    return nt < 0 ? ms__fail(MS_E_INTERNAL, "BCryptCreateHash: 0x%08lx", (unsigned long)nt) : MS_OK;
}

static ms_status hash_end(sha256 *s, char hex[65])
{
    unsigned char digest[32];
    LONG nt = BCryptFinishHash(s->hash, digest, sizeof digest, 0);
    BCryptDestroyHash(s->hash);
    s->hash = NULL;
    if (nt < 0)
        return ms__fail(MS_E_INTERNAL, "BCryptFinishHash: 0x%08lx", (unsigned long)nt);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return MS_OK;
}

static ms_status dump_region(HANDLE h, planned *r, uint8_t *buf, sha256 *sha, ms_win_evidence *ev,
                             uint64_t *offset)
{
    r->file_offset = *offset;
    ms_status st = hash_begin(sha);
    if (st != MS_OK)
        return st;
    bool partial = false;
    for (uint64_t done = 0; done < r->keep;) {
        size_t n = r->keep - done > CHUNK ? CHUNK : (size_t)(r->keep - done);
        uint64_t got = read_filled(h, r->start + done, buf, n);
        r->bytes_read += got;
        if (got < n) {
            if (process_gone(h)) {
                BCryptDestroyHash(sha->hash);
                return ms__fail(MS_E_NO_SUCH_PROCESS, "the process exited during the dump");
            }
            partial = true;
        }
        LONG nt = BCryptHashData(sha->hash, buf, (ULONG)n, 0);
        if (nt < 0) {
            BCryptDestroyHash(sha->hash);
            return ms__fail(MS_E_INTERNAL, "BCryptHashData: 0x%08lx", (unsigned long)nt);
        }
        st = ms__win_evidence_write(ev, buf, n);
        if (st != MS_OK) {
            BCryptDestroyHash(sha->hash);
            return st;
        }
        done += n;
        *offset += n;
    }
    if (partial) {
        r->status = "partial";
        r->reason = "some pages could not be read; they are zeros in the file";
    }
    return hash_end(sha, r->sha256);
}

/* Growable text for the manifest. */
typedef struct text {
    char *p;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(t->p, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->p = grown;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void putf(text *t, const char *fmt, ...) MS_PRINTF(2, 3);

static void putf(text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        t->failed = true;
    else
        put(t, buf, (size_t)n);
}

/* A JSON string, names written as every agent writes them (bytes.h): a
 * backslash of a Windows path stays one unless the name holds the text \x. */
static void put_json_string(text *t, const char *s)
{
    ms_bytes b = {0};
    ms__bytes_json_string(&b, s);
    if (b.failed)
        t->failed = true;
    else
        put(t, (const char *)b.p, b.len);
    ms__bytes_free(&b);
}

static const char *type_name(DWORD type)
{
    switch (type) {
    case MEM_IMAGE: return "image";
    case MEM_MAPPED: return "mapped";
    default: return "private";
    }
}

static ms_status write_manifest(const char *path, int64_t pid, const plan *p,
                                const ms_win_dump_options *o, ms_win_evidence *ev)
{
    text t = {0};
    putf(&t, "{\"format\":\"memsentry-raw\",\"version\":1,\"os\":\"windows\",\"pid\":%" PRId64 ",\"data\":", pid);
    const char *base = strrchr(path, '\\');
    const char *fwd = strrchr(path, '/');
    if (fwd && (!base || fwd > base))
        base = fwd;
    put_json_string(&t, base ? base + 1 : path);
    putf(&t, ",\"max_region_size\":%" PRIu64 ",\"regions\":[\n", o->max_region_size);
    for (size_t i = 0; i < p->n; i++) {
        const planned *r = &p->r[i];
        char perms[5] = {r->perms & MS_PERM_READ ? 'r' : '-', r->perms & MS_PERM_WRITE ? 'w' : '-',
                         r->perms & MS_PERM_EXEC ? 'x' : '-', r->perms & MS_PERM_PRIVATE ? 'p' : 's', 0};
        putf(&t,
             "{\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64 "\",\"perms\":\"%s\",\"kind\":\"%s\","
             "\"type\":\"%s\",\"protect\":\"0x%lx\",\"path\":",
             r->start, r->end, perms, ms_region_kind_name(r->kind), type_name(r->type), (unsigned long)r->protect);
        put_json_string(&t, r->path);
        putf(&t, ",\"file_offset\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"bytes_read\":%" PRIu64 ",\"status\":\"%s\"",
             r->file_offset, r->keep, r->bytes_read, r->status);
        if (r->reason[0]) {
            put(&t, ",\"reason\":", 10);
            put_json_string(&t, r->reason);
        }
        if (r->keep)
            putf(&t, ",\"sha256\":\"%s\"", r->sha256);
        put(&t, i + 1 < p->n ? "},\n" : "}\n", i + 1 < p->n ? 3 : 2);
    }
    put(&t, "]}\n", 3);
    if (t.failed) {
        free(t.p);
        return ms__fail(MS_E_NO_MEMORY, "manifest");
    }
    ms_status st = ms__win_evidence_write(ev, t.p, t.len);
    free(t.p);
    return st;
}

static ms_status open_pair(const char *path, bool force, ms_win_evidence *data, ms_win_evidence *manifest,
                           char **manifest_path)
{
    size_t len = strlen(path);
    *manifest_path = malloc(len + 6);
    if (!*manifest_path)
        return ms__fail(MS_E_NO_MEMORY, "manifest path");
    memcpy(*manifest_path, path, len);
    memcpy(*manifest_path + len, ".json", 6);
    ms_status st = ms__win_evidence_open(path, force, data);
    if (st != MS_OK)
        return st;
    st = ms__win_evidence_open(*manifest_path, force, manifest);
    if (st != MS_OK)
        ms__win_evidence_abort(data);
    return st;
}

ms_status ms__win_dump_raw(ms_agent *agent, int64_t pid, const char *path, const ms_win_dump_options *options,
                           ms_win_dump_summary *summary)
{
    ms_win_dump_options o = options ? *options
                                    : (ms_win_dump_options){.max_region_size = MS_WIN_DUMP_DEFAULT_MAX_REGION};
    ms_win_dump_summary sum;
    memset(&sum, 0, sizeof sum);
    HANDLE h;
    ms_status st = ms__win_open_process(agent, pid, PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, &h);
    if (st != MS_OK)
        return st;
    plan p;
    ms_win_evidence data = {.file = INVALID_HANDLE_VALUE}, manifest = {.file = INVALID_HANDLE_VALUE};
    char *manifest_path = NULL;
    uint8_t *buf = NULL;
    sha256 sha = {0};
    st = plan_regions(agent, h, o.max_region_size, &p);
    if (st != MS_OK) {
        CloseHandle(h);
        return st;
    }
    st = ms__win_check_free_space(path, p.total + 64 * (uint64_t)p.n + 4096);
    if (st == MS_OK)
        st = open_pair(path, o.force, &data, &manifest, &manifest_path);
    if (st == MS_OK && !(buf = malloc(CHUNK)))
        st = ms__fail(MS_E_NO_MEMORY, "dump buffer");
    if (st == MS_OK) {
        LONG nt = BCryptOpenAlgorithmProvider(&sha.alg, BCRYPT_SHA256_ALGORITHM, NULL, 0);
        if (nt < 0)
            st = ms__fail(MS_E_UNSUPPORTED, "SHA-256 provider: 0x%08lx", (unsigned long)nt);
    }
    uint64_t offset = 0;
    for (size_t i = 0; st == MS_OK && i < p.n; i++) {
        planned *r = &p.r[i];
        sum.regions++;
        if (!r->keep) {
            sum.regions_skipped++;
            continue;
        }
        st = dump_region(h, r, buf, &sha, &data, &offset);
        if (st != MS_OK)
            break;
        sum.regions_dumped++;
        sum.bytes_read += r->bytes_read;
        sum.regions_partial += strcmp(r->status, "partial") == 0;
        sum.regions_truncated += r->keep < r->end - r->start;
        if (r->bytes_read < r->keep)
            ms__log(agent, MS_LOG_WARN, "pid %" PRId64 " region 0x%" PRIx64 ": %" PRIu64 " of %" PRIu64
                    " bytes readable", pid, r->start, r->bytes_read, r->keep);
    }
    sum.bytes_written = offset;
    if (st == MS_OK)
        st = write_manifest(path, pid, &p, &o, &manifest);
    /* The manifest is renamed last: a data file without it is not a finished dump. */
    if (st == MS_OK)
        st = ms__win_evidence_commit(&data);
    if (st == MS_OK)
        st = ms__win_evidence_commit(&manifest);
    if (st != MS_OK) {
        ms__win_evidence_abort(&data);
        ms__win_evidence_abort(&manifest);
    }
    if (sha.alg)
        BCryptCloseAlgorithmProvider(sha.alg, 0);
    free(buf);
    free(manifest_path);
    plan_free(&p);
    CloseHandle(h);
    if (st == MS_OK && summary)
        *summary = sum;
    return st;
}

typedef BOOL(WINAPI *minidump_write_fn)(HANDLE, DWORD, HANDLE, MINIDUMP_TYPE, PMINIDUMP_EXCEPTION_INFORMATION,
                                        PMINIDUMP_USER_STREAM_INFORMATION, PMINIDUMP_CALLBACK_INFORMATION);

/* dbghelp is single-threaded: one MiniDumpWriteDump at a time per process. */
static SRWLOCK dbghelp_lock = SRWLOCK_INIT;

/* The system's dbghelp.dll by full path, never one planted in the current
 * or the application directory. */
static HMODULE load_dbghelp(void)
{
    wchar_t path[MAX_PATH + 16];
    UINT n = GetSystemDirectoryW(path, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return NULL;
    wcscpy(path + n, L"\\dbghelp.dll");
    return LoadLibraryW(path);
}

ms_status ms__win_dump_minidump(ms_agent *agent, int64_t pid, const char *path, bool force)
{
    HMODULE dbghelp = load_dbghelp();
    if (!dbghelp)
        return ms__win_fail_as(MS_E_UNSUPPORTED, GetLastError(), "dbghelp.dll is not available");
    minidump_write_fn write_dump =
        (minidump_write_fn)(void (*)(void))GetProcAddress(dbghelp, "MiniDumpWriteDump");
    if (!write_dump) {
        FreeLibrary(dbghelp);
        return ms__fail(MS_E_UNSUPPORTED, "dbghelp.dll has no MiniDumpWriteDump");
    }
    HANDLE h;
    ms_status st = ms__win_open_process(agent, pid, PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, &h);
    if (st != MS_OK) {
        FreeLibrary(dbghelp);
        return st;
    }
    plan p;
    st = plan_regions(agent, h, 0, &p);
    if (st == MS_OK) {
        st = ms__win_check_free_space(path, p.total + 1024 * 1024);
        plan_free(&p);
    }
    ms_win_evidence ev = {.file = INVALID_HANDLE_VALUE};
    if (st == MS_OK)
        st = ms__win_evidence_open(path, force, &ev);
    if (st == MS_OK) {
        MINIDUMP_TYPE type = (MINIDUMP_TYPE)(MiniDumpWithFullMemory | MiniDumpWithFullMemoryInfo |
                                             MiniDumpWithThreadInfo | MiniDumpWithUnloadedModules);
        AcquireSRWLockExclusive(&dbghelp_lock);
        BOOL ok = write_dump(h, (DWORD)pid, ev.file, type, NULL, NULL, NULL);
        DWORD err = GetLastError();
        ReleaseSRWLockExclusive(&dbghelp_lock);
        if (!ok) {
            st = process_gone(h) ? ms__fail(MS_E_NO_SUCH_PROCESS, "the process exited during the dump")
                                 : ms__win_fail(err, "MiniDumpWriteDump(%" PRId64 ")", pid);
            ms__win_evidence_abort(&ev);
        } else {
            st = ms__win_evidence_commit(&ev);
        }
    }
    CloseHandle(h);
    FreeLibrary(dbghelp);
    return st;
}
