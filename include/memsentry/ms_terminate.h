/* memsentry public API: process termination that never hits a protected process.
 *
 * Protection is decided inside the library, so every caller (the CLI, the
 * JNI bridge, another language loading the library) gets the same answer.
 * Two tiers:
 *
 *   Built in, not configurable:
 *     - Linux: PID 1 of the caller's PID namespace; kernel threads
 *       (PF_KTHREAD, or a live process without an address space);
 *     - Windows: PIDs 0 (Idle) and 4 (System); processes that
 *       IsProcessCritical reports; the image names csrss.exe, lsass.exe,
 *       smss.exe, winlogon.exe, services.exe, System and dwm.exe
 *       (case-insensitive);
 *     - both: the calling process and every one of its ancestors.
 *
 *   The configurable list on the agent handle, filled with a default list by
 *   ms_agent_open() (listed below and in the README). Linux matches by file
 *   identity, never by text, since a process chooses its own names and, in a
 *   user namespace, what its paths show:
 *     - an entry holding a path separator is an executable path and matches
 *       only when the process's executable (/proc/PID/exe, device and inode)
 *       is the file now at that path in the caller's root;
 *     - any other entry is a name and matches only the file of that name in
 *       a system directory (/usr/sbin, /usr/bin, /sbin, /bin,
 *       /usr/lib/systemd, /lib/systemd, /usr/libexec, /usr/lib/openssh)
 *       owned by root and writable by no one else; a copy elsewhere, or a
 *       file bind-mounted over that path in another namespace, does not;
 *     - a deleted executable (a daemon whose package was upgraded) matches
 *       when its link reads exactly that path and the new file sits on the
 *       mount the process executed from;
 *     - the kernel's short name (comm), which any process may set, only when
 *       the executable cannot be read at all.
 *   Windows matches the image's path exactly and its file name,
 *   case-insensitively.
 *
 * Configure the list before sharing the handle between threads. */
#ifndef MEMSENTRY_MS_TERMINATE_H
#define MEMSENTRY_MS_TERMINATE_H

#include "ms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a process is protected. Values are stable. */
typedef enum ms_protect_reason {
    MS_PROTECT_NONE = 0,
    MS_PROTECT_INIT = 1,          /* PID 1 on Linux; PID 0 or 4 on Windows */
    MS_PROTECT_KERNEL_THREAD = 2, /* a kernel thread */
    MS_PROTECT_SELF = 3,          /* the calling process */
    MS_PROTECT_ANCESTOR = 4,      /* a parent, grandparent, ... of the calling process */
    MS_PROTECT_NAME = 5,          /* its executable's name is on the configured list */
    MS_PROTECT_PATH = 6,          /* its executable's path is on the configured list */
    MS_PROTECT_CRITICAL = 7       /* Windows: a critical system process */
} ms_protect_reason;

#define MS_PROTECT_REASON_COUNT 8

/* Stable lowercase name of a reason ("none", "init", "kernel-thread", "self",
 * "ancestor", "name", "path", "critical"). Never NULL. */
MS_API const char *ms_protect_reason_name(int32_t reason);

/* The default configurable list, as applied by ms_agent_open() (also in the README):
 *   Linux:   init systemd systemd-journald systemd-logind systemd-udevd
 *            systemd-networkd systemd-resolved dbus-daemon dbus-broker sshd
 *            auditd rsyslogd syslog-ng NetworkManager agetty login
 *   Windows: wininit.exe (the critical names above are built in)
 * These keep the host up, reachable and its logs intact. Name entries match
 * the system's binary, so every process running /usr/sbin/sshd is covered,
 * including per-connection sshd processes on OpenSSH before 9.8; kill the
 * session's shell instead, or clear the list deliberately. */

/* Adds a name or an executable path (at most 4095 bytes, not empty). Adding an
 * entry already present is not an error. */
