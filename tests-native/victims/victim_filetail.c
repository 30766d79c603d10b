/* Artifact: a private mapping of three pages over a file one and a half pages
 * long (then deleted), with its first page read: the last page lies past the
 * file's end, where a read faults (SIGBUS in the process, EIO for a reader).
 * argv: DIR for the file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char path[4096];
    snprintf(path, sizeof path, "%s/victim_filetail.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    size_t file_len = page + page / 2;
    char *content = malloc(file_len);
    if (!content)
        return 1;
    memset(content, 'F', file_len);
    if (write(fd, content, file_len) != (ssize_t)file_len)
        return 1;
    char *map = mmap(NULL, 3 * page, PROT_READ, MAP_PRIVATE, fd, 0);
    unlink(path);
    close(fd);
    if (map == MAP_FAILED)
        return 1;
    volatile char first = map[0];
    (void)first;
    printf("READY pid=%d map=%p len=%zu file_len=%zu\n", (int)getpid(), (void *)map, 3 * page, file_len);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
