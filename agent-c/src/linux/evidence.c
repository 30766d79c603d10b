#include "evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

void ms__evidence_init(ms_evidence *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->dirfd = -1;
    ev->fd = -1;
    ev->direct_fd = -1;
}

/* Refuses a directory that another user owns or may write into. */
static ms_status check_private(int dirfd, const char *dir)
{
    struct stat st;
    if (fstat(dirfd, &st) != 0)
        return ms__fail(MS_E_IO, "output directory %s: %s", dir, strerror(errno));
    if (st.st_uid != geteuid())
        return ms__fail(MS_E_ACCESS_DENIED, "output directory %s is owned by uid %u, not by the running user (uid %u)",
                        dir, (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return ms__fail(MS_E_ACCESS_DENIED, "output directory %s is writable by group or others (mode %04o)", dir,
                        (unsigned)(st.st_mode & 07777));
    return MS_OK;
}

/* Splits path into its directory (opened, or the caller's duplicated) and final name. */
static ms_status open_parent(const ms_evidence_where *where, const char *path, int *dirfd, char name[NAME_MAX + 1])
{
    ms_status st = MS_OK;
    size_t len = path ? strlen(path) : 0;
    if (len == 0 || len >= PATH_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "output path is empty or too long");
    if (path[len - 1] == '/')
        return ms__fail(MS_E_INVALID_ARGUMENT, "output path %s names a directory", path);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strlen(base) > NAME_MAX || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "output path %s: bad file name", path);
    char dir[PATH_MAX];
    if (where->at_dir >= 0) {
        if (slash)
            return ms__fail(MS_E_INVALID_ARGUMENT, "output name %s holds a '/'", path);
        *dirfd = fcntl(where->at_dir, F_DUPFD_CLOEXEC, 0);
        if (*dirfd < 0)
            return ms__fail(MS_E_INVALID_ARGUMENT, "output directory descriptor %d: %s", where->at_dir, strerror(errno));
        strcpy(dir, "(the given directory)");
    } else if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    /* O_NOFOLLOW for a private directory: a link there is someone else's choice of where evidence goes. */
    if (where->at_dir < 0)
        *dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (where->private_dir ? O_NOFOLLOW : 0));
    if (*dirfd < 0) {
        int err = errno;
        struct stat ls;
        /* O_DIRECTORY|O_NOFOLLOW on a link fails with ENOTDIR. */
        bool link = (err == ELOOP || err == ENOTDIR) && lstat(dir, &ls) == 0 && S_ISLNK(ls.st_mode);
        return ms__fail(err == EACCES || err == EPERM ? MS_E_ACCESS_DENIED : MS_E_IO, "output directory %s: %s", dir,
                        link ? "a symbolic link (refused)" : strerror(err));
    }
    if (where->private_dir && (st = check_private(*dirfd, dir)) != MS_OK) {
        close(*dirfd);
        *dirfd = -1;
        return st;
    }
    strcpy(name, base);
    return MS_OK;
}

static ms_status check_name(int dirfd, const char *name, const char *path, bool force)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return MS_OK;
        return ms__fail(MS_E_IO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return ms__fail(MS_E_EXISTS, "%s is a directory", path);
    if (S_ISLNK(st.st_mode))
        return force ? MS_OK : ms__fail(MS_E_EXISTS, "%s is a symbolic link (refused; force replaces the link itself)", path);
    if (!S_ISREG(st.st_mode))
        return ms__fail(MS_E_EXISTS, "%s exists and is not a regular file", path);
    return force ? MS_OK : ms__fail(MS_E_EXISTS, "%s already exists (force replaces it)", path);
}

ms_status ms__evidence_check(const ms_evidence_where *where, const char *path, bool force)
{
    int dirfd;
    char name[NAME_MAX + 1];
    ms_status st = open_parent(where, path, &dirfd, name);
    if (st != MS_OK)
        return st;
    st = check_name(dirfd, name, path, force);
    close(dirfd);
    return st;
}

