/* The blocks of a process for libyara, byte for byte what `yara RULES PID`
 * (libyara 4.2.3, libyara/proc/linux.c) scans, read without faulting in a
 * single page of the target.
 *
 * What yara 4.2.3 does, and what we do instead:
 *   - Blocks: every line of /proc/<pid>/maps, readable or not, in order; a
 *     mapping larger than the maximum chunk is split into chunks from its
 *     start. Same here (from one snapshot of maps; yara re-reads it each time
 *     its iterator restarts).
 *   - Where a block's bytes come from depends on the mapping:
 *       FILE:    the path starts with '/', the device is not 0:0, the file
 *                opens, has the mapping's device and inode, is a regular file
 *                and reaches offset + block size. yara maps the file and
 *                copies over it every page pagemap shows present or swapped.
 *                Bytes of pages not in memory therefore come from the file, at
 *                the mapping's offset plus the position in the block (yara uses
 *                the mapping's offset for every chunk of it, so later chunks of
 *                a mapping larger than the chunk get the file's first bytes;
 *                kept, so results stay identical).
 *       ANON:    no path, device 0:0, or not a regular file: present or
 *                swapped pages, zeros elsewhere.
 *       WHOLE:   anything else (a deleted or replaced file, a memfd, a file
 *                shorter than the mapping): yara pread()s the whole block from
 *                /proc/<pid>/mem, which faults every page in (this is how yara
 *                OOM-kills targets). We read the present pages and take the
 *                others from the mapped object itself through
 *                /proc/<pid>/map_files, which is what a fault would have
 *                brought in. That read stops where the fault would have failed
 *                (a page past the end of the file), the rest stays zeros.
 *   - A present page that cannot be read makes yara drop the whole block in
 *     FILE and ANON (its fetch returns NULL), and ends the single pread in
 *     WHOLE. Pages beyond the address space ([vsyscall]) read as zeros: yara's
 *     pagemap read returns nothing for them.
 *
 * A block's bytes are fetched when libyara asks and kept until it asks for
 * another block: libyara walks the blocks again for each uintN() and module
 * that looks at memory. Blocks read before their scan go into one buffer the
 * scanner keeps (faulted in once, not per block: the cost that made a scan
 * slower than libyara's matching); a streamed block gets a fresh mapping, whose
 * missing pages the filler resolves. Large holes are given back to the kernel
 * and read as the zero page, so memsentry's memory is bounded by the block size. */
#include "../yara_blocks.h"
#include "mapped_file.h"
#include "procfs.h"
#include "reader.h"

#if defined(MS_HAVE_YARA)

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <yara.h>

/* yara reads maps lines with fgets into PATH_MAX bytes: a longer line cuts the
 * path, the open fails and the block is read whole. */
#define YARA_MAPS_LINE_MAX 4096
#define MAPS_PREFIX_MAX 80

/* Blocks at least this large are streamed: read by a filler thread while
 * libyara already scans them (see stream_block). */
#define STREAM_MIN_BLOCK ((uint64_t)8 << 20)
#define STREAM_BOUNCE ((size_t)256 << 10)
/* The reader's batch: small, since every byte is copied once more into the
 * block; a scan's memory is the block plus little else. */
#define READ_BATCH ((size_t)512 << 10)

/* Blocks read before their scan share one buffer per scanner, so its pages
 * are faulted in once, not per block; holes at least this large are given
 * back (MADV_DONTNEED reads as zeros) rather than written. Between processes
 * the buffer is kept while it is at most DIRECT_KEEP. */
#define DIRECT_ZERO_RELEASE ((uint64_t)256 << 10)
#define DIRECT_KEEP ((size_t)64 << 20)

typedef enum block_source { SOURCE_FILE, SOURCE_ANON, SOURCE_WHOLE } block_source;

typedef struct region_entry {
    uint64_t start, end, offset, inode;
    uint32_t dev_major, dev_minor;
    char *path;
} region_entry;

