/* ms_process_container_get on Linux: the container from /proc/<pid>/cgroup
 * (container_parse.c), the namespaces from /proc/<pid>/ns and the PID inside
 * them from the NSpid line of /proc/<pid>/status. */
#include "../platform.h"
#include "container_parse.h"
#include "procfs.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A cgroup line per hierarchy, each path at most PATH_MAX: 13 v1 hierarchies
 * and the v2 line fit; more is cut and only the lines read are parsed. */
#define CGROUP_TEXT_MAX (64 * 1024)

static bool ns_inode(const char *path, uint64_t *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    *out = (uint64_t)st.st_ino;
    return true;
}

static void read_namespaces(int64_t pid, ms_container_info *out)
{
    static const char *const names[3] = {"ns/pid", "ns/mnt", "ns/user"};
    uint64_t *fields[3] = {&out->pid_ns, &out->mnt_ns, &out->user_ns};
    char path[64];
    for (int i = 0; i < 3; i++) {
        ms__proc_path(path, sizeof path, pid, names[i]);
        if (!ns_inode(path, fields[i])) {
            out->pid_ns = out->mnt_ns = out->user_ns = 0; /* all or none */
            return;
        }
    }
    out->flags |= MS_CONTAINER_NS_KNOWN;
    uint64_t own_pid, own_mnt;
    if (ns_inode("/proc/self/ns/pid", &own_pid) && ns_inode("/proc/self/ns/mnt", &own_mnt) &&
        (own_pid != out->pid_ns || own_mnt != out->mnt_ns))
        out->flags |= MS_CONTAINER_OTHER_NS;
}

ms_status ms__plat_process_container(ms_agent *agent, int64_t pid, ms_container_info *out)
{
    char status[8192];
    ms_status st = ms__proc_read(pid, "status", status, sizeof status, NULL);
    if (st != MS_OK)
        return st;
    int64_t ns_pid;
    if (ms__status_nspid(status, &ns_pid)) {
        out->ns_pid = ns_pid;
        out->flags |= MS_CONTAINER_NSPID_KNOWN;
    }
    char *text = malloc(CGROUP_TEXT_MAX);
    if (!text)
        return ms__fail(MS_E_NO_MEMORY, "cgroup buffer");
    size_t len = 0;
    st = ms__proc_read(pid, "cgroup", text, CGROUP_TEXT_MAX, &len);
    if (st == MS_OK) {
        out->flags |= MS_CONTAINER_CGROUP_READ;
        ms__cgroup_container(text, len, out);
    } else if (st != MS_E_NO_SUCH_PROCESS) {
        ms__log(agent, MS_LOG_DEBUG, "cgroup of %" PRId64 ": %s", pid, ms_last_error());
    }
    free(text);
    if (st == MS_E_NO_SUCH_PROCESS)
        return st;
    read_namespaces(pid, out);
    return ms__proc_still_there(pid);
}
