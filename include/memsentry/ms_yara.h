/* memsentry public API: YARA rules over live processes.
 *
 * libyara (Debian's libyara9, YARA 4.2) is loaded at run time with dlopen, so
 * the library works without it: every call here then returns
 * MS_E_UNSUPPORTED and ms_last_error() says why ("YARA off: ...").
 *
 * Rules are compiled (or loaded) once and shared; each thread scans through
 * its own scanner. A process is scanned in ONE pass over all its memory
 * blocks, exactly the blocks `yara RULES PID` scans (every mapping in
 * /proc/<pid>/maps, split at the same maximum block size), with the same
 * bytes in them, so results equal yara's: same rules, same string matches at
 * the same addresses. Unlike yara, memsentry never faults in the target's
 * memory: pages that are neither present nor swapped are not read from the
 * target but taken from the mapped file, or are zeros, as the target itself
 * would see them. */
#ifndef MEMSENTRY_MS_YARA_H
#define MEMSENTRY_MS_YARA_H

#include "ms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MS_OK when libyara is loaded and usable; otherwise MS_E_UNSUPPORTED and
 * ms_last_error() gives the reason. Loads it on first use (thread-safe). */
MS_API ms_status ms_yara_available(void);

/* "libyara 4.2 (libyara.so.9)" when loaded, "YARA off: <reason>" otherwise. Never NULL. */
MS_API const char *ms_yara_describe(void);

typedef struct ms_yara_rules ms_yara_rules;
typedef struct ms_yara_scanner ms_yara_scanner;

#define MS_YARA_DIAG_ERROR   0
#define MS_YARA_DIAG_WARNING 1

/* One compiler message. Strings are valid during the callback only. */
typedef struct ms_yara_diagnostic {
    int32_t level;       /* MS_YARA_DIAG_* */
    const char *file;    /* the rules file it is about; "" when none */
    int32_t line;        /* 1-based; 0 when unknown */
    const char *message;
} ms_yara_diagnostic;

/* Return value ignored: compilation always reports every message. */
typedef int (*ms_yara_diagnostic_cb)(const ms_yara_diagnostic *diag, void *user_data);

typedef struct ms_yara_compile_options {
    uint32_t struct_size;             /* sizeof(ms_yara_compile_options) */
    const char *rules_namespace;      /* NULL: "default", as `yara RULES...` uses */
    ms_yara_diagnostic_cb on_diagnostic; /* errors and warnings, one call each; may be NULL */
    void *user_data;
    uint32_t flags;                   /* MS_YARA_COMPILE_* (absent in a smaller struct_size: 0) */
} ms_yara_compile_options;

/* Accept a file compiled by yarac. libyara does not validate compiled rules
 * (its documentation: never load them from an untrusted source), so without
 * this flag one is refused with MS_E_INVALID_ARGUMENT. */
#define MS_YARA_COMPILE_ALLOW_COMPILED 0x1u

/* Compiles path: a rules source file, a directory (its *.yar and *.yara files,
 * not recursive, in name order, all in one namespace, as `yara DIR/NAME.yar...` does),
 * or a file compiled by yarac (recognised by its header; loaded as is, and only
 * with MS_YARA_COMPILE_ALLOW_COMPILED).
 * A rule that does not compile gives MS_E_MALFORMED, with every error sent to
 * on_diagnostic and the first one ("FILE(LINE): MESSAGE") in ms_last_error().
 * opts may be NULL. */
MS_API ms_status ms_yara_rules_compile(ms_agent *agent, const char *path, const ms_yara_compile_options *opts,
                                       ms_yara_rules **out);

/* Loads a file compiled by yarac. MS_E_MALFORMED when it is not one, or was
 * compiled by an incompatible YARA. */
MS_API ms_status ms_yara_rules_load(ms_agent *agent, const char *path, ms_yara_rules **out);

/* Rules are reference counted: scanners keep theirs alive. Accepts NULL. */
MS_API void ms_yara_rules_close(ms_yara_rules *rules);

/* The number of rules (private and global rules included). */
MS_API ms_status ms_yara_rules_count(const ms_yara_rules *rules, uint32_t *out);

/* A scanner belongs to one thread at a time; open one per worker thread. */
MS_API ms_status ms_yara_scanner_open(ms_yara_rules *rules, ms_yara_scanner **out);
/* Accepts NULL. */
MS_API void ms_yara_scanner_close(ms_yara_scanner *scanner);

