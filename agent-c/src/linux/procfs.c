#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ms__line_reader_init(ms_line_reader *r, int fd)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
}

void ms__line_reader_close(ms_line_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* Reads more input after the unconsumed bytes, growing the buffer up to
 * MS_LINE_MAX + 1. Returns MS_OK when bytes came or EOF was reached. */
static ms_status fill(ms_line_reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end + 1 >= r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8192;
        if (cap > MS_LINE_MAX + 2)
            cap = MS_LINE_MAX + 2;
        if (cap > r->cap) {
            char *grown = realloc(r->buf, cap);
            if (!grown)
                return ms__fail(MS_E_NO_MEMORY, "line buffer of %zu bytes", cap);
            r->buf = grown;
            r->cap = cap;
        }
    }
    size_t room = r->cap - 1 - r->end;
    if (room == 0)
        return MS_OK;
    ssize_t n;
    do {
        n = read(r->fd, r->buf + r->end, room);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return ms__fail(ms__status_from_errno(errno) == MS_E_NO_SUCH_PROCESS ? MS_E_NO_SUCH_PROCESS : MS_E_IO,
                        "read: %s", strerror(errno));
    if (n == 0)
        r->eof = true;
    r->end += (size_t)n;
    return MS_OK;
}

ms_status ms__line_reader_next(ms_line_reader *r, char **line, size_t *len)
{
    bool skipping = false;
    *line = NULL;
    *len = 0;
    for (;;) {
        char *nl = r->buf ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start));
            char *begin = r->buf + r->start;
            r->start += n + 1;
            if (skipping)
                return ms__fail(MS_E_MALFORMED, "line longer than %d bytes skipped", MS_LINE_MAX);
            *nl = '\0';
            *line = begin;
            *len = n;
            return MS_OK;
        }
        if (r->eof) {
            size_t n = r->end - r->start;
            if (n == 0)
                return skipping ? ms__fail(MS_E_MALFORMED, "line longer than %d bytes skipped", MS_LINE_MAX)
                                : MS_OK;
            char *begin = r->buf + r->start;
            r->start = r->end;
            if (skipping)
                return ms__fail(MS_E_MALFORMED, "line longer than %d bytes skipped", MS_LINE_MAX);
            begin[n] = '\0'; /* fill() always leaves room for it */
            *line = begin;
            *len = n;
            return MS_OK;
        }
        if (r->end - r->start >= MS_LINE_MAX) {
            skipping = true; /* drop what we have and look for the end of this line */
            r->start = r->end;
        }
        ms_status st = fill(r);
        if (st != MS_OK)
            return st;
    }
}

void ms__proc_path(char *buf, size_t cap, int64_t pid, const char *leaf)
{
    snprintf(buf, cap, "/proc/%" PRId64 "/%s", pid, leaf);
}

ms_status ms__proc_open(int64_t pid, const char *leaf, int flags, int *fd)
{
    char path[64];
    ms__proc_path(path, sizeof path, pid, leaf);
    *fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
    if (*fd >= 0)
        return MS_OK;
    int err = errno;
    if (err == ENOENT || err == ESRCH)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " does not exist", pid);
    return ms__fail(ms__status_from_errno(err), "open %s: %s", path, strerror(err));
}

ms_status ms__proc_read(int64_t pid, const char *leaf, char *buf, size_t cap, size_t *out_len)
{
    int fd;
    ms_status st = ms__proc_open(pid, leaf, O_RDONLY, &fd);
    if (st != MS_OK)
        return st;
    size_t total = 0;
    while (total + 1 < cap) {
        ssize_t n = read(fd, buf + total, cap - 1 - total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            if (err == ESRCH)
                return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited", pid);
            return ms__fail(ms__status_from_errno(err), "read /proc/%" PRId64 "/%s: %s", pid, leaf, strerror(err));
        }
        if (n == 0)
            break;
        total += (size_t)n;
    }
    close(fd);
    buf[total] = '\0';
    if (out_len)
        *out_len = total;
    return MS_OK;
}

ms_status ms__proc_still_there(int64_t pid)
{
    char path[64];
    ms__proc_path(path, sizeof path, pid, "");
    if (access(path, F_OK) != 0)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited", pid);
    return MS_OK;
}
