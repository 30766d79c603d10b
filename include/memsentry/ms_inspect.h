/* memsentry public API: the facts the detection heuristics need, gathered
 * without changing the target and without handing its memory to the caller.
 *
 *   - ms_region_probe: what lies at the start of a region (an ELF or PE
 *     header?) and which file system backs it (tmpfs?). Reads one page in
 *     the library; only a 16-byte excerpt leaves it.
 *   - ms_region_compare_file: the pages of a private file mapping whose
 *     bytes differ from the mapped file (code patching, inline hooks).
 *   - ms_thread_list: each thread's stack and instruction pointer where the
 *     kernel reports them (blocked threads).
 *   - ms_process_facts_get: tracer, LD_PRELOAD/LD_AUDIT from the initial
 *     environment, the executable's identity and file system.
 *   - ms_module_list: each file the process runs code from, whether the
 *     executable's DT_NEEDED closure brought it in, and who can write it.
 *
 * Pages that are neither present nor swapped are never read, so none of
 * these calls faults in or allocates memory in the target. */
#ifndef MEMSENTRY_MS_INSPECT_H
#define MEMSENTRY_MS_INSPECT_H

#include "ms_common.h"
#include "ms_region.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Region probe ------------------------------------------------------ */

typedef enum ms_header_kind {
    MS_HEADER_NONE = 0,
    MS_HEADER_ELF = 1, /* "\x7fELF" with a valid class, byte order, version and type */
    MS_HEADER_PE = 2,  /* "MZ" whose e_lfanew points at "PE\0\0" within the first page */
    MS_HEADER_MZ = 3   /* "MZ" without a PE signature in reach (DOS stub, truncated image) */
} ms_header_kind;

#define MS_HEADER_KIND_COUNT 4

/* Stable lowercase name of a header kind ("none", "elf", "pe", "mz"). Never NULL. */
MS_API const char *ms_header_kind_name(int32_t kind);

#define MS_PROBE_NOT_PRESENT 0x1u /* first page neither present nor swapped, and no file to read it from */
#define MS_PROBE_UNREADABLE  0x2u /* the first page could not be read */
#define MS_PROBE_FROM_FILE   0x4u /* the bytes came from the mapped file, not from the process */
#define MS_PROBE_FS_KNOWN    0x8u /* fs_magic is valid */
#define MS_PROBE_ON_TMPFS    0x10u /* the backing file lives on tmpfs or ramfs (memory only) */
/* Windows: the region is part of a loaded image (MEM_IMAGE) and has write or
 * execute rights that the section it lies in does not give, per the section
 * table of the image file on disk (a header rewritten in memory cannot hide
 * it): image_section and image_section_perms say which section and what it
 * allows. Never set on Linux, where a mapping's rights are the file's. */
#define MS_PROBE_IMAGE_PROTECTION 0x20u
/* ELF: the program headers in the first page were read (elf_entry is valid). */
#define MS_PROBE_ELF_PHDRS 0x40u
/* ELF: a PT_INTERP program header: a dynamically linked program, not a library. */
#define MS_PROBE_ELF_INTERP 0x80u

typedef struct ms_region_probe_result {
    uint32_t struct_size;  /* set by the caller to sizeof(ms_region_probe_result) */
    int32_t header;        /* ms_header_kind */
    uint32_t flags;        /* MS_PROBE_* */
    uint16_t elf_type;     /* ELF: e_type (2 executable, 3 shared object or PIE) */
    uint16_t machine;      /* ELF e_machine, or PE FileHeader.Machine */
    uint64_t fs_magic;     /* statfs f_type of the backing file when MS_PROBE_FS_KNOWN */
    uint32_t head_len;     /* bytes in head */
    uint8_t head[16];      /* the first bytes of the region as read */
    /* Added after the first layout; a caller's smaller struct_size gets the fields above only. */
    uint32_t image_section_perms; /* MS_PROBE_IMAGE_PROTECTION: MS_PERM_* the section allows */
    char image_section[9];        /* MS_PROBE_IMAGE_PROTECTION: its name, NUL-terminated ("headers" for the
                                     image headers); printable ASCII, other bytes shown as '?' */
    uint64_t elf_entry;           /* MS_PROBE_ELF_PHDRS: e_entry as the header gives it (not relocated) */
} ms_region_probe_result;

/* Classifies the first page of the region (the bytes of the process; for a
 * file-backed region whose first page is not resident, the mapped file's
 * bytes at the region's offset) and, for a file-backed region, the file
 * system of the mapped file (Linux) or the rights of its image section
 * (Windows, MS_PROBE_IMAGE_PROTECTION). region is one of pid's regions as
 * ms_region_list reported it; only start, end, offset, dev, inode, kind and
 * path are used. MS_E_NO_SUCH_PROCESS when the process exited. */