MS_API ms_status ms_protect_add(ms_agent *agent, const char *name_or_path);
/* Removes every configured entry, the defaults included. The built-in rules stay. */
MS_API ms_status ms_protect_clear(ms_agent *agent);
/* Adds the platform's default list (what ms_agent_open() applied). */
MS_API ms_status ms_protect_add_defaults(ms_agent *agent);

/* Receives one configured entry; is_path is 1 for a path entry, 0 for a name.
 * Return non-zero to stop (the call then returns MS_E_STOPPED). */
typedef int (*ms_protect_entry_cb)(const char *entry, int32_t is_path, void *user_data);
MS_API ms_status ms_protect_list(ms_agent *agent, ms_protect_entry_cb cb, void *user_data);

/* Whether pid is protected and why, without sending anything. MS_OK with
 * *out_reason MS_PROTECT_NONE when it is not; MS_E_NO_SUCH_PROCESS when it does
 * not exist. detail (may be NULL when detail_cap is 0) receives a sentence
 * such as "pid 812 is an ancestor of the calling process (sshd)". */
MS_API ms_status ms_protect_check(ms_agent *agent, int64_t pid, int32_t *out_reason, char *detail,
                                  size_t detail_cap);

/* Outcome of a termination request. Values are stable. */
typedef enum ms_terminate_result {
    MS_TERMINATE_TERMINATED = 0,      /* exited after the polite request (SIGTERM) */
    MS_TERMINATE_KILLED = 1,          /* needed the forced kill (SIGKILL, TerminateProcess) */
    MS_TERMINATE_NOT_FOUND = 2,       /* did not exist, or had already exited */
    MS_TERMINATE_REFUSED = 3,         /* protected: nothing was sent */
    MS_TERMINATE_DENIED = 4,          /* the system refused permission */
    MS_TERMINATE_WOULD_TERMINATE = 5, /* dry run: allowed, permitted and alive; nothing was sent */
    MS_TERMINATE_UNCONFIRMED = 6,     /* the forced kill was sent but the process had not gone
                                         when the confirmation wait ended (e.g. stuck in the kernel) */
    MS_TERMINATE_FAILED = 7           /* another error (out of file descriptors, unreadable /proc, ...):
                                         see the returned status and the reason */
} ms_terminate_result;

#define MS_TERMINATE_RESULT_COUNT 8

/* Stable name of a result: "terminated", "killed", "not-found", "refused",
 * "denied", "would-terminate", "unconfirmed", "failed". Never NULL. */
MS_API const char *ms_terminate_result_name(int32_t result);

/* What was sent, in order, in ms_terminate_report.signals. */
typedef enum ms_terminate_signal {
    MS_SIGNAL_TERM = 1,             /* SIGTERM */
    MS_SIGNAL_KILL = 2,             /* SIGKILL */
    MS_SIGNAL_TERMINATE_PROCESS = 3 /* Windows TerminateProcess() */
} ms_terminate_signal;

/* "SIGTERM", "SIGKILL", "TerminateProcess"; "unknown" otherwise. Never NULL. */
MS_API const char *ms_terminate_signal_name(int32_t signal);

#define MS_TERMINATE_DEFAULT_GRACE_MS 5000u
#define MS_TERMINATE_MAX_GRACE_MS 3600000u /* one hour */
/* How long the library waits for the process to vanish after the forced kill. */
#define MS_TERMINATE_CONFIRM_MS 10000u

typedef struct ms_terminate_options {
    uint32_t struct_size; /* sizeof(ms_terminate_options) */
    /* How long to wait after SIGTERM before SIGKILL, at most
     * MS_TERMINATE_MAX_GRACE_MS. 0 sends SIGKILL at once. Windows has no
     * polite request every process honours: TerminateProcess is used at once
     * and the grace is not used. */
    uint32_t grace_ms;
    /* Non-zero: decide and check permission (signal 0 / OpenProcess with
     * PROCESS_TERMINATE) but send nothing; the result is would-terminate,
     * refused, denied or not-found. */
    uint32_t dry_run;
} ms_terminate_options;

