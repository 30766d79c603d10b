/* Process dumps on Linux (see ms_dump.h for the contract).
 *
 * Order of work: check the destination (nothing is created yet), freeze the
 * threads if asked, read the maps, choose the regions and lay the file out,
 * open the pagemap reader, create the temporary file, check free space,
 * write the headers, stream every chosen region through the reader in one
 * batched pass (present pages become writes at their final offsets; absent
 * pages of file-backed regions are copied from the mapped file; absent
 * anonymous pages stay sparse holes), thaw, report the regions, write the
 * manifest, rename into place. Every exit goes through job_cleanup(), which thaws the threads and
 * removes whatever was not committed. */
#include "../common/bytes.h"
#include "../common/dump_select.h"
#include "../common/sha256.h"
#include "../platform.h"
#include "elfcore.h"
#include "evidence.h"
#include "mapped_file.h"
#include "maps_parse.h"
#include "procfs.h"
#include "reader.h"
#include "threads.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define FREEZE_TIMEOUT_MS 3000
/* The progress callback hears at most once per this many bytes. */
#define PROGRESS_STEP ((uint64_t)8 << 20)
/* Buffer for copying file pages when sendfile cannot (raw format: hashed). */
#define FILE_COPY_BUFFER ((size_t)256 << 10)

typedef struct dump_region {
    ms_region r;
    size_t path_off; /* into the path arena until it stops growing */
    bool device; /* VM_IO or VM_PFNMAP in smaps */
    ms_dump_choice choice;
    uint64_t file_offset;
    uint64_t bytes_read;
    uint64_t bytes_from_file;
    uint64_t bytes_hole;
    uint64_t bytes_unreadable;
    uint64_t first_bad;
    int first_err;
    int32_t status;
    char reason[256];
    ms_sha256 sha;
    char sha_hex[2 * MS_SHA256_LEN + 1];
} dump_region;

typedef struct dump_job {
    ms_agent *agent;
    int64_t pid;
    const char *path;
    ms_dump_options o;
    bool raw;
    uint64_t page;

    dump_region *regions;
    size_t count;
    size_t cap;
    ms_bytes paths;

    ms_threads threads;
    ms_reader *reader;
    ms_evidence data;
    ms_evidence manifest;
    char manifest_path[4096 + 8];

    ms_range *ranges;
    size_t *range_region;
    size_t nranges;

    struct dump_worker *workers;
    unsigned nworkers;
    bool workers_joined;
    pthread_mutex_t lock; /* first_bad/first_err of regions shared by workers */
    int stop;             /* set (atomically) when one worker fails: the others stop */
    int helpers_running;  /* atomically counted */

    ms_bytes header;
    ms_bytes notes;
    uint64_t total;
    uint64_t done; /* atomically updated by the workers */
    uint64_t reported;
    uint64_t file_size;
    ms_dump_result res;
} dump_job;

/* One share of the streaming work. The caller's thread is worker 0 and the
 * only one that calls back (progress) or touches ptrace; helpers only read
 * memory and write at their own offsets. */
typedef struct dump_worker {
    dump_job *j;
    ms_reader *reader;
    ms_range *ranges;
    size_t *range_region;
    size_t nranges;
    /* The mapped file of the region whose absent pages are being copied. */
    size_t source_region;
    int source_fd;
    uint8_t *copy_buffer;
    ms_bulk_writer bulk;
    ms_status status;
    bool aborted; /* stopped because another worker failed */
    char detail[256];
    pthread_t thread;
    bool started;
} dump_worker;

/* Dumps of at least this many bytes are streamed by several threads (on a
 * machine with several processors): copying into the page cache is bound by
 * one core's memory bandwidth. */
#define PARALLEL_MIN_BYTES ((uint64_t)64 << 20)
#define MAX_WORKERS 4
/* Dumps of at least this many bytes may write around the page cache
 * (evidence.h, ms_bulk_writer); below, a disk's latency costs more than the
 * page cache ever does. */
#define DIRECT_MIN_BYTES ((uint64_t)64 << 20)
#define HELPER_BUFFER ((size_t)2 << 20)

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static int collect_region(const ms_region *r, void *user_data)
{
    dump_job *j = user_data;
    if (j->count == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 256;
        dump_region *grown = realloc(j->regions, cap * sizeof *grown);
        if (!grown)
            return 1;
        j->regions = grown;
        j->cap = cap;
    }
    dump_region *d = &j->regions[j->count++];
    memset(d, 0, sizeof *d);
    d->r = *r;
    d->r.path = NULL;
    d->path_off = j->paths.len;
    ms__bytes_append(&j->paths, r->path, strlen(r->path) + 1);
    return j->paths.failed;
}

static ms_status read_regions(dump_job *j)
{
    ms_status st = ms__plat_region_list(j->agent, j->pid, collect_region, j);
    if (st == MS_E_STOPPED)
        return ms__fail(MS_E_NO_MEMORY, "region list of process %" PRId64, j->pid);
    if (st != MS_OK)
        return st;
    if (j->count == 0)
        return ms__fail(MS_E_UNSUPPORTED, "process %" PRId64 " has no user memory (a kernel thread, or exiting)",
                        j->pid);
    for (size_t i = 0; i < j->count; i++)
        j->regions[i].r.path = (const char *)j->paths.p + j->regions[i].path_off;
    return MS_OK;
}

