/* The /proc poller: each pass lists /proc and compares it with the last one.
 * A process is known by its pid and its start time (stat field 22), so a pid
 * reused between two passes is an exit and a new process; the executable's
 * identity (device and inode of /proc/PID/exe, or the command name where the
 * link cannot be read) tells an exec; a zombie has exited (the connector
 * reports the exit then too, not at the reaping). The table is an open-addressing hash on
 * the pid that grows up to twice max_processes entries: processes past that
 * bound are counted as lost on each pass, never followed. */
#include "watch.h"
#include "watch_parse.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TABLE_MIN 1024u
#define FULL_PASS_EVERY 32u

typedef struct entry {
    int32_t pid;         /* 0: empty; -1: deleted */
    uint32_t pass;       /* the last pass that saw it */
    uint64_t start;      /* start time in clock ticks */
    uint64_t dir_ino;    /* inode number of /proc/PID as readdir gave it; 0: unknown */
    uint64_t exe_dev;    /* 0 and 0: the link could not be read */
    uint64_t exe_ino;
    char comm[16];
} entry;

struct ms__poller {
    entry *table;
    uint32_t cap;        /* a power of two */
    uint32_t used;       /* live entries */
    uint32_t deleted;
    uint32_t pass;
    int proc_fd;         /* /proc, for openat */
};

static uint32_t slot_of(int32_t pid, uint32_t cap)
{
    return ((uint32_t)pid * 2654435761u) & (cap - 1);
}

static entry *lookup(ms__poller *pl, int32_t pid)
{
    for (uint32_t i = slot_of(pid, pl->cap), n = 0; n < pl->cap; i = (i + 1) & (pl->cap - 1), n++) {
        if (pl->table[i].pid == pid)
            return &pl->table[i];
        if (pl->table[i].pid == 0)
            return NULL;
    }
    return NULL;
}

static entry *insert_slot(entry *table, uint32_t cap, int32_t pid)
{
    for (uint32_t i = slot_of(pid, cap);; i = (i + 1) & (cap - 1))
        if (table[i].pid <= 0)
            return &table[i];
}

/* Rebuilds into cap slots (dropping deleted marks); false when out of memory. */
static bool rehash(ms__poller *pl, uint32_t cap)
{
    entry *t = calloc(cap, sizeof *t);
    if (!t)
        return false;
    for (uint32_t i = 0; i < pl->cap; i++)
        if (pl->table[i].pid > 0)
            *insert_slot(t, cap, pl->table[i].pid) = pl->table[i];
    free(pl->table);
    pl->table = t;
    pl->cap = cap;
    pl->deleted = 0;
    return true;
}

/* A slot for a new pid, or NULL when the bound is reached or memory is short. */
static entry *add(ms_watch *w, int32_t pid)
{
    ms__poller *pl = w->plat->poller;
    if (pl->used >= w->opts.max_processes)
        return NULL;
    /* Keep the load (deleted slots included) under 3/4. */
    if ((uint64_t)(pl->used + pl->deleted + 1) * 4 > (uint64_t)pl->cap * 3) {
        uint32_t cap = pl->cap;
        if ((uint64_t)(pl->used + 1) * 2 > cap)
            cap *= 2;
        if (!rehash(pl, cap))
            return NULL;
    }
    entry *e = insert_slot(pl->table, pl->cap, pid);
    if (e->pid < 0)
        pl->deleted--;
    memset(e, 0, sizeof *e);
    e->pid = pid;
    pl->used++;
    return e;
}

static void remove_entry(ms__poller *pl, entry *e)
{
    e->pid = -1;
    pl->used--;
    pl->deleted++;
}

/* What a pass reads of one process. */
typedef struct facts {
    int64_t ppid;
    uint64_t start;
    uint64_t exe_dev, exe_ino;
    char comm[16];
} facts;

