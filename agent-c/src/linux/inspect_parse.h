/* Pure parsers for the /proc text ms_inspect.h reads: no I/O, fuzzed. */
#ifndef MS_LINUX_INSPECT_PARSE_H
#define MS_LINUX_INSPECT_PARSE_H

#include "../internal.h"

#include <stdbool.h>

/* A whole decimal (base 10) or hexadecimal number; false for anything else. */
bool ms__parse_i64(const char *s, int base, int64_t *out);

/* Parses /proc/<pid>/task/<tid>/syscall ("running", "-1 SP PC" or
 * "NR A1 .. A6 SP PC") into flags, syscall, sp and pc of *t. Modifies text.
 * Returns false when the text has none of these shapes. */
bool ms__parse_syscall_line(char *text, ms_thread_info *t);

/* A decimal "Key:\tvalue" line of /proc/<pid>/status. */
bool ms__status_field(const char *status, const char *key, int64_t *out);

/* The effective uid from the "Uid:\treal\teffective\tsaved\tfs" line of
 * /proc/<pid>/status. */
bool ms__status_euid(const char *status, uint32_t *out);

/* Streams a NUL-separated environment, which may arrive in pieces of any
 * size, capturing the first LD_PRELOAD and LD_AUDIT values into *out (their
 * flags set; values cut at the field size with MS_FACT_TRUNCATED). */
typedef struct ms_env_scan {
    size_t pos;          /* bytes into the current entry */
    unsigned candidates; /* keys still matching the entry's prefix */
    int capturing;       /* key whose value is being copied, or -1 */
    size_t vlen;
    unsigned seen;       /* keys already captured */
} ms_env_scan;

void ms__env_scan_init(ms_env_scan *s);
void ms__env_scan_feed(ms_env_scan *s, const char *bytes, size_t n, ms_process_facts *out);
/* Terminates a value still open at the end of the input. */
void ms__env_scan_end(ms_env_scan *s, ms_process_facts *out);

#endif
