/* ELF core file pieces as the kernel and gdb's gcore write them: the ELF
 * header with its program headers (PT_NOTE, then one PT_LOAD per region)
 * and the note segment (NT_PRSTATUS per thread, NT_PRPSINFO, NT_AUXV,
 * NT_FILE, NT_PRFPREG per thread when its registers were read). */
#ifndef MS_LINUX_ELFCORE_H
#define MS_LINUX_ELFCORE_H

#include "../common/bytes.h"
#include "../internal.h"
#include "threads.h"

#include <stdbool.h>

typedef struct ms_core_segment {
    uint64_t vaddr;
    uint64_t memsz;
    uint64_t filesz; /* < memsz when the region was cut; 0 when skipped */
    uint64_t offset; /* in the core file */
    uint32_t perms;  /* MS_PERM_* */
} ms_core_segment;

typedef struct ms_core_file {
    uint64_t start;
    uint64_t end;
    uint64_t offset; /* in the mapped file, bytes */
    const char *path;
} ms_core_file;

/* false when this architecture has no core writer (the dump then refuses the
 * core format with MS_E_UNSUPPORTED). */
bool ms__core_supported(void);

/* Size of the ELF header and program headers for nsegments PT_LOADs (plus
 * the section header that carries the count when it exceeds 0xfffe). */
uint64_t ms__core_header_size(size_t nsegments);

/* The note segment for process pid. Missing /proc facts (the process is
 * racing to exit) leave their fields zero; only allocation fails. */
ms_status ms__core_notes(int64_t pid, const ms_threads *threads, const ms_core_file *files, size_t nfiles,
                         uint64_t page_size, ms_bytes *out);

/* ELF header + program headers (+ extended-count section header) into out,
 * exactly ms__core_header_size(nsegments) bytes. */
ms_status ms__core_header(const ms_core_segment *segments, size_t nsegments, uint64_t notes_offset,
                          uint64_t notes_size, uint64_t page_size, ms_bytes *out);

#endif