static bool read_facts(int proc_fd, const char *name, facts *f)
{
    char path[64];
    char stat[1024];
    snprintf(path, sizeof path, "%s/stat", name);
    int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false; /* gone, or hidden (hidepid) */
    ssize_t n;
    do {
        n = read(fd, stat, sizeof stat - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    char state;
    if (!ms__stat_identity(stat, &state, &f->ppid, &f->start, f->comm, sizeof f->comm))
        return false;
    if (state == 'Z' || state == 'X')
        return false; /* exited, not yet reaped: the connector reports the exit now too */
    struct stat st;
    snprintf(path, sizeof path, "%s/exe", name);
    if (fstatat(proc_fd, path, &st, 0) == 0) {
        f->exe_dev = (uint64_t)st.st_dev;
        f->exe_ino = (uint64_t)st.st_ino;
    } else {
        f->exe_dev = f->exe_ino = 0; /* a kernel thread, a zombie, or not ours to read */
    }
    return true;
}

/* The shortcut: true when e is still the process it was and runs the same
 * program, known without reading its stat. */
static bool unchanged(int proc_fd, const entry *e, uint64_t dir_ino)
{
    if (dir_ino == 0 || e->dir_ino != dir_ino || (e->exe_dev == 0 && e->exe_ino == 0))
        return false;
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "%d/exe", (int)e->pid);
    /* A zombie's exe cannot be read: the full path then sees its state. */
    return fstatat(proc_fd, path, &st, 0) == 0 && (uint64_t)st.st_dev == e->exe_dev &&
           (uint64_t)st.st_ino == e->exe_ino;
}

static bool same_program(const entry *e, const facts *f)
{
    if ((e->exe_dev || e->exe_ino) && (f->exe_dev || f->exe_ino))
        return e->exe_dev == f->exe_dev && e->exe_ino == f->exe_ino;
    return strcmp(e->comm, f->comm) == 0;
}

static void remember(entry *e, const facts *f, uint32_t pass)
{
    e->pass = pass;
    e->start = f->start;
    e->exe_dev = f->exe_dev;
    e->exe_ino = f->exe_ino;
    memcpy(e->comm, f->comm, sizeof e->comm);
}

typedef struct emitter {
    ms_watch *w;
    ms_proc_event_fn fn; /* NULL: the first pass, which reports nothing */
    void *user_data;
    int64_t now;
} emitter;

static int emit(emitter *em, int32_t kind, int64_t pid, int64_t ppid, int64_t lost)
{
    if (!em->fn)
        return 0;
    ms_proc_event ev = {.struct_size = sizeof ev, .kind = kind, .time_ns = em->now, .pid = pid, .ppid = ppid,
                        .tid = pid, .exit_code = kind == MS_PROC_EV_EXIT ? -1 : 0, .lost = lost};
    atomic_fetch_add(&em->w->events, 1);
    return em->fn(&ev, em->user_data);
}

/* One pass; non-zero when the callback asked to stop. */
static int pass(ms_watch *w, emitter *em, ms_status *st)
{
    ms__poller *pl = w->plat->poller;
    *st = MS_OK;
    int dfd = openat(pl->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!dir) {
        if (dfd >= 0)
            close(dfd);
        *st = ms__fail(ms__status_from_errno(errno), "watch: listing /proc: %s", strerror(errno));
        return 1;
    }
    pl->pass++;
    em->now = ms__watch_now_ns();
    uint64_t lost = 0;
    struct dirent *d;
    int stop = 0;
    while (!stop && (d = readdir(dir)) != NULL) {
        char *end;
        if (d->d_name[0] < '1' || d->d_name[0] > '9')
            continue;
        errno = 0;
        unsigned long v = strtoul(d->d_name, &end, 10);
        if (errno || *end || v > (1u << 22))
            continue;
        int32_t pid = (int32_t)v;
        uint64_t dir_ino = (uint64_t)d->d_ino;
        entry *e = lookup(pl, pid);
        if (e && pl->pass % FULL_PASS_EVERY != 0 && unchanged(pl->proc_fd, e, dir_ino)) {
            e->pass = pl->pass;
            continue;
        }
        facts f;
        if (!read_facts(pl->proc_fd, d->d_name, &f))
            continue;
        if (e && e->start != f.start) {
            /* The pid was reused between two passes. */
            remove_entry(pl, e);
            e = NULL;
            stop = emit(em, MS_PROC_EV_EXIT, pid, 0, 0);
            if (stop)
                break;
        }
        if (!e) {
            e = add(w, pid);
            if (!e) {
                lost++;
                continue;
            }
            remember(e, &f, pl->pass);
            e->dir_ino = dir_ino;
            stop = emit(em, MS_PROC_EV_FORK, pid, f.ppid, 0) || emit(em, MS_PROC_EV_EXEC, pid, 0, 0);
            continue;
        }
        int exec = !same_program(e, &f);
        remember(e, &f, pl->pass);
        e->dir_ino = dir_ino;
        if (exec)
            stop = emit(em, MS_PROC_EV_EXEC, pid, 0, 0);
    }
    closedir(dir);
    if (stop)
        return 1;
    for (uint32_t i = 0; i < pl->cap; i++) {
        entry *e = &pl->table[i];
        if (e->pid > 0 && e->pass != pl->pass) {
            int32_t pid = e->pid;
            remove_entry(pl, e);
            if (emit(em, MS_PROC_EV_EXIT, pid, 0, 0))
                return 1;
        }
    }
    if (pl->deleted > pl->cap / 4)
        (void)rehash(pl, pl->cap); /* long probe chains of deleted slots; kept as they are if memory is short */
    if (lost && em->fn) {
        atomic_fetch_add(&w->lost, lost);
        return emit(em, MS_PROC_EV_LOST, 0, 0, (int64_t)lost);
    }
    return 0;
}

ms_status ms__poller_open(ms_watch *w)
{
    /* Pids read from a /proc of another PID namespace would not be ours. */
    char self[32];
    ssize_t n = readlink("/proc/self", self, sizeof self - 1);
    if (n <= 0)
        return ms__fail(MS_E_UNSUPPORTED, "watch: no /proc to poll: %s", n < 0 ? strerror(errno) : "empty link");
    self[n] = '\0';
    if (strtoll(self, NULL, 10) != (long long)getpid())
        return ms__fail(MS_E_UNSUPPORTED,
                        "watch: /proc belongs to another PID namespace (/proc/self is %s, the pid is %d): mount "
                        "the namespace's own /proc",
                        self, (int)getpid());
    ms__poller *pl = calloc(1, sizeof *pl);
    if (!pl)
        return ms__fail(MS_E_NO_MEMORY, "watch: out of memory");
    pl->cap = TABLE_MIN;
    pl->table = calloc(pl->cap, sizeof *pl->table);
    pl->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!pl->table || pl->proc_fd < 0) {
        int err = errno;
        ms_status st = pl->table ? ms__status_from_errno(err) : MS_E_NO_MEMORY;
        if (pl->proc_fd >= 0)
            close(pl->proc_fd);
        free(pl->table);
        free(pl);
        return ms__fail(st, "watch: opening /proc: %s", strerror(err));
    }
    w->plat->poller = pl;
    emitter first = {.w = w};
    ms_status st;
    pass(w, &first, &st);
    if (st != MS_OK)
        ms__poller_close(w);
    return st;
}

