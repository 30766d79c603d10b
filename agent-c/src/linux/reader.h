/* Reads another process's memory without changing it.
 *
 * Reading untouched memory through process_vm_readv or /proc/<pid>/mem makes
 * the kernel fault it in, which can allocate it in the target (on this
 * kernel: shared and file-backed memory; private anonymous memory maps the
 * zero page). The reader first asks /proc/<pid>/pagemap which pages are
 * present or swapped (the PAGEMAP_SCAN ioctl on 6.7+, the 8-byte entries
 * before) and copies only those; everything else is reported as a hole and
 * never touched.
 *
 * Mechanics: the present runs of many ranges are batched into one
 * process_vm_readv call into one reused buffer; when that call is refused
 * (EPERM, ENOSYS) the reader switches to pread on /proc/<pid>/mem, and pages
 * process_vm_readv cannot reach (PROT_NONE) are retried there one run at a
 * time. Pages neither path can read ([vvar], pages that vanished, above 2^63)
 * come back as unreadable spans with the errno that refused them; that is
 * never fatal. Only the target's exit ends an iteration early.
 *
 * Two ways to use it:
 *   - lazily, span by span: ms__reader_begin() then ms__reader_next() until
 *     *more is false; DATA spans carry the bytes (at most the buffer size
 *     each), HOLE and UNREADABLE spans only their extent;
 *   - ms__reader_copy(): one range into a caller buffer, holes as zeros.
 *
 * A reader belongs to one thread at a time. It can be attached to one process
 * after another, keeping its buffer (first-touch page faults of a fresh
 * buffer cost more than the copy itself). */
#ifndef MS_LINUX_READER_H
#define MS_LINUX_READER_H

#include "../internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ms_reader ms_reader;

typedef struct ms_range {
    uint64_t start;
    uint64_t end; /* one past the last byte */
} ms_range;

typedef enum ms_span_kind {
    MS_SPAN_DATA = 0,      /* bytes copied from the target */
    MS_SPAN_HOLE = 1,      /* neither present nor swapped: not read; untouched anonymous memory is zeros */
    MS_SPAN_UNREADABLE = 2 /* present but neither read path could copy it; err says why */
} ms_span_kind;

typedef struct ms_span {
    uint64_t addr;
    uint64_t len;
    const uint8_t *data; /* DATA only; valid until the next call on the reader */
    size_t range;        /* index of the range it belongs to; a span never crosses ranges */
    ms_span_kind kind;
    int err;             /* UNREADABLE: the errno that refused the first page */
} ms_span;

typedef struct ms_reader_stats {
    uint64_t bytes_data;
    uint64_t bytes_hole;
    uint64_t bytes_unreadable;
    uint64_t vm_readv_calls;
    uint64_t pread_calls;
    uint64_t pagemap_reads; /* preads of pagemap entries */
    uint64_t pagemap_scans; /* PAGEMAP_SCAN ioctls */
} ms_reader_stats;

#define MS_READER_DEFAULT_BUFFER ((size_t)4 << 20)

/* Reads every page, present or not: faults untouched pages in (what a
 * debugger's peek does). For single reads of addresses the caller chose. */
#define MS_READER_NO_PAGEMAP 0x1u
/* Never tries process_vm_readv (tests and benchmarks of the pread path). */
#define MS_READER_NO_VM_READV 0x2u
/* Reads pagemap entries instead of the PAGEMAP_SCAN ioctl, as on kernels
 * before 6.7 (tests and benchmarks of that path). */
#define MS_READER_NO_PAGEMAP_SCAN 0x4u

/* buffer_size 0 takes MS_READER_DEFAULT_BUFFER; it is rounded up to pages. */
ms_status ms__reader_new(size_t buffer_size, uint32_t flags, ms_reader **out);
/* Accepts NULL. */
void ms__reader_free(ms_reader *r);

/* Sends the reader's debug messages (a switch to /proc/<pid>/mem and why) to
 * agent's log; NULL (the default) keeps it quiet. */
void ms__reader_set_log(ms_reader *r, const ms_agent *agent);

/* Points the reader at pid (detaching from the previous one). Opens the
 * pagemap now, so a denied or missing process fails here:
 * MS_E_ACCESS_DENIED, MS_E_NO_SUCH_PROCESS. */
ms_status ms__reader_attach(ms_reader *r, int64_t pid);
void ms__reader_detach(ms_reader *r);

/* Starts an iteration over ranges (ascending or not; each start <= end).
 * The array must stay valid until the iteration ends. */
ms_status ms__reader_begin(ms_reader *r, const ms_range *ranges, size_t count);

/* The next span, in the order of the ranges and by address within each; the
 * spans tile the ranges exactly. Returns MS_OK with *more false after the
 * last one; MS_E_NO_SUCH_PROCESS when the target exited (spans returned
 * before stand); MS_E_IO for an unexpected pagemap failure. */
ms_status ms__reader_next(ms_reader *r, ms_span *span, bool *more);

typedef struct ms_copy_result {
    uint64_t bytes_data;       /* copied */
    uint64_t bytes_hole;       /* zero-filled, not present in the target */
    uint64_t bytes_unreadable; /* zero-filled, refused */
    uint64_t first_unreadable; /* address of the first refused byte (when bytes_unreadable > 0) */
    int err;                   /* errno of the first refusal */
} ms_copy_result;

/* Copies [addr, addr+len) into dst, holes and refused pages as zeros.
 * MS_OK when nothing was refused, MS_E_PARTIAL_READ otherwise (see *res). */
ms_status ms__reader_copy(ms_reader *r, uint64_t addr, void *dst, size_t len, ms_copy_result *res);

/* Counters since the reader was created. */
const ms_reader_stats *ms__reader_stats(const ms_reader *r);

#endif
