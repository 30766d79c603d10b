/* ms_module_list on Linux: the files a process runs code from, which of them
 * the executable's DT_NEEDED closure explains, and who can write each.
 *
 * A file is known by the device and inode of its mapping, never by the path
 * text: its bytes come through /proc/<pid>/map_files, and its path counts
 * (directories, their owners and modes) only when walking it in the
 * process's root (/proc/<pid>/root, its own mounts) without following a link
 * ends at that same inode. The ELF files are the target's to shape: they are
 * parsed with the bounded parser of common/elf_deps.c. */
#include "../common/elf_deps.h"
#include "../platform.h"
#include "inspect_parse.h"
#include "mapped_file.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_MODULES 4096
#define WRITABLE_AT_MAX 512

typedef struct module {
    ms_region first; /* its first mapping; first.path is path */
    uint64_t exec_start;
    bool executable;
    char *path;
    char soname[MS_ELF_NAME_MAX];
    char writable_at[WRITABLE_AT_MAX];
    uint32_t flags;
    uint32_t owner_uid;
    uint32_t mode;
    uint16_t elf_type;
    ms_elf_info *elf; /* NULL when the file is not a readable ELF */
} module;

typedef struct module_set {
    module *mods;
    size_t n, cap;
    bool full;
} module_set;

static int collect_region(const ms_region *r, void *user_data)
{
    module_set *s = user_data;
    if ((r->kind != MS_REGION_FILE && r->kind != MS_REGION_DELETED) || r->inode == 0)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        module *m = &s->mods[i];
        if (m->first.inode == r->inode && m->first.dev_major == r->dev_major && m->first.dev_minor == r->dev_minor) {
            if ((r->perms & MS_PERM_EXEC) && !m->executable) {
                m->executable = true;
                m->exec_start = r->start;
            }
            return 0;
        }
    }
    if (s->n == MAX_MODULES) {
        s->full = true;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        module *grown = realloc(s->mods, cap * sizeof *grown);
        if (!grown)
            return 1;
        s->mods = grown;
        s->cap = cap;
    }
    module *m = &s->mods[s->n];
    memset(m, 0, sizeof *m);
    m->path = strdup(r->path ? r->path : "");
    if (!m->path)
        return 1;
    m->first = *r;
    m->first.path = m->path;
    if (r->perms & MS_PERM_EXEC) {
        m->executable = true;
        m->exec_start = r->start;
    }
    s->n++;
    return 0;
}

static size_t fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    int fd = *(const int *)ctx;
    size_t got = 0;
    while (got < len && off + got <= (uint64_t)INT64_MAX) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* Who besides root can write through this inode. */
static uint32_t writers_of(const struct stat *st, uint32_t euid)
{
    uint32_t f = 0;
    if (st->st_mode & S_IWOTH)
        f |= MS_MODULE_WORLD_WRITABLE;
    if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
        f |= MS_MODULE_GROUP_WRITABLE;
    if (st->st_uid != 0)
        f |= (euid != UINT32_MAX && (uint32_t)st->st_uid == euid) ? MS_MODULE_OWNER_SELF : MS_MODULE_OWNER_OTHER;
    return f;
}

static void note_writable_at(module *m, const char *path, size_t len)
{
    if (m->writable_at[0] || len >= sizeof m->writable_at)
        return;
    memcpy(m->writable_at, path, len);
    m->writable_at[len] = '\0';
}

/* Walks the module's path from the process's root, one component at a time
 * and never through a link (the maps path is canonical: a link or "..", or an
 * inode other than the mapped one at the end, means the path no longer names
 * this file). The directories count only when the walk ends at the file. The
 * root directory itself is not judged: a container's root belongs to whoever
 * built its image. */