/* Marks the regions that map device memory, from their VmFlags in smaps:
 * the path says nothing (a tmpfs mounted on /dev in the target's mount
 * namespace holds plain files), and the inode type says too much (a private
 * mapping of /dev/zero is ordinary memory). */
static ms_status mark_devices(dump_job *j)
{
    int fd;
    ms_status st = ms__proc_open(j->pid, "smaps", O_RDONLY, &fd);
    if (st != MS_OK)
        return st;
    ms_line_reader lr;
    ms__line_reader_init(&lr, fd);
    size_t cursor = 0;
    dump_region *current = NULL;
    for (;;) {
        char *line;
        size_t len;
        st = ms__line_reader_next(&lr, &line, &len);
        if (st == MS_E_MALFORMED)
            continue;
        if (st != MS_OK || !line)
            break;
        uint32_t flags;
        int kind = ms__smaps_line_kind(line, len, &flags);
        if (kind == MS_SMAPS_HEADER) {
            ms_region r;
            current = NULL;
            if (ms__maps_parse_line(line, len, &r) != MS_OK)
                continue;
            while (cursor < j->count && j->regions[cursor].r.start < r.start)
                cursor++;
            if (cursor < j->count && j->regions[cursor].r.start == r.start)
                current = &j->regions[cursor];
        } else if (kind == MS_SMAPS_VMFLAGS && current) {
            current->device = flags != 0;
        }
    }
    ms__line_reader_close(&lr);
    return st;
}

/* Chooses the regions and places them in the file. */
static ms_status plan_layout(dump_job *j)
{
    uint64_t budget = j->o.max_total_size ? j->o.max_total_size : UINT64_MAX;
    j->ranges = calloc(j->count, sizeof *j->ranges);
    j->range_region = calloc(j->count, sizeof *j->range_region);
    if (!j->ranges || !j->range_region)
        return ms__fail(MS_E_NO_MEMORY, "range list of %zu regions", j->count);
    for (size_t i = 0; i < j->count; i++) {
        dump_region *d = &j->regions[i];
        ms__dump_choose(&d->r, d->device, &j->o, &budget, &d->choice);
        if (d->choice.length) {
            j->ranges[j->nranges] = (ms_range){d->r.start, d->r.start + d->choice.length};
            j->range_region[j->nranges++] = i;
            j->total += d->choice.length;
        }
    }

    uint64_t offset = 0;
    if (!j->raw) {
        ms_core_file *files = calloc(j->count, sizeof *files);
        ms_core_segment *segs = calloc(j->count, sizeof *segs);
        size_t nfiles = 0;
        ms_status st = files && segs ? MS_OK : ms__fail(MS_E_NO_MEMORY, "core layout of %zu regions", j->count);
        for (size_t i = 0; st == MS_OK && i < j->count; i++) {
            const dump_region *d = &j->regions[i];
            if (d->r.path[0] == '/')
                files[nfiles++] = (ms_core_file){d->r.start, d->r.end, d->r.offset, d->r.path};
        }
        if (st == MS_OK)
            st = ms__core_notes(j->pid, &j->threads, files, nfiles, j->page, &j->notes);
        uint64_t header_size = ms__core_header_size(j->count);
        offset = align_up(header_size + j->notes.len, j->page);
        j->file_size = header_size + j->notes.len;
        for (size_t i = 0; st == MS_OK && i < j->count; i++) {
            dump_region *d = &j->regions[i];
            d->file_offset = offset;
            segs[i] = (ms_core_segment){d->r.start, d->r.end - d->r.start, d->choice.length, offset, d->r.perms};
            if (d->choice.length) {
                j->file_size = offset + d->choice.length;
                offset = align_up(offset + d->choice.length, j->page);
            }
        }
        if (st == MS_OK)
            st = ms__core_header(segs, j->count, header_size, j->notes.len, j->page, &j->header);
        free(files);
        free(segs);
        return st;
    }
    for (size_t i = 0; i < j->count; i++) {
        j->regions[i].file_offset = offset;
        offset += j->regions[i].choice.length;
        ms__sha256_init(&j->regions[i].sha);
    }
    j->file_size = offset;
    return MS_OK;
}

/* Upper bound of the bytes the file takes on disk: only present pages are
 * written, and there are no more of them than the process's resident plus
 * swapped memory. */
static uint64_t space_needed(const dump_job *j)
{
    uint64_t resident = UINT64_MAX;
    char status[8192];
    if (ms__proc_read(j->pid, "status", status, sizeof status, NULL) == MS_OK) {
        const char *rss = strstr(status, "\nVmRSS:");
        const char *swap = strstr(status, "\nVmSwap:");
        if (rss)
            resident = (uint64_t)strtoull(rss + 7, NULL, 10) * 1024u + (swap ? strtoull(swap + 8, NULL, 10) * 1024u : 0);
    }
    uint64_t file_backed = 0;
    for (size_t i = 0; i < j->count; i++)
        if (j->regions[i].r.path[0] == '/')
            file_backed += j->regions[i].choice.length;
    uint64_t bound = resident > UINT64_MAX - file_backed ? UINT64_MAX : resident + file_backed;
    uint64_t data = j->total < bound ? j->total : bound;
    return j->header.len + j->notes.len + data + (uint64_t)j->count * 512u + j->page * 16u;
}

