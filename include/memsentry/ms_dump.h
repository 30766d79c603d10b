/* memsentry public API: process memory dumps written as evidence.
 *
 * A dump reads the regions of a process and writes them to one file:
 *   - MS_DUMP_FORMAT_CORE: an ELF core file as gdb and gcore write them
 *     (PT_NOTE with NT_PRSTATUS per thread, NT_PRPSINFO, NT_AUXV, NT_FILE;
 *     one PT_LOAD per region, p_filesz < p_memsz where a region was cut);
 *   - MS_DUMP_FORMAT_RAW: the regions' bytes back to back, plus a JSON
 *     manifest next to it (path + ".json") in the shape every memsentry agent
 *     writes (docs/PROTOCOL.md "dump"): per region start, end, perms, kind,
 *     path, file_offset and bytes in the data file, bytes read / from file /
 *     hole / unreadable, status, reason and SHA-256, plus totals. The data
 *     file is renamed into place first, the manifest last: a manifest means
 *     a complete dump.
 *   - MS_DUMP_FORMAT_MINIDUMP (Windows only): MiniDumpWriteDump from the
 *     system's dbghelp.dll with full memory (MiniDumpWithFullMemory, the
 *     memory info, thread info and unloaded module lists), the file WinDbg
 *     and Visual Studio open. dbghelp decides what is read: max_region_size
 *     does not apply (the default cap is ignored); MS_DUMP_FORCE is honoured
 *     and the evidence rules below hold; the other flags, the total cap,
 *     size-based skipping and region reports give MS_E_UNSUPPORTED, and so
 *     does the format itself on Linux (ms_last_error says which to use).
 *     Its ms_dump_result holds file_size only; progress is one report at
 *     the end.
 * Dumping never changes the target: only pages present (or swapped) in it
 * are read from it (a read of an untouched page would allocate it there).
 * Absent pages of file-backed regions hold the file's bytes: they are read
 * from the mapped file itself (/proc/<pid>/map_files), not through the
 * target. The remaining absent pages (untouched anonymous memory) are zeros,
 * written as holes (sparse in the file). Pages that cannot be read are zeros
 * too and make the region "partial"; that is never fatal.
 *
 * Evidence safety: files are created mode 0600 with O_EXCL|O_NOFOLLOW under a
 * temporary name in the destination directory and renamed into place only
 * when complete; an existing file or symbolic link at the destination is
 * refused (MS_E_EXISTS) unless MS_DUMP_FORCE; free space is checked first
 * (MS_E_NO_SPACE). A failed, cancelled or interrupted dump removes its
 * temporary file: no file at the destination means no dump.
 *
 * Status: MS_E_ACCESS_DENIED (not allowed to read the process),
 * MS_E_NO_SUCH_PROCESS (it does not exist, or exited during the dump),
 * MS_E_BUSY (MS_DUMP_FREEZE, and another tracer holds it), MS_E_STOPPED
 * (the progress callback returned non-zero), MS_E_INTERRUPTED (the cancel
 * flag was set), MS_E_EXISTS, MS_E_NO_SPACE, MS_E_IO, MS_E_UNSUPPORTED
 * (core format on an architecture without a core writer; minidump on Linux;
 * on Windows the core format, and options the Windows dumpers lack). */
#ifndef MEMSENTRY_MS_DUMP_H
#define MEMSENTRY_MS_DUMP_H

#include "ms_common.h"
#include "ms_region.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_dump_format {
    MS_DUMP_FORMAT_CORE = 0,
    MS_DUMP_FORMAT_RAW = 1,
    MS_DUMP_FORMAT_MINIDUMP = 2 /* Windows only; MS_E_UNSUPPORTED on Linux */
} ms_dump_format;

/* Stops every thread of the target (PTRACE_SEIZE + PTRACE_INTERRUPT) for a
 * consistent snapshot and their registers; they are resumed and detached
 * before the call returns, on every path. */
#define MS_DUMP_FREEZE          0x01u
/* Replaces an existing file or symbolic link at the destination (the link
 * itself is replaced, never written through). */
#define MS_DUMP_FORCE           0x02u
/* Dumps only suspicious regions: executable and anonymous (including heap,
 * stack, memfd and deleted files), or writable and executable at once. */
#define MS_DUMP_SUSPICIOUS_ONLY 0x04u
/* fsync()s the file and its directory before reporting success. */
#define MS_DUMP_SYNC            0x08u
/* Refuses (MS_E_ACCESS_DENIED) a destination directory that is not owned by
 * the caller's effective user or that group or others may write: whoever can
 * write there can replace or read the evidence. Checked on the opened
 * directory, which the whole dump then writes through. Linux only. */
