/* Artifact: a marker in an anonymous page mapped read-write-execute (what
 * injected code looks like), next to a large plain read-write mapping.
 * argv: [MARKER]. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *marker = argc > 1 ? argv[1] : "MEMSENTRY-RWX-4e1d";
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *rwx = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t plain_len = 64 * page;
    char *plain = mmap(NULL, plain_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED || plain == MAP_FAILED || strlen(marker) + 64 > page)
        return 1;
    memcpy(rwx + 32, marker, strlen(marker) + 1);
    memset(plain, 'P', plain_len);
    printf("READY pid=%d rwx=%p addr=%p plain=%p plain_len=%zu\n", (int)getpid(), (void *)rwx, (void *)(rwx + 32),
           (void *)plain, plain_len);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