static void walk_path(int64_t pid, module *m, uint32_t euid)
{
    if (m->first.kind != MS_REGION_FILE || m->path[0] != '/')
        return;
    char root[64];
    ms__proc_path(root, sizeof root, pid, "root");
    int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    uint32_t dir_flags = 0;
    char at[WRITABLE_AT_MAX] = "";
    size_t at_len = 0;
    bool verified = false;
    const char *p = m->path;
    for (;;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        char comp[256];
        if (n == 0 || n >= sizeof comp)
            break;
        memcpy(comp, p, n);
        comp[n] = '\0';
        p += n;
        bool last = *p == '\0';
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
            break;
        int next = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
        close(dfd);
        dfd = next;
        struct stat st;
        if (dfd < 0 || fstat(dfd, &st) != 0)
            break;
        if (last) {
            verified = S_ISREG(st.st_mode) && (uint64_t)st.st_ino == m->first.inode &&
                       major(st.st_dev) == m->first.dev_major && minor(st.st_dev) == m->first.dev_minor;
            break;
        }
        uint32_t f = writers_of(&st, euid);
        if (f && !at[0] && (size_t)(p - m->path) < sizeof at) {
            at_len = (size_t)(p - m->path);
            memcpy(at, m->path, at_len);
            at[at_len] = '\0';
        }
        dir_flags |= f;
    }
    if (dfd >= 0)
        close(dfd);
    if (!verified)
        return;
    m->flags |= MS_MODULE_PATH_VERIFIED | dir_flags;
    if (at[0])
        note_writable_at(m, at, at_len);
}

static void inspect_file(ms_agent *agent, int64_t pid, module *m, uint32_t euid)
{
    walk_path(pid, m, euid);
    int fd;
    if (ms__open_mapped_file(pid, &m->first, &fd) != MS_OK) {
        ms__log(agent, MS_LOG_DEBUG, "modules of %" PRId64 ": %s", pid, ms_last_error());
        return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0) {
        m->flags |= MS_MODULE_FILE_KNOWN;
        m->owner_uid = (uint32_t)st.st_uid;
        m->mode = (uint32_t)st.st_mode;
        uint32_t f = writers_of(&st, euid);
        m->flags |= f;
        if (f)
            note_writable_at(m, m->path, strlen(m->path));
    }
    m->elf = malloc(sizeof *m->elf);
    if (m->elf && ms__elf_parse(fd_read, &fd, true, m->elf) == MS_OK) {
        m->flags |= MS_MODULE_ELF;
        m->elf_type = m->elf->type;
        if (m->elf->soname)
            snprintf(m->soname, sizeof m->soname, "%s", m->elf->soname);
    } else {
        free(m->elf);
        m->elf = NULL;
    }
    close(fd);
}

static const char *base_name(const char *path, size_t *len)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    size_t n = strlen(b);
    static const char deleted[] = " (deleted)";
    if (n > sizeof deleted - 1 && strcmp(b + n - (sizeof deleted - 1), deleted) == 0)
        n -= sizeof deleted - 1;
    *len = n;
    return b;
}

/* The loader finds a DT_NEEDED name as a file of that name (usually a link
 * named after the library's DT_SONAME); a name with a slash is a path. */
static bool provides(const module *m, const char *name)
{
    if (m->soname[0] && strcmp(m->soname, name) == 0)
        return true;
    size_t nlen, blen;
    const char *nb = base_name(name, &nlen);
    const char *b = base_name(m->path, &blen);
    return blen == nlen && memcmp(b, nb, blen) == 0;
}