static void add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static void account(dump_worker *w, dump_region *d, const ms_span *sp)
{
    dump_job *j = w->j;
    switch (sp->kind) {
    case MS_SPAN_DATA:
        add(&d->bytes_read, sp->len);
        if (j->raw)
            ms__sha256_update(&d->sha, sp->data, (size_t)sp->len);
        break;
    case MS_SPAN_HOLE:
        add(&d->bytes_hole, sp->len);
        if (j->raw)
            ms__sha256_zeros(&d->sha, sp->len);
        break;
    case MS_SPAN_UNREADABLE:
        pthread_mutex_lock(&j->lock);
        if (d->bytes_unreadable == 0 || sp->addr < d->first_bad) {
            d->first_bad = sp->addr;
            d->first_err = sp->err;
        }
        d->bytes_unreadable += sp->len;
        pthread_mutex_unlock(&j->lock);
        if (j->raw)
            ms__sha256_zeros(&d->sha, sp->len);
        break;
    }
}

/* The file behind a file-backed region (mapped_file.h: never a path the
 * target chose). -1 when it cannot be opened. */
static int open_backing_file(const dump_job *j, const dump_region *d)
{
    int fd;
    return ms__open_mapped_file(j->pid, &d->r, &fd) == MS_OK ? fd : -1;
}

static void close_source(dump_worker *w)
{
    if (w->source_fd >= 0)
        close(w->source_fd);
    w->source_fd = -1;
}

/* Copies [src, src+len) of the source file to dst in the dump. Returns the
 * bytes copied; fewer at the file's end or when it cannot be read. */
