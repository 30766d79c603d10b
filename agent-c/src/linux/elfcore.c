#include "elfcore.h"
#include "procfs.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

#if defined(__x86_64__)
#define CORE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define CORE_MACHINE EM_AARCH64
#endif

#define AUXV_MAX (64 * 1024)

bool ms__core_supported(void)
{
#ifdef CORE_MACHINE
    return true;
#else
    return false;
#endif
}

uint64_t ms__core_header_size(size_t nsegments)
{
    uint64_t phnum = (uint64_t)nsegments + 1;
    uint64_t size = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
    if (phnum >= PN_XNUM)
        size += sizeof(Elf64_Shdr);
    return size;
}

/* One note: header, name and descriptor, each padded to 4 bytes as Linux
 * cores do for 64-bit too. */
static void note(ms_bytes *b, const char *name, uint32_t type, const void *desc, size_t desc_len)
{
    Elf64_Nhdr h = {(Elf64_Word)(strlen(name) + 1), (Elf64_Word)desc_len, type};
    ms__bytes_append(b, &h, sizeof h);
    ms__bytes_append(b, name, h.n_namesz);
    ms__bytes_zeros(b, (4 - h.n_namesz % 4) % 4);
    ms__bytes_append(b, desc, desc_len);
    ms__bytes_zeros(b, (4 - desc_len % 4) % 4);
}

typedef struct proc_facts {
    char state;
    char comm[16];
    long long ppid, pgrp, session, nice;
    unsigned long long flags;
    long long uid, gid;
    char psargs[ELF_PRARGSZ];
} proc_facts;

/* What prpsinfo and prstatus need from /proc/<pid>/{stat,status,cmdline}.
 * comm is read from stat, where it ends at the last ')'. */
static void read_facts(int64_t pid, proc_facts *f)
{
    memset(f, 0, sizeof *f);
    f->state = 'R';
    char stat[1024];
    if (ms__proc_read(pid, "stat", stat, sizeof stat, NULL) == MS_OK) {
        char *open = strchr(stat, '(');
        char *close = strrchr(stat, ')');
        if (open && close && close > open && close[1] == ' ') {
            size_t n = (size_t)(close - open - 1);
            memcpy(f->comm, open + 1, n < sizeof f->comm - 1 ? n : sizeof f->comm - 1);
            /* state ppid pgrp session tty tpgid flags minflt cminflt majflt
             * cmajflt utime stime cutime cstime priority nice */
            char *p = close + 2;
            f->state = *p;
            long long v[17] = {0};
            char *save = NULL;
            char *tok = strtok_r(p, " ", &save);
            for (int i = 0; i < 17 && tok; i++, tok = strtok_r(NULL, " ", &save))
                v[i] = i > 0 ? strtoll(tok, NULL, 10) : 0;
            f->ppid = v[1];
            f->pgrp = v[2];
            f->session = v[3];
            f->flags = (unsigned long long)v[6];
            f->nice = v[16];
        }
    }
    char status[8192];
    if (ms__proc_read(pid, "status", status, sizeof status, NULL) == MS_OK) {
        const char *u = strstr(status, "\nUid:");
        const char *g = strstr(status, "\nGid:");
        f->uid = u ? strtoll(u + 5, NULL, 10) : 0;
        f->gid = g ? strtoll(g + 5, NULL, 10) : 0;
    }
    char cmdline[ELF_PRARGSZ + 1];
    size_t len = 0;
    if (ms__proc_read(pid, "cmdline", cmdline, sizeof cmdline, &len) == MS_OK) {
        while (len > 0 && cmdline[len - 1] == '\0')
            len--;
        for (size_t i = 0; i < len && i < ELF_PRARGSZ - 1; i++)
            f->psargs[i] = cmdline[i] ? cmdline[i] : ' ';
    }
}

static char state_index(char state)
{
    static const char order[] = "RSDTZW";
    const char *at = strchr(order, state == 't' ? 'T' : state);
    return at && state ? (char)(at - order) : 0;
}

