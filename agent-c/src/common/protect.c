/* The configurable protected list, its matching rules, names of results and
 * reasons, and the public entry points for termination (argument checks,
 * then the platform layer). */
#include "protect.h"
#include "../platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Processes whose loss takes the host down, locks the operator out or
 * destroys the logs an incident needs. Documented in ms_terminate.h and the
 * README; keep the three in step. */
static const char *const default_entries[] = {
#if defined(_WIN32)
    "wininit.exe",
#else
    "init",           "systemd",          "systemd-journald", "systemd-logind",
    "systemd-udevd",  "systemd-networkd", "systemd-resolved", "dbus-daemon",
    "dbus-broker",    "sshd",             "auditd",           "rsyslogd",
    "syslog-ng",      "NetworkManager",   "agetty",           "login",
#endif
};

static const char *const reason_names[MS_PROTECT_REASON_COUNT] = {
    [MS_PROTECT_NONE] = "none",         [MS_PROTECT_INIT] = "init",     [MS_PROTECT_KERNEL_THREAD] = "kernel-thread",
    [MS_PROTECT_SELF] = "self",         [MS_PROTECT_ANCESTOR] = "ancestor", [MS_PROTECT_NAME] = "name",
    [MS_PROTECT_PATH] = "path",         [MS_PROTECT_CRITICAL] = "critical",
};

static const char *const result_names[MS_TERMINATE_RESULT_COUNT] = {
    [MS_TERMINATE_TERMINATED] = "terminated",
    [MS_TERMINATE_KILLED] = "killed",
    [MS_TERMINATE_NOT_FOUND] = "not-found",
    [MS_TERMINATE_REFUSED] = "refused",
    [MS_TERMINATE_DENIED] = "denied",
    [MS_TERMINATE_WOULD_TERMINATE] = "would-terminate",
    [MS_TERMINATE_UNCONFIRMED] = "unconfirmed",
    [MS_TERMINATE_FAILED] = "failed",
};

const char *ms_protect_reason_name(int32_t reason)
{
    if (reason < 0 || reason >= MS_PROTECT_REASON_COUNT)
        return "unknown";
    return reason_names[reason];
}

const char *ms_terminate_result_name(int32_t result)
{
    if (result < 0 || result >= MS_TERMINATE_RESULT_COUNT)
        return "unknown";
    return result_names[result];
}

const char *ms_terminate_signal_name(int32_t signal)
{
    switch (signal) {
    case MS_SIGNAL_TERM: return "SIGTERM";
    case MS_SIGNAL_KILL: return "SIGKILL";
    case MS_SIGNAL_TERMINATE_PROCESS: return "TerminateProcess";
    default: return "unknown";
    }
}

/* ---- the configurable list ---- */

ms_status ms__term_config_open(ms_agent *agent)
{
    agent->term = calloc(1, sizeof *agent->term);
    if (!agent->term)
        return ms__fail(MS_E_NO_MEMORY, "protected list: out of memory");
    ms_status st = ms_protect_add_defaults(agent);
    if (st != MS_OK)
        ms__term_config_close(agent);
    return st;
}

static void clear_entries(ms__term_config *config)
{
    for (size_t i = 0; i < config->count; i++)
        free(config->entries[i]);
    config->count = 0;
}

void ms__term_config_close(ms_agent *agent)
{
    if (!agent->term)
        return;
    clear_entries(agent->term);
    free(agent->term->entries);
    free(agent->term);
    agent->term = NULL;
}

bool ms__protect_is_path(const char *entry)
{
#if defined(_WIN32)
    return strchr(entry, '/') || strchr(entry, '\\');
#else
    return strchr(entry, '/') != NULL;
#endif
}

