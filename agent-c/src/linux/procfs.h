/* Bounded, hostile-input-safe readers for /proc. */
#ifndef MS_LINUX_PROCFS_H
#define MS_LINUX_PROCFS_H

#include "../internal.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest line the reader accepts; the kernel's maps lines stay far below it. */
#define MS_LINE_MAX (64 * 1024)

typedef struct ms_line_reader {
    int fd;
    char *buf;
    size_t cap;
    size_t start; /* first unconsumed byte */
    size_t end;   /* one past the last byte read */
    bool eof;
} ms_line_reader;

/* Takes ownership of fd. */
void ms__line_reader_init(ms_line_reader *r, int fd);
void ms__line_reader_close(ms_line_reader *r);

/* Next line without its '\n', NUL-terminated and writable until the next call.
 * Returns MS_OK with *line NULL at end of input, MS_E_MALFORMED for a line
 * longer than MS_LINE_MAX (it is skipped; reading may go on), MS_E_IO or
 * MS_E_NO_MEMORY on failure. A final line without '\n' is returned as is. */
ms_status ms__line_reader_next(ms_line_reader *r, char **line, size_t *len);

/* "/proc/<pid>/<leaf>" into buf. */
void ms__proc_path(char *buf, size_t cap, int64_t pid, const char *leaf);

/* Opens a /proc file of pid, mapping errors: a missing process gives
 * MS_E_NO_SUCH_PROCESS, a refusal MS_E_ACCESS_DENIED. Returns the fd in *fd. */
ms_status ms__proc_open(int64_t pid, const char *leaf, int flags, int *fd);

/* MS_OK while /proc/<pid> exists, else MS_E_NO_SUCH_PROCESS (set as the last
 * error): facts gathered from several files are about a live process only
 * if it is still there afterwards. */
ms_status ms__proc_still_there(int64_t pid);

/* Reads at most cap-1 bytes of a /proc file of pid and NUL-terminates them. */
ms_status ms__proc_read(int64_t pid, const char *leaf, char *buf, size_t cap, size_t *out_len);

#endif
