/* memsentry public API: memory regions of a process and bounded reads. */
#ifndef MEMSENTRY_MS_REGION_H
#define MEMSENTRY_MS_REGION_H

#include "ms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MS_PERM_READ    0x1u
#define MS_PERM_WRITE   0x2u
#define MS_PERM_EXEC    0x4u
#define MS_PERM_PRIVATE 0x8u /* 'p' copy-on-write; otherwise shared */

typedef enum ms_region_kind {
    MS_REGION_ANONYMOUS = 0, /* no backing file; includes named [anon:...] regions */
    MS_REGION_FILE = 1,
    MS_REGION_HEAP = 2,
    MS_REGION_STACK = 3,
    MS_REGION_VDSO = 4,
    MS_REGION_VVAR = 5,
    MS_REGION_VSYSCALL = 6,
    MS_REGION_MEMFD = 7,     /* backed by a memfd_create() file */
    MS_REGION_DELETED = 8,   /* backed by a file that was deleted */
    MS_REGION_SHM = 9        /* System V shared memory */
} ms_region_kind;

#define MS_REGION_KIND_COUNT 10

/* Stable lowercase name of a kind ("anonymous", "memfd", ...). Never NULL. */
MS_API const char *ms_region_kind_name(int32_t kind);

typedef struct ms_region {
    uint64_t start;      /* first byte */
    uint64_t end;        /* one past the last byte */
    uint64_t offset;     /* offset into the backing file */
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint32_t perms;      /* MS_PERM_* */
    int32_t kind;        /* ms_region_kind */
    const char *path;    /* as the kernel shows it, " (deleted)" kept; "" for none. Valid during the callback only. */
} ms_region;

/* Return non-zero to stop (the call then returns MS_E_STOPPED). */
typedef int (*ms_region_cb)(const ms_region *region, void *user_data);

/* The regions of a process in address order. */
MS_API ms_status ms_region_list(ms_agent *agent, int64_t pid, ms_region_cb cb, void *user_data);

/* Copies up to len bytes at addr in the process into buf. *out_read gets the
 * number of bytes copied; a short read returns MS_E_PARTIAL_READ. */
MS_API ms_status ms_memory_read(ms_agent *agent, int64_t pid, uint64_t addr, void *buf, size_t len,
                                size_t *out_read);

#ifdef __cplusplus
}
#endif
#endif