/* Marks what the executable's DT_NEEDED names bring in, transitively. */
static void mark_closure(module_set *s, size_t main_index)
{
    size_t *queue = malloc(s->n * sizeof *queue);
    if (!queue)
        return;
    size_t head = 0, tail = 0;
    module *main_mod = &s->mods[main_index];
    main_mod->flags |= MS_MODULE_NEEDED;
    queue[tail++] = main_index;
    if (main_mod->elf->interp[0]) {
        for (size_t j = 0; j < s->n; j++) {
            if (j != main_index && s->mods[j].executable && provides(&s->mods[j], main_mod->elf->interp)) {
                s->mods[j].flags |= MS_MODULE_INTERP | MS_MODULE_NEEDED;
                queue[tail++] = j;
            }
        }
    }
    bool truncated = false;
    while (head < tail) {
        const module *m = &s->mods[queue[head++]];
        if (!m->elf)
            continue;
        truncated |= (m->elf->flags & MS_ELF_INFO_TRUNCATED) != 0;
        for (uint32_t k = 0; k < m->elf->needed_count; k++) {
            for (size_t j = 0; j < s->n; j++) {
                module *d = &s->mods[j];
                if (d->executable && !(d->flags & MS_MODULE_NEEDED) && provides(d, m->elf->needed[k])) {
                    d->flags |= MS_MODULE_NEEDED;
                    queue[tail++] = j;
                }
            }
        }
    }
    free(queue);
    for (size_t j = 0; j < s->n; j++)
        s->mods[j].flags |= MS_MODULE_CLOSURE_KNOWN | (truncated ? MS_MODULE_NAMES_TRUNCATED : 0);
}

ms_status ms__plat_module_list(ms_agent *agent, int64_t pid, ms_module_cb cb, void *user_data)
{
    char status[8192];
    ms_status st = ms__proc_read(pid, "status", status, sizeof status, NULL);
    if (st != MS_OK)
        return st;
    uint32_t euid;
    if (!ms__status_euid(status, &euid))
        euid = UINT32_MAX;

    module_set s = {0};
    st = ms__plat_region_list(agent, pid, collect_region, &s);
    if (st == MS_E_STOPPED)
        st = ms__fail(MS_E_NO_MEMORY, "module list of %" PRId64, pid);
    if (s.full)
        ms__log(agent, MS_LOG_WARN, "process %" PRId64 " maps more than %d files: the rest are left out", pid,
                MAX_MODULES);

    struct stat exe;
    char exe_path[64];
    ms__proc_path(exe_path, sizeof exe_path, pid, "exe");
    bool exe_known = stat(exe_path, &exe) == 0;
    size_t main_index = SIZE_MAX;
    for (size_t i = 0; st == MS_OK && i < s.n; i++) {
        module *m = &s.mods[i];
        if (!m->executable)
            continue;
        inspect_file(agent, pid, m, euid);
        if (exe_known && (uint64_t)exe.st_ino == m->first.inode && major(exe.st_dev) == m->first.dev_major &&
            minor(exe.st_dev) == m->first.dev_minor && main_index == SIZE_MAX) {
            m->flags |= MS_MODULE_MAIN;
            main_index = i;
        }
    }
    /* Without the executable's own headers nothing can be called needed. */
    if (st == MS_OK && main_index != SIZE_MAX && s.mods[main_index].elf)
        mark_closure(&s, main_index);

    char proc_dir[64];
    ms__proc_path(proc_dir, sizeof proc_dir, pid, "");
    if (st == MS_OK && access(proc_dir, F_OK) != 0)
        st = ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited", pid);
    for (size_t i = 0; st == MS_OK && i < s.n; i++) {
        module *m = &s.mods[i];
        if (!m->executable)
            continue;
        ms_module_info info;
        memset(&info, 0, sizeof info);
        info.start = m->first.start;
        info.exec_start = m->exec_start;
        info.inode = m->first.inode;
        info.dev_major = m->first.dev_major;
        info.dev_minor = m->first.dev_minor;
        info.flags = m->flags;
        info.owner_uid = m->owner_uid;
        info.mode = m->mode;
        info.process_uid = euid;
        info.elf_type = m->elf_type;
        info.path = m->path;
        info.soname = m->soname;
        info.writable_at = m->writable_at;
        if (cb(&info, user_data) != 0)
            st = ms__fail(MS_E_STOPPED, "module enumeration stopped by the callback");
    }
    for (size_t i = 0; i < s.n; i++) {
        free(s.mods[i].path);
        free(s.mods[i].elf);
    }
    free(s.mods);
    return st;
}