#define MS_YARA_META_INTEGER 1
#define MS_YARA_META_STRING  2
#define MS_YARA_META_BOOLEAN 3

typedef struct ms_yara_meta {
    const char *identifier;
    int32_t type;       /* MS_YARA_META_* */
    int64_t integer;    /* INTEGER, and BOOLEAN as 0 or 1 */
    const char *string; /* STRING; "" otherwise */
} ms_yara_meta;

typedef struct ms_yara_string_match {
    const char *identifier; /* "$a" */
    uint64_t address;       /* absolute address in the target */
    uint32_t length;        /* length of the match */
    uint32_t data_length;   /* bytes in data: at most libyara's max match data (512 by default) */
    const uint8_t *data;    /* the first matched bytes */
} ms_yara_string_match;

/* One matching rule. Everything is valid during the callback only. */
typedef struct ms_yara_match {
    int64_t pid;
    const char *rule;
    const char *rule_namespace;
    const char *const *tags;
    uint32_t tag_count;
    uint32_t meta_count;
    const ms_yara_meta *metas;
    const ms_yara_string_match *strings; /* private strings excluded, in string then address order */
    uint32_t string_count;               /* entries in strings (bounded by max_string_matches) */
    uint32_t string_total;               /* matches found; more than string_count when bounded */
} ms_yara_match;

/* Return non-zero to stop the scan (it then returns MS_E_STOPPED). */
typedef int (*ms_yara_match_cb)(const ms_yara_match *match, void *user_data);

#define MS_YARA_DEFAULT_MAX_STRING_MATCHES 1000

/* Large blocks are normally streamed: a second thread reads a block while
 * libyara already scans it (the scan waits, through userfaultfd, for pages
 * not read yet), so reading costs almost no time. This flag reads every block
 * whole before it is scanned, as yara does. Streaming also turns itself off
 * where userfaultfd is not allowed. */
#define MS_YARA_SCAN_NO_STREAMING 0x1u

typedef struct ms_yara_scan_options {
    uint32_t struct_size;        /* sizeof(ms_yara_scan_options) */
    uint32_t timeout_seconds;    /* per process; 0: none. Past it: MS_E_TIMEOUT, no match reported */
    /* Largest block: a mapping larger than this is scanned as several blocks,
     * as yara does with --max-process-memory-chunk. It bounds memsentry's own
     * memory per scanner. 0: libyara's setting (1 GiB unless changed), the
     * value `yara RULES PID` uses. Rounded down to pages. */
    uint64_t max_block_size;
    uint32_t max_string_matches; /* per rule in a match; 0: MS_YARA_DEFAULT_MAX_STRING_MATCHES */
    uint32_t flags;              /* MS_YARA_SCAN_* */
    const volatile int32_t *cancel; /* non-zero stops the scan with MS_E_INTERRUPTED; may be NULL */
} ms_yara_scan_options;

typedef struct ms_yara_scan_stats {
    uint32_t struct_size;        /* set by the caller: sizeof(ms_yara_scan_stats) */
    uint32_t rules_matched;
    uint64_t regions;            /* mappings in the process */
    uint64_t blocks;             /* blocks scanned */
    uint64_t blocks_skipped;     /* blocks yara skips as well: a present page that cannot be read */
    uint64_t bytes_scanned;      /* bytes in the blocks scanned (holes included) */
    uint64_t bytes_read;         /* bytes copied from the target (present or swapped pages) */
    uint64_t bytes_from_file;    /* bytes of pages not in memory, read from the mapped file */
    uint64_t bytes_zero;         /* pages not in memory and not file-backed: zeros, never touched */
    uint64_t block_fetches;      /* block reads, more than blocks when rules revisit blocks */
    uint64_t elapsed_ns;
    uint64_t fetch_ns;           /* of elapsed_ns, the time spent reading blocks */
} ms_yara_scan_stats;

/* Scans the memory of pid with the scanner's rules; every matching rule goes
 * to cb. opts and stats may be NULL. MS_E_NO_SUCH_PROCESS or
 * MS_E_ACCESS_DENIED when the process cannot be opened or vanishes mid-scan,
 * MS_E_TIMEOUT past the deadline (matches found up to then are not
 * reported), MS_E_STOPPED when cb asked to stop. */
MS_API ms_status ms_yara_scan_process(ms_yara_scanner *scanner, int64_t pid, const ms_yara_scan_options *opts,
                                      ms_yara_match_cb cb, void *user_data, ms_yara_scan_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
