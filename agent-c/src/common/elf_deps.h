/* What the dynamic loader would read from an ELF file: its type, whether it
 * names a program interpreter (PT_INTERP), its DT_SONAME and DT_NEEDED names.
 * The bytes come from a file or memory the target controls: every offset,
 * count and string is bounded and checked. Pure (reads go through a
 * callback), shared by every platform and fuzzed (fuzz_elf). */
#ifndef MS_COMMON_ELF_DEPS_H
#define MS_COMMON_ELF_DEPS_H

#include "../internal.h"

#include <stdbool.h>

#define MS_ELF_MAX_NEEDED 128   /* DT_NEEDED entries kept */
#define MS_ELF_NAMES_CAP 8192   /* bytes for the names kept, NULs included */
#define MS_ELF_NAME_MAX 256     /* longest name kept; longer ones are dropped */

#define MS_ELF_INFO_DYNAMIC   0x1u /* the dynamic section was read */
#define MS_ELF_INFO_TRUNCATED 0x2u /* names were dropped (too many, too long, past a bound) */

typedef struct ms_elf_info {
    uint16_t type;           /* e_type */
    uint16_t machine;
    uint32_t flags;          /* MS_ELF_INFO_* */
    bool has_interp;         /* a PT_INTERP program header */
    uint64_t entry;
    char interp[MS_ELF_NAME_MAX]; /* its path when it could be read, else "" */
    const char *soname;      /* into names; NULL when none */
    uint32_t needed_count;
    const char *needed[MS_ELF_MAX_NEEDED]; /* into names */
    size_t names_used;
    char names[MS_ELF_NAMES_CAP];
} ms_elf_info;

/* Reads up to len bytes at off into buf; returns how many (0 at the end or on
 * an error). */
typedef size_t (*ms_elf_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

/* Parses the ELF header and program headers; with dynamic, also the dynamic
 * section (which needs file offsets: a file, not a loaded image). out is
 * fully reset. MS_E_MALFORMED when the bytes are not an ELF image (bad
 * magic, class, byte order, version or header sizes); a dynamic section that
 * cannot be read is not an error (MS_ELF_INFO_DYNAMIC stays clear). */
ms_status ms__elf_parse(ms_elf_read_fn rd, void *ctx, bool dynamic, ms_elf_info *out);

/* A reader over a buffer: ctx is an ms_elf_buffer. */
typedef struct ms_elf_buffer {
    const uint8_t *bytes;
    size_t len;
} ms_elf_buffer;
size_t ms__elf_read_buffer(void *ctx, uint64_t off, void *buf, size_t len);

#endif
