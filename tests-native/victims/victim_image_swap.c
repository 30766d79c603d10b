/* Artifact: a process that became another program in place. It reads the
 * static executable victim_image_payload (built next to it) into a heap
 * buffer, maps its segments into anonymous memory at their link addresses,
 * gives them the segments' rights and jumps to its entry. /proc/PID/exe
 * still names this victim, whose image stays mapped; the running code is the
 * anonymous image, blocked in read(0) until standard input closes.
 * READY image=START image_end=END heap=ADDRESS-OF-THE-MARKER-IN-THE-HEAP-COPY */
#include "victim_common.h"

#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096ul

static int prot_of(uint32_t flags)
{
    return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

int main(void)
{
#if !defined(__x86_64__)
    fprintf(stderr, "victim_image_swap: x86-64 only\n");
    return 77;
#else
    char dir[PATH_MAX], path[PATH_MAX + 32];
    if (victim_dir(dir, sizeof dir) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/victim_image_payload", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr) || st.st_size > (1 << 20))
        return 1;
    /* The heap copy: the marker is in it too, as a downloaded payload would be. */
    unsigned char *file = malloc((size_t)st.st_size);
    if (!file || read(fd, file, (size_t)st.st_size) != st.st_size)
        return 1;
    close(fd);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_type != ET_EXEC ||
        eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > (uint64_t)st.st_size)
        return 1;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (ph[i].p_vaddr < lo)
            lo = ph[i].p_vaddr & ~(PAGE - 1);
        if (ph[i].p_vaddr + ph[i].p_memsz > hi)
            hi = (ph[i].p_vaddr + ph[i].p_memsz + PAGE - 1) & ~(PAGE - 1);
    }
    if (lo >= hi)
        return 1;
    unsigned char *image = mmap((void *)lo, hi - lo, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (image != (unsigned char *)lo)
        return 1;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz <= (uint64_t)st.st_size)
            memcpy((void *)ph[i].p_vaddr, file + ph[i].p_offset, ph[i].p_filesz);
    }
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uint64_t s = ph[i].p_vaddr & ~(PAGE - 1);
        uint64_t e = (ph[i].p_vaddr + ph[i].p_memsz + PAGE - 1) & ~(PAGE - 1);
        if (mprotect((void *)s, e - s, prot_of(ph[i].p_flags)) != 0)
            return 1;
    }
    unsigned char *marker = memmem(file, (size_t)st.st_size, "MEMSENTRY-YARA-IMAGE-", 21);
    if (!marker)
        return 1;
    printf("READY pid=%d image=%p image_end=%p heap=%p entry=%p\n", (int)getpid(), (void *)lo, (void *)hi,
           (void *)marker, (void *)eh->e_entry);
    fflush(stdout);
    ((void (*)(void))eh->e_entry)();
    return 1;
#endif
}
