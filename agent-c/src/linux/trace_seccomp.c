/* The seccomp-bpf filter of launch mode: SECCOMP_RET_TRACE for the monitored
 * syscalls, SECCOMP_RET_ALLOW for the rest, per ABI. The architecture is
 * checked first: an x86-64 process can still make i386 syscalls (int 0x80)
 * and x32 ones (bit 0x40000000), whose numbers mean other calls, and hiding a
 * call there is a known evasion. So each ABI has its own list, and an
 * architecture the filter does not know is traced whole.
 *
 *   ld arch; jeq X86_64 ? : i386
 *   ld nr; jset X32_BIT ? x32 :
 *   jeq nr1 TRACE; jeq nr2 TRACE; ...; ret ALLOW; ret TRACE
 *   x32:  and ~X32_BIT; the same list; ret ALLOW; ret TRACE
 *   i386: jeq I386 ? : TRACE; ld nr; the i386 list; ret ALLOW; ret TRACE */
#include "trace.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define X32_BIT 0x40000000u

typedef struct prog {
    struct sock_filter *insn;
    size_t len, cap;
} prog;

static void put(prog *p, unsigned short code, unsigned char jt, unsigned char jf, uint32_t k)
{
    p->insn[p->len++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/* The numbers of set, each jumping to a TRACE return that follows one ALLOW. */
static void put_list(prog *p, const ms__nr_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        put(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned char)(set->count - i), 0, (uint32_t)set->list[i]);
    put(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
    put(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRACE);
}

ms_status ms__trace_seccomp_build(const ms_trace *trace, ms__bpf_insn **out, unsigned short *count)
{
#if defined(__x86_64__)
    const ms__nr_set *n64 = &trace->filter_x86_64, *n32 = &trace->filter_i386;
    size_t list64 = n64->count + 2, list32 = n32->count + 2;
    prog p = {.cap = 4 + list64 + 1 + list64 + 2 + list32};
    p.insn = calloc(p.cap, sizeof *p.insn);
    if (!p.insn)
        return ms__fail(MS_E_NO_MEMORY, "seccomp filter: out of memory");
    put(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
    /* jf skips the x86-64 and x32 blocks: ld nr, jset, list, and, list. */
    put(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, (unsigned char)(2 + list64 + 1 + list64), AUDIT_ARCH_X86_64);
    put(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
    put(&p, BPF_JMP | BPF_JSET | BPF_K, (unsigned char)list64, 0, X32_BIT);
    put_list(&p, n64);
    put(&p, BPF_ALU | BPF_AND | BPF_K, 0, 0, ~X32_BIT);
    put_list(&p, n64);
    /* An unknown architecture jumps to the last instruction, the i386 block's TRACE. */
    put(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, (unsigned char)list32, AUDIT_ARCH_I386);
    put(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
    put_list(&p, n32);
    if (p.len != p.cap) {
        free(p.insn);
        return ms__fail(MS_E_INTERNAL, "seccomp filter: %zu instructions, %zu planned", p.len, p.cap);
    }
    *out = p.insn;
    *count = (unsigned short)p.len;
    return MS_OK;
#else
    (void)trace, (void)out, (void)count;
    return ms__fail(MS_E_UNSUPPORTED, "seccomp filter: only x86-64 is supported");
#endif
}