typedef struct fill_state {
    const region_entry *region;
    uint64_t base, size; /* the block */
    block_source source;
    int fd;              /* FILE: the file; WHOLE: the map_files object, -1 not opened, -2 unavailable */
    uint64_t file_size;  /* WHOLE */
    uint64_t stop_at;    /* WHOLE: where the pread yara does would have stopped; UINT64_MAX: nowhere */
    bool skip;           /* FILE, ANON: yara drops the block */
    bool map_files_failed;
    char map_files_error[200];
    /* Where the bytes go: written into buf directly, or, when streaming,
     * handed to the kernel page by page through the userfaultfd. */
    uint8_t *buf;
    int uffd;            /* -1: direct */
    uint8_t *bounce;     /* streaming: file bytes pass through it */
    size_t bounce_len;
    uint64_t resolved;   /* bytes from the block's start already placed */
    int uffd_errno;
    ms_yara_scan_stats stats; /* bytes_read, bytes_from_file, bytes_zero */
} fill_state;

struct ms__yara_blocks {
    ms_reader *reader;
    ms_agent *agent;
    int64_t pid;
    ms__yara_blocks_config cfg;
    uint64_t page;

    region_entry *regions;
    size_t nregions, cap;

    YR_MEMORY_BLOCK_ITERATOR iterator;
    YR_MEMORY_BLOCK block;
    size_t region_index; /* region of the current block */

    /* The one cached block: in the shared direct buffer, or in a mapping of
     * its own while it is streamed. */
    uint8_t *buf;
    size_t buf_len;
    uint8_t *direct;
    size_t direct_cap;
    bool cached;
    uint64_t cached_base, cached_size;
    const uint8_t *cached_data; /* NULL when the block is skipped */
    uint64_t highest_fetched;   /* counts each block once, however often it is fetched */
    bool any_fetched;

    bool map_files_warned;
    bool stream_enabled;

    /* Streaming (see stream_block): one filler thread per scanner. */
    int uffd; /* -1 not tried, -2 unavailable */
    uint8_t *bounce;
    bool filler_started, streaming;
    pthread_t filler;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool job_pending, job_running, quit;
    fill_state job;
    ms_status job_status;
    char job_msg[256];

    ms_status fatal;
    char fatal_msg[256];
    ms_yara_scan_stats stats;
};

uint64_t ms__monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

ms_status ms__plat_yara_blocks_new(ms__yara_blocks **out)
{
    ms__yara_blocks *b = calloc(1, sizeof *b);
    if (!b)
        return ms__fail(MS_E_NO_MEMORY, "yara: out of memory");
    ms_status st = ms__reader_new(READ_BATCH, 0, &b->reader);
    if (st != MS_OK) {
        free(b);
        return st;
    }
    b->page = (uint64_t)sysconf(_SC_PAGESIZE);
    b->uffd = -1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    *out = b;
    return MS_OK;
}

static void stream_wait(ms__yara_blocks *b);

static void release_buffer(ms__yara_blocks *b)
{
    stream_wait(b);
    if (b->buf && b->buf != b->direct)
        munmap(b->buf, b->buf_len);
    b->buf = NULL;
    b->buf_len = 0;
    b->cached = false;
}

static void clear_regions(ms__yara_blocks *b)
{
    for (size_t i = 0; i < b->nregions; i++)
        free(b->regions[i].path);
    b->nregions = 0;
}

void ms__plat_yara_blocks_free(ms__yara_blocks *b)
{
    if (!b)
        return;
    release_buffer(b);
    if (b->direct)
        munmap(b->direct, b->direct_cap);
    clear_regions(b);
    free(b->regions);
    if (b->filler_started) {
        pthread_mutex_lock(&b->mu);
        b->quit = true;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->filler, NULL);
        munmap(b->bounce, STREAM_BOUNCE);
    }
    if (b->uffd >= 0)
        close(b->uffd);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    ms__reader_free(b->reader);
    free(b);
}

static ms_status set_fatal(ms__yara_blocks *b, ms_status st)
{
    if (b->fatal == MS_OK) {
        b->fatal = st;
        ms__strlcpy(b->fatal_msg, ms_last_error(), sizeof b->fatal_msg);
    }
    return b->fatal;
}

ms_status ms__plat_yara_blocks_status(ms__yara_blocks *b)
{
    stream_wait(b);
    if (b->fatal == MS_OK)
        return MS_OK;
    return ms__fail(b->fatal, "%s", b->fatal_msg);
}

