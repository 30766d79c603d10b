/* Which regions a dump takes, and how much of each: the policy, shared by
 * every platform's dump writer. */
#ifndef MS_DUMP_SELECT_H
#define MS_DUMP_SELECT_H

#include "../internal.h"

#include <stdbool.h>

typedef struct ms_dump_choice {
    uint64_t length;   /* bytes from the region's start to put in the dump; 0 = skipped */
    int32_t status;    /* MS_DUMP_REGION_OK, _TRUNCATED or _SKIPPED */
    char reason[128];  /* "" when complete */
} ms_dump_choice;

/* Executable anonymous memory (heap, stack, memfd and deleted files
 * included), or writable and executable at once. */
bool ms__dump_region_suspicious(const ms_region *region);

/* Decides for one region. device: the platform found that it maps device
 * memory, not RAM (reading it through the process can touch device
 * registers; kernel core dumps skip such VM_IO mappings too), decided from
 * the mapping itself and never from its path, which a mount namespace makes
 * anything. *budget holds the bytes the total cap still allows (UINT64_MAX
 * without a cap) and is reduced by the chosen length. */
void ms__dump_choose(const ms_region *region, bool device, const ms_dump_options *opts, uint64_t *budget,
                     ms_dump_choice *out);

/* "10 MiB", "1536 KiB" or "1000 bytes": exact, for reasons and messages. */
void ms__format_size(uint64_t bytes, char *out, size_t cap);

#endif