static ms_status copy_file_range_to_dump(dump_worker *w, dump_region *d, uint64_t src, uint64_t dst, uint64_t len,
                                         uint64_t *copied)
{
    dump_job *j = w->j;
    uint64_t done = 0;
    while (done < len && src + done <= (uint64_t)INT64_MAX) {
        ssize_t n;
        if (!j->raw && j->nworkers == 1) {
            /* sendfile writes at the file position: one writer only. */
            off_t in = (off_t)(src + done);
            if (lseek(j->data.fd, (off_t)(dst + done), SEEK_SET) < 0)
                return ms__fail(MS_E_IO, "seek in %s: %s", j->path, strerror(errno));
            n = sendfile(j->data.fd, w->source_fd, &in, (size_t)(len - done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == ENOSPC || errno == EDQUOT))
                return ms__fail(MS_E_NO_SPACE, "write %s: %s", j->path, strerror(errno));
        } else {
            if (!w->copy_buffer && !(w->copy_buffer = malloc(FILE_COPY_BUFFER)))
                return ms__fail(MS_E_NO_MEMORY, "file copy buffer");
            size_t want = len - done < FILE_COPY_BUFFER ? (size_t)(len - done) : FILE_COPY_BUFFER;
            n = pread(w->source_fd, w->copy_buffer, want, (off_t)(src + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0) {
                ms_status st = ms__evidence_pwrite(&j->data, w->copy_buffer, (size_t)n, dst + done);
                if (st != MS_OK)
                    return st;
                if (j->raw)
                    ms__sha256_update(&d->sha, w->copy_buffer, (size_t)n);
            }
        }
        if (n <= 0)
            break; /* the file's end, or an unreadable file: the rest stays a hole */
        done += (uint64_t)n;
    }
    *copied = done;
    return MS_OK;
}

/* The bytes of an absent stretch of a file-backed region are the file's:
 * copy them from the file, extent by extent (SEEK_DATA/SEEK_HOLE, so a
 * sparse file or untouched shared memory stays a hole in the dump too).
 * What lies past the file's end, or cannot be read from it, stays a hole. */
static ms_status fill_from_file(dump_worker *w, size_t index, dump_region *d, uint64_t addr, uint64_t len)
{
    dump_job *j = w->j;
    if (w->source_region != index) {
        close_source(w);
        w->source_region = index;
        w->source_fd = open_backing_file(j, d);
        if (w->source_fd < 0 && w == j->workers)
            ms__log(j->agent, MS_LOG_DEBUG, "process %" PRId64 ": cannot open the file behind %s; absent pages stay holes",
                    j->pid, d->r.path);
    }
    uint64_t src = d->r.offset + (addr - d->r.start);
    uint64_t dst = d->file_offset + (addr - d->r.start);
    uint64_t pos = 0; /* relative to src */
    uint64_t copied_total = 0;
    while (w->source_fd >= 0 && pos < len && src + pos <= (uint64_t)INT64_MAX) {
        off_t data = lseek(w->source_fd, (off_t)(src + pos), SEEK_DATA);
        uint64_t data_end = len;
        if (data < 0) {
            if (errno == ENXIO)
                break; /* no data from here to the end of the file */
            data = (off_t)(src + pos); /* no SEEK_DATA here: copy it all */
        } else {
            off_t hole = lseek(w->source_fd, data, SEEK_HOLE);
            if (hole >= 0 && (uint64_t)hole - src < len)
                data_end = (uint64_t)hole - src;
        }
        uint64_t from = (uint64_t)data - src;
        if (from >= len)
            break;
        uint64_t want = data_end - from, copied = 0;
        if (j->raw)
            ms__sha256_zeros(&d->sha, from - pos); /* the hole before this extent */
        ms_status st = copy_file_range_to_dump(w, d, src + from, dst + from, want, &copied);
        if (st != MS_OK)
            return st;
        if (j->raw && copied < want)
            ms__sha256_zeros(&d->sha, want - copied);
        copied_total += copied;
        pos = data_end;
        if (copied < want)
            break;
    }
    if (j->raw && pos < len)
        ms__sha256_zeros(&d->sha, len - pos);
    add(&d->bytes_from_file, copied_total);
    add(&d->bytes_hole, len - copied_total);
    return MS_OK;
}

/* Our own [vdso], found once. */
static pthread_once_t own_vdso_once = PTHREAD_ONCE_INIT;
static uint64_t own_vdso_start, own_vdso_len;

static int find_vdso(const ms_region *r, void *user_data)
{
    (void)user_data;
    if (r->kind != MS_REGION_VDSO)
        return 0;
    own_vdso_start = r->start;
    own_vdso_len = r->end - r->start;
    return 1;
}

static void locate_own_vdso(void)
{
    ms__plat_region_list(NULL, (int64_t)getpid(), find_vdso, NULL);
}

/* The ELF class of the target's executable, 0 when unknown. */
static int exe_class(int64_t pid)
{
    char head[EI_NIDENT];
    int fd;
    if (ms__proc_open(pid, "exe", O_RDONLY, &fd) != MS_OK)
        return 0;
    ssize_t n = pread(fd, head, sizeof head, 0);
    close(fd);
    return n == (ssize_t)sizeof head && memcmp(head, ELFMAG, SELFMAG) == 0 ? head[EI_CLASS] : 0;
}

/* [vdso] pages are the kernel's and mapped on first use, so the pagemap
 * shows them absent, yet gdb needs the image. Reading them through the
 * target would map them there; the image is the same in every process of
 * this kernel and ABI, so absent pages are copied from our own [vdso] (a page
 * the target changed, e.g. a debugger's breakpoint, is present and was read
 * from the target). Otherwise they stay holes. */
static ms_status fill_vdso(dump_worker *w, dump_region *d, const ms_span *sp)
{
    dump_job *j = w->j;
    pthread_once(&own_vdso_once, locate_own_vdso);
    bool same_image = own_vdso_len == d->r.end - d->r.start && exe_class(j->pid) == (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32);
    if (!same_image) {
        account(w, d, sp);
        return MS_OK;
    }
    ms_span data = *sp;
    data.kind = MS_SPAN_DATA;
    data.data = (const uint8_t *)(uintptr_t)(own_vdso_start + (sp->addr - d->r.start));
    ms_status st = ms__evidence_pwrite(&j->data, data.data, (size_t)data.len, d->file_offset + (sp->addr - d->r.start));
    if (st == MS_OK)
        account(w, d, &data);
    return st;
}

static bool cancelled(const dump_job *j)
{
    return j->o.cancel && __atomic_load_n(j->o.cancel, __ATOMIC_RELAXED);
}

/* Worker 0 only: hands the progress to the caller's callback. */
static ms_status report_progress(dump_job *j, bool final)
{
    uint64_t done = __atomic_load_n(&j->done, __ATOMIC_RELAXED);
    if (!j->o.progress || (!final && done - j->reported < PROGRESS_STEP) || (final && done == j->reported))
        return MS_OK;
    j->reported = done;
    if (j->o.progress(done, j->total, j->o.progress_user) != 0)
        return ms__fail(MS_E_STOPPED, "dump of process %" PRId64 " cancelled by the progress callback", j->pid);
    return MS_OK;
}

static ms_status stream_share(dump_worker *w)
{
    dump_job *j = w->j;
    bool main_worker = w == j->workers;
    ms_status st = ms__reader_begin(w->reader, w->ranges, w->nranges);
    while (st == MS_OK) {
        if (cancelled(j))
            return ms__fail(MS_E_INTERRUPTED, "dump of process %" PRId64 " cancelled", j->pid);
        if (__atomic_load_n(&j->stop, __ATOMIC_RELAXED)) {
            w->aborted = true;
            return MS_E_INTERRUPTED;
        }
        ms_span sp;
        bool more;
        st = ms__reader_next(w->reader, &sp, &more);
        if (st != MS_OK || !more)
            break;
        size_t index = w->range_region[sp.range];
        dump_region *d = &j->regions[index];
        if (sp.kind == MS_SPAN_DATA) {
            st = ms__evidence_write_bulk(&j->data, &w->bulk, sp.data, (size_t)sp.len,
                                         d->file_offset + (sp.addr - d->r.start));
            if (st != MS_OK)
                return st;
        }
        if (sp.kind == MS_SPAN_HOLE && d->r.path[0] == '/')
            st = fill_from_file(w, index, d, sp.addr, sp.len);
        else if (sp.kind == MS_SPAN_HOLE && d->r.kind == MS_REGION_VDSO)
            st = fill_vdso(w, d, &sp);
        else
            account(w, d, &sp);
        if (st != MS_OK)
            return st;
        add(&j->done, sp.len);
        if (main_worker && (st = report_progress(j, false)) != MS_OK)
            return st;
    }
    if (st == MS_E_NO_SUCH_PROCESS)
        return ms__fail(st, "process %" PRId64 " exited during the dump", j->pid);
    return st;
}

static void finish_share(dump_worker *w)
{
    w->status = stream_share(w);
    if (w->status != MS_OK && !w->aborted) {
        ms__strlcpy(w->detail, ms_last_error(), sizeof w->detail);
        __atomic_store_n(&w->j->stop, 1, __ATOMIC_RELAXED);
    }
}

static void *helper_main(void *arg)
{
    dump_worker *w = arg;
    finish_share(w);
    __atomic_fetch_sub(&w->j->helpers_running, 1, __ATOMIC_RELEASE);
    return NULL;
}

static unsigned worker_count(const dump_job *j)
{
    unsigned n = j->o.threads;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = j->total >= PARALLEL_MIN_BYTES && cpus > 1 ? (unsigned)cpus : 1;
    }
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    /* Raw dumps hash each region in order: a share holds whole regions. */
    if (j->raw && n > j->nranges)
        n = (unsigned)(j->nranges ? j->nranges : 1);
    return n ? n : 1;
}