/* Cancellation and the deadline, checked between blocks and reads. */
static bool should_stop(ms__yara_blocks *b)
{
    if (b->fatal != MS_OK)
        return true;
    if (b->cfg.cancel && *b->cfg.cancel) {
        set_fatal(b, ms__fail(MS_E_INTERRUPTED, "scan of %" PRId64 " cancelled", b->pid));
        return true;
    }
    if (b->cfg.deadline_ns && ms__monotonic_ns() >= b->cfg.deadline_ns) {
        set_fatal(b, ms__fail(MS_E_TIMEOUT, "scan of %" PRId64 " passed its deadline", b->pid));
        return true;
    }
    return false;
}

static int collect_region(const ms_region *r, void *user_data)
{
    ms__yara_blocks *b = user_data;
    if (r->end <= r->start)
        return 0;
    if (b->nregions == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        region_entry *grown = realloc(b->regions, cap * sizeof *grown);
        if (!grown)
            return 1;
        b->regions = grown;
        b->cap = cap;
    }
    char *path = strdup(r->path);
    if (!path)
        return 1;
    b->regions[b->nregions++] = (region_entry){r->start, r->end, r->offset, r->inode, r->dev_major, r->dev_minor, path};
    return 0;
}

static YR_MEMORY_BLOCK *set_block(ms__yara_blocks *b, size_t index, uint64_t base)
{
    const region_entry *r = &b->regions[index];
    uint64_t left = r->end - base;
    b->region_index = index;
    b->block.base = base;
    b->block.size = (size_t)(left < b->cfg.max_block ? left : b->cfg.max_block);
    return &b->block;
}

static YR_MEMORY_BLOCK *first_block(YR_MEMORY_BLOCK_ITERATOR *it)
{
    ms__yara_blocks *b = it->context;
    it->last_error = ERROR_SUCCESS;
    if (b->nregions == 0 || should_stop(b))
        return NULL;
    return set_block(b, 0, b->regions[0].start);
}

static YR_MEMORY_BLOCK *next_block(YR_MEMORY_BLOCK_ITERATOR *it)
{
    ms__yara_blocks *b = it->context;
    it->last_error = ERROR_SUCCESS;
    if (should_stop(b))
        return NULL;
    uint64_t next = b->block.base + b->block.size;
    size_t index = b->region_index;
    if (next >= b->regions[index].end) {
        if (++index >= b->nregions)
            return NULL;
        next = b->regions[index].start;
    }
    return set_block(b, index, next);
}

/* yara's choice of source for a block; *fd is the opened file for FILE. */
static block_source choose_source(const region_entry *r, uint64_t block_size, int *fd)
{
    *fd = -1;
    if (r->path[0] != '/' || (r->dev_major == 0 && r->dev_minor == 0))
        return SOURCE_ANON;
    if (strlen(r->path) + MAPS_PREFIX_MAX >= YARA_MAPS_LINE_MAX)
        return SOURCE_WHOLE;
    /* yara opens the path; we look at it without following a symlink the
     * target may have planted and open only the very file mapped. */
    int path_fd;
    if (ms__path_fd_nofollow(AT_FDCWD, r->path, &path_fd) != MS_OK)
        return SOURCE_WHOLE;
    struct stat st;
    if (fstat(path_fd, &st) != 0 || major(st.st_dev) != r->dev_major || minor(st.st_dev) != r->dev_minor ||
        (uint64_t)st.st_ino != r->inode || (S_ISREG(st.st_mode) && (uint64_t)st.st_size < r->offset + block_size)) {
        close(path_fd);
        return SOURCE_WHOLE;
    }
    if (!S_ISREG(st.st_mode)) {
        close(path_fd);
        return SOURCE_ANON;
    }
    int f;
    ms_status rs = ms__reopen_regular(path_fd, NULL, &f, NULL);
    close(path_fd);
    if (rs != MS_OK)
        return SOURCE_WHOLE;
    *fd = f;
    return SOURCE_FILE;
}

