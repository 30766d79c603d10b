/* The protected list on Linux, matched by file identity: an entry protects
 * the file it names, not any file that happens to carry that name. */
#ifndef MS_LINUX_PROTECT_IDENTITY_H
#define MS_LINUX_PROTECT_IDENTITY_H

#include "../common/protect.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Directories a name entry is looked up in (in memsentry's own root), NULL-terminated. */
extern const char *const ms__protect_system_dirs[];

/* What the kernel says about a process's executable file, through the
 * /proc/PID/exe magic link (so a deleted file or one on a mount the
 * process made in its own namespace is still the file itself). */
typedef struct ms__exe_identity {
    bool known;       /* false: /proc/PID/exe could not be opened */
    dev_t dev;
    ino_t ino;
    bool deleted;     /* no link left: the file was replaced or removed */
    bool have_mnt;    /* mnt_id is valid (statx STATX_MNT_ID, Linux 5.8+) */
    uint64_t mnt_id;  /* the mount the process executed it through */
} ms__exe_identity;

void ms__exe_identity_read(int64_t pid, ms__exe_identity *id);

/* ms__protect_match by identity. exe is the link's text without " (deleted)",
 * used only to recognise a package upgrade (below) and for messages; comm only
 * when the executable cannot be read at all. Returns MS_PROTECT_NAME,
 * MS_PROTECT_PATH or MS_PROTECT_NONE. */
int32_t ms__protect_match_identity(const ms__term_config *config, const ms__exe_identity *id, const char *exe,
                                   const char *comm, const char **matched);

#endif