/* Splits the chosen ranges into n shares of about equal bytes, in address
 * order; core dumps may cut a range (at a page boundary), raw ones do not. */
static ms_status split_shares(dump_job *j, unsigned n)
{
    uint64_t target = (j->total + n - 1) / n;
    for (unsigned k = 0; k < n; k++) {
        dump_worker *w = &j->workers[k];
        w->j = j;
        w->source_fd = -1;
        w->source_region = SIZE_MAX;
        w->ranges = calloc(j->nranges + n, sizeof *w->ranges);
        w->range_region = calloc(j->nranges + n, sizeof *w->range_region);
        if (!w->ranges || !w->range_region)
            return ms__fail(MS_E_NO_MEMORY, "work shares");
    }
    unsigned k = 0;
    uint64_t filled = 0;
    for (size_t i = 0; i < j->nranges; i++) {
        ms_range rest = j->ranges[i];
        while (rest.start < rest.end) {
            if (filled >= target && k + 1 < n) {
                k++;
                filled = 0;
            }
            dump_worker *w = &j->workers[k];
            uint64_t take = rest.end - rest.start;
            if (!j->raw && k + 1 < n && take > target - filled) {
                take = align_up(target - filled, j->page);
                if (take > rest.end - rest.start)
                    take = rest.end - rest.start;
            }
            w->ranges[w->nranges] = (ms_range){rest.start, rest.start + take};
            w->range_region[w->nranges++] = j->range_region[i];
            filled += take;
            rest.start += take;
        }
    }
    return MS_OK;
}

/* Streams every chosen range into the file: present pages from the target,
 * absent file pages from the files, holes left sparse; on several threads
 * for big dumps. Worker 0 is the calling thread. */
static ms_status stream_regions(dump_job *j)
{
    unsigned n = worker_count(j);
    j->workers = calloc(n, sizeof *j->workers);
    if (!j->workers)
        return ms__fail(MS_E_NO_MEMORY, "workers");
    j->nworkers = n;
    ms_status st = split_shares(j, n);
    if (st != MS_OK)
        return st;
    j->workers[0].reader = j->reader;
    for (unsigned k = 1; k < n; k++) {
        dump_worker *w = &j->workers[k];
        if ((st = ms__reader_new(HELPER_BUFFER, 0, &w->reader)) != MS_OK ||
            (st = ms__reader_attach(w->reader, j->pid)) != MS_OK)
            return st;
    }
    for (unsigned k = 1; k < n; k++) {
        dump_worker *w = &j->workers[k];
        __atomic_fetch_add(&j->helpers_running, 1, __ATOMIC_RELAXED);
        if (pthread_create(&w->thread, NULL, helper_main, w) != 0) {
            __atomic_fetch_sub(&j->helpers_running, 1, __ATOMIC_RELAXED);
            continue; /* worker 0 takes this share on after its own */
        }
        w->started = true;
    }
    finish_share(&j->workers[0]);
    for (unsigned k = 1; k < n; k++)
        if (!j->workers[k].started && !__atomic_load_n(&j->stop, __ATOMIC_RELAXED))
            finish_share(&j->workers[k]);
    /* The caller's thread keeps reporting progress (and noticing a cancel)
     * until the helpers are done. */
    while (__atomic_load_n(&j->helpers_running, __ATOMIC_ACQUIRE) > 0) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (!__atomic_load_n(&j->stop, __ATOMIC_RELAXED) && report_progress(j, false) != MS_OK) {
            j->workers[0].status = MS_E_STOPPED;
            ms__strlcpy(j->workers[0].detail, ms_last_error(), sizeof j->workers[0].detail);
            __atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
        }
    }
    for (unsigned k = 1; k < n; k++)
        if (j->workers[k].started)
            pthread_join(j->workers[k].thread, NULL);
    j->workers_joined = true;
    for (unsigned k = 0; k < n; k++) {
        dump_worker *w = &j->workers[k];
        if (w->bulk.bytes[1])
            ms__log(j->agent, MS_LOG_DEBUG, "process %" PRId64 ", thread %u: %" PRIu64 " bytes through the page cache, %" PRIu64
                    " around it (O_DIRECT)", j->pid, k, w->bulk.bytes[0], w->bulk.bytes[1]);
        if (w->status != MS_OK && !w->aborted)
            return ms__fail(w->status, "%s", w->detail);
    }
    if (cancelled(j))
        return ms__fail(MS_E_INTERRUPTED, "dump of process %" PRId64 " cancelled", j->pid);
    return report_progress(j, true);
}

