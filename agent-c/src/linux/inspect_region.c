/* ms_region_probe and ms_region_compare_file on Linux.
 *
 * Both read the target only through the pagemap-aware reader, so a page the
 * process never touched is never faulted in. The file behind a region is
 * opened through /proc/<pid>/map_files/<start>-<end>, which names the inode
 * that is mapped (even deleted or replaced on disk since); see mapped_file.h
 * for how a path the target chose is never opened. */
#include "../common/elf_deps.h"
#include "../common/header.h"
#include "../platform.h"
#include "mapped_file.h"
#include "procfs.h"
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE_OR_SHARED (1ull << 61)

/* Pagemap entries per pread, and the most bytes compared per read. */
#define PM_BATCH 512
#define COMPARE_CHUNK ((size_t)256 << 10)

static bool is_file_kind(int32_t kind)
{
    return kind == MS_REGION_FILE || kind == MS_REGION_DELETED || kind == MS_REGION_MEMFD || kind == MS_REGION_SHM;
}

static bool magic_is_memory_fs(uint64_t magic)
{
    return magic == TMPFS_MAGIC || magic == RAMFS_MAGIC;
}

ms_status ms__plat_region_probe(ms_agent *agent, int64_t pid, const ms_region *region, ms_region_probe_result *out)
{
    (void)agent;
    long pagesz = sysconf(_SC_PAGESIZE);
    if (pagesz <= 0)
        return ms__fail(MS_E_INTERNAL, "page size unknown");
    size_t len = (size_t)pagesz;
    if (region->end - region->start < len)
        len = (size_t)(region->end - region->start);
    uint8_t *page = malloc(len);
    if (!page)
        return ms__fail(MS_E_NO_MEMORY, "probe buffer");

    ms_reader *r = NULL;
    ms_status st = ms__reader_new(len, 0, &r);
    if (st == MS_OK)
        st = ms__reader_attach(r, pid);
    ms_copy_result res;
    memset(&res, 0, sizeof res);
    bool have_bytes = false;
    if (st == MS_OK) {
        st = ms__reader_copy(r, region->start, page, len, &res);
        if (st == MS_OK && res.bytes_data == len)
            have_bytes = true;
        else if (st == MS_E_PARTIAL_READ)
            out->flags |= MS_PROBE_UNREADABLE;
        if (st == MS_E_PARTIAL_READ)
            st = MS_OK;
    }
    ms__reader_free(r);
    if (st != MS_OK) {
        free(page);
        return st;
    }

    if (is_file_kind(region->kind)) {
        int fd;
        ms_status fst = ms__open_mapped_file(pid, region, &fd);
        if (fst == MS_E_NO_SUCH_PROCESS) {
            free(page);
            return fst;
        }
        if (fst == MS_OK) {
            struct statfs sfs;
            if (fstatfs(fd, &sfs) == 0) {
                out->flags |= MS_PROBE_FS_KNOWN;
                out->fs_magic = (uint64_t)(unsigned long)sfs.f_type;
                if (magic_is_memory_fs(out->fs_magic))
                    out->flags |= MS_PROBE_ON_TMPFS;
            }
            if (!have_bytes) {
                /* Not resident: the file's bytes are what the page would hold. */
                ssize_t n;
                do {
                    n = pread(fd, page, len, (off_t)region->offset);
                } while (n < 0 && errno == EINTR);
                if (n > 0) {
                    memset(page + n, 0, len - (size_t)n);
                    have_bytes = true;
                    out->flags |= MS_PROBE_FROM_FILE;
                    out->flags &= ~MS_PROBE_UNREADABLE;
                }
            }
            close(fd);
        } else {
            ms__log(agent, MS_LOG_DEBUG, "probe %" PRId64 " 0x%" PRIx64 ": %s", pid, region->start, ms_last_error());
        }
    }

    if (have_bytes) {
        ms__classify_header(page, len, out);
        ms_elf_info *elf = out->header == MS_HEADER_ELF ? malloc(sizeof *elf) : NULL;
        ms_elf_buffer buf = {page, len};
        /* Only the first page: program headers beyond it stay unknown. */
        if (elf && ms__elf_parse(ms__elf_read_buffer, &buf, false, elf) == MS_OK) {
            out->flags |= MS_PROBE_ELF_PHDRS | (elf->has_interp ? MS_PROBE_ELF_INTERP : 0);
            out->elf_entry = elf->entry;
        }
        free(elf);
        out->head_len = (uint32_t)(len < sizeof out->head ? len : sizeof out->head);
        memcpy(out->head, page, out->head_len);
    } else if (!(out->flags & MS_PROBE_UNREADABLE)) {
        out->flags |= MS_PROBE_NOT_PRESENT;
    }
    free(page);
    return MS_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct compare_ctx {
    int64_t pid;
    const ms_region *region;
    int file_fd;
    uint64_t file_size;
    uint64_t page;
    ms_reader *reader;
    uint8_t *file_buf; /* COMPARE_CHUNK bytes */
    ms_code_diff_cb cb;
    void *user_data;
    ms_compare_stats *stats;
} compare_ctx;

/* The file's bytes for [addr, addr+len) of the region; zeros past its end. */
static ms_status read_file_bytes(compare_ctx *c, uint64_t addr, size_t len)
{
    uint64_t off = c->region->offset + (addr - c->region->start);
    size_t got = 0;
    while (got < len && off + got < c->file_size) {
        size_t want = len - got;
        if (off + got + want > c->file_size)
            want = (size_t)(c->file_size - off - got);
        ssize_t n = pread(c->file_fd, c->file_buf + got, want, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ms__fail(MS_E_IO, "read the mapped file at %" PRIu64 ": %s", off + got, strerror(errno));
        if (n == 0)
            break; /* truncated meanwhile: the rest compares with zeros, as the kernel would fault SIGBUS */
        got += (size_t)n;
    }
    memset(c->file_buf + got, 0, len - got);
    return MS_OK;
}

static ms_status compare_pages(compare_ctx *c, uint64_t addr, const uint8_t *mem, size_t len)
{
    ms_status st = read_file_bytes(c, addr, len);
    if (st != MS_OK)
        return st;
    for (size_t at = 0; at < len; at += (size_t)c->page) {
        size_t n = len - at < c->page ? len - at : (size_t)c->page;
        const uint8_t *m = mem + at;
        const uint8_t *f = c->file_buf + at;
        c->stats->pages_compared++;
        if (memcmp(m, f, n) == 0)
            continue;
        ms_code_diff d;
        memset(&d, 0, sizeof d);
        d.page = addr + at;
        size_t first = n;
        for (size_t i = 0; i < n; i++) {
            if (m[i] != f[i]) {
                if (first == n)
                    first = i;
                d.diff_bytes++;
            }
        }
        d.first_diff = d.page + first;
        d.sample_len = (uint32_t)(n - first < sizeof d.mem ? n - first : sizeof d.mem);
        memcpy(d.mem, m + first, d.sample_len);
        memcpy(d.file, f + first, d.sample_len);
        c->stats->pages_differing++;
        if (c->cb(&d, c->user_data) != 0)
            return ms__fail(MS_E_STOPPED, "comparison stopped by the callback");
    }
    return MS_OK;
}

/* Reads [start, end) through the reader (pages gone meanwhile come back as
 * holes and are skipped) and compares what was read. */
static ms_status compare_run(compare_ctx *c, uint64_t start, uint64_t end)
{
    ms_range range = {start, end};
    ms_status st = ms__reader_begin(c->reader, &range, 1);
    while (st == MS_OK) {
        ms_span sp;
        bool more = false;
        st = ms__reader_next(c->reader, &sp, &more);
        if (st != MS_OK || !more)
            break;
        if (sp.kind == MS_SPAN_DATA)
            st = compare_pages(c, sp.addr, sp.data, (size_t)sp.len);
    }
    return st;
}

ms_status ms__plat_region_compare_file(ms_agent *agent, int64_t pid, const ms_region *region,
                                       const ms_compare_options *opts, ms_code_diff_cb cb, void *user_data,
                                       ms_compare_stats *stats)
{
    (void)agent;
    compare_ctx c;
    memset(&c, 0, sizeof c);
    c.pid = pid;
    c.region = region;
    c.cb = cb;
    c.user_data = user_data;
    c.stats = stats;
    c.file_fd = -1;
    long pagesz = sysconf(_SC_PAGESIZE);
    if (pagesz <= 0)
        return ms__fail(MS_E_INTERNAL, "page size unknown");
    c.page = (uint64_t)pagesz;
    if ((region->start | region->end) & (c.page - 1))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_region_compare_file: region is not page aligned");
    int64_t deadline = opts->timeout_ms > 0 ? now_ms() + opts->timeout_ms : 0;
    bool all = (opts->flags & MS_COMPARE_ALL_PRESENT) != 0;

    int pagemap_fd = -1;
    ms_status st = ms__open_mapped_file(pid, region, &c.file_fd);
    struct stat fst;
    if (st == MS_OK) {
        if (fstat(c.file_fd, &fst) != 0)
            st = ms__fail(MS_E_IO, "fstat of the mapped file: %s", strerror(errno));
        else
            c.file_size = (uint64_t)fst.st_size;
    }
    if (st == MS_OK)
        st = ms__proc_open(pid, "pagemap", O_RDONLY, &pagemap_fd);
    if (st == MS_OK)
        st = ms__reader_new(COMPARE_CHUNK, 0, &c.reader);
    if (st == MS_OK)
        st = ms__reader_attach(c.reader, pid);
    if (st == MS_OK && !(c.file_buf = malloc(COMPARE_CHUNK)))
        st = ms__fail(MS_E_NO_MEMORY, "compare buffer");

    uint64_t entries[PM_BATCH];
    uint64_t npages = (region->end - region->start) / c.page;
    stats->pages_total = npages;
    uint64_t run_start = 0, run_end = 0; /* candidate pages not compared yet */
    for (uint64_t i = 0; st == MS_OK && i < npages;) {
        size_t want = npages - i < PM_BATCH ? (size_t)(npages - i) : PM_BATCH;
        uint64_t first_page = region->start / c.page + i;
        ssize_t n = pread(pagemap_fd, entries, want * sizeof entries[0], (off_t)(first_page * sizeof entries[0]));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = errno == ESRCH ? ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited", pid)
                                : ms__fail(MS_E_IO, "pagemap of %" PRId64 ": %s", pid, strerror(errno));
            break;
        }
        if ((size_t)n < sizeof entries[0]) {
            st = ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited", pid);
            break;
        }
        size_t got = (size_t)n / sizeof entries[0];
        for (size_t k = 0; st == MS_OK && k < got; k++) {
            uint64_t e = entries[k];
            bool resident = (e & (PM_PRESENT | PM_SWAPPED)) != 0;
            bool own_copy = (e & PM_SWAPPED) || ((e & PM_PRESENT) && !(e & PM_FILE_OR_SHARED));
            stats->pages_resident += resident;
            stats->pages_private += own_copy;
            uint64_t addr = region->start + (i + k) * c.page;
            if (all ? resident : own_copy) {
                if (run_end == addr && run_end - run_start < COMPARE_CHUNK) {
                    run_end += c.page;
                    continue;
                }
                if (run_end > run_start)
                    st = compare_run(&c, run_start, run_end);
                run_start = addr;
                run_end = addr + c.page;
            }
        }
        i += got;
        if (st == MS_OK && deadline && now_ms() > deadline)
            st = ms__fail(MS_E_TIMEOUT, "comparison of 0x%" PRIx64 "-0x%" PRIx64 " timed out", region->start,
                          region->end);
    }
    if (st == MS_OK && run_end > run_start)
        st = compare_run(&c, run_start, run_end);

    free(c.file_buf);
    ms__reader_free(c.reader);
    if (pagemap_fd >= 0)
        close(pagemap_fd);
    if (c.file_fd >= 0)
        close(c.file_fd);
    return st;
}
