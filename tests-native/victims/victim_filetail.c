/* Artifact: a private read-only mapping of 1002 pages over a file of 1000.5
 * pages (then deleted), of which only the first page was read: the kernel
 * maps a few neighbours too (fault-around), the rest of the file's pages are
 * absent, and the last page lies past the file's end, where a read faults
 * (SIGBUS in the process, EIO for a reader). argv: DIR for the file. */
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
    size_t file_len = 1000 * page + page / 2, map_len = 1002 * page;
    char *content = malloc(file_len);
    if (!content)
        return 1;
    memset(content, 'F', file_len);
    if (write(fd, content, file_len) != (ssize_t)file_len)
        return 1;
    char *map = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    unlink(path);
    close(fd);
    if (map == MAP_FAILED)
        return 1;
    volatile char first = map[0];
    (void)first;
    printf("READY pid=%d map=%p len=%zu file_len=%zu\n", (int)getpid(), (void *)map, map_len, file_len);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
