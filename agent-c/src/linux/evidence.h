/* Output files that hold evidence (dumps carry passwords and keys, and the
 * tool runs as root): created 0600 with O_EXCL|O_NOFOLLOW under a temporary
 * name in the destination directory, renamed into place only when complete,
 * never replacing anything without force, never written through a link. */
#ifndef MS_LINUX_EVIDENCE_H
#define MS_LINUX_EVIDENCE_H

#include "../internal.h"

#include <limits.h>
#include <stdbool.h>

typedef struct ms_evidence {
    int dirfd;
    int fd;                   /* the temporary file, open for writing */
    bool force;
    bool committed;
    char name[NAME_MAX + 1];  /* final name in the directory */
    char temp[NAME_MAX + 1];  /* temporary name in the directory */
    char path[PATH_MAX];      /* final path as given, for messages */
} ms_evidence;

/* Where evidence goes: at_dir >= 0 is a directory the caller opened (path is
 * then a file name in it); private_dir refuses a directory another user owns
 * or may write (MS_DUMP_PRIVATE_DIR), checked on the opened descriptor. */
typedef struct ms_evidence_where {
    int at_dir;
    bool private_dir;
} ms_evidence_where;

/* Sets fds to -1 so discard() is safe on a never-created one. */
void ms__evidence_init(ms_evidence *ev);

/* Checks the destination without creating anything: MS_E_EXISTS for an
 * existing file or link (unless force), always for a directory or anything
 * but a regular file or link; MS_E_INVALID_ARGUMENT for a malformed path,
 * MS_E_IO when the directory cannot be opened. */
ms_status ms__evidence_check(const ms_evidence_where *where, const char *path, bool force);

/* Checks, then creates the temporary file. */
ms_status ms__evidence_create(const ms_evidence_where *where, const char *path, bool force, ms_evidence *ev);

/* MS_E_NO_SPACE when the file system has less than bytes free. */
ms_status ms__evidence_require_space(const ms_evidence *ev, uint64_t bytes);

/* Writes all of len bytes at offset, mapping ENOSPC to MS_E_NO_SPACE. */
ms_status ms__evidence_pwrite(const ms_evidence *ev, const void *data, size_t len, uint64_t offset);

/* Renames the temporary file to the final name (without replacing anything
 * unless force); sync: fsync the file and the directory first and after. */
ms_status ms__evidence_commit(ms_evidence *ev, bool sync);

/* Removes a committed file again (a later part of the evidence failed). */
void ms__evidence_retract(ms_evidence *ev);

/* Closes; removes the temporary file if it was not committed. Idempotent. */
void ms__evidence_discard(ms_evidence *ev);

#endif