ms_status ms_protect_add(ms_agent *agent, const char *name_or_path)
{
    if (!agent || !name_or_path)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_protect_add: agent and entry are required");
    size_t len = strnlen(name_or_path, MS__PROTECT_ENTRY_MAX + 1);
    if (len == 0 || len > MS__PROTECT_ENTRY_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_protect_add: entry must be 1 to %d bytes",
                        MS__PROTECT_ENTRY_MAX);
    ms__term_config *config = agent->term;
    for (size_t i = 0; i < config->count; i++)
        if (strcmp(config->entries[i], name_or_path) == 0)
            return MS_OK;
    if (config->count == config->cap) {
        size_t cap = config->cap ? config->cap * 2 : 32;
        char **grown = realloc(config->entries, cap * sizeof *grown);
        if (!grown)
            return ms__fail(MS_E_NO_MEMORY, "protected list: out of memory");
        config->entries = grown;
        config->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return ms__fail(MS_E_NO_MEMORY, "protected list: out of memory");
    memcpy(copy, name_or_path, len + 1);
    config->entries[config->count++] = copy;
    return MS_OK;
}

ms_status ms_protect_clear(ms_agent *agent)
{
    if (!agent)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_protect_clear: agent is NULL");
    clear_entries(agent->term);
    return MS_OK;
}

ms_status ms_protect_add_defaults(ms_agent *agent)
{
    if (!agent)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_protect_add_defaults: agent is NULL");
    for (size_t i = 0; i < sizeof default_entries / sizeof default_entries[0]; i++) {
        ms_status st = ms_protect_add(agent, default_entries[i]);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

ms_status ms_protect_list(ms_agent *agent, ms_protect_entry_cb cb, void *user_data)
{
    if (!agent || !cb)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_protect_list: agent and callback are required");
    for (size_t i = 0; i < agent->term->count; i++) {
        const char *entry = agent->term->entries[i];
        if (cb(entry, ms__protect_is_path(entry) ? 1 : 0, user_data) != 0)
            return ms__fail(MS_E_STOPPED, "protected list enumeration stopped by the callback");
    }
    return MS_OK;
}

/* ---- matching ---- */

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool same(const char *a, const char *b, size_t n, bool fold_case)
{
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (fold_case ? fold(x) != fold(y) : x != y)
            return false;
        if (x == 0)
            return true;
    }
    return true;
}

const char *ms__path_basename(const char *path, bool backslash_too)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || (backslash_too && *p == '\\'))
            base = p + 1;
    return base;
}

void ms__strip_deleted_suffix(char *exe)
{
    static const char suffix[] = " (deleted)";
    size_t n = strlen(exe), s = sizeof suffix - 1;
    if (n > s && memcmp(exe + n - s, suffix, s) == 0)
        exe[n - s] = '\0';
}

/* The kernel keeps 15 bytes of a name (TASK_COMM_LEN 16), so a full-length
 * comm matches every entry that begins with it. */
#define COMM_KEPT 15

bool ms__protect_entry_matches(const char *entry, const char *exe, const char *comm, bool fold_case)
{
    if (ms__protect_is_path(entry))
        return exe[0] && same(entry, exe, SIZE_MAX, fold_case);
    if (exe[0])
        return same(entry, ms__path_basename(exe, fold_case), SIZE_MAX, fold_case);
    if (!comm || !comm[0])
        return false;
    if (same(entry, comm, SIZE_MAX, fold_case))
        return true;
#if defined(_WIN32)
    return false; /* Toolhelp's image names are not truncated */
#else
    return strlen(comm) == COMM_KEPT && strlen(entry) > COMM_KEPT && same(entry, comm, COMM_KEPT, fold_case);
#endif
}

bool ms__name_equal(const char *a, const char *b, bool fold_case)
{
    return same(a, b, SIZE_MAX, fold_case);
}

int32_t ms__protect_match(const ms__term_config *config, const char *exe, const char *comm, bool fold_case,
                          const char **matched)
{
    *matched = NULL;
    for (size_t i = 0; i < config->count; i++) {
        const char *entry = config->entries[i];
        if (ms__protect_entry_matches(entry, exe, comm, fold_case)) {
            *matched = entry;
            return ms__protect_is_path(entry) ? MS_PROTECT_PATH : MS_PROTECT_NAME;
        }
    }
    return MS_PROTECT_NONE;
}

/* ---- reports ---- */

void ms__report_reset(ms_terminate_report *report, int64_t pid)
{
    uint32_t size = report->struct_size;
    memset(report, 0, sizeof *report);
    report->struct_size = size;
    report->pid = pid;
    report->result = MS_TERMINATE_FAILED;
    report->protection = MS_PROTECT_NONE;
}

void ms__report_signal(ms_terminate_report *report, int32_t signal)
{
    if (report->signal_count < MS_TERMINATE_MAX_SIGNALS)
        report->signals[report->signal_count++] = signal;
}