static void finish_regions(dump_job *j)
{
    ms_dump_result *res = &j->res;
    res->regions = (uint32_t)j->count;
    for (size_t i = 0; i < j->count; i++) {
        dump_region *d = &j->regions[i];
        d->status = d->choice.status;
        ms__strlcpy(d->reason, d->choice.reason, sizeof d->reason);
        if (d->bytes_unreadable) {
            d->status = MS_DUMP_REGION_PARTIAL;
            char extra[160];
            snprintf(extra, sizeof extra, "%" PRIu64 " bytes unreadable from 0x%" PRIx64 " (%s)", d->bytes_unreadable,
                     d->first_bad, strerror(d->first_err));
            if (d->reason[0]) {
                size_t n = strlen(d->reason);
                snprintf(d->reason + n, sizeof d->reason - n, "; %s", extra);
            } else {
                ms__strlcpy(d->reason, extra, sizeof d->reason);
            }
        }
        if (j->raw && d->choice.length) {
            uint8_t digest[MS_SHA256_LEN];
            ms__sha256_final(&d->sha, digest);
            ms__sha256_hex(digest, d->sha_hex);
        }
        switch (d->status) {
        case MS_DUMP_REGION_SKIPPED:
            res->regions_skipped++;
            break;
        case MS_DUMP_REGION_PARTIAL:
            res->regions_partial++;
            res->regions_dumped++;
            if (d->choice.status == MS_DUMP_REGION_TRUNCATED)
                res->regions_truncated++;
            break;
        case MS_DUMP_REGION_TRUNCATED:
            res->regions_truncated++;
            res->regions_dumped++;
            break;
        default:
            res->regions_dumped++;
        }
        res->bytes_dumped += d->choice.length;
        res->bytes_read += d->bytes_read;
        res->bytes_from_file += d->bytes_from_file;
        res->bytes_hole += d->bytes_hole;
        res->bytes_unreadable += d->bytes_unreadable;
    }
    res->file_size = j->file_size;
}

static void report_regions(dump_job *j)
{
    if (!j->o.on_region)
        return;
    for (size_t i = 0; i < j->count; i++) {
        const dump_region *d = &j->regions[i];
        ms_dump_region out = {
            .region = &d->r,
            .file_offset = d->file_offset,
            .length = d->choice.length,
            .bytes_read = d->bytes_read,
            .bytes_from_file = d->bytes_from_file,
            .bytes_hole = d->bytes_hole,
            .bytes_unreadable = d->bytes_unreadable,
            .status = d->status,
            .reason = d->reason,
            .sha256 = j->raw && d->choice.length ? d->sha_hex : NULL,
        };
        if (j->o.on_region(&out, j->o.region_user) != 0)
            break;
    }
}

/* The raw manifest, in the shape the Windows agent and the Python stub write
 * (docs/PROTOCOL.md "dump"), with bytes_from_file added: per region
 * bytes_read + bytes_from_file + bytes_hole + bytes_unreadable = bytes. */