/* ".NAME.XXXXXXXX.partial": what make_temp_name() gives. */
static bool is_temp_name(const char *n)
{
    static const char suffix[] = ".partial";
    size_t len = strlen(n), sl = sizeof suffix - 1;
    if (n[0] != '.' || len < 1 + 1 + 1 + 8 + sl || strcmp(n + len - sl, suffix) != 0)
        return false;
    const char *hex = n + len - sl - 8;
    if (hex[-1] != '.')
        return false;
    for (int i = 0; i < 8; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return false;
    return true;
}

/* Held by a running dump (which keeps its temporary file flock()ed)? A file
 * that cannot be opened to ask counts as not held. */
static bool held_by_a_dump(int dirfd, const char *name, const struct stat *seen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool held = fstat(fd, &st) == 0 && st.st_dev == seen->st_dev && st.st_ino == seen->st_ino &&
                flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* Names each hidden temporary file a killed dump left in the directory.
 * Never removes one: only its writer knows it is dead, and a dump of another
 * agent on a file system without O_TMPFILE may still be writing it. Once per
 * directory and agent, so a sweep into one directory warns once. */
static void warn_leftovers(const ms_evidence_where *where, int dirfd, const char *path)
{
    struct stat dst;
    if (!where->agent || fstat(dirfd, &dst) != 0)
        return;
    uint64_t key = ((uint64_t)dst.st_dev << 40) ^ (uint64_t)dst.st_ino ^ 1u;
    if (__atomic_exchange_n(&where->agent->leftovers_checked, key, __ATOMIC_RELAXED) == key)
        return;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    const char *slash = strrchr(path, '/');
    int dirlen = where->at_dir >= 0 || !slash ? 0 : (int)(slash - path + 1);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (!is_temp_name(e->d_name) || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || held_by_a_dump(dirfd, e->d_name, &st))
            continue;
        ms__log(where->agent, MS_LOG_WARN,
                "%.*s%s: %" PRIu64 " bytes left by a dump that was killed; not removed (delete it once no dump "
                "writes it)",
                dirlen, path, e->d_name, (uint64_t)st.st_size);
    }
    closedir(d);
}

static void make_temp_name(ms_evidence *ev, int attempt)
{
    uint32_t nonce;
    if (getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != (ssize_t)sizeof nonce)
        nonce = (uint32_t)getpid() * 2654435761u + (uint32_t)attempt;
    /* Hidden and clearly unfinished; short enough for any final name. */
    snprintf(ev->temp, sizeof ev->temp, ".%.200s.%08" PRIx32 ".partial", ev->name, nonce);
}

static ms_status create_failed(ms_evidence *ev, int err)
{
    ev->temp[0] = '\0';
    ms__evidence_discard(ev);
    return ms__fail(err == EACCES || err == EPERM ? MS_E_ACCESS_DENIED : err == ENOSPC ? MS_E_NO_SPACE : MS_E_IO,
                    "create a file next to %s: %s", ev->path, strerror(err));
}

/* The fallback: a hidden name, locked so that warn_leftovers() of a
 * concurrent dump leaves it alone while it is written. */
static ms_status create_named(ms_evidence *ev)
{
    for (int attempt = 0; attempt < 16 && ev->fd < 0; attempt++) {
        make_temp_name(ev, attempt);
        ev->fd = openat(ev->dirfd, ev->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (ev->fd < 0 && errno != EEXIST)
            return create_failed(ev, errno);
    }
    if (ev->fd < 0) {
        ev->temp[0] = '\0';
        ms__evidence_discard(ev);
        return ms__fail(MS_E_IO, "no free temporary name next to %s", ev->path);
    }
    flock(ev->fd, LOCK_EX | LOCK_NB);
    return MS_OK;
}

ms_status ms__evidence_create(const ms_evidence_where *where, const char *path, bool force, ms_evidence *ev)
{
    ms__evidence_init(ev);
    ms_status st = open_parent(where, path, &ev->dirfd, ev->name);
    if (st != MS_OK)
        return st;
    ms__strlcpy(ev->path, path, sizeof ev->path);
    ev->force = force;
    st = check_name(ev->dirfd, ev->name, path, force);
    if (st != MS_OK) {
        ms__evidence_discard(ev);
        return st;
    }
    warn_leftovers(where, ev->dirfd, path);
    ev->fd = openat(ev->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (ev->fd >= 0) {
        ev->unnamed = true;
    } else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
        /* This file system (or kernel) has no O_TMPFILE. */
        if ((st = create_named(ev)) != MS_OK)
            return st;
    } else {
        return create_failed(ev, errno);
    }
    /* The mode given to openat passes through the umask, which can only take
     * bits away; set it exactly anyway. */
    if (fchmod(ev->fd, 0600) != 0) {
        int err = errno;
        ms__evidence_discard(ev);
        return ms__fail(MS_E_IO, "chmod 0600 %s: %s", path, strerror(err));
    }
    return MS_OK;
}

ms_status ms__evidence_require_space(const ms_evidence *ev, uint64_t bytes)
{
    struct statvfs vfs;
    if (fstatvfs(ev->fd, &vfs) != 0)
        return ms__fail(MS_E_IO, "statvfs for %s: %s", ev->path, strerror(errno));
    uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    if (avail < bytes)
        return ms__fail(MS_E_NO_SPACE, "%s: %" PRIu64 " bytes free, the dump needs up to %" PRIu64, ev->path, avail,
                        bytes);
    return MS_OK;
}

static ms_status write_failed(const ms_evidence *ev, int err)
{
    return ms__fail(err == ENOSPC || err == EDQUOT ? MS_E_NO_SPACE : MS_E_IO, "write %s: %s", ev->path, strerror(err));
}

#define DIRECT_ALIGN ((uint64_t)4096)
/* Page-cache writes go in pieces of at most this size. A write's length
 * sets the size of the page-cache folios it creates (ext4 makes 2 MiB ones
 * for a 4 MiB write), and a 2 MiB folio takes a whole free 2 MiB block: on
 * a VM that hands free 2 MiB blocks back to its host (virtio-balloon free
 * page reporting), exactly the memory whose first touch costs a host fault.
 * Small folios come from memory the guest still holds. 1 GiB into a cold
 * page cache: 2.3-4.6 s in 4 MiB writes, 0.46-1.15 s in 64 KiB ones
 * (bench/write_paths.c, docs/BENCHMARKS.md). */
#define PAGE_CACHE_PIECE ((size_t)64 << 10)

/* Writes from *p until *left is 0 (direct: only while what is left stays
 * aligned for O_DIRECT). Returns 0, or the errno that stopped it. */
static int write_all(int fd, bool direct, const char **p, size_t *left, uint64_t *offset)
{
    while (*left > 0 && (!direct || (((uintptr_t)*p | (uint64_t)*left | *offset) & (DIRECT_ALIGN - 1)) == 0)) {
        size_t want = direct || *left <= PAGE_CACHE_PIECE ? *left : PAGE_CACHE_PIECE;
        ssize_t n = pwrite(fd, *p, want, (off_t)*offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        *p += n;
        *left -= (size_t)n;
        *offset += (uint64_t)n;
    }
    return 0;
}

ms_status ms__evidence_pwrite(const ms_evidence *ev, const void *data, size_t len, uint64_t offset)
{
    const char *p = data;
    int err = write_all(ev->fd, false, &p, &len, &offset);
    return err ? write_failed(ev, err) : MS_OK;
}

void ms__evidence_open_direct(ms_evidence *ev)
{
    if (ev->fd < 0 || ev->direct_fd >= 0)
        return;
    /* A second open file description: O_DIRECT on the first would apply to
     * every write, the small unaligned ones included. */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", ev->fd);
    ev->direct_fd = open(self, O_WRONLY | O_DIRECT | O_CLOEXEC);
}

#define BULK_MIN ((size_t)256 << 10)
#define PROBE_FIRST 4u
#define PROBE_MAX 64u
#define DIRECT_MARGIN 2.0

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* O_DIRECT only when the page cache took twice as long per byte: in 64 KiB
 * pieces a cold page cache is rarely slower than the disk, and a page-cache
 * write that one preemption made slow must not send the next ones to it. */
static bool direct_wins(const ms_bulk_writer *w)
{
    return w->ns_per_byte[1] * DIRECT_MARGIN < w->ns_per_byte[0];
}

/* 1 for O_DIRECT: each way is measured once, then the faster one is taken
 * and the other tried again after probe_every writes (doubling while it
 * stays slower, so a steady dump pays little for the trying). */
static int choose_way(ms_bulk_writer *w)
{
    if (w->ns_per_byte[0] == 0)
        return 0;
    if (w->ns_per_byte[1] == 0)
        return 1;
    int best = direct_wins(w);
    if (++w->since_probe < w->probe_every)
        return best;
    w->since_probe = 0;
    return !best;
}

static void record_way(ms_bulk_writer *w, int way, size_t len, double ns)
{
    int best_before = w->ns_per_byte[1] != 0 && direct_wins(w);
    double x = ns / (double)len;
    double *e = &w->ns_per_byte[way];
    /* The way in use is smoothed; a probe of the other replaces its stale
     * figure, or one slow first write would keep it out for hundreds of
     * batches. */
    *e = *e == 0 || way != best_before ? x : (*e * 3 + x) / 4;
    w->bytes[way] += len;
    int best_after = w->ns_per_byte[1] != 0 && direct_wins(w);
    if (w->ns_per_byte[1] == 0 || w->probe_every == 0)
        w->probe_every = PROBE_FIRST;
    else if (way != best_before && best_after == best_before && w->probe_every < PROBE_MAX)
        w->probe_every *= 2; /* a probe that confirmed the choice */
    else if (best_after != best_before)
        w->probe_every = PROBE_FIRST;
}

ms_status ms__evidence_write_bulk(const ms_evidence *ev, ms_bulk_writer *w, const void *data, size_t len,
                                  uint64_t offset)
{
    if (ev->direct_fd < 0 || w->direct_refused || len < BULK_MIN ||
        (((uintptr_t)data | (uint64_t)len | offset) & (DIRECT_ALIGN - 1)) != 0)
        return ms__evidence_pwrite(ev, data, len, offset);
    int way = choose_way(w);
    double t0 = now_ns();
    if (way == 0) {
        ms_status st = ms__evidence_pwrite(ev, data, len, offset);
        if (st == MS_OK)
            record_way(w, 0, len, now_ns() - t0);
        return st;
    }
    const char *p = data;
    size_t left = len;
    int err = write_all(ev->direct_fd, true, &p, &left, &offset);
    if (err == EINVAL)
        w->direct_refused = true; /* alignment or O_DIRECT itself: the page cache from now on */
    else if (err)
        return write_failed(ev, err);
    if (left > 0) /* refused, or a short write left an unaligned rest */
        return ms__evidence_pwrite(ev, p, left, offset);
    record_way(w, 1, len, now_ns() - t0);
    return MS_OK;
}

static void close_files(ms_evidence *ev)
{
    if (ev->direct_fd >= 0)
        close(ev->direct_fd);
    if (ev->fd >= 0)
        close(ev->fd);
    ev->direct_fd = ev->fd = -1;
}

/* Gives the unnamed file a name: needs CAP_DAC_READ_SEARCH through
 * AT_EMPTY_PATH, anyone through /proc/self/fd. Neither follows a link at
 * the new name, and both fail with EEXIST when it exists. */
static int link_unnamed(const ms_evidence *ev, const char *name)
{
    if (linkat(ev->fd, "", ev->dirfd, name, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno == EEXIST)
        return -1;
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", ev->fd);
    return linkat(AT_FDCWD, self, ev->dirfd, name, AT_SYMLINK_FOLLOW);
}

/* Force on an unnamed file: linked under a fresh hidden name, then renamed
 * over the final one, so the name changes atomically. */
static int link_replacing(ms_evidence *ev)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        make_temp_name(ev, attempt);
        if (link_unnamed(ev, ev->temp) == 0) {
            if (renameat(ev->dirfd, ev->temp, ev->dirfd, ev->name) == 0)
                return 0;
            int err = errno;
            unlinkat(ev->dirfd, ev->temp, 0);
            errno = err;
            return -1;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

ms_status ms__evidence_commit(ms_evidence *ev, bool sync)
{
    if (ev->fd < 0 || ev->committed)
        return ms__fail(MS_E_INTERNAL, "commit of %s without an open file", ev->path);
    if (sync && fsync(ev->fd) != 0)
        return ms__fail(errno == ENOSPC ? MS_E_NO_SPACE : MS_E_IO, "fsync %s: %s", ev->path, strerror(errno));
    int rc;
    if (ev->unnamed) {
        rc = ev->force ? link_replacing(ev) : link_unnamed(ev, ev->name);
        ev->temp[0] = '\0';
    } else if (ev->force) {
        rc = renameat(ev->dirfd, ev->temp, ev->dirfd, ev->name);
    } else {
        rc = renameat2(ev->dirfd, ev->temp, ev->dirfd, ev->name, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
            /* No RENAME_NOREPLACE on this file system: a hard link fails
             * just as atomically when the name exists. */
            rc = linkat(ev->dirfd, ev->temp, ev->dirfd, ev->name, 0);
            if (rc == 0)
                unlinkat(ev->dirfd, ev->temp, 0);
        }
    }
    if (rc != 0) {
        int err = errno;
        if (err == EEXIST)
            return ms__fail(MS_E_EXISTS, "%s appeared while the dump was written; kept it", ev->path);
        return ms__fail(MS_E_IO, "link %s into place: %s", ev->path, strerror(err));
    }
    ev->committed = true;
    if (sync)
        fsync(ev->dirfd);
    close_files(ev);
    return MS_OK;
}

void ms__evidence_retract(ms_evidence *ev)
{
    if (ev->committed && ev->dirfd >= 0) {
        unlinkat(ev->dirfd, ev->name, 0);
        ev->committed = false;
        ev->temp[0] = '\0';
    }
}

void ms__evidence_discard(ms_evidence *ev)
{
    close_files(ev);
    if (!ev->committed && ev->temp[0] && ev->dirfd >= 0)
        unlinkat(ev->dirfd, ev->temp, 0);
    ev->temp[0] = '\0';
    if (ev->dirfd >= 0) {
        close(ev->dirfd);
        ev->dirfd = -1;
    }
}
