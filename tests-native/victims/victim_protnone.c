/* Artifact: a marker in a private anonymous page made PROT_NONE, which process_vm_readv
 * cannot read and /proc/<pid>/mem can. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *marker = argc > 1 ? argv[1] : "PROT-NONE-MARKER";
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    strcpy(page + 64, marker);
    if (mprotect(page, 4096, PROT_NONE) != 0)
        return 1;
    printf("READY pid=%d addr=%p len=%zu\n", (int)getpid(), (void *)(page + 64), strlen(marker));
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
