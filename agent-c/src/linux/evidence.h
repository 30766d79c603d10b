/* Output files that hold evidence (dumps carry passwords and keys, and the
 * tool runs as root): created 0600 as an unnamed O_TMPFILE in the
 * destination directory and linked into place only when complete, so a
 * crash or SIGKILL leaves nothing; never replacing anything without force,
 * never written through a link.
 *
 * Where the file system refuses O_TMPFILE (EOPNOTSUPP, EISDIR, EINVAL) the
 * file is created O_EXCL|O_NOFOLLOW under a hidden temporary name
 * (".NAME.XXXXXXXX.partial", flock()ed while it is written) and renamed at
 * commit. A killed dump leaves that file behind; the first dump an agent
 * makes into a directory names each such leftover nobody holds locked in a
 * WARN, and never deletes one (another run may be writing it). */
#ifndef MS_LINUX_EVIDENCE_H
#define MS_LINUX_EVIDENCE_H

#include "../internal.h"

#include <limits.h>
#include <stdbool.h>

typedef struct ms_evidence {
    int dirfd;
    int fd;                   /* the temporary file, open for writing */
    int direct_fd;            /* the same file opened O_DIRECT, or -1 (ms__evidence_open_direct) */
    bool force;
    bool committed;
    bool unnamed;             /* O_TMPFILE: no name until commit links it */
    char name[NAME_MAX + 1];  /* final name in the directory */
    char temp[NAME_MAX + 1];  /* temporary name in the directory (fallback only) */
    char path[PATH_MAX];      /* final path as given, for messages */
} ms_evidence;

/* Where evidence goes: at_dir >= 0 is a directory the caller opened (path is
 * then a file name in it); private_dir refuses a directory another user owns
 * or may write (MS_DUMP_PRIVATE_DIR), checked on the opened descriptor. */
typedef struct ms_evidence_where {
    int at_dir;
    bool private_dir;
    ms_agent *agent; /* hears the leftover warnings; may be NULL */
} ms_evidence_where;

/* Sets fds to -1 so discard() is safe on a never-created one. */
void ms__evidence_init(ms_evidence *ev);

/* Checks the destination without creating anything: MS_E_EXISTS for an
 * existing file or link (unless force), always for a directory or anything
 * but a regular file or link; MS_E_INVALID_ARGUMENT for a malformed path,
 * MS_E_IO when the directory cannot be opened. */
ms_status ms__evidence_check(const ms_evidence_where *where, const char *path, bool force);

/* Checks, warns about leftovers of killed dumps (once per directory and
 * agent), then creates the unnamed (or temporary) file. */
ms_status ms__evidence_create(const ms_evidence_where *where, const char *path, bool force, ms_evidence *ev);

/* MS_E_NO_SPACE when the file system has less than bytes free. */
ms_status ms__evidence_require_space(const ms_evidence *ev, uint64_t bytes);

/* Writes all of len bytes at offset, mapping ENOSPC to MS_E_NO_SPACE. */
ms_status ms__evidence_pwrite(const ms_evidence *ev, const void *data, size_t len, uint64_t offset);

/* Opens the file a second time with O_DIRECT, for ms__evidence_write_bulk();
 * quietly does nothing where the file system refuses it. */
void ms__evidence_open_direct(ms_evidence *ev);

/* Big writes go either through the page cache or around it (O_DIRECT),
 * whichever took fewer nanoseconds per byte lately (O_DIRECT only when it
 * took half as many: the page cache is written in 64 KiB pieces, and that
 * is rarely slower than the disk). On a virtual machine
 * whose host takes freed guest memory back (virtio-balloon free page
 * reporting), a page-cache page the guest has not touched for a few seconds
 * costs a host fault on first write, several times the copy itself; pages
 * freed a moment ago do not. So the page cache is two to eight times faster
 * or slower than the disk from one minute to the next, and even within one
 * dump (once the warm pages are used up): each writer measures both and
 * keeps trying the other now and then. One per thread. */
typedef struct ms_bulk_writer {
    double ns_per_byte[2]; /* page cache, O_DIRECT; 0 until measured */
    uint32_t since_probe;  /* writes since the other way was last tried */
    uint32_t probe_every;
    bool direct_refused;   /* an O_DIRECT write failed with EINVAL: alignment this file system will not take */
    uint64_t bytes[2];     /* written each way, for the log */
} ms_bulk_writer;

/* As ms__evidence_pwrite(); page-aligned writes of at least 256 KiB may
 * take the O_DIRECT descriptor. */
ms_status ms__evidence_write_bulk(const ms_evidence *ev, ms_bulk_writer *w, const void *data, size_t len,
                                  uint64_t offset);

/* Links the file to its final name (without replacing anything unless
 * force: then a rename replaces the name, never what a link points to);
 * sync: fsync the file first and the directory after. */
ms_status ms__evidence_commit(ms_evidence *ev, bool sync);

/* Removes a committed file again (a later part of the evidence failed). */
void ms__evidence_retract(ms_evidence *ev);

/* Closes (an unnamed file vanishes with it); removes the temporary file
 * if it was not committed. Idempotent. */
void ms__evidence_discard(ms_evidence *ev);

#endif