ms_status ms__report_result(ms_terminate_report *report, int32_t result, ms_status status, const char *fmt, ...)
{
    report->result = result;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(report->reason, sizeof report->reason, fmt, ap);
    va_end(ap);
    if (n < 0)
        ms__strlcpy(report->reason, ms_terminate_result_name(result), sizeof report->reason);
    if (status != MS_OK)
        return ms__fail(status, "%s", report->reason);
    return MS_OK;
}

/* ---- public entry points ---- */

static ms_status check_options(const ms_terminate_options *options, ms_terminate_options *out, const char *fn)
{
    ms_terminate_options defaults = MS_TERMINATE_OPTIONS_INIT;
    *out = defaults;
    if (!options)
        return MS_OK;
    if (options->struct_size < sizeof *options)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: options->struct_size %u is smaller than %u", fn,
                        (unsigned)options->struct_size, (unsigned)sizeof *options);
    if (options->grace_ms > MS_TERMINATE_MAX_GRACE_MS)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: grace of %u ms exceeds the maximum of %u ms", fn,
                        (unsigned)options->grace_ms, MS_TERMINATE_MAX_GRACE_MS);
    out->grace_ms = options->grace_ms;
    out->dry_run = options->dry_run != 0;
    return MS_OK;
}

static ms_status check_report(ms_terminate_report *report, const char *fn)
{
    if (!report)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: report is NULL", fn);
    if (report->struct_size < sizeof *report)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: report->struct_size %u is smaller than %u", fn,
                        (unsigned)report->struct_size, (unsigned)sizeof *report);
    return MS_OK;
}

ms_status ms_terminate(ms_agent *agent, int64_t pid, const ms_terminate_options *options,
                       ms_terminate_report *report)
{
    ms_terminate_options opts;
    ms_status st = check_report(report, "ms_terminate");
    if (st == MS_OK && !agent)
        st = ms__fail(MS_E_INVALID_ARGUMENT, "ms_terminate: agent is NULL");
    if (st == MS_OK && (pid <= 0 || pid > INT32_MAX))
        st = ms__fail(MS_E_INVALID_ARGUMENT, "ms_terminate: pid %lld out of range", (long long)pid);
    if (st == MS_OK)
        st = check_options(options, &opts, "ms_terminate");
    if (st != MS_OK)
        return st;
    ms__report_reset(report, pid);
    return ms__plat_terminate(agent, pid, &opts, report);
}

ms_status ms_terminate_pidfd(ms_agent *agent, int32_t pidfd, const ms_terminate_options *options,
                             ms_terminate_report *report)
{
    ms_terminate_options opts;
    ms_status st = check_report(report, "ms_terminate_pidfd");
    if (st == MS_OK && (!agent || pidfd < 0))
        st = ms__fail(MS_E_INVALID_ARGUMENT, "ms_terminate_pidfd: agent and a pidfd are required");
    if (st == MS_OK)
        st = check_options(options, &opts, "ms_terminate_pidfd");
    if (st != MS_OK)
        return st;
    ms__report_reset(report, 0);
    return ms__plat_terminate_pidfd(agent, pidfd, &opts, report);
}

ms_status ms_pidfd_open(int64_t pid, int32_t *out_pidfd)
{
    if (!out_pidfd)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_pidfd_open: out_pidfd is NULL");
    *out_pidfd = -1;
    if (pid <= 0 || pid > INT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_pidfd_open: pid %lld out of range", (long long)pid);
    int fd = -1;
    ms_status st = ms__plat_pidfd_open(pid, &fd);
    if (st == MS_OK)
        *out_pidfd = fd;
    return st;
}

void ms_pidfd_close(int32_t pidfd)
{
    if (pidfd >= 0)
        ms__plat_pidfd_close(pidfd);
}

ms_status ms_protect_check(ms_agent *agent, int64_t pid, int32_t *out_reason, char *detail, size_t detail_cap)
{
    if (!agent || !out_reason || (!detail && detail_cap))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_protect_check: agent and out_reason are required");
    if (pid <= 0 || pid > INT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_protect_check: pid %lld out of range", (long long)pid);
    *out_reason = MS_PROTECT_NONE;
    char scratch[256];
    ms_status st = ms__plat_protect_check(agent, pid, out_reason, scratch, sizeof scratch);
    if (detail_cap)
        ms__strlcpy(detail, st == MS_OK ? scratch : ms_last_error(), detail_cap);
    return st;
}
