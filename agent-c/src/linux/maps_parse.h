/* Parser for one line of /proc/<pid>/maps. Pure: no I/O, fuzzed. */
#ifndef MS_LINUX_MAPS_PARSE_H
#define MS_LINUX_MAPS_PARSE_H

#include "../internal.h"

/* Parses line (len bytes, no '\n', NUL-terminated at line[len]) into *out.
 * out->path points into line. Returns MS_E_MALFORMED for anything that is not
 * a well-formed maps line. */
ms_status ms__maps_parse_line(const char *line, size_t len, ms_region *out);

/* The kind of a region from its path and inode as maps shows them. */
int32_t ms__region_kind_of(const char *path, uint64_t inode);

/* Flags of a VmFlags line of /proc/<pid>/smaps that mark memory which is not
 * RAM (device registers, PCI BARs, /dev/mem): VM_IO and VM_PFNMAP. */
#define MS_VMFLAG_IO 0x1u
#define MS_VMFLAG_PFNMAP 0x2u

/* Which of an smaps line belongs to: MS_SMAPS_HEADER for a maps-style line
 * that opens a region's block, MS_SMAPS_VMFLAGS for "VmFlags: ..." (its
 * MS_VMFLAG_* in *flags), MS_SMAPS_OTHER for any other "Key: value" line.
 * Pure, fuzzed. */
enum { MS_SMAPS_OTHER, MS_SMAPS_HEADER, MS_SMAPS_VMFLAGS };
int ms__smaps_line_kind(const char *line, size_t len, uint32_t *flags);

/* MS_PERM_* as maps spells them: "rw-p" (out holds 5 bytes). */
void ms__perms_string(uint32_t perms, char out[5]);

#endif