MS_API ms_status ms_region_probe(ms_agent *agent, int64_t pid, const ms_region *region, ms_region_probe_result *out);

/* ---- Code compared with its file --------------------------------------- */

/* Compare every present page, not only the pages the process has its own
 * copy of. Slower; for verification (a page still shared with the page cache
 * holds the file's bytes by construction). */
#define MS_COMPARE_ALL_PRESENT 0x1u

typedef struct ms_compare_options {
    uint32_t struct_size; /* sizeof(ms_compare_options) */
    uint32_t flags;       /* MS_COMPARE_* */
    int64_t timeout_ms;   /* 0: none; otherwise MS_E_TIMEOUT once exceeded (diffs reported so far stand) */
} ms_compare_options;

typedef struct ms_compare_stats {
    uint32_t struct_size;     /* sizeof(ms_compare_stats) */
    uint32_t reserved;
    uint64_t pages_total;     /* pages in the region */
    uint64_t pages_resident;  /* present or swapped */
    uint64_t pages_private;   /* resident pages that are the process's own copy, not the file's page */
    uint64_t pages_compared;
    uint64_t pages_differing;
} ms_compare_stats;

typedef struct ms_code_diff {
    uint64_t page;        /* address of the page */
    uint64_t first_diff;  /* address of the first byte that differs */
    uint32_t diff_bytes;  /* bytes of the page that differ */
    uint32_t sample_len;  /* bytes in mem and file */
    uint8_t mem[16];      /* the process's bytes from first_diff (not past the page) */
    uint8_t file[16];     /* the file's bytes there (zeros past the end of the file) */
} ms_code_diff;

/* Return non-zero to stop (the call then returns MS_E_STOPPED). */
typedef int (*ms_code_diff_cb)(const ms_code_diff *diff, void *user_data);

/* Compares the pages of a private file-backed region with the file it maps,
 * page by page, and reports each page that differs. By default only the
 * pages the process has its own copy of are compared (pagemap: resident but
 * no longer the page cache's page): an unmodified page is the file's page.
 * The file is the one mapped (/proc/<pid>/map_files), so a file replaced on
 * disk since is not mistaken for a patch; without CAP_SYS_ADMIN the path is
 * used when its device and inode match the region's, never through a
 * symbolic link, and no device is ever opened. Bytes past the end of
 * the file compare against zeros, as the kernel maps them.
 * opts may be NULL; stats may be NULL. MS_E_INVALID_ARGUMENT for a region
 * that is not a private file mapping; MS_E_IO when the file cannot be
 * opened or is not the mapped one. */
MS_API ms_status ms_region_compare_file(ms_agent *agent, int64_t pid, const ms_region *region,
                                        const ms_compare_options *opts, ms_code_diff_cb cb, void *user_data,
                                        ms_compare_stats *stats);

/* ---- Threads ----------------------------------------------------------- */

#define MS_THREAD_RUNNING      0x1u /* on a CPU when asked: the kernel reports no registers */
#define MS_THREAD_IN_SYSCALL   0x2u /* blocked in system call `syscall` */
#define MS_THREAD_REGS_KNOWN   0x4u /* sp and pc are valid */
#define MS_THREAD_REGS_DENIED  0x8u /* the registers could not be read (permission) */

typedef struct ms_thread_info {
    int64_t tid;
    uint32_t flags;     /* MS_THREAD_* */
    int32_t reserved;
    int64_t syscall;    /* the system call number when MS_THREAD_IN_SYSCALL, else -1 */
    uint64_t sp;
    uint64_t pc;        /* instruction pointer (after the syscall instruction when blocked in one) */
    const char *name;   /* comm of the thread, valid during the callback */
} ms_thread_info;

/* Return non-zero to stop (the call then returns MS_E_STOPPED). */
typedef int (*ms_thread_cb)(const ms_thread_info *thread, void *user_data);

/* The threads of a process, from /proc/<pid>/task/<tid>/syscall: a brief
 * look that never stops the thread. Threads that exit meanwhile are left out. */
MS_API ms_status ms_thread_list(ms_agent *agent, int64_t pid, ms_thread_cb cb, void *user_data);

/* ---- Process facts ----------------------------------------------------- */

