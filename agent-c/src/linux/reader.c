/* The pagemap-aware memory reader; see reader.h for the contract.
 *
 * Which pages are present comes from the PAGEMAP_SCAN ioctl where the kernel
 * has it (6.7+): it returns the present runs and skips empty page tables, so
 * a huge sparse reservation costs next to nothing. Older kernels get the
 * pagemap's 8-byte entries, a window at a time.
 *
 * An iteration alternates two steps. plan() walks the ranges with the pagemap
 * and lays out a batch: HOLE spans, and DATA spans placed back to back in the
 * buffer, until the buffer, the iovec limit or the plan is full. next() hands
 * the spans out and reads DATA lazily: the first DATA span not read yet
 * triggers one process_vm_readv for it and every DATA span after it in the
 * batch. A short count stops at the first page that could not be copied;
 * salvage() retries from there with pread on /proc/<pid>/mem (which reaches
 * PROT_NONE memory), page by page until something reads again, and the batch
 * read resumes after that span. */
#include "reader.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

/* Pagemap entries fetched per pread: 32 KiB describe 16 MiB of 4 KiB pages. */
#define PM_WINDOW 4096
/* process_vm_readv takes at most IOV_MAX (1024 on Linux) iovecs per side. */
#define BATCH_IOV 1024
#define PLAN_CAP (2 * BATCH_IOV + 2)

/* The PAGEMAP_SCAN interface (linux/fs.h since 6.7), declared here because
 * the build machine's headers may predate it. */
#define MS_PAGEMAP_SCAN _IOWR('f', 16, struct ms_pm_scan_arg)
#define MS_PAGE_IS_PRESENT (1ull << 3)
#define MS_PAGE_IS_SWAPPED (1ull << 4)

struct ms_page_region {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

struct ms_pm_scan_arg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};

#define SCAN_VEC 512

typedef enum scan_support { SCAN_UNKNOWN, SCAN_YES, SCAN_NO } scan_support;

typedef enum page_class { PAGE_PRESENT, PAGE_ABSENT, PAGE_OUTSIDE } page_class;

typedef struct plan_span {
    uint64_t addr;
    uint64_t len;
    size_t range;
    size_t buf_off; /* DATA: where its bytes go in the buffer */
    uint64_t valid; /* DATA: bytes from the start known to be in the buffer */
    ms_span_kind kind;
    int err;
} plan_span;

struct ms_reader {
    const ms_agent *log;
    int vm_readv_err; /* why the last batch came short, for the log */
    int64_t pid;
    int pagemap_fd;
    int mem_fd;
    uint32_t flags;
    bool vm_readv_refused;
    ms_status fatal; /* MS_OK, or what ended reading this target (exit, denial) */
    char fatal_msg[200];

    uint8_t *buf;
    size_t cap;
    uint64_t page;
    unsigned page_shift;

    uint64_t pm[PM_WINDOW];
    uint64_t pm_first; /* page number of pm[0] */
    size_t pm_count;   /* valid entries; 0 when the window is empty */

    scan_support scan;
    struct ms_page_region runs[SCAN_VEC]; /* present runs found by the last scan */
    size_t nruns;
    size_t run_i;        /* first run that may still matter */
    uint64_t scan_start; /* the last scan covered [scan_start, scan_end) */
    uint64_t scan_end;
    uint64_t scan_pos;   /* the last address classified from it */

    const ms_range *ranges;
    size_t nranges;
    size_t ri;    /* range being planned */
    uint64_t pos; /* next address to plan in it */

    plan_span plan[PLAN_CAP];
    size_t plan_len;
    size_t plan_i;    /* span being handed out */
    uint64_t cursor;  /* bytes of plan[plan_i] already handed out */
    size_t buf_used;
    size_t read_upto; /* DATA spans below this index had their batch read */

    struct iovec iov[BATCH_IOV];
    ms_reader_stats stats;
};

static ms_status fatal_again(const ms_reader *r);