#define MS_TERMINATE_OPTIONS_INIT {sizeof(ms_terminate_options), MS_TERMINATE_DEFAULT_GRACE_MS, 0}

#define MS_TERMINATE_MAX_SIGNALS 4

typedef struct ms_terminate_report {
    uint32_t struct_size;   /* set by the caller: sizeof(ms_terminate_report) */
    int32_t result;         /* ms_terminate_result */
    int64_t pid;
    int32_t protection;     /* ms_protect_reason when refused, else MS_PROTECT_NONE */
    uint32_t signal_count;  /* entries used in signals */
    int32_t signals[MS_TERMINATE_MAX_SIGNALS]; /* ms_terminate_signal, in the order sent */
    int64_t elapsed_ms;     /* from the call to the confirmed outcome */
    char reason[256];       /* one sentence for a human, e.g. why it was refused */
} ms_terminate_report;

/* Terminates pid unless it is protected. options may be NULL (5 s grace).
 * report (required, struct_size set) is filled whenever the arguments are
 * valid, whatever the outcome.
 *
 * Linux: the process is pinned with a pidfd first; its protection is then
 * decided from /proc and the pidfd is checked to still refer to a live
 * process, so the facts belong to the process the signals go to and a
 * recycled PID is never hit. SIGTERM, wait up to the grace on the pidfd,
 * SIGKILL, wait for the pidfd to report the exit. A stopped (SIGSTOP or
 * traced) process is sent SIGKILL at once: resuming it to honour SIGTERM
 * would let malware run again. Only where the kernel lacks pidfds (ENOSYS,
 * before 5.3) kill() is used; the reason then says a reused PID cannot be
 * ruled out. Nothing is sent when the facts cannot be trusted: /proc
 * mounted for another PID namespace (failed, MS_E_UNSUPPORTED), a target
 * /proc hides (denied), or a parent chain of the caller that cannot be read
 * to the top (refused as a possible ancestor).
 *
 * Returns MS_OK for terminated, killed and would-terminate;
 * MS_E_PROTECTED (refused), MS_E_NO_SUCH_PROCESS (not-found),
 * MS_E_ACCESS_DENIED (denied), MS_E_TIMEOUT (unconfirmed), or another
 * status (failed) with the report's reason set. Nothing is sent unless the
 * result is terminated, killed or unconfirmed. */
MS_API ms_status ms_terminate(ms_agent *agent, int64_t pid, const ms_terminate_options *options,
                              ms_terminate_report *report);

/* Same, through a pidfd the caller already holds (Linux only; MS_E_UNSUPPORTED
 * elsewhere). The pidfd is not closed; report->pid is the PID it refers to,
 * 0 when that can no longer be named. A pidfd whose process has exited,
 * even if its PID now belongs to another process, gives not-found and sends
 * nothing. */
MS_API ms_status ms_terminate_pidfd(ms_agent *agent, int32_t pidfd, const ms_terminate_options *options,
                                    ms_terminate_report *report);

/* Pins process pid (Linux: pidfd_open, close-on-exec), for a later
 * ms_terminate_pidfd that can only reach that process: pin when you start
 * looking at a process, and a kill decided afterwards never hits another
 * process that got its PID after it exited. MS_E_NO_SUCH_PROCESS when there is
 * no such process (or pid is a thread); MS_E_UNSUPPORTED where the kernel has
 * no pidfds (before 5.3) and on Windows. Close with ms_pidfd_close. */
MS_API ms_status ms_pidfd_open(int64_t pid, int32_t *out_pidfd);
/* Closes a pidfd from ms_pidfd_open; a negative value is ignored. */
MS_API void ms_pidfd_close(int32_t pidfd);

#ifdef __cplusplus
}
#endif
#endif
