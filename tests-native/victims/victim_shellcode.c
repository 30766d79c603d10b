/* Artifact: code written into private anonymous memory while it was writable,
 * then made executable (RW -> RX), the classic injection sequence. argv:
 * [NAME] names the region with PR_SET_VMA_ANON_NAME, so maps shows it as
 * [anon:NAME] (an implant hiding behind a respectable name); READY then says
 * named=1, or named=0 where the kernel lacks CONFIG_ANON_VMA_NAME. */
#include "victim_common.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#ifndef PR_SET_VMA
#  define PR_SET_VMA 0x53564d41
#  define PR_SET_VMA_ANON_NAME 0
#endif

int main(int argc, char **argv)
{
#if defined(__x86_64__) || defined(__i386__)
    static const unsigned char code[] = {0x31, 0xc0, 0xc3}; /* xor eax, eax; ret */
#elif defined(__aarch64__)
    static const unsigned char code[] = {0x00, 0x00, 0x80, 0x52, 0xc0, 0x03, 0x5f, 0xd6}; /* mov w0,#0; ret */
#else
    static const unsigned char code[] = {0};
#endif
    size_t len = 2 * 4096;
    unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    memcpy(mem, code, sizeof code);
    if (mprotect(mem, len, PROT_READ | PROT_EXEC) != 0)
        return 1;
    int named = argc > 1 && prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)mem, len, argv[1]) == 0;
    printf("READY pid=%d addr=%p len=%zu named=%d\n", (int)getpid(), (void *)mem, len, named);
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