static ms_status write_manifest(dump_job *j)
{
    ms_bytes b = {0};
    char exe[4096] = "", comm[64] = "";
    char link[64];
    ms__proc_path(link, sizeof link, j->pid, "exe");
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    size_t comm_len = 0;
    if (ms__proc_read(j->pid, "comm", comm, sizeof comm, &comm_len) == MS_OK && comm_len && comm[comm_len - 1] == '\n')
        comm[comm_len - 1] = '\0';
    char created[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *slash = strrchr(j->path, '/');
    const ms_dump_result *t = &j->res;

    ms__bytes_printf(&b, "{\"format\":\"memsentry-raw\",\"version\":1,\"os\":\"linux\",\"pid\":%" PRId64 ",\"data\":",
                     j->pid);
    ms__bytes_json_string(&b, slash ? slash + 1 : j->path);
    ms__bytes_printf(&b,
                     ",\"max_region_size\":%" PRIu64 ",\"max_total_size\":%" PRIu64
                     ",\"created_by\":\"memsentry %s\",\"created_at\":\"%s\",\"page_size\":%" PRIu64
                     ",\n \"process\":{\"pid\":%" PRId64 ",\"name\":",
                     j->o.max_region_size, j->o.max_total_size, ms_version(), created, j->page, j->pid);
    ms__bytes_json_string(&b, comm);
    ms__bytes_printf(&b, ",\"exe\":");
    ms__bytes_json_string(&b, exe);
    /* The container the evidence came from: read before the target may be killed by a response. */
    ms_container_info c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.ns_pid = -1;
    if (ms__plat_process_container(j->agent, j->pid, &c) == MS_OK && (c.flags & MS_CONTAINER_ID)) {
        ms__bytes_printf(&b, ",\"container\":{\"id\":\"%s\",\"runtime\":\"%s\"", c.id,
                         ms_container_runtime_name(c.runtime));
        if (c.flags & MS_CONTAINER_POD)
            ms__bytes_printf(&b, ",\"pod_uid\":\"%s\"", c.pod_uid);
        if (c.flags & MS_CONTAINER_NSPID_KNOWN)
            ms__bytes_printf(&b, ",\"pid_in_namespace\":%" PRId64, c.ns_pid);
        ms__bytes_printf(&b, "}");
    }
    ms__bytes_printf(&b,
                     "},\"frozen\":%s,\"threads\":%zu,\"notes\":[],\n \"totals\":{\"regions\":%u,\"regions_dumped\":%u,"
                     "\"regions_truncated\":%u,\"regions_partial\":%u,\"regions_skipped\":%u,\"bytes_dumped\":%" PRIu64
                     ",\"bytes_read\":%" PRIu64 ",\"bytes_from_file\":%" PRIu64 ",\"bytes_hole\":%" PRIu64
                     ",\"bytes_unreadable\":%" PRIu64 ",\"file_size\":%" PRIu64 "},\n \"regions\":[",
                     t->frozen ? "true" : "false", j->threads.count, t->regions, t->regions_dumped, t->regions_truncated,
                     t->regions_partial, t->regions_skipped, t->bytes_dumped, t->bytes_read, t->bytes_from_file,
                     t->bytes_hole, t->bytes_unreadable, t->file_size);
    for (size_t i = 0; i < j->count; i++) {
        const dump_region *d = &j->regions[i];
        char perms[5];
        ms__perms_string(d->r.perms, perms);
        ms__bytes_printf(&b,
                         "%s\n  {\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64 "\",\"perms\":\"%s\",\"kind\":\"%s\","
                         "\"path\":",
                         i ? "," : "", d->r.start, d->r.end, perms, ms_region_kind_name(d->r.kind));
        ms__bytes_json_string(&b, d->r.path);
        ms__bytes_printf(&b,
                         ",\"offset\":\"0x%" PRIx64 "\",\"dev\":\"%02x:%02x\",\"inode\":%" PRIu64
                         ",\"file_offset\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"bytes_read\":%" PRIu64
                         ",\"bytes_from_file\":%" PRIu64 ",\"bytes_hole\":%" PRIu64 ",\"bytes_unreadable\":%" PRIu64
                         ",\"status\":\"%s\"",
                         d->r.offset, d->r.dev_major, d->r.dev_minor, d->r.inode, d->file_offset, d->choice.length,
                         d->bytes_read, d->bytes_from_file, d->bytes_hole, d->bytes_unreadable,
                         ms_dump_region_status_name(d->status));
        if (d->status != MS_DUMP_REGION_OK) {
            ms__bytes_printf(&b, ",\"reason\":");
            ms__bytes_json_string(&b, d->reason);
        }
        if (d->choice.length)
            ms__bytes_printf(&b, ",\"sha256\":\"%s\"", d->sha_hex);
        ms__bytes_printf(&b, "}");
    }
    ms__bytes_printf(&b, "\n ]}\n");
    ms_status st = b.failed ? ms__fail(MS_E_NO_MEMORY, "manifest of %zu regions", j->count)
                            : ms__evidence_pwrite(&j->manifest, b.p, b.len, 0);
    ms__bytes_free(&b);
    return st;
}

/* Each thread keeps one reader between dumps: a fresh buffer costs a page
 * fault per page on first use, more than copying a small process does, and
 * a sweep dumps hundreds of them on a few threads. It is freed when the
 * thread exits. Taken out while in use, so a nested dump gets its own. */
static pthread_key_t reader_key;
static pthread_once_t reader_key_once = PTHREAD_ONCE_INIT;
static bool reader_key_ok;

static void free_cached_reader(void *r)
{
    ms__reader_free(r);
}

static void make_reader_key(void)
{
    reader_key_ok = pthread_key_create(&reader_key, free_cached_reader) == 0;
}

static ms_status take_reader(ms_reader **out)
{
    pthread_once(&reader_key_once, make_reader_key);
    ms_reader *cached = reader_key_ok ? pthread_getspecific(reader_key) : NULL;
    if (cached) {
        pthread_setspecific(reader_key, NULL);
        *out = cached;
        return MS_OK;
    }
    return ms__reader_new(MS_READER_DEFAULT_BUFFER, 0, out);
}

static void give_back_reader(ms_reader *r)
{
    if (!r)
        return;
    ms__reader_set_log(r, NULL);
    ms__reader_detach(r);
    if (reader_key_ok && !pthread_getspecific(reader_key) && pthread_setspecific(reader_key, r) == 0)
        return;
    ms__reader_free(r);
}

static ms_status run(dump_job *j)
{
    bool force = (j->o.flags & MS_DUMP_FORCE) != 0;
    const ms_evidence_where where = {(j->o.flags & MS_DUMP_AT_DIR) ? j->o.dir_fd : -1,
                                     (j->o.flags & MS_DUMP_PRIVATE_DIR) != 0, j->agent};
    if (!j->raw && !ms__core_supported())
        return ms__fail(MS_E_UNSUPPORTED, "no ELF core writer for this architecture; use the raw format");
    if (j->raw) {
        int n = snprintf(j->manifest_path, sizeof j->manifest_path, "%s.json", j->path);
        if (n < 0 || (size_t)n >= sizeof j->manifest_path)
            return ms__fail(MS_E_INVALID_ARGUMENT, "output path too long");
    }
    if (j->o.cancel && *j->o.cancel)
        return ms__fail(MS_E_INTERRUPTED, "dump of process %" PRId64 " cancelled before it began", j->pid);
    /* The destination first: a refusal must not disturb the target. */
    ms_status st = ms__evidence_check(&where, j->path, force);
    if (st == MS_OK && j->raw)
        st = ms__evidence_check(&where, j->manifest_path, force);
    if (st != MS_OK)
        return st;

    if (j->o.flags & MS_DUMP_FREEZE)
        st = ms__threads_freeze(j->agent, j->pid, FREEZE_TIMEOUT_MS, &j->threads);
    else
        st = ms__threads_list(j->pid, &j->threads);
    if (st != MS_OK)
        return st;
    j->res.threads = (uint32_t)j->threads.count;
    j->res.frozen = j->threads.frozen;

    if ((st = read_regions(j)) != MS_OK || (st = mark_devices(j)) != MS_OK || (st = plan_layout(j)) != MS_OK)
        return st;

    if ((st = take_reader(&j->reader)) != MS_OK)
        return st;
    ms__reader_set_log(j->reader, j->agent);
    if ((st = ms__reader_attach(j->reader, j->pid)) != MS_OK)
        return st;

    if ((st = ms__evidence_create(&where, j->path, force, &j->data)) != MS_OK)
        return st;
    if (j->raw && (st = ms__evidence_create(&where, j->manifest_path, force, &j->manifest)) != MS_OK)
        return st;
    if ((st = ms__evidence_require_space(&j->data, space_needed(j))) != MS_OK)
        return st;

    if (!j->raw) {
        if ((st = ms__evidence_pwrite(&j->data, j->header.p, j->header.len, 0)) != MS_OK ||
            (st = ms__evidence_pwrite(&j->data, j->notes.p, j->notes.len, j->header.len)) != MS_OK)
            return st;
    }
    if (j->total >= DIRECT_MIN_BYTES)
        ms__evidence_open_direct(&j->data);
    if (j->o.progress && j->o.progress(0, j->total, j->o.progress_user) != 0)
        return ms__fail(MS_E_STOPPED, "dump of process %" PRId64 " cancelled by the progress callback", j->pid);
    if ((st = stream_regions(j)) != MS_OK)
        return st;
    if (ftruncate(j->data.fd, (off_t)j->file_size) != 0)
        return ms__fail(errno == ENOSPC ? MS_E_NO_SPACE : MS_E_IO, "size %s: %s", j->path, strerror(errno));
    /* Everything is read: let the target run again before the bookkeeping. */
    ms__threads_thaw(j->agent, &j->threads);

    finish_regions(j);
    report_regions(j);
    if (j->o.cancel && *j->o.cancel)
        return ms__fail(MS_E_INTERRUPTED, "dump of process %" PRId64 " cancelled", j->pid);
    bool sync = (j->o.flags & MS_DUMP_SYNC) != 0;
    if (j->raw && (st = write_manifest(j)) != MS_OK)
        return st;
    if ((st = ms__evidence_commit(&j->data, sync)) != MS_OK)
        return st;
    /* The manifest last: its presence says the data file is complete. */
    if (j->raw && (st = ms__evidence_commit(&j->manifest, sync)) != MS_OK) {
        ms__evidence_retract(&j->data);
        return st;
    }
    ms__log(j->agent, MS_LOG_DEBUG,
            "process %" PRId64 ": %u regions, %" PRIu64 " bytes read, %" PRIu64 " in holes, into %s", j->pid,
            j->res.regions_dumped, j->res.bytes_read, j->res.bytes_hole, j->path);
    return MS_OK;
}

static void job_cleanup(dump_job *j)
{
    for (unsigned k = 0; j->workers && k < j->nworkers; k++) {
        dump_worker *w = &j->workers[k];
        if (w->started && !j->workers_joined)
            pthread_join(w->thread, NULL);
        close_source(w);
        free(w->copy_buffer);
        free(w->ranges);
        free(w->range_region);
        if (k > 0)
            ms__reader_free(w->reader);
    }
    free(j->workers);
    pthread_mutex_destroy(&j->lock);
    ms__threads_free(j->agent, &j->threads);
    ms__evidence_discard(&j->data);
    ms__evidence_discard(&j->manifest);
    give_back_reader(j->reader);
    ms__bytes_free(&j->paths);
    ms__bytes_free(&j->header);
    ms__bytes_free(&j->notes);
    free(j->regions);
    free(j->ranges);
    free(j->range_region);
}

ms_status ms__plat_dump_process(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                                ms_dump_result *result)
{
    if (opts->format == MS_DUMP_FORMAT_MINIDUMP)
        return ms__fail(MS_E_UNSUPPORTED, "the minidump format is Windows-only (MiniDumpWriteDump); "
                                          "use the core or raw format on Linux");
    dump_job *j = calloc(1, sizeof *j);
    if (!j)
        return ms__fail(MS_E_NO_MEMORY, "dump job");
    j->agent = agent;
    j->pid = pid;
    j->path = path;
    j->o = *opts;
    j->raw = opts->format == MS_DUMP_FORMAT_RAW;
    j->page = (uint64_t)sysconf(_SC_PAGESIZE);
    j->threads.pid = pid;
    pthread_mutex_init(&j->lock, NULL);
    ms__evidence_init(&j->data);
    ms__evidence_init(&j->manifest);

    ms_status st = run(j);
    /* Cleanup must not lose the failure's detail. */
    char detail[512];
    ms__strlcpy(detail, ms_last_error(), sizeof detail);
    job_cleanup(j);
    if (result)
        *result = j->res;
    free(j);
    if (st != MS_OK)
        return ms__fail(st, "%s", detail);
    return MS_OK;
}
