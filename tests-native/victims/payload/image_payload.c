/* The program victim_image_swap becomes in place: a static ELF executable
 * without libc, linked at a fixed address, that the victim maps into
 * anonymous memory and jumps to. It holds a YARA marker in its code, waits
 * until its standard input closes, then exits. */

/* In .text, so the marker lies in the image's executable memory. */
__asm__(".text\n"
        ".globl payload_marker\n"
        "payload_marker: .ascii \"MEMSENTRY-YARA-IMAGE-9321\"\n"
        ".byte 0\n");

static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

void _start(void);

void _start(void)
{
    char buf[64];
    while (sys3(0 /* read */, 0, (long)buf, sizeof buf) > 0) {
    }
    for (;;)
        sys3(231 /* exit_group */, 0, 0, 0);
}
