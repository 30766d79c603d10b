/* The watch's parsers (see watch_parse.h). The
 * kernel's structs are read by memcpy at their offsets: in a datagram the
 * proc_event starts 36 bytes in, so its 64-bit timestamp is not aligned. */
#include "watch_parse.h"

#include <errno.h>
#include <stdlib.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>

/* Bytes of the event union each kind needs (the fields read below). */
#define EV_HEAD offsetof(struct proc_event, event_data)
#define NEED(member) (EV_HEAD + sizeof(((struct proc_event *)0)->event_data.member))
/* exit_code and exit_signal; the parent fields were added later and are not read. */
#define NEED_EXIT (EV_HEAD + offsetof(struct exit_proc_event, exit_signal) + sizeof(__u32))

static bool valid_pid(int64_t pid)
{
    return pid > 0 && pid <= (1 << 22); /* PID_MAX_LIMIT */
}

/* Fills the kind and the pids of an event; false for pids that cannot be.
 * The second pair (parent, tracer) is both valid or both 0: the idle task
 * parents the first kernel threads, and a detach names no tracer. */
static bool take(ms__cn_event *ev, int32_t kind, int64_t pid, int64_t tgid, int64_t ppid, int64_t ptgid)
{
    ev->kind = kind;
    ev->pid = pid;
    ev->tgid = tgid;
    ev->ppid = ppid;
    ev->ptgid = ptgid;
    return valid_pid(pid) && valid_pid(tgid) && ((ppid == 0 && ptgid == 0) || (valid_pid(ppid) && valid_pid(ptgid)));
}

/* One cn_msg payload; false when malformed. */
static bool parse_event(const uint8_t *p, size_t len, ms__cn_event *ev)
{
    struct cn_msg cn;
    if (len < sizeof cn)
        return false;
    memcpy(&cn, p, sizeof cn);
    if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
        return false;
    if (cn.len > len - sizeof cn || cn.len < EV_HEAD)
        return false;
    struct proc_event pe;
    memset(&pe, 0, sizeof pe);
    memcpy(&pe, p + sizeof cn, cn.len < sizeof pe ? cn.len : sizeof pe);
    memset(ev, 0, sizeof *ev);
    ev->seq = cn.seq;
    ev->ack = cn.ack;
    ev->time_ns = pe.timestamp_ns;
    switch (pe.what) {
    case PROC_EVENT_NONE:
        if (cn.len < NEED(ack))
            return false;
        ev->kind = MS__CN_ACK;
        ev->err = pe.event_data.ack.err;
        return true;
    case PROC_EVENT_FORK: {
        struct fork_proc_event f = pe.event_data.fork;
        return cn.len >= NEED(fork) && take(ev, MS__CN_FORK, f.child_pid, f.child_tgid, f.parent_pid, f.parent_tgid);
    }
    case PROC_EVENT_EXEC:
        return cn.len >= NEED(exec) &&
               take(ev, MS__CN_EXEC, pe.event_data.exec.process_pid, pe.event_data.exec.process_tgid, 0, 0);
    case PROC_EVENT_EXIT:
        ev->exit_code = (int32_t)pe.event_data.exit.exit_code;
        ev->exit_signal = (int32_t)pe.event_data.exit.exit_signal;
        return cn.len >= NEED_EXIT &&
               take(ev, MS__CN_EXIT, pe.event_data.exit.process_pid, pe.event_data.exit.process_tgid, 0, 0);
    case PROC_EVENT_PTRACE: {
        struct ptrace_proc_event t = pe.event_data.ptrace;
        return cn.len >= NEED(ptrace) && take(ev, MS__CN_PTRACE, t.process_pid, t.process_tgid, t.tracer_pid,
                                              t.tracer_tgid);
    }
    default:
        ev->kind = MS__CN_OTHER;
        return true;
    }
}

void ms__cn_parse(const void *buf, size_t len, ms__cn_event_fn fn, void *user_data, ms__cn_parse_result *result)
{
    memset(result, 0, sizeof *result);
    const uint8_t *p = buf;
    size_t left = len;
    while (left >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr nh;
        memcpy(&nh, p, sizeof nh);
        if (nh.nlmsg_len < sizeof nh || nh.nlmsg_len > left) {
            result->malformed++; /* the rest cannot be framed */
            return;
        }
        if (nh.nlmsg_type == NLMSG_DONE) {
            ms__cn_event ev;
            if (!parse_event(p + sizeof nh, nh.nlmsg_len - sizeof nh, &ev)) {
                result->malformed++;
            } else {
                result->events++;
                if (fn && fn(&ev, user_data)) {
                    result->stopped = true;
                    return;
                }
            }
        } else if (nh.nlmsg_type != NLMSG_NOOP) {
            result->malformed++;
        }
        size_t step = NLMSG_ALIGN(nh.nlmsg_len);
        if (step >= left)
            return;
        p += step;
        left -= step;
    }
    if (left)
        result->malformed++; /* a trailing fragment shorter than a header */
}