/* pread until len bytes or end of file; returns the bytes read, -1 on error. */
static int64_t pread_full(int fd, uint8_t *dst, uint64_t len, uint64_t off)
{
    uint64_t done = 0;
    while (done < len) {
        if (off + done > (uint64_t)INT64_MAX)
            break;
        ssize_t n = pread(fd, dst + done, (size_t)(len - done), (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (int64_t)done : -1;
        if (n == 0)
            break;
        done += (uint64_t)n;
    }
    return (int64_t)done;
}

/* Streaming: places len bytes at off through UFFDIO_COPY (which wakes a
 * scan waiting on those pages). */
static void put_bytes(fill_state *fs, uint64_t off, const uint8_t *src, uint64_t len)
{
    if (fs->uffd < 0) {
        memcpy(fs->buf + off, src, (size_t)len);
        fs->resolved = off + len;
        return;
    }
    uint64_t done = 0;
    while (done < len && !fs->uffd_errno) {
        struct uffdio_copy c = {.dst = (uintptr_t)(fs->buf + off + done), .src = (uintptr_t)(src + done),
                                .len = len - done, .mode = 0};
        if (ioctl(fs->uffd, UFFDIO_COPY, &c) == 0) {
            done = len;
        } else if (c.copy > 0) {
            done += (uint64_t)c.copy;
        } else if (errno != EAGAIN && errno != EINTR) {
            fs->uffd_errno = errno;
        }
    }
    fs->resolved = off + len;
}

/* Zeros for [off, off+len): the zero page where whole pages allow. */
static void put_zeros(fill_state *fs, uint64_t off, uint64_t len)
{
    if (fs->uffd < 0) {
        uint8_t *p = fs->buf + off;
        uintptr_t lo = 0, hi = 0;
        if (len >= DIRECT_ZERO_RELEASE) {
            uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
            lo = ((uintptr_t)p + page - 1) & ~(page - 1);
            hi = ((uintptr_t)p + len) & ~(page - 1);
            if (madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0)
                lo = hi = 0;
        }
        if (lo < hi) {
            memset(p, 0, lo - (uintptr_t)p);
            memset((void *)hi, 0, (uintptr_t)p + len - hi);
        } else {
            memset(p, 0, (size_t)len);
        }
        fs->resolved = off + len;
        return;
    }
    if (fs->uffd >= 0 && len && !fs->uffd_errno) {
        uint64_t done = 0;
        while (done < len && !fs->uffd_errno) {
            struct uffdio_zeropage z = {.range = {(uintptr_t)(fs->buf + off + done), len - done}, .mode = 0};
            if (ioctl(fs->uffd, UFFDIO_ZEROPAGE, &z) == 0)
                done = len;
            else if (z.zeropage > 0)
                done += (uint64_t)z.zeropage;
            else if (errno != EAGAIN && errno != EINTR)
                fs->uffd_errno = errno;
        }
    }
    if (fs->uffd >= 0)
        fs->resolved = off + len;
}

/* len bytes of fd at file_off placed at off (zeros past the end of the
 * file). Returns the bytes that came from the file. */
static uint64_t put_file(fill_state *fs, int fd, uint64_t off, uint64_t len, uint64_t file_off, uint64_t page)
{
    if (fs->uffd < 0) {
        int64_t got = pread_full(fd, fs->buf + off, len, file_off);
        if (got < 0)
            got = 0;
        put_zeros(fs, off + (uint64_t)got, len - (uint64_t)got);
        return (uint64_t)got;
    }
    uint64_t total = 0;
    for (uint64_t done = 0; done < len;) {
        uint64_t chunk = len - done < fs->bounce_len ? len - done : fs->bounce_len;
        int64_t got = pread_full(fd, fs->bounce, chunk, file_off + done);
        if (got < 0)
            got = 0;
        memset(fs->bounce + got, 0, (size_t)(chunk - (uint64_t)got));
        total += (uint64_t)got;
        /* Whole pages of zeros past the file's end map the zero page. */
        uint64_t data_pages = ((uint64_t)got + page - 1) & ~(page - 1);
        if (data_pages > chunk)
            data_pages = chunk;
        put_bytes(fs, off + done, fs->bounce, data_pages);
        put_zeros(fs, off + done + data_pages, chunk - data_pages);
        done += chunk;
    }
    return total;
}

/* The mapped object of a region, as the target sees it (a deleted file, a
 * memfd, shared memory): /proc/<pid>/map_files needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE. -1 when it cannot be opened. */
static int open_map_file(int64_t pid, fill_state *fs, uint64_t *size)
{
    const region_entry *r = fs->region;
    ms_file_id id = {r->dev_major, r->dev_minor, r->inode};
    int path_fd, fd = -1;
    struct stat st;
    ms_status st_open = ms__map_files_path_fd(pid, r->start, r->end, &path_fd);
    if (st_open == MS_OK) {
        st_open = ms__reopen_regular(path_fd, &id, &fd, &st);
        close(path_fd);
    }
    if (st_open != MS_OK) {
        fs->map_files_failed = true;
        snprintf(fs->map_files_error, sizeof fs->map_files_error, "map_files/%" PRIx64 "-%" PRIx64 ": %s",
                 r->start, r->end, ms_last_error());
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* Pages of a WHOLE block that are not in memory: from the mapped object,
 * until a page a fault could not bring in. */
static void fill_whole_hole(int64_t pid, uint64_t page, fill_state *fs, uint64_t addr, uint64_t len)
{
    const region_entry *r = fs->region;
    uint64_t off = addr - fs->base;
    if (fs->fd == -1) {
        fs->fd = open_map_file(pid, fs, &fs->file_size);
        if (fs->fd < 0)
            fs->fd = -2;
    }
    if (fs->fd == -2) {
        put_zeros(fs, off, len);
        fs->stats.bytes_zero += len;
        return;
    }
    uint64_t file_off = r->offset + (addr - r->start);
    uint64_t file_pages_end = (fs->file_size + page - 1) & ~(page - 1);
    if (file_off >= file_pages_end) {
        fs->stop_at = addr; /* SIGBUS territory: /proc/<pid>/mem reads stop here */
        return;
    }
    uint64_t want = len;
    if (file_off + want > file_pages_end) {
        want = file_pages_end - file_off;
        fs->stop_at = addr + want;
    }
    uint64_t in_file = fs->file_size > file_off ? fs->file_size - file_off : 0;
    if (in_file > want)
        in_file = want;
    uint64_t got = put_file(fs, fs->fd, off, in_file, file_off, page);
    put_zeros(fs, off + in_file, want - in_file);
    fs->stats.bytes_from_file += got;
    fs->stats.bytes_zero += want - got;
}

static void fill_span(int64_t pid, uint64_t page, fill_state *fs, const ms_span *sp)
{
    uint64_t off = sp->addr - fs->base;
    if (sp->addr >= fs->stop_at)
        return;
    if (sp->kind == MS_SPAN_DATA) {
        put_bytes(fs, off, sp->data, sp->len);
        fs->stats.bytes_read += sp->len;
        return;
    }
    if (sp->kind == MS_SPAN_UNREADABLE) {
        if (sp->err == EFAULT) { /* beyond the address space: yara's pagemap read returns nothing */
            put_zeros(fs, off, sp->len);
            fs->stats.bytes_zero += sp->len;
            return;
        }
        if (fs->source == SOURCE_WHOLE)
            fs->stop_at = sp->addr;
        else
            fs->skip = true;
        return;
    }
    switch (fs->source) {
    case SOURCE_ANON:
        put_zeros(fs, off, sp->len);
        fs->stats.bytes_zero += sp->len;
        break;
    case SOURCE_FILE: {
        /* The file mapped at the region's offset for the whole block (see the top). */
        uint64_t got = put_file(fs, fs->fd, off, sp->len, fs->region->offset + off, page);
        fs->stats.bytes_from_file += got;
        fs->stats.bytes_zero += sp->len - got;
        break;
    }
    case SOURCE_WHOLE:
        fill_whole_hole(pid, page, fs, sp->addr, sp->len);
        break;
    }
}

/* Reads one block into fs->buf (or streams it). Returns what ended reading:
 * MS_OK, or the reader's failure (the target exited), or the stop reason. */
static ms_status fill_block(ms_reader *reader, int64_t pid, uint64_t page, const ms__yara_blocks_config *cfg,
                            fill_state *fs)
{
    ms_range range = {fs->base, fs->base + fs->size};
    ms_status st = ms__reader_begin(reader, &range, 1);
    while (st == MS_OK && !fs->skip && fs->stop_at == UINT64_MAX) {
        ms_span sp;
        bool more;
        st = ms__reader_next(reader, &sp, &more);
        if (st != MS_OK || !more)
            break;
        fill_span(pid, page, fs, &sp);
        if (cfg->cancel && *cfg->cancel)
            st = ms__fail(MS_E_INTERRUPTED, "scan of %" PRId64 " cancelled", pid);
        else if (cfg->deadline_ns && ms__monotonic_ns() >= cfg->deadline_ns)
            st = ms__fail(MS_E_TIMEOUT, "scan of %" PRId64 " passed its deadline", pid);
    }
    /* Whatever happened, every page gets resolved: the scan may be waiting on
     * any of them, and the direct buffer holds the last block's bytes. */
    put_zeros(fs, fs->resolved, fs->size - fs->resolved);
    if (fs->uffd >= 0) {
        if (fs->uffd_errno) {
            struct uffdio_range all = {(uintptr_t)fs->buf, fs->size};
            ioctl(fs->uffd, UFFDIO_UNREGISTER, &all); /* wakes any waiter onto ordinary zero pages */
        }
    }
    if (fs->fd >= 0)
        close(fs->fd);
    fs->fd = -1;
    return st;
}

/* ---- streaming: a filler thread reads the block while libyara scans it ---- */

static void *filler_main(void *arg)
{
    ms__yara_blocks *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->job_pending && !b->quit)
            pthread_cond_wait(&b->cv, &b->mu);
        if (b->job_pending) {
            b->job_pending = false;
            pthread_mutex_unlock(&b->mu);
            ms_status st = fill_block(b->reader, b->pid, b->page, &b->cfg, &b->job);
            b->job_status = st;
            if (st != MS_OK)
                ms__strlcpy(b->job_msg, ms_last_error(), sizeof b->job_msg);
            pthread_mutex_lock(&b->mu);
            b->job_running = false;
            pthread_cond_broadcast(&b->cv);
            continue;
        }
        break; /* quit */
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* Folds a finished fill into the pass: counters, warnings, failures. */
static void absorb_fill(ms__yara_blocks *b, fill_state *fs, ms_status st, const char *msg)
{
    b->stats.bytes_read += fs->stats.bytes_read;
    b->stats.bytes_from_file += fs->stats.bytes_from_file;
    b->stats.bytes_zero += fs->stats.bytes_zero;
    if (fs->map_files_failed && !b->map_files_warned) {
        b->map_files_warned = true;
        ms__log(b->agent, MS_LOG_WARN,
                "pid %" PRId64 ": %s; pages of such mappings that are not in memory read as zeros, where yara would "
                "fault them in",
                b->pid, fs->map_files_error);
    }
    if (st != MS_OK && b->fatal == MS_OK) {
        b->fatal = st;
        ms__strlcpy(b->fatal_msg, msg, sizeof b->fatal_msg);
    }
}

/* Waits for the block being streamed, if any, and folds its outcome in. */
static void stream_wait(ms__yara_blocks *b)
{
    if (!b->streaming)
        return;
    pthread_mutex_lock(&b->mu);
    while (b->job_running)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    b->streaming = false;
    absorb_fill(b, &b->job, b->job_status, b->job_msg);
    if (b->job.skip || b->job.stop_at == b->job.base)
        ms__log(b->agent, MS_LOG_WARN,
                "pid %" PRId64 ": block 0x%" PRIx64 "+0x%" PRIx64 " had an unreadable page once its scan had begun; "
                "yara would have skipped it",
                b->pid, b->job.base, b->job.size);
    else if (b->job.uffd_errno)
        ms__log(b->agent, MS_LOG_WARN, "pid %" PRId64 ": streaming block 0x%" PRIx64 ": %s; the rest read as zeros",
                b->pid, b->job.base, strerror(b->job.uffd_errno));
}

/* Blocks a present page of which may refuse to be read ([vvar], device
 * memory) are read before the scan, so they can be dropped as yara drops them. */
static bool may_refuse_reads(const region_entry *r)
{
    const char *p = r->path;
    if (p[0] == '[')
        return strcmp(p, "[heap]") != 0 && strcmp(p, "[stack]") != 0 && strncmp(p, "[anon:", 6) != 0;
    return strncmp(p, "/dev/", 5) == 0 && strncmp(p, "/dev/shm/", 9) != 0 && strcmp(p, "/dev/zero (deleted)") != 0;
}

static bool start_filler(ms__yara_blocks *b)
{
    if (b->filler_started)
        return true;
    if (b->uffd == -1) {
        b->uffd = -2;
        long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
#if defined(UFFD_USER_MODE_ONLY)
        if (fd < 0 && (errno == EPERM || errno == EACCES)) /* unprivileged: libyara's reads fault in user mode */
            fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
#endif
        if (fd >= 0) {
            struct uffdio_api api = {.api = UFFD_API, .features = 0};
            if (ioctl((int)fd, UFFDIO_API, &api) == 0) {
                b->uffd = (int)fd;
            } else {
                close((int)fd);
            }
        }
        if (b->uffd < 0)
            ms__log(b->agent, MS_LOG_DEBUG, "userfaultfd unavailable (%s): blocks are read before they are scanned",
                    strerror(errno));
    }
    if (b->uffd < 0)
        return false;
    b->bounce = mmap(NULL, STREAM_BOUNCE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->bounce == MAP_FAILED) {
        b->bounce = NULL;
        return false;
    }
    if (pthread_create(&b->filler, NULL, filler_main, b) != 0) {
        munmap(b->bounce, STREAM_BOUNCE);
        b->bounce = NULL;
        return false;
    }
    b->filler_started = true;
    return true;
}

/* Hands the block to the filler thread and returns at once; libyara's reads
 * of pages not placed yet wait in the kernel until the filler places them. */
static bool stream_block(ms__yara_blocks *b, const fill_state *fs)
{
    if (fs->size < STREAM_MIN_BLOCK || may_refuse_reads(fs->region) || !start_filler(b))
        return false;
    struct uffdio_register reg = {.range = {(uintptr_t)b->buf, fs->size}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    if (ioctl(b->uffd, UFFDIO_REGISTER, &reg) != 0 || !(reg.ioctls & (1ull << _UFFDIO_COPY)) ||
        !(reg.ioctls & (1ull << _UFFDIO_ZEROPAGE)))
        return false;
    pthread_mutex_lock(&b->mu);
    b->job = *fs;
    b->job.uffd = b->uffd;
    b->job.bounce = b->bounce;
    b->job.bounce_len = STREAM_BOUNCE;
    b->job_status = MS_OK;
    b->job_pending = true;
    b->job_running = true;
    b->streaming = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return true;
}

static void *new_mapping(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The shared buffer for blocks read before their scan, grown to size. */
static void *direct_buffer(ms__yara_blocks *b, size_t size)
{
    if (size > b->direct_cap) {
        /* Grown in place where it can be: the pages already in stay in. */
        void *p = b->direct ? mremap(b->direct, b->direct_cap, size, MREMAP_MAYMOVE) : new_mapping(size);
        if (p == MAP_FAILED || !p)
            return NULL;
        b->direct = p;
        b->direct_cap = size;
    }
    return b->direct;
}

static const uint8_t *fetch_block_timed(YR_MEMORY_BLOCK *block);

static const uint8_t *fetch_block(YR_MEMORY_BLOCK *block)
{
    ms__yara_blocks *b = block->context;
    uint64_t t0 = ms__monotonic_ns();
    const uint8_t *data = fetch_block_timed(block);
    b->stats.fetch_ns += ms__monotonic_ns() - t0;
    return data;
}

static const uint8_t *fetch_block_timed(YR_MEMORY_BLOCK *block)
{
    ms__yara_blocks *b = block->context;
    b->stats.block_fetches++;
    stream_wait(b);
    if (b->cached && b->cached_base == block->base && b->cached_size == block->size)
        return b->fatal == MS_OK ? b->cached_data : NULL;
    release_buffer(b);
    if (should_stop(b))
        return NULL;
    bool first_time = !b->any_fetched || block->base > b->highest_fetched;
    if (first_time) {
        b->any_fetched = true;
        b->highest_fetched = block->base;
        b->stats.blocks++;
    }

    const region_entry *r = &b->regions[b->region_index];
    bool streamable = b->stream_enabled && block->size >= STREAM_MIN_BLOCK && !may_refuse_reads(r);
    if (streamable && b->direct)
        madvise(b->direct, b->direct_cap, MADV_DONTNEED); /* not held beside a large block */
    void *buf = streamable ? new_mapping(block->size) : direct_buffer(b, block->size);
    if (!buf) {
        ms__log(b->agent, MS_LOG_WARN, "pid %" PRId64 ": no memory for a block of %zu bytes at 0x%" PRIx64,
                b->pid, block->size, block->base);
        if (first_time)
            b->stats.blocks_skipped++;
        return NULL;
    }
    b->buf = buf;
    b->buf_len = block->size;

    fill_state fs = {.region = r, .base = block->base, .size = block->size, .fd = -1, .stop_at = UINT64_MAX,
                     .buf = b->buf, .uffd = -1};
    fs.source = choose_source(r, block->size, &fs.fd);
    b->cached = true;
    b->cached_base = block->base;
    b->cached_size = block->size;
    if (b->stream_enabled && stream_block(b, &fs)) {
        if (first_time)
            b->stats.bytes_scanned += block->size;
        b->cached_data = b->buf;
        return b->buf;
    }

    ms_status st = fill_block(b->reader, b->pid, b->page, &b->cfg, &fs);
    absorb_fill(b, &fs, st, st == MS_OK ? "" : ms_last_error());

    const uint8_t *data = b->buf;
    if (b->fatal != MS_OK || fs.skip || fs.stop_at == block->base) {
        data = NULL;
        if (first_time && b->fatal == MS_OK) {
            b->stats.blocks_skipped++;
            ms__log(b->agent, MS_LOG_DEBUG, "pid %" PRId64 ": block 0x%" PRIx64 "+0x%zx skipped (unreadable page), as yara does",
                    b->pid, block->base, block->size);
        }
    } else if (first_time) {
        b->stats.bytes_scanned += block->size;
    }
    b->cached_data = data;
    return data;
}

ms_status ms__plat_yara_blocks_attach(ms__yara_blocks *b, ms_agent *agent, int64_t pid,
                                      const ms__yara_blocks_config *cfg, YR_MEMORY_BLOCK_ITERATOR **out)
{
    release_buffer(b);
    clear_regions(b);
    memset(&b->stats, 0, sizeof b->stats);
    b->agent = agent;
    b->pid = pid;
    b->cfg = *cfg;
    b->fatal = MS_OK;
    b->fatal_msg[0] = '\0';
    b->any_fetched = false;
    b->highest_fetched = 0;
    b->map_files_warned = false;
    b->stream_enabled = cfg->streaming;

    ms_status st = ms__reader_attach(b->reader, pid);
    if (st != MS_OK)
        return st;
    st = ms_region_list(agent, pid, collect_region, b);
    if (st == MS_E_STOPPED)
        st = ms__fail(MS_E_NO_MEMORY, "yara: out of memory listing the regions of %" PRId64, pid);
    if (st != MS_OK) {
        ms__reader_detach(b->reader);
        clear_regions(b);
        return st;
    }
    b->stats.regions = b->nregions;
    b->block = (YR_MEMORY_BLOCK){.context = b, .fetch_data = fetch_block};
    b->iterator = (YR_MEMORY_BLOCK_ITERATOR){
        .context = b, .first = first_block, .next = next_block, .file_size = NULL, .last_error = ERROR_SUCCESS};
    *out = &b->iterator;
    return MS_OK;
}

void ms__plat_yara_blocks_detach(ms__yara_blocks *b, ms_yara_scan_stats *stats)
{
    stream_wait(b); /* its counters belong to this pass */
    if (stats) {
        stats->regions += b->stats.regions;
        stats->blocks += b->stats.blocks;
        stats->blocks_skipped += b->stats.blocks_skipped;
        stats->bytes_scanned += b->stats.bytes_scanned;
        stats->bytes_read += b->stats.bytes_read;
        stats->bytes_from_file += b->stats.bytes_from_file;
        stats->bytes_zero += b->stats.bytes_zero;
        stats->block_fetches += b->stats.block_fetches;
        stats->fetch_ns += b->stats.fetch_ns;
    }
    release_buffer(b);
    if (b->direct_cap > DIRECT_KEEP) {
        void *p = mremap(b->direct, b->direct_cap, DIRECT_KEEP, 0);
        if (p != MAP_FAILED)
            b->direct_cap = DIRECT_KEEP;
    }
    clear_regions(b);
    ms__reader_detach(b->reader);
}

#else

typedef int ms__yara_blocks_absent; /* built without the libyara headers */

#endif
