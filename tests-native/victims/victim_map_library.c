/* Artifact: a library file mapped private and executable whose first page is
 * the process's own copy (written with the bytes it already held, as the
 * loader's relocations do) or, with "patch", one byte changed there. A
 * checker that compares the page with the wrong file (the host's file at the
 * same path, seen from a container) reports a patch that is not there.
 * Built static too (victim_map_library_static) to run in a minimal container.
 * argv: PATH [patch]. */
#include "victim_common.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 4096)
        return 1;
    size_t len = (size_t)st.st_size;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return 1;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (mprotect(m, page, PROT_READ | PROT_WRITE) != 0)
        return 1;
    size_t at = 0x200; /* inside the first page, past the ELF header */
    volatile unsigned char *p = m + at;
    unsigned char before = *p;
    *p = argc > 2 && strcmp(argv[2], "patch") == 0 ? (unsigned char)(before ^ 0xff) : before;
    if (mprotect(m, page, PROT_READ | PROT_EXEC) != 0)
        return 1;
    printf("READY pid=%d addr=%p byte=%p before=%02x after=%02x\n", (int)getpid(), (void *)m, (void *)(m + at), before,
           m[at]);
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
