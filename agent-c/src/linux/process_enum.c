/* Process enumeration from /proc. Everything read here is hostile input: a
 * process chooses its own comm and command line and may exit at any moment. */
#include "../platform.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PF_KTHREAD_FLAG 0x00200000u
#define CMDLINE_MAX (128 * 1024)

typedef struct process_scratch {
    char stat[1024];
    char status[8192];
    char exe[PATH_MAX + 32];
    char *cmdline; /* CMDLINE_MAX bytes */
} process_scratch;

/* Parses "pid (comm) state ppid pgrp session tty tpgid flags ...". comm may
 * hold spaces and parentheses, so it ends at the last ')'. */
static ms_status parse_stat(char *stat, char **name, int64_t *ppid, uint32_t *kflags)
{
    char *open = strchr(stat, '(');
    char *close = strrchr(stat, ')');
    if (!open || !close || close < open || close[1] != ' ')
        return ms__fail(MS_E_MALFORMED, "stat: no command name");
    *close = '\0';
    *name = open + 1;
    char *fields = close + 2;
    char *save = NULL;
    char *tok = strtok_r(fields, " ", &save);
    long long values[7] = {0};
    for (int i = 0; i < 7; i++) {
        if (!tok)
            return ms__fail(MS_E_MALFORMED, "stat: truncated");
        if (i > 0) {
            char *endp;
            errno = 0;
            values[i] = strtoll(tok, &endp, 10);
            if (errno || *endp)
                return ms__fail(MS_E_MALFORMED, "stat: bad field %d", i + 3);
        }
        tok = strtok_r(NULL, " ", &save);
    }
    *ppid = values[1];
    *kflags = (uint32_t)values[6];
    return MS_OK;
}

/* Real uid and thread-group id from /proc/<pid>/status. */
static void parse_status(const char *status, int64_t *uid, int64_t *tgid)
{
    *uid = -1;
    *tgid = -1;
    const char *p = strstr(status, "\nUid:");
    if (p)
        *uid = strtoll(p + 5, NULL, 10);
    p = strncmp(status, "Tgid:", 5) == 0 ? status : strstr(status, "\nTgid:");
    if (p)
        *tgid = strtoll(p + (p[0] == '\n' ? 6 : 5), NULL, 10);
}

static ms_status describe(int64_t pid, process_scratch *s, ms_process_info *info)
{
    ms_status st = ms__proc_read(pid, "stat", s->stat, sizeof s->stat, NULL);
    if (st != MS_OK)
        return st;
    char *name = NULL;
    int64_t ppid = 0;
    uint32_t kflags = 0;
    st = parse_stat(s->stat, &name, &ppid, &kflags);
    if (st != MS_OK)
        return st;

    st = ms__proc_read(pid, "status", s->status, sizeof s->status, NULL);
    if (st != MS_OK)
        return st;
    int64_t uid, tgid;
    parse_status(s->status, &uid, &tgid);
    if (tgid != pid)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "%" PRId64 " is a thread of process %" PRId64 ", not a process",
                        pid, tgid);

    memset(info, 0, sizeof *info);
    info->pid = pid;
    info->ppid = ppid;
    info->uid = uid;
    info->name = name;
    if (kflags & PF_KTHREAD_FLAG)
        info->flags |= MS_PROC_KERNEL_THREAD;

    char link[64];
    ms__proc_path(link, sizeof link, pid, "exe");
    ssize_t n = readlink(link, s->exe, sizeof s->exe - 1);
    if (n < 0) {
        s->exe[0] = '\0';
        info->flags |= MS_PROC_EXE_UNKNOWN;
    } else {
        s->exe[n] = '\0';
        static const char deleted[] = " (deleted)";
        size_t dl = sizeof deleted - 1;
        if ((size_t)n >= dl && memcmp(s->exe + n - dl, deleted, dl) == 0)
            info->flags |= MS_PROC_EXE_DELETED;
    }
    info->exe = s->exe;

    size_t len = 0;
    if (ms__proc_read(pid, "cmdline", s->cmdline, CMDLINE_MAX, &len) != MS_OK)
        len = 0; /* vanished or denied: the rest of the facts still stand */
    while (len > 0 && s->cmdline[len - 1] == '\0')
        len--;
    s->cmdline[len] = '\0';
    info->cmdline = s->cmdline;
    info->cmdline_len = len;
    return MS_OK;
}

static ms_status scratch_open(process_scratch **out)
{
    process_scratch *s = calloc(1, sizeof *s);
    if (s)
        s->cmdline = malloc(CMDLINE_MAX);
    if (!s || !s->cmdline) {
        if (s)
            free(s);
        return ms__fail(MS_E_NO_MEMORY, "process scratch buffers");
    }
    *out = s;
    return MS_OK;
}

static void scratch_close(process_scratch *s)
{
    if (s)
        free(s->cmdline);
    free(s);
}

static bool parse_pid_name(const char *name, int64_t *pid)
{
    if (name[0] < '1' || name[0] > '9')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(name, &end, 10);
    if (errno || *end || v <= 0 || v > INT32_MAX)
        return false;
    *pid = v;
    return true;
}

ms_status ms__plat_process_list(ms_agent *agent, ms_process_cb cb, void *user_data)
{
    process_scratch *s = NULL;
    ms_status st = scratch_open(&s);
    if (st != MS_OK)
        return st;
    DIR *dir = opendir("/proc");
    if (!dir) {
        scratch_close(s);
        return ms__fail(MS_E_IO, "opendir /proc: %s", strerror(errno));
    }
    st = MS_OK;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        int64_t pid;
        if (!parse_pid_name(de->d_name, &pid))
            continue;
        ms_process_info info;
        ms_status one = describe(pid, s, &info);
        if (one == MS_E_NO_SUCH_PROCESS)
            continue; /* exited while we looked */
        if (one != MS_OK) {
            ms__log(agent, MS_LOG_DEBUG, "process %" PRId64 ": %s", pid, ms_last_error());
            continue;
        }
        if (cb(&info, user_data) != 0) {
            st = ms__fail(MS_E_STOPPED, "process enumeration stopped by the callback");
            break;
        }
    }
    closedir(dir);
    scratch_close(s);
    return st;
}

ms_status ms__plat_process_get(ms_agent *agent, int64_t pid, ms_process_cb cb, void *user_data)
{
    (void)agent;
    process_scratch *s = NULL;
    ms_status st = scratch_open(&s);
    if (st != MS_OK)
        return st;
    ms_process_info info;
    st = describe(pid, s, &info);
    if (st == MS_OK && cb(&info, user_data) != 0)
        st = ms__fail(MS_E_STOPPED, "stopped by the callback");
    scratch_close(s);
    return st;
}
