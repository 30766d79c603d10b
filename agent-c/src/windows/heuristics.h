/* Inputs for the detection engine's in-memory heuristics on Windows, the
 * facts pe-sieve and Moneta look at: executable private memory, RWX, a PE
 * image sitting in private memory (reflective loading), and image sections
 * whose protection no longer matches the section table of the file on disk.
 * The generic facts (perms, kind) are already in ms_region, so rules written
 * for Linux regions apply unchanged; these add what only Windows can say. */
#ifndef MS_WIN_HEURISTICS_H
#define MS_WIN_HEURISTICS_H

#include "win.h"

#define MS_WIN_HINT_PRIVATE_EXEC 0x1u    /* MEM_PRIVATE (or unnamed MEM_MAPPED) and executable */
#define MS_WIN_HINT_RWX 0x2u             /* writable and executable at once */
#define MS_WIN_HINT_PE_HEADER 0x4u       /* an MZ/PE header at the start of non-image memory */
#define MS_WIN_HINT_IMAGE_PROTECTION 0x8u /* image pages more permissive than their section allows */

typedef struct ms_win_pe_facts {
    uint16_t machine;       /* IMAGE_FILE_MACHINE_* */
    uint16_t sections;
    uint32_t e_lfanew;
    uint32_t size_of_image; /* 0 when the optional header is cut off */
    bool dll;
} ms_win_pe_facts;

/* Whether the len bytes at buf start with a plausible MZ/PE header: "MZ",
 * e_lfanew inside the buffer and 4-byte aligned, "PE\0\0", a file header
 * that fits. buf is hostile: every offset is bounds-checked. */
bool ms__win_pe_header(const uint8_t *buf, size_t len, ms_win_pe_facts *out);

typedef struct ms_win_hint {
    const ms_win_region *region; /* the region the hint is about */
    uint32_t hints;              /* MS_WIN_HINT_* */
    ms_win_pe_facts pe;          /* with MS_WIN_HINT_PE_HEADER */
    /* With MS_WIN_HINT_IMAGE_PROTECTION: the first section that the region
     * overlaps with more rights than its characteristics give, and those
     * rights as MS_PERM_* bits. */
    char section[9];
    uint32_t section_perms;
} ms_win_hint;

/* Return non-zero to stop (the walk then returns MS_E_STOPPED). */
typedef int (*ms_win_hint_cb)(const ms_win_hint *hint, void *user_data);

/* Walks the committed regions of pid and calls cb for each region with at
 * least one hint. Image section tables are read from the image file on disk
 * (a header rewritten in memory cannot hide a change); an image whose file
 * cannot be read is skipped with a DEBUG log. */
ms_status ms__win_hints(ms_agent *agent, int64_t pid, ms_win_hint_cb cb, void *user_data);

/* The hints of the one committed region holding addr in process (opened
 * with PROCESS_QUERY_INFORMATION | PROCESS_VM_READ), as the walk above would
 * report them; out->hints is 0 when none holds and out->region is NULL.
 * This is how ms_region_probe carries the image-protection hint. */
ms_status ms__win_region_hints(ms_agent *agent, HANDLE process, uint64_t addr, ms_win_hint *out);

#endif
