/* The threads of a target, optionally frozen with ptrace for a consistent
 * snapshot and their registers.
 *
 * Freezing seizes every thread (PTRACE_SEIZE, so no signal is sent) and
 * interrupts it (PTRACE_INTERRUPT); ms__threads_thaw() detaches each one,
 * re-injecting a signal that arrived while it was stopped. ptrace ties a
 * tracee to the tracing *thread*: freeze, register reads and thaw must run
 * on one thread, as a single ms_dump_process() call does. Whatever happens
 * in between, the owner calls ms__threads_thaw() (ms__threads_free() does it
 * too), and if the whole tracer dies the kernel detaches the tracees itself. */
#ifndef MS_LINUX_THREADS_H
#define MS_LINUX_THREADS_H

#include "../internal.h"

#include <stdbool.h>
#include <sys/procfs.h>

typedef struct ms_thread {
    int32_t tid;
    bool seized;        /* we trace it and must detach it */
    bool stopped;       /* in a ptrace stop */
    int pending_signal; /* arrived while stopped: delivered at detach */
    bool has_regs;
    bool has_fpregs;
    elf_gregset_t regs;
    elf_fpregset_t fpregs;
} ms_thread;

typedef struct ms_threads {
    int64_t pid;
    ms_thread *t;
    size_t count;
    size_t cap;
    bool frozen;
    struct ms_freezer *freezer; /* the thread that traces them while frozen */
} ms_threads;

/* Lists the threads (main thread first) without stopping them. */
ms_status ms__threads_list(int64_t pid, ms_threads *out);

/* Seizes and stops every thread, then reads their registers. On failure
 * every thread already seized is detached again before it returns:
 * MS_E_BUSY when another tracer holds the process, MS_E_ACCESS_DENIED,
 * MS_E_NO_SUCH_PROCESS, MS_E_TIMEOUT when a thread did not stop within
 * timeout_ms (e.g. stuck in uninterruptible sleep). */
ms_status ms__threads_freeze(ms_agent *agent, int64_t pid, unsigned timeout_ms, ms_threads *out);

/* Detaches every seized thread, resuming it. Idempotent. */
void ms__threads_thaw(ms_agent *agent, ms_threads *th);

/* Thaws, then frees. Accepts a zeroed or already freed set. */
void ms__threads_free(ms_agent *agent, ms_threads *th);

#endif
