/* ms_thread_list and ms_process_facts_get on Linux. Everything here is
 * parsed from /proc text the target can influence (thread names, its
 * environment): every buffer is bounded and every field checked. */
#include "../platform.h"
#include "inspect_parse.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

/* The initial environment is bounded by the kernel (a quarter of the stack
 * limit); this bound only keeps a hostile /proc from keeping us reading. */
#define ENVIRON_MAX ((size_t)64 << 20)

ms_status ms__plat_thread_list(ms_agent *agent, int64_t pid, ms_thread_cb cb, void *user_data)
{
    int dfd;
    ms_status st = ms__proc_open(pid, "task", O_RDONLY | O_DIRECTORY, &dfd);
    if (st != MS_OK)
        return st;
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        close(dfd);
        return ms__fail(MS_E_NO_MEMORY, "fdopendir: %s", strerror(errno));
    }
    st = MS_OK;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        int64_t tid;
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || !ms__parse_i64(de->d_name, 10, &tid) || tid > INT32_MAX)
            continue;
        ms_thread_info t;
        memset(&t, 0, sizeof t);
        t.tid = tid;
        t.syscall = -1;
        char leaf[64], comm[64], text[512];
        snprintf(leaf, sizeof leaf, "task/%" PRId64 "/comm", tid);
        ms_status one = ms__proc_read(pid, leaf, comm, sizeof comm, NULL);
        if (one == MS_E_NO_SUCH_PROCESS)
            continue; /* the thread exited */
        if (one != MS_OK)
            comm[0] = '\0';
        comm[strcspn(comm, "\n")] = '\0';
        t.name = comm;
        snprintf(leaf, sizeof leaf, "task/%" PRId64 "/syscall", tid);
        one = ms__proc_read(pid, leaf, text, sizeof text, NULL);
        if (one == MS_E_NO_SUCH_PROCESS)
            continue;
        if (one == MS_E_ACCESS_DENIED) {
            t.flags |= MS_THREAD_REGS_DENIED;
        } else if (one != MS_OK) {
            ms__log(agent, MS_LOG_DEBUG, "thread %" PRId64 " of %" PRId64 ": %s", tid, pid, ms_last_error());
        } else if (!ms__parse_syscall_line(text, &t)) {
            ms__log(agent, MS_LOG_WARN, "thread %" PRId64 " of %" PRId64 ": unexpected syscall line", tid, pid);
        }
        if (cb(&t, user_data) != 0) {
            st = ms__fail(MS_E_STOPPED, "thread enumeration stopped by the callback");
            break;
        }
    }
    closedir(dir);
    if (st == MS_OK) {
        /* An empty task directory means the process went away under us. */
        return ms__proc_still_there(pid);
    }
    return st;
}

static void read_environment(int64_t pid, ms_process_facts *out)
{
    int fd;
    if (ms__proc_open(pid, "environ", O_RDONLY, &fd) != MS_OK)
        return;
    ms_env_scan s;
    ms__env_scan_init(&s);
    char buf[16384];
    size_t total = 0;
    bool ok = true;
    while (total < ENVIRON_MAX) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ok = false;
            break;
        }
        if (n == 0)
            break;
        ms__env_scan_feed(&s, buf, (size_t)n, out);
        total += (size_t)n;
    }
    close(fd);
    ms__env_scan_end(&s, out);
    if (ok)
        out->flags |= MS_FACT_ENV_READ;
    else
        out->flags &= ~(uint32_t)(MS_FACT_LD_PRELOAD | MS_FACT_LD_AUDIT);
}

static void read_exe_identity(int64_t pid, ms_process_facts *out)
{
    char path[64];
    ms__proc_path(path, sizeof path, pid, "exe");
    struct stat st;
    struct statfs sfs;
    if (stat(path, &st) != 0 || statfs(path, &sfs) != 0)
        return;
    out->flags |= MS_FACT_EXE_KNOWN;
    out->exe_inode = (uint64_t)st.st_ino;
    out->exe_dev_major = major(st.st_dev);
    out->exe_dev_minor = minor(st.st_dev);
    out->exe_size = (uint64_t)st.st_size;
    out->exe_fs_magic = (uint64_t)(unsigned long)sfs.f_type;
    if (out->exe_fs_magic == TMPFS_MAGIC || out->exe_fs_magic == RAMFS_MAGIC)
        out->flags |= MS_FACT_EXE_ON_TMPFS;
}

ms_status ms__plat_process_facts(ms_agent *agent, int64_t pid, ms_process_facts *out)
{
    (void)agent;
    char status[8192];
    ms_status st = ms__proc_read(pid, "status", status, sizeof status, NULL);
    if (st != MS_OK)
        return st;
    int64_t v;
    if (ms__status_field(status, "TracerPid", &v) && v >= 0)
        out->tracer_pid = v;
    if (ms__status_field(status, "Threads", &v) && v >= 0)
        out->threads = v;
    read_environment(pid, out);
    read_exe_identity(pid, out);
    return ms__proc_still_there(pid);
}