#define MS_DUMP_PRIVATE_DIR     0x10u
/* path is a file name (no '/') in the directory opts->dir_fd, which the
 * caller opened (and checked) once: nothing can swap the directory between
 * that check and the dump. The descriptor is not closed. Linux only. */
#define MS_DUMP_AT_DIR          0x20u

#define MS_DUMP_DEFAULT_MAX_REGION ((uint64_t)10 << 20)

/* done and total count bytes of the address space covered (holes included).
 * Return non-zero to cancel: the dump then returns MS_E_STOPPED. */
typedef int (*ms_dump_progress_fn)(uint64_t done, uint64_t total, void *user_data);

typedef enum ms_dump_region_status {
    MS_DUMP_REGION_OK = 0,        /* the whole region is in the file */
    MS_DUMP_REGION_TRUNCATED = 1, /* cut at the per-region or total cap */
    MS_DUMP_REGION_PARTIAL = 2,   /* some present pages could not be read (zeros in the file) */
    MS_DUMP_REGION_SKIPPED = 3    /* not in the file; reason says why */
} ms_dump_region_status;

/* Stable lowercase name of a region status ("ok", "truncated", "partial", "skipped"), as the raw
 * manifests of every agent spell it. Never NULL. */
MS_API const char *ms_dump_region_status_name(int32_t status);

typedef struct ms_dump_region {
    const ms_region *region;
    uint64_t file_offset;      /* where its bytes start in the output */
    uint64_t length;           /* bytes of it in the output, from region->start */
    uint64_t bytes_read;       /* copied from the target */
    uint64_t bytes_from_file;  /* absent in the target, read from the mapped file */
    uint64_t bytes_hole;       /* absent, anonymous (or past the file's end): zeros, not read */
    uint64_t bytes_unreadable; /* present but refused: zeros */
    int32_t status;            /* ms_dump_region_status */
    const char *reason;        /* why skipped, truncated or partial; "" otherwise */
    const char *sha256;        /* raw format: hex digest of its bytes in the file; NULL otherwise */
} ms_dump_region;

/* Called once per region of the process, in address order, after the dump
 * was written (before it is renamed into place). Return non-zero to stop
 * reporting (the dump itself is not affected). */
typedef int (*ms_dump_region_fn)(const ms_dump_region *region, void *user_data);

typedef struct ms_dump_options {
    uint32_t struct_size;         /* sizeof(ms_dump_options) */
    int32_t format;               /* ms_dump_format */
    uint32_t flags;               /* MS_DUMP_* */
    uint32_t threads;             /* threads streaming one dump; 0 = automatic: several for dumps of 64 MiB
                                     and more on a multi-processor machine (a sweep that dumps processes
                                     in parallel passes 1) */
    uint64_t max_region_size;     /* bytes per region; 0 = no cap. Default MS_DUMP_DEFAULT_MAX_REGION */
    uint64_t max_total_size;      /* bytes in all; 0 = no cap (default) */
    uint64_t skip_nonexec_over;   /* skip non-executable regions larger than this; 0 = never (default) */
    ms_dump_progress_fn progress; /* optional */
    void *progress_user;
    ms_dump_region_fn on_region;  /* optional */
    void *region_user;
    const volatile int32_t *cancel; /* optional: set to non-zero from any thread to cancel */
    int32_t dir_fd;               /* with MS_DUMP_AT_DIR: the destination directory (absent in the first,
                                     smaller struct_size) */
} ms_dump_options;

typedef struct ms_dump_result {
    uint32_t struct_size;         /* set by the caller: sizeof(ms_dump_result) */
    uint32_t threads;
    uint32_t frozen;              /* 1 when the threads were stopped during the dump */
    uint32_t regions;             /* in the process */
    uint32_t regions_dumped;      /* complete, truncated or partial */
    uint32_t regions_truncated;
    uint32_t regions_partial;
    uint32_t regions_skipped;
    uint64_t bytes_dumped;        /* region bytes in the file (holes included) */
    uint64_t bytes_read;          /* from the target */
    uint64_t bytes_from_file;     /* from mapped files, for absent pages */
    uint64_t bytes_hole;
    uint64_t bytes_unreadable;
    uint64_t file_size;           /* of the data file */
} ms_dump_result;

/* Fills opts with the defaults (struct_size included). */
MS_API void ms_dump_options_init(ms_dump_options *opts);

/* Dumps process pid to path. opts NULL takes the defaults; result may be
 * NULL. On failure nothing exists at path (or what existed is untouched). */
MS_API ms_status ms_dump_process(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                                 ms_dump_result *result);

#ifdef __cplusplus
}
#endif
#endif
