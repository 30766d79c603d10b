/* The memory blocks of a process as `yara RULES PID` (libyara 4.2.3's
 * proc/linux.c) sees them, for yr_scanner_scan_mem_blocks. Implemented per
 * platform (linux/yara_blocks.c); used by common/yara.c. Not installed. */
#ifndef MS_YARA_BLOCKS_H
#define MS_YARA_BLOCKS_H

#include "internal.h"

#include <memsentry/ms_yara.h>

struct YR_MEMORY_BLOCK_ITERATOR;

typedef struct ms__yara_blocks ms__yara_blocks;

typedef struct ms__yara_blocks_config {
    uint64_t max_block;             /* page multiple, > 0 */
    uint64_t deadline_ns;           /* CLOCK_MONOTONIC; 0: none */
    const volatile int32_t *cancel; /* may be NULL */
    bool streaming;                 /* large blocks read while libyara scans them */
} ms__yara_blocks_config;

/* One per scanner: keeps its reader and buffers from one process to the next. */
ms_status ms__plat_yara_blocks_new(ms__yara_blocks **out);
void ms__plat_yara_blocks_free(ms__yara_blocks *b);

/* Snapshots the regions of pid and returns the iterator over its blocks.
 * MS_E_NO_SUCH_PROCESS or MS_E_ACCESS_DENIED when it cannot be read. */
ms_status ms__plat_yara_blocks_attach(ms__yara_blocks *b, ms_agent *agent, int64_t pid,
                                      const ms__yara_blocks_config *cfg, struct YR_MEMORY_BLOCK_ITERATOR **out);

/* MS_OK while the pass is sound; otherwise what ended it (the target exited,
 * the deadline passed, cancelled), with the detail in ms_last_error(). */
ms_status ms__plat_yara_blocks_status(ms__yara_blocks *b);

/* Ends the pass: adds its counters to stats (when not NULL), releases the
 * block buffer and the process's descriptors. */
void ms__plat_yara_blocks_detach(ms__yara_blocks *b, ms_yara_scan_stats *stats);

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t ms__monotonic_ns(void);

#endif