ms_status ms__reader_new(size_t buffer_size, uint32_t flags, ms_reader **out)
{
    if (!out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: out is NULL");
    *out = NULL;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || (page & (page - 1)) != 0)
        return ms__fail(MS_E_INTERNAL, "reader: odd page size %ld", page);
    if (buffer_size == 0)
        buffer_size = MS_READER_DEFAULT_BUFFER;
    if (buffer_size > ((size_t)1 << 30))
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: buffer of %zu bytes is too large", buffer_size);
    buffer_size = (buffer_size + (size_t)page - 1) & ~((size_t)page - 1);

    ms_reader *r = calloc(1, sizeof *r);
    if (!r)
        return ms__fail(MS_E_NO_MEMORY, "reader: out of memory");
    /* Populated up front: the kernel fills it in one pass, far cheaper than
     * faulting it in page by page during the first copy. */
    void *buf = mmap(NULL, buffer_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (buf == MAP_FAILED) {
        free(r);
        return ms__fail(MS_E_NO_MEMORY, "reader: buffer of %zu bytes: %s", buffer_size, strerror(errno));
    }
    r->buf = buf;
    r->cap = buffer_size;
    r->page = (uint64_t)page;
    while ((1ull << r->page_shift) < r->page)
        r->page_shift++;
    r->flags = flags;
    r->scan = flags & MS_READER_NO_PAGEMAP_SCAN ? SCAN_NO : SCAN_UNKNOWN;
    r->pid = 0;
    r->pagemap_fd = -1;
    r->mem_fd = -1;
    *out = r;
    return MS_OK;
}

void ms__reader_detach(ms_reader *r)
{
    if (!r)
        return;
    if (r->pagemap_fd >= 0)
        close(r->pagemap_fd);
    if (r->mem_fd >= 0)
        close(r->mem_fd);
    r->pagemap_fd = -1;
    r->mem_fd = -1;
    r->pid = 0;
    r->vm_readv_refused = false;
    r->fatal = MS_OK;
    r->pm_count = 0;
    r->scan_start = r->scan_end = 0;
    r->nruns = r->run_i = 0;
    r->ranges = NULL;
    r->nranges = 0;
    r->ri = 0;
    r->plan_len = r->plan_i = 0;
}

void ms__reader_free(ms_reader *r)
{
    if (!r)
        return;
    ms__reader_detach(r);
    munmap(r->buf, r->cap);
    free(r);
}

ms_status ms__reader_attach(ms_reader *r, int64_t pid)
{
    if (!r || pid <= 0 || pid > INT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: bad attach arguments");
    ms__reader_detach(r);
    if (!(r->flags & MS_READER_NO_PAGEMAP)) {
        ms_status st = ms__proc_open(pid, "pagemap", O_RDONLY, &r->pagemap_fd);
        if (st != MS_OK)
            return st;
    }
    r->pid = pid;
    return MS_OK;
}

void ms__reader_set_log(ms_reader *r, const ms_agent *agent)
{
    if (r)
        r->log = agent;
}

const ms_reader_stats *ms__reader_stats(const ms_reader *r)
{
    return &r->stats;
}

ms_status ms__reader_begin(ms_reader *r, const ms_range *ranges, size_t count)
{
    if (!r || (!ranges && count))
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: bad range arguments");
    if (r->pid <= 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: not attached to a process");
    for (size_t i = 0; i < count; i++)
        if (ranges[i].start > ranges[i].end)
            return ms__fail(MS_E_INVALID_ARGUMENT, "reader: range %zu ends before it starts", i);
    r->ranges = ranges;
    r->nranges = count;
    r->ri = 0;
    r->pos = count ? ranges[0].start : 0;
    r->plan_len = r->plan_i = 0;
    r->cursor = 0;
    r->buf_used = 0;
    r->read_upto = 0;
    r->scan_start = r->scan_end = 0; /* memory changes between iterations */
    r->nruns = 0;
    r->pm_count = 0;
    return r->fatal == MS_OK ? MS_OK : fatal_again(r);
}

static ms_status set_fatal(ms_reader *r, ms_status st)
{
    r->fatal = st;
    ms__strlcpy(r->fatal_msg, ms_last_error(), sizeof r->fatal_msg);
    return st;
}

/* Repeats the error that ended reading, so ms_last_error() shows it again. */
static ms_status fatal_again(const ms_reader *r)
{
    return ms__fail(r->fatal, "%s", r->fatal_msg);
}

static ms_status target_gone(ms_reader *r)
{
    return set_fatal(r, ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited during the read", r->pid));
}

/* The first page boundary after addr, or limit when that lies beyond it. */
static uint64_t next_page(const ms_reader *r, uint64_t addr, uint64_t limit)
{
    uint64_t last = addr | (r->page - 1);
    if (last >= limit - 1)
        return limit;
    return last + 1;
}

/* Fills the pagemap window with entries from page number `first` up to the
 * page holding limit-1. A zero-length read means the address lies beyond
 * the process's address space, or the address space is gone (the file pins
 * the mm it was opened on): reading page 0 tells them apart. */
static ms_status load_pagemap(ms_reader *r, uint64_t first, uint64_t limit, bool *outside)
{
    *outside = false;
    uint64_t last = (limit - 1) >> r->page_shift;
    uint64_t want = last - first + 1;
    if (want > PM_WINDOW)
        want = PM_WINDOW;
    r->pm_count = 0;
    for (;;) {
        ssize_t n = pread(r->pagemap_fd, r->pm, (size_t)want * sizeof r->pm[0], (off_t)(first * sizeof r->pm[0]));
        r->stats.pagemap_reads++;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno == ESRCH)
                return target_gone(r);
            return ms__fail(MS_E_IO, "pagemap of %" PRId64 " at page 0x%" PRIx64 ": %s", r->pid, first,
                            strerror(errno));
        }
        if ((size_t)n >= sizeof r->pm[0]) {
            r->pm_first = first;
            r->pm_count = (size_t)n / sizeof r->pm[0];
            return MS_OK;
        }
        uint64_t probe;
        ssize_t p;
        do {
            p = pread(r->pagemap_fd, &probe, sizeof probe, 0);
        } while (p < 0 && errno == EINTR);
        if (p != (ssize_t)sizeof probe)
            return target_gone(r);
        *outside = true;
        return MS_OK;
    }
}

/* Class of the page holding pos and the end of the run of pages of the same
 * class, at most limit (the run may continue past the window; the caller
 * merges). */
/* Whether the address space behind the pagemap still exists: reading the
 * entry of page 0 gives 8 bytes while it does. */
static bool address_space_alive(ms_reader *r)
{
    uint64_t probe;
    ssize_t p;
    do {
        p = pread(r->pagemap_fd, &probe, sizeof probe, 0);
    } while (p < 0 && errno == EINTR);
    return p == (ssize_t)sizeof probe;
}

/* Asks the kernel for the present or swapped runs in [pos, limit). Sets
 * r->scan to SCAN_NO when the kernel does not know the ioctl. */
static ms_status scan_runs(ms_reader *r, uint64_t pos, uint64_t limit, bool *outside)
{
    *outside = false;
    uint64_t start = pos & ~(r->page - 1);
    struct ms_pm_scan_arg arg = {
        .size = sizeof arg,
        .start = start,
        .end = limit,
        .vec = (uint64_t)(uintptr_t)r->runs,
        .vec_len = SCAN_VEC,
        .category_anyof_mask = MS_PAGE_IS_PRESENT | MS_PAGE_IS_SWAPPED,
        .return_mask = MS_PAGE_IS_PRESENT | MS_PAGE_IS_SWAPPED,
    };
    long n;
    do {
        n = ioctl(r->pagemap_fd, MS_PAGEMAP_SCAN, &arg);
        r->stats.pagemap_scans++;
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        int err = errno;
        if (r->scan == SCAN_UNKNOWN && (err == ENOTTY || err == EINVAL || err == EOPNOTSUPP)) {
            r->scan = SCAN_NO;
            return MS_OK;
        }
        if (err == ESRCH)
            return target_gone(r);
        if (err == EFAULT) { /* beyond the user address space ([vsyscall]) */
            *outside = true;
            return MS_OK;
        }
        return ms__fail(MS_E_IO, "pagemap scan of %" PRId64 " at 0x%" PRIx64 ": %s", r->pid, start, strerror(err));
    }
    r->scan = SCAN_YES;
    r->scan_pos = 0;
    /* An exited process has no page tables left: every page would look
     * absent. Nothing present is worth one more look. */
    if (n == 0 && !address_space_alive(r))
        return target_gone(r);
    r->nruns = (size_t)n;
    r->run_i = 0;
    r->scan_start = pos;
    r->scan_end = arg.walk_end > pos && arg.walk_end <= limit ? arg.walk_end : limit;
    if (n == SCAN_VEC && r->scan_end > r->runs[SCAN_VEC - 1].end)
        r->scan_end = r->runs[SCAN_VEC - 1].end; /* the vector filled up: trust no further */
    return MS_OK;
}

static ms_status classify_by_scan(ms_reader *r, uint64_t pos, uint64_t limit, page_class *cls, uint64_t *run_end)
{
    if (pos < r->scan_start || pos >= r->scan_end || pos < r->scan_pos) {
        bool outside;
        ms_status st = scan_runs(r, pos, limit, &outside);
        if (st != MS_OK || r->scan == SCAN_NO)
            return st;
        if (outside) {
            *cls = PAGE_OUTSIDE;
            *run_end = limit;
            return MS_OK;
        }
    }
    r->scan_pos = pos;
    while (r->run_i < r->nruns && r->runs[r->run_i].end <= pos)
        r->run_i++;
    uint64_t end;
    if (r->run_i < r->nruns && r->runs[r->run_i].start <= pos) {
        *cls = PAGE_PRESENT;
        end = r->runs[r->run_i].end;
    } else {
        *cls = PAGE_ABSENT;
        end = r->run_i < r->nruns ? r->runs[r->run_i].start : r->scan_end;
        if (end > r->scan_end)
            end = r->scan_end;
    }
    *run_end = end < limit ? end : limit;
    return MS_OK;
}

static ms_status classify(ms_reader *r, uint64_t pos, uint64_t limit, page_class *cls, uint64_t *run_end)
{
    if (r->pagemap_fd < 0) {
        *cls = PAGE_PRESENT;
        *run_end = limit;
        return MS_OK;
    }
    if (r->scan != SCAN_NO) {
        ms_status st = classify_by_scan(r, pos, limit, cls, run_end);
        if (st != MS_OK || r->scan == SCAN_YES)
            return st;
    }
    uint64_t pg = pos >> r->page_shift;
    if (r->pm_count == 0 || pg < r->pm_first || pg >= r->pm_first + r->pm_count) {
        bool outside;
        ms_status st = load_pagemap(r, pg, limit, &outside);
        if (st != MS_OK)
            return st;
        if (outside) {
            *cls = PAGE_OUTSIDE;
            *run_end = limit;
            return MS_OK;
        }
    }
    size_t i = (size_t)(pg - r->pm_first);
    bool present = (r->pm[i] & (PM_PRESENT | PM_SWAPPED)) != 0;
    *cls = present ? PAGE_PRESENT : PAGE_ABSENT;
    uint64_t end = next_page(r, pos, limit);
    for (i++; i < r->pm_count && end < limit; i++) {
        if (((r->pm[i] & (PM_PRESENT | PM_SWAPPED)) != 0) != present)
            break;
        end = next_page(r, end, limit);
    }
    *run_end = end;
    return MS_OK;
}

/* Appends to the plan, extending the last span when it continues it. */
static void plan_add(ms_reader *r, ms_span_kind kind, uint64_t addr, uint64_t len, int err)
{
    plan_span *last = r->plan_len ? &r->plan[r->plan_len - 1] : NULL;
    if (last && last->kind == kind && last->range == r->ri && last->addr + last->len == addr) {
        last->len += len;
    } else {
        plan_span *s = &r->plan[r->plan_len++];
        *s = (plan_span){.addr = addr, .len = len, .range = r->ri, .kind = kind, .err = err, .buf_off = r->buf_used};
    }
    if (kind == MS_SPAN_DATA)
        r->buf_used += (size_t)len;
}

static ms_status plan(ms_reader *r)
{
    r->plan_len = r->plan_i = 0;
    r->cursor = 0;
    r->buf_used = 0;
    r->read_upto = 0;
    size_t ndata = 0;
    while (r->ri < r->nranges) {
        const ms_range *rg = &r->ranges[r->ri];
        if (r->pos >= rg->end) {
            if (++r->ri < r->nranges)
                r->pos = r->ranges[r->ri].start;
            continue;
        }
        /* Room for one more span of any kind, and buffer room for data. */
        if (r->plan_len + 1 >= PLAN_CAP || ndata >= BATCH_IOV || r->buf_used >= r->cap)
            break;
        page_class cls;
        uint64_t run_end;
        ms_status st = classify(r, r->pos, rg->end, &cls, &run_end);
        if (st != MS_OK)
            return st;
        uint64_t len = run_end - r->pos;
        if (cls == PAGE_PRESENT) {
            if (len > r->cap - r->buf_used)
                len = r->cap - r->buf_used;
            size_t before = r->plan_len;
            plan_add(r, MS_SPAN_DATA, r->pos, len, 0);
            ndata += r->plan_len != before;
        } else if (cls == PAGE_ABSENT) {
            plan_add(r, MS_SPAN_HOLE, r->pos, len, 0);
        } else {
            plan_add(r, MS_SPAN_UNREADABLE, r->pos, len, EFAULT);
        }
        r->pos += len;
    }
    return MS_OK;
}

/* pread of /proc/<pid>/mem, looping over short counts. Returns the bytes
 * read; *err gets the errno where it stopped (0 when complete). A read of 0
 * bytes means the address space is gone. */
static size_t pread_mem(ms_reader *r, uint64_t addr, uint8_t *dst, uint64_t len, int *err)
{
    *err = 0;
    if (r->mem_fd < 0) {
        ms_status st = ms__proc_open(r->pid, "mem", O_RDONLY, &r->mem_fd);
        if (st != MS_OK) {
            set_fatal(r, st); /* exited, or denied: no page of it will read */
            *err = st == MS_E_NO_SUCH_PROCESS ? ESRCH : EACCES;
            return 0;
        }
    }
    size_t done = 0;
    while (done < len) {
        uint64_t at = addr + done;
        if (at > (uint64_t)INT64_MAX) {
            *err = EOVERFLOW; /* [vsyscall] and the like: a signed file offset cannot reach them */
            break;
        }
        uint64_t want = len - done;
        if (want > (uint64_t)INT64_MAX - at + 1)
            want = (uint64_t)INT64_MAX - at + 1;
        ssize_t n = pread(r->mem_fd, dst + done, (size_t)want, (off_t)at);
        r->stats.pread_calls++;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            break;
        }
        if (n == 0) {
            *err = ESRCH;
            break;
        }
        done += (size_t)n;
    }
    return done;
}

static bool is_refusal(int err)
{
    return err == EPERM || err == ENOSYS || err == EACCES;
}

/* Reads the DATA spans of the plan from index `from` on: one
 * process_vm_readv for all of them, or pread span by span once that call has
 * been refused. Sets valid on each; stops after the first span that came
 * short, so salvage() takes over there. */
static ms_status read_batch(ms_reader *r, size_t from)
{
    if (!(r->flags & MS_READER_NO_VM_READV) && !r->vm_readv_refused) {
        size_t niov = 0;
        for (size_t i = from; i < r->plan_len; i++)
            if (r->plan[i].kind == MS_SPAN_DATA)
                r->iov[niov++] = (struct iovec){(void *)(uintptr_t)r->plan[i].addr, (size_t)r->plan[i].len};
        struct iovec local = {r->buf + r->plan[from].buf_off, r->buf_used - r->plan[from].buf_off};
        ssize_t n;
        do {
            n = process_vm_readv((pid_t)r->pid, &local, 1, r->iov, (unsigned long)niov, 0);
            r->stats.vm_readv_calls++;
        } while (n < 0 && errno == EINTR);
        int err = n < 0 ? errno : 0;
        if (n < 0 && err == ESRCH)
            return target_gone(r);
        if (n < 0 && is_refusal(err)) {
            r->vm_readv_refused = true;
            ms__log(r->log, MS_LOG_DEBUG, "pid %" PRId64 ": process_vm_readv refused (%s), reading /proc/%" PRId64 "/mem",
                    r->pid, strerror(err), r->pid);
        } else {
            r->vm_readv_err = n < 0 ? err : EFAULT;
            uint64_t left = n < 0 ? 0 : (uint64_t)n;
            for (size_t i = from; i < r->plan_len; i++) {
                plan_span *s = &r->plan[i];
                if (s->kind != MS_SPAN_DATA)
                    continue;
                s->valid = left < s->len ? left : s->len;
                left -= s->valid;
                if (s->valid < s->len) {
                    r->read_upto = i + 1;
                    return MS_OK;
                }
            }
            r->read_upto = r->plan_len;
            return MS_OK;
        }
    }
    for (size_t i = from; i < r->plan_len; i++) {
        plan_span *s = &r->plan[i];
        if (s->kind != MS_SPAN_DATA)
            continue;
        int err;
        s->valid = pread_mem(r, s->addr, r->buf + s->buf_off, s->len, &err);
        if (r->fatal != MS_OK)
            return fatal_again(r);
        if (err == ESRCH && s->valid == 0)
            return target_gone(r);
        if (s->valid < s->len) {
            r->read_upto = i + 1;
            return MS_OK;
        }
    }
    r->read_upto = r->plan_len;
    return MS_OK;
}

static void advance(ms_reader *r, uint64_t by)
{
    r->cursor += by;
    if (r->cursor >= r->plan[r->plan_i].len) {
        r->plan_i++;
        r->cursor = 0;
    }
}

static void emit(ms_reader *r, ms_span *out, const plan_span *s, ms_span_kind kind, uint64_t off, uint64_t len,
                 int err)
{
    *out = (ms_span){.addr = s->addr + off, .len = len, .range = s->range, .kind = kind, .err = err};
    if (kind == MS_SPAN_DATA) {
        out->data = r->buf + s->buf_off + off;
        r->stats.bytes_data += len;
    } else if (kind == MS_SPAN_HOLE) {
        r->stats.bytes_hole += len;
    } else {
        r->stats.bytes_unreadable += len;
    }
}

/* The bytes of s from the cursor on did not come with the batch: retry with
 * pread from there, page by page, and report the pages that stay refused as
 * one unreadable span (or the bytes, if pread gets them at once). */
static ms_status salvage(ms_reader *r, plan_span *s, ms_span *out)
{
    if (!(r->flags & MS_READER_NO_VM_READV) && !r->vm_readv_refused)
        ms__log(r->log, MS_LOG_DEBUG, "pid %" PRId64 ": process_vm_readv at 0x%" PRIx64 " failed (%s), using /proc/%" PRId64 "/mem",
                r->pid, s->addr + r->cursor, strerror(r->vm_readv_err), r->pid);
    uint64_t bad_start = r->cursor;
    uint64_t at = r->cursor;
    int first_err = 0;
    while (at < s->len) {
        int err;
        size_t got = pread_mem(r, s->addr + at, r->buf + s->buf_off + at, s->len - at, &err);
        if (got > 0) {
            s->valid = at + got;
            break;
        }
        if (r->fatal != MS_OK)
            return fatal_again(r);
        if (err == ESRCH)
            return target_gone(r);
        if (!first_err)
            first_err = err ? err : EIO;
        at = next_page(r, s->addr + at, s->addr + s->len) - s->addr;
        s->valid = at;
    }
    if (at == bad_start) {
        emit(r, out, s, MS_SPAN_DATA, at, s->valid - at, 0);
        advance(r, s->valid - at);
    } else {
        emit(r, out, s, MS_SPAN_UNREADABLE, bad_start, at - bad_start, first_err);
        advance(r, at - bad_start);
    }
    return MS_OK;
}

ms_status ms__reader_next(ms_reader *r, ms_span *span, bool *more)
{
    if (!r || !span || !more)
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: bad next arguments");
    *more = false;
    if (r->fatal != MS_OK)
        return fatal_again(r);
    while (r->plan_i >= r->plan_len) {
        if (r->ri >= r->nranges)
            return MS_OK;
        ms_status st = plan(r);
        if (st != MS_OK)
            return st;
    }
    plan_span *s = &r->plan[r->plan_i];
    if (s->kind != MS_SPAN_DATA) {
        emit(r, span, s, s->kind, 0, s->len, s->err);
        advance(r, s->len);
        *more = true;
        return MS_OK;
    }
    if (r->plan_i >= r->read_upto) {
        ms_status st = read_batch(r, r->plan_i);
        if (st != MS_OK)
            return st;
    }
    if (r->cursor < s->valid) {
        uint64_t len = s->valid - r->cursor;
        emit(r, span, s, MS_SPAN_DATA, r->cursor, len, 0);
        advance(r, len);
        *more = true;
        return MS_OK;
    }
    ms_status st = salvage(r, s, span);
    if (st != MS_OK)
        return st;
    *more = true;
    return MS_OK;
}

ms_status ms__reader_copy(ms_reader *r, uint64_t addr, void *dst, size_t len, ms_copy_result *res)
{
    if (!r || (!dst && len) || !res)
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: bad copy arguments");
    memset(res, 0, sizeof *res);
    if (len > UINT64_MAX - addr)
        return ms__fail(MS_E_INVALID_ARGUMENT, "reader: range wraps the address space");
    ms_range range = {addr, addr + len};
    ms_status st = ms__reader_begin(r, &range, 1);
    uint8_t *out = dst;
    while (st == MS_OK) {
        ms_span sp;
        bool more;
        st = ms__reader_next(r, &sp, &more);
        if (st != MS_OK || !more)
            break;
        uint8_t *at = out + (sp.addr - addr);
        if (sp.kind == MS_SPAN_DATA) {
            memcpy(at, sp.data, (size_t)sp.len);
            res->bytes_data += sp.len;
        } else {
            memset(at, 0, (size_t)sp.len);
            if (sp.kind == MS_SPAN_HOLE) {
                res->bytes_hole += sp.len;
            } else {
                if (res->bytes_unreadable == 0) {
                    res->first_unreadable = sp.addr;
                    res->err = sp.err;
                }
                res->bytes_unreadable += sp.len;
            }
        }
    }
    r->ranges = NULL;
    r->nranges = 0;
    if (st != MS_OK)
        return st;
    if (res->bytes_unreadable)
        return ms__fail(MS_E_PARTIAL_READ, "%" PRIu64 " of %zu bytes at 0x%" PRIx64 " unreadable from 0x%" PRIx64 ": %s",
                        res->bytes_unreadable, len, addr, res->first_unreadable, strerror(res->err));
    return MS_OK;
}
