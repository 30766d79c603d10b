/* Victims for watch, each a program that does its thing on its own schedule.
 * argv[1] is the mode:
 *   shellcode MS   code written into anonymous memory, made RW -> RX; READY;
 *                  runs MS milliseconds and exits 0 (a loader that does not wait)
 *   late MS        READY at once with nothing to find; after MS milliseconds an
 *                  RWX anonymous page holding code appears ("RWX addr=..."); then
 *                  waits for stdin to close
 *   cycle          the RX shellcode region at once; READY; then, for each line
 *                  read on stdin, one more page made RW -> RX ("WX addr=...");
 *                  exits when stdin closes
 *   benign MS      nothing to find; READY; exits after MS milliseconds
 * READY pid=N addr=0x... (addr: the region to be found, 0 where none yet). */
#include "victim_common.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* A fresh anonymous page with code in it, made executable with prot. */
static void *code_page(int prot)
{
#if defined(__x86_64__) || defined(__i386__)
    static const unsigned char code[] = {0x31, 0xc0, 0xc3}; /* xor eax, eax; ret */
#elif defined(__aarch64__)
    static const unsigned char code[] = {0x00, 0x00, 0x80, 0x52, 0xc0, 0x03, 0x5f, 0xd6};
#else
    static const unsigned char code[] = {0};
#endif
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *mem = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    memcpy(mem, code, sizeof code);
    if (mprotect(mem, page, prot) != 0)
        return NULL;
    return mem;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    long ms = argc > 2 ? strtol(argv[2], NULL, 10) : 300;
    if (strcmp(mode, "shellcode") == 0 || strcmp(mode, "cycle") == 0) {
        void *mem = code_page(PROT_READ | PROT_EXEC);
        if (!mem)
            return 1;
        printf("READY pid=%d addr=%p\n", (int)getpid(), mem);
        fflush(stdout);
        if (mode[0] == 's') {
            sleep_ms(ms);
            return 0;
        }
        char line[64];
        while (fgets(line, sizeof line, stdin)) {
            void *more = code_page(PROT_READ | PROT_EXEC);
            if (!more)
                return 1;
            printf("WX addr=%p\n", more);
            fflush(stdout);
        }
        return 0;
    }
    if (strcmp(mode, "late") == 0) {
        printf("READY pid=%d addr=0x0\n", (int)getpid());
        fflush(stdout);
        sleep_ms(ms);
        void *mem = code_page(PROT_READ | PROT_WRITE | PROT_EXEC);
        if (!mem)
            return 1;
        printf("RWX addr=%p\n", mem);
        fflush(stdout);
        victim_wait_stdin();
        return 0;
    }
    if (strcmp(mode, "benign") == 0) {
        printf("READY pid=%d addr=0x0\n", (int)getpid());
        fflush(stdout);
        sleep_ms(ms);
        return 0;
    }
    fprintf(stderr, "usage: victim_watch shellcode|late|cycle|benign [MS]\n");
    return 2;
}