void ms__poller_close(ms_watch *w)
{
    ms__poller *pl = w->plat->poller;
    if (!pl)
        return;
    close(pl->proc_fd);
    free(pl->table);
    free(pl);
    w->plat->poller = NULL;
}

ms_status ms__poller_run(ms_watch *w, ms_proc_event_fn fn, void *user_data)
{
    emitter em = {.w = w, .fn = fn, .user_data = user_data};
    int64_t interval_ns = w->opts.poll_interval_ms * 1000000;
    int64_t next = ms__watch_now_ns() + interval_ns;
    for (;;) {
        int64_t left_ms = (next - ms__watch_now_ns() + 999999) / 1000000;
        int r = ms__watch_wait(w, -1, left_ms > 0 ? (int)left_ms : 0);
        if (r == 2)
            return MS_OK;
        if (r < 0)
            return ms__fail(ms__status_from_errno(errno), "watch: poll: %s", strerror(errno));
        if (ms__watch_now_ns() < next)
            continue;
        ms_status st;
        if (pass(w, &em, &st))
            return st != MS_OK ? st : ms__fail(MS_E_STOPPED, "watch: stopped by the callback");
        next += interval_ns;
        int64_t now = ms__watch_now_ns();
        if (next < now)
            next = now + interval_ns; /* a pass longer than the interval: no catching up */
    }
}
