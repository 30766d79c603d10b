/* Classification of the bytes at the start of a region: ELF, PE, bare MZ or
 * nothing. Pure (no I/O), shared by every platform and fuzzed. */
#ifndef MS_COMMON_HEADER_H
#define MS_COMMON_HEADER_H

#include "../internal.h"

#include <memsentry/ms_inspect.h>

/* Fills header, elf_type and machine of *out from the first len bytes of a
 * region (normally one page; fewer when the region is shorter). */
void ms__classify_header(const uint8_t *bytes, size_t len, ms_region_probe_result *out);

#endif
