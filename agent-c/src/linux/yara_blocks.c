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
 * that looks at memory. The buffer is a fresh anonymous mapping per block, so
 * holes cost nothing and memsentry's memory is bounded by the block size. */
#include "../yara_blocks.h"
#include "procfs.h"
#include "reader.h"

#if defined(MS_HAVE_YARA)

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <yara.h>

/* yara reads maps lines with fgets into PATH_MAX bytes: a longer line cuts the
 * path, the open fails and the block is read whole. */
#define YARA_MAPS_LINE_MAX 4096
#define MAPS_PREFIX_MAX 80

typedef enum block_source { SOURCE_FILE, SOURCE_ANON, SOURCE_WHOLE } block_source;

typedef struct region_entry {
    uint64_t start, end, offset, inode;
    uint32_t dev_major, dev_minor;
    char *path;
} region_entry;

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

    /* The one cached block. */
    uint8_t *buf;
    size_t buf_len;
    bool cached;
    uint64_t cached_base, cached_size;
    const uint8_t *cached_data; /* NULL when the block is skipped */
    uint64_t highest_fetched;   /* counts each block once, however often it is fetched */
    bool any_fetched;

    bool map_files_warned;
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
    ms_status st = ms__reader_new(0, 0, &b->reader);
    if (st != MS_OK) {
        free(b);
        return st;
    }
    b->page = (uint64_t)sysconf(_SC_PAGESIZE);
    *out = b;
    return MS_OK;
}

static void release_buffer(ms__yara_blocks *b)
{
    if (b->buf)
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
    clear_regions(b);
    free(b->regions);
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

ms_status ms__plat_yara_blocks_status(const ms__yara_blocks *b)
{
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
    int f = open(r->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (f < 0)
        return SOURCE_WHOLE;
    struct stat st;
    if (fstat(f, &st) != 0 || major(st.st_dev) != r->dev_major || minor(st.st_dev) != r->dev_minor ||
        (uint64_t)st.st_ino != r->inode || (uint64_t)st.st_size < r->offset + block_size) {
        close(f);
        return SOURCE_WHOLE;
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return SOURCE_ANON;
    }
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

/* The mapped object of a region, as the target sees it (a deleted file, a
 * memfd, shared memory): /proc/<pid>/map_files needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE. -1 when it cannot be opened. */
static int open_map_file(ms__yara_blocks *b, const region_entry *r, uint64_t *size)
{
    char leaf[80];
    snprintf(leaf, sizeof leaf, "map_files/%" PRIx64 "-%" PRIx64, r->start, r->end);
    int fd;
    if (ms__proc_open(b->pid, leaf, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd) != MS_OK) {
        if (!b->map_files_warned)
            ms__log(b->agent, MS_LOG_WARN,
                    "pid %" PRId64 ": %s: %s; pages of such mappings that are not in memory read as zeros, "
                    "where yara would fault them in",
                    b->pid, leaf, ms_last_error());
        b->map_files_warned = true;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

typedef struct fill_state {
    block_source source;
    int fd;             /* FILE: the file; WHOLE: the map_files object, -1 not opened, -2 unavailable */
    uint64_t file_size; /* WHOLE */
    uint64_t stop_at;   /* WHOLE: where the pread yara does would have stopped; UINT64_MAX: nowhere */
    bool skip;          /* FILE, ANON: yara drops the block */
} fill_state;

/* Pages of a WHOLE block that are not in memory: from the mapped object,
 * until a page a fault could not bring in. */
static void fill_whole_hole(ms__yara_blocks *b, const region_entry *r, fill_state *fs, uint64_t addr,
                            uint64_t len)
{
    if (fs->fd == -1) {
        fs->fd = open_map_file(b, r, &fs->file_size);
        if (fs->fd < 0)
            fs->fd = -2;
    }
    if (fs->fd == -2) {
        b->stats.bytes_zero += len;
        return;
    }
    uint64_t file_off = r->offset + (addr - r->start);
    uint64_t file_pages_end = (fs->file_size + b->page - 1) & ~(b->page - 1);
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
    int64_t got = pread_full(fs->fd, b->buf + (addr - b->block.base), in_file, file_off);
    if (got < 0)
        got = 0;
    b->stats.bytes_from_file += (uint64_t)got;
    b->stats.bytes_zero += want - (uint64_t)got;
}

static void fill_span(ms__yara_blocks *b, const region_entry *r, fill_state *fs, const ms_span *sp)
{
    uint64_t base = b->block.base;
    if (sp->addr >= fs->stop_at)
        return;
    if (sp->kind == MS_SPAN_DATA) {
        memcpy(b->buf + (sp->addr - base), sp->data, (size_t)sp->len);
        b->stats.bytes_read += sp->len;
        return;
    }
    if (sp->kind == MS_SPAN_UNREADABLE) {
        if (sp->err == EFAULT) { /* beyond the address space: yara's pagemap read returns nothing */
            b->stats.bytes_zero += sp->len;
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
        b->stats.bytes_zero += sp->len;
        break;
    case SOURCE_FILE: {
        /* The file mapped at the region's offset for the whole block (see the top). */
        int64_t got = pread_full(fs->fd, b->buf + (sp->addr - base), sp->len, r->offset + (sp->addr - base));
        if (got < 0)
            got = 0;
        b->stats.bytes_from_file += (uint64_t)got;
        b->stats.bytes_zero += sp->len - (uint64_t)got;
        break;
    }
    case SOURCE_WHOLE:
        fill_whole_hole(b, r, fs, sp->addr, sp->len);
        break;
    }
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
    if (b->cached && b->cached_base == block->base && b->cached_size == block->size)
        return b->cached_data;
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
    void *buf = mmap(NULL, block->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (buf == MAP_FAILED) {
        ms__log(b->agent, MS_LOG_WARN, "pid %" PRId64 ": no memory for a block of %zu bytes at 0x%" PRIx64,
                b->pid, block->size, block->base);
        if (first_time)
            b->stats.blocks_skipped++;
        return NULL;
    }
    b->buf = buf;
    b->buf_len = block->size;

    fill_state fs = {.fd = -1, .stop_at = UINT64_MAX};
    fs.source = choose_source(r, block->size, &fs.fd);
    ms_range range = {block->base, block->base + block->size};
    ms_status st = ms__reader_begin(b->reader, &range, 1);
    while (st == MS_OK && !fs.skip) {
        ms_span sp;
        bool more;
        st = ms__reader_next(b->reader, &sp, &more);
        if (st != MS_OK || !more)
            break;
        fill_span(b, r, &fs, &sp);
        if (should_stop(b))
            break;
    }
    if (fs.fd >= 0)
        close(fs.fd);
    if (st != MS_OK)
        set_fatal(b, st);

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
    b->cached = true;
    b->cached_base = block->base;
    b->cached_size = block->size;
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
    clear_regions(b);
    ms__reader_detach(b->reader);
}

#else

typedef int ms__yara_blocks_absent; /* built without the libyara headers */

#endif