bool ms__cn_to_proc_event(const ms__cn_event *in, ms_proc_event *out)
{
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->time_ns = (int64_t)(in->time_ns & INT64_MAX);
    out->pid = in->tgid;
    out->tid = in->tgid;
    switch (in->kind) {
    case MS__CN_FORK:
        if (in->pid != in->tgid)
            return false; /* a new thread */
        out->kind = MS_PROC_EV_FORK;
        out->ppid = in->ptgid;
        return true;
    case MS__CN_EXEC:
        out->kind = MS_PROC_EV_EXEC;
        return true;
    case MS__CN_EXIT:
        if (in->pid != in->tgid)
            return false; /* a thread of a process that lives on */
        out->kind = MS_PROC_EV_EXIT;
        out->exit_code = in->exit_code;
        return true;
    case MS__CN_PTRACE:
        out->kind = in->ptgid ? MS_PROC_EV_PTRACE_ATTACH : MS_PROC_EV_PTRACE_DETACH;
        out->ppid = in->ptgid;
        out->tid = in->pid;
        return true;
    default:
        return false;
    }
}

size_t ms__cn_subscribe_message(void *buf, size_t cap, bool listen, uint32_t nonce)
{
    struct nlmsghdr nh;
    struct cn_msg cn;
    /* The operation alone (4 bytes): every kernel accepts it; the event
     * filter of 6.6 (struct proc_input) is optional. */
    uint32_t op = listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
    size_t len = NLMSG_LENGTH(sizeof cn + sizeof op);
    if (cap < len)
        return 0;
    memset(buf, 0, len);
    memset(&nh, 0, sizeof nh);
    nh.nlmsg_len = (uint32_t)len;
    nh.nlmsg_type = NLMSG_DONE;
    nh.nlmsg_seq = nonce;
    memset(&cn, 0, sizeof cn);
    cn.id.idx = CN_IDX_PROC;
    cn.id.val = CN_VAL_PROC;
    cn.seq = nonce;
    cn.ack = nonce;
    cn.len = sizeof op;
    uint8_t *p = buf;
    memcpy(p, &nh, sizeof nh);
    memcpy(p + NLMSG_HDRLEN, &cn, sizeof cn);
    memcpy(p + NLMSG_HDRLEN + sizeof cn, &op, sizeof op);
    return len;
}

bool ms__stat_identity(const char *stat, char *state, int64_t *ppid, uint64_t *start_time, char *comm,
                       size_t comm_cap)
{
    /* comm may hold spaces and parentheses: it ends at the last ')'. */
    const char *open = strchr(stat, '(');
    const char *close = strrchr(stat, ')');
    if (!open || !close || close < open || close[1] != ' ' || comm_cap == 0)
        return false;
    if (close[2] == '\0' || close[3] != ' ')
        return false;
    *state = close[2];
    size_t n = (size_t)(close - open - 1);
    if (n >= comm_cap)
        n = comm_cap - 1;
    memcpy(comm, open + 1, n);
    comm[n] = '\0';
    /* Fields from 3 on, separated by one space: index i is field i + 3. */
    enum { PPID = 1, STARTTIME = 19 };
    const char *p = close + 2;
    for (int i = 0; i <= STARTTIME; i++) {
        const char *end = strchr(p, ' ');
        if (i == PPID || i == STARTTIME) {
            if (*p < '0' || *p > '9')
                return false;
            errno = 0;
            char *num_end;
            unsigned long long v = strtoull(p, &num_end, 10);
            if (errno || (num_end != end && !(end == NULL && (*num_end == '\0' || *num_end == '\n'))))
                return false;
            if (i == PPID) {
                if (v > (1u << 22))
                    return false;
                *ppid = (int64_t)v;
            } else {
                *start_time = v;
            }
        }
        if (!end)
            return i == STARTTIME;
        p = end + 1;
    }
    return true;
}

int ms__nspid_depth(const char *status)
{
    const char *line = status;
    while (line && *line) {
        if (strncmp(line, "NSpid:", 6) == 0) {
            int depth = 0;
            const char *p = line + 6;
            for (;;) {
                while (*p == ' ' || *p == '\t')
                    p++;
                if (*p == '\n' || *p == '\0')
                    return depth;
                if (*p < '0' || *p > '9')
                    return 0;
                while (*p >= '0' && *p <= '9')
                    p++;
                if (depth++ > 64)
                    return 0; /* the kernel nests 32 at most */
            }
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return 0;
}