#define MS_FACT_ENV_READ      0x1u  /* the initial environment was read */
#define MS_FACT_LD_PRELOAD    0x2u  /* LD_PRELOAD was set (value in ld_preload) */
#define MS_FACT_LD_AUDIT      0x4u  /* LD_AUDIT was set (value in ld_audit) */
#define MS_FACT_EXE_KNOWN     0x8u  /* exe_* fields are valid */
#define MS_FACT_EXE_ON_TMPFS  0x10u /* the executable lives on tmpfs or ramfs (a memfd does too) */
#define MS_FACT_TRUNCATED     0x20u /* a value did not fit and was cut */

typedef struct ms_process_facts {
    uint32_t struct_size;    /* sizeof(ms_process_facts) */
    uint32_t flags;          /* MS_FACT_* */
    int64_t tracer_pid;      /* 0 when not traced; -1 when unknown */
    int64_t threads;         /* -1 when unknown */
    uint64_t exe_inode;
    uint32_t exe_dev_major;
    uint32_t exe_dev_minor;
    uint64_t exe_fs_magic;
    uint64_t exe_size;
    char ld_preload[1024];   /* NUL-terminated; raw bytes from the target */
    char ld_audit[1024];
} ms_process_facts;

/* Facts about a process used by the injection heuristics. A fact that
 * cannot be read is left unset (its flag clear), never an error; the call
 * fails only when the process does not exist (MS_E_NO_SUCH_PROCESS) or
 * cannot be looked at at all (MS_E_ACCESS_DENIED). */
MS_API ms_status ms_process_facts_get(ms_agent *agent, int64_t pid, ms_process_facts *out);

/* ---- Modules: the files a process runs code from ----------------------- */

#define MS_MODULE_MAIN           0x1u   /* the executable (the file /proc/<pid>/exe names) */
#define MS_MODULE_INTERP         0x2u   /* the interpreter named by the executable's PT_INTERP */
#define MS_MODULE_NEEDED         0x4u   /* in the DT_NEEDED closure of the executable: loaded at start */
#define MS_MODULE_CLOSURE_KNOWN  0x8u   /* the executable's own dependencies were read: NEEDED is meaningful */
#define MS_MODULE_ELF            0x10u  /* an ELF file (elf_type is valid) */
#define MS_MODULE_PATH_VERIFIED  0x20u  /* path, walked in the process's root without following links, is the mapped file */
#define MS_MODULE_FILE_KNOWN     0x40u  /* owner_uid and mode are the mapped file's */
/* Who can write it: the mapped file, or (PATH_VERIFIED only) a directory on its path, */
#define MS_MODULE_WORLD_WRITABLE 0x80u  /* is writable by every user (a sticky /tmp counts) */
#define MS_MODULE_GROUP_WRITABLE 0x100u /* is writable by a group other than root's */
#define MS_MODULE_OWNER_OTHER    0x200u /* is owned by a user that is neither root nor the process's */
#define MS_MODULE_OWNER_SELF     0x400u /* is owned by the process's own user, which is not root */
#define MS_MODULE_NAMES_TRUNCATED 0x800u /* a DT_NEEDED list was cut: NEEDED may be missing */

typedef struct ms_module_info {
    uint64_t start;          /* the first mapping of the file */
    uint64_t exec_start;     /* its first executable mapping */
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint32_t flags;          /* MS_MODULE_* */
    uint32_t owner_uid;      /* MS_MODULE_FILE_KNOWN */
    uint32_t mode;           /* MS_MODULE_FILE_KNOWN: st_mode */
    uint32_t process_uid;    /* effective uid of the process; UINT32_MAX when unknown */
    uint16_t elf_type;       /* MS_MODULE_ELF: e_type (2 executable, 3 shared object or PIE) */
    uint16_t reserved;
    const char *path;        /* as /proc/<pid>/maps shows it (raw bytes) */
    const char *soname;      /* DT_SONAME, or "" */
    const char *writable_at; /* the file or directory that gave the first writable flag, or "" */
} ms_module_info;

/* Return non-zero to stop (the call then returns MS_E_STOPPED). */
typedef int (*ms_module_cb)(const ms_module_info *module, void *user_data);

/* One callback per file (device and inode) the process has an executable
 * private or shared mapping of (memfds and System V segments excluded; a
 * deleted file is included), in address order, after every file has been
 * looked at. Each file is read through /proc/<pid>/map_files (the inode that
 * is mapped, not whatever its path names now; without CAP_SYS_ADMIN the path
 * in the process's root when its device and inode match), its ELF headers
 * and DT_NEEDED list parsed with bounds. NEEDED is the closure of the
 * executable's DT_NEEDED names over the mapped files' DT_SONAME and file
 * names. MS_E_NO_SUCH_PROCESS when the process exited. */
MS_API ms_status ms_module_list(ms_agent *agent, int64_t pid, ms_module_cb cb, void *user_data);

#ifdef __cplusplus
}
#endif
#endif