ms_status ms__core_notes(int64_t pid, const ms_threads *threads, const ms_core_file *files, size_t nfiles,
                         uint64_t page_size, ms_bytes *out)
{
    proc_facts f;
    read_facts(pid, &f);

    prpsinfo_t ps;
    memset(&ps, 0, sizeof ps);
    ps.pr_state = state_index(f.state);
    ps.pr_sname = f.state;
    ps.pr_zomb = f.state == 'Z';
    ps.pr_nice = (char)f.nice;
    ps.pr_flag = (unsigned long)f.flags;
    ps.pr_uid = (__typeof__(ps.pr_uid))f.uid;
    ps.pr_gid = (__typeof__(ps.pr_gid))f.gid;
    ps.pr_pid = (int)pid;
    ps.pr_ppid = (int)f.ppid;
    ps.pr_pgrp = (int)f.pgrp;
    ps.pr_sid = (int)f.session;
    memcpy(ps.pr_fname, f.comm, sizeof ps.pr_fname);
    memcpy(ps.pr_psargs, f.psargs, sizeof ps.pr_psargs);

    char *auxv = malloc(AUXV_MAX);
    size_t auxv_len = 0;
    if (!auxv)
        return ms__fail(MS_E_NO_MEMORY, "auxv buffer");
    if (ms__proc_read(pid, "auxv", auxv, AUXV_MAX, &auxv_len) != MS_OK)
        auxv_len = 0;
    auxv_len -= auxv_len % (2 * sizeof(uint64_t));

    ms_bytes nt_file = {0};
    uint64_t header[2] = {nfiles, page_size};
    ms__bytes_append(&nt_file, header, sizeof header);
    for (size_t i = 0; i < nfiles; i++) {
        uint64_t triple[3] = {files[i].start, files[i].end, files[i].offset / page_size};
        ms__bytes_append(&nt_file, triple, sizeof triple);
    }
    for (size_t i = 0; i < nfiles; i++)
        ms__bytes_append(&nt_file, files[i].path, strlen(files[i].path) + 1);

    for (size_t i = 0; i < threads->count; i++) {
        const ms_thread *t = &threads->t[i];
        prstatus_t pr;
        memset(&pr, 0, sizeof pr);
        pr.pr_info.si_signo = t->pending_signal;
        pr.pr_cursig = (short)t->pending_signal;
        pr.pr_pid = t->tid;
        pr.pr_ppid = (int)f.ppid;
        pr.pr_pgrp = (int)f.pgrp;
        pr.pr_sid = (int)f.session;
        memcpy(&pr.pr_reg, &t->regs, sizeof pr.pr_reg);
        pr.pr_fpvalid = t->has_fpregs;
        note(out, "CORE", NT_PRSTATUS, &pr, sizeof pr);
        if (i == 0) {
            note(out, "CORE", NT_PRPSINFO, &ps, sizeof ps);
            if (auxv_len)
                note(out, "CORE", NT_AUXV, auxv, auxv_len);
            if (!nt_file.failed)
                note(out, "CORE", NT_FILE, nt_file.p, nt_file.len);
        }
        if (t->has_fpregs)
            note(out, "CORE", NT_PRFPREG, &t->fpregs, sizeof t->fpregs);
    }
    bool failed = nt_file.failed || out->failed;
    ms__bytes_free(&nt_file);
    free(auxv);
    if (failed)
        return ms__fail(MS_E_NO_MEMORY, "core notes for %zu threads and %zu files", threads->count, nfiles);
    return MS_OK;
}

static Elf64_Word segment_flags(uint32_t perms)
{
    return (perms & MS_PERM_READ ? PF_R : 0) | (perms & MS_PERM_WRITE ? PF_W : 0) | (perms & MS_PERM_EXEC ? PF_X : 0);
}

ms_status ms__core_header(const ms_core_segment *segments, size_t nsegments, uint64_t notes_offset,
                          uint64_t notes_size, uint64_t page_size, ms_bytes *out)
{
#ifndef CORE_MACHINE
    (void)segments, (void)nsegments, (void)notes_offset, (void)notes_size, (void)page_size, (void)out;
    return ms__fail(MS_E_UNSUPPORTED, "no ELF core writer for this architecture");
#else
    uint64_t phnum = (uint64_t)nsegments + 1;
    if (phnum > UINT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%zu regions do not fit an ELF core", nsegments);
    bool extended = phnum >= PN_XNUM;
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof eh);
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
    eh.e_type = ET_CORE;
    eh.e_machine = CORE_MACHINE;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof eh;
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = extended ? PN_XNUM : (Elf64_Half)phnum;
    if (extended) {
        /* More program headers than e_phnum holds: the real count goes in
         * sh_info of section header 0 (the kernel's and gdb's convention). */
        eh.e_shoff = sizeof eh + phnum * sizeof(Elf64_Phdr);
        eh.e_shentsize = sizeof(Elf64_Shdr);
        eh.e_shnum = 1;
        eh.e_shstrndx = SHN_UNDEF;
    }
    ms__bytes_append(out, &eh, sizeof eh);

    Elf64_Phdr ph;
    memset(&ph, 0, sizeof ph);
    ph.p_type = PT_NOTE;
    ph.p_offset = notes_offset;
    ph.p_filesz = notes_size;
    ph.p_align = 4;
    ms__bytes_append(out, &ph, sizeof ph);
    for (size_t i = 0; i < nsegments; i++) {
        memset(&ph, 0, sizeof ph);
        ph.p_type = PT_LOAD;
        ph.p_flags = segment_flags(segments[i].perms);
        ph.p_offset = segments[i].offset;
        ph.p_vaddr = segments[i].vaddr;
        ph.p_memsz = segments[i].memsz;
        ph.p_filesz = segments[i].filesz;
        ph.p_align = page_size;
        ms__bytes_append(out, &ph, sizeof ph);
    }
    if (extended) {
        Elf64_Shdr sh;
        memset(&sh, 0, sizeof sh);
        sh.sh_info = (Elf64_Word)phnum;
        ms__bytes_append(out, &sh, sizeof sh);
    }
    if (out->failed)
        return ms__fail(MS_E_NO_MEMORY, "core header for %zu segments", nsegments);
    return MS_OK;
#endif
}
