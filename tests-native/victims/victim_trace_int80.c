/* Artifact for the tracer's foreign-ABI test: a 64-bit process that makes
 * an i386 syscall, mprotect (125) through int 0x80, to turn a read-write
 * page below 4 GiB read-execute, the way code hides a call from a filter
 * that checks x86-64 numbers only. Prints READY with the page and exits. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    memset(p, 0xc3, 16);
    long ret, nr = 125; /* __NR_mprotect in the i386 table */
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"((long)(unsigned long)p), "c"(4096L), "d"((long)(PROT_READ | PROT_EXEC))
                     : "memory");
    printf("READY page=%lx ret=%ld\n", (unsigned long)p, ret);
    fflush(stdout);
    return ret == 0 ? 0 : 1;
}
