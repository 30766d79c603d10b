/* Container ids from cgroup paths. The shapes, by runtime and cgroup driver:
 *
 *   docker      /docker/<id>                      system.slice/docker-<id>.scope
 *   podman      /libpod_parent/libpod-<id>        machine.slice/libpod-<id>.scope[/container]
 *   cri-o       kubepods/.../pod<uid>/crio-<id>   kubepods-...-pod<uid_>.slice/crio-<id>.scope
 *   containerd  /<namespace>/<id>                 kubepods-...-pod<uid_>.slice/cri-containerd-<id>.scope
 *               system.slice/containerd.service/kubepods-...-pod<uid_>.slice:cri-containerd:<id>
 *   kubernetes  /kubepods/<qos>/pod<uid>/<id>     (cgroupfs driver: the runtime is not in the path)
 *
 * <id> is 64 hex digits. The conmon monitors (libpod-conmon-<id>, crio-conmon-<id>) are not in the
 * container and are not matched. Every input is the target's (a process can create cgroups under its
 * delegated subtree and name them as it likes), so only fixed shapes are accepted and all copies
 * are bounded by the output fields. */
#include "container_parse.h"

#include <string.h>

#define ID_LEN 64
#define UID_LEN 36
#define SEGMENT_MAX 256

static bool is_hex_id(const char *s, size_t n)
{
    if (n != ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* 8-4-4-4-12 hex digits; sep is '-' (cgroupfs) or '_' (systemd slice names). */
static bool is_uid(const char *s, size_t n, char sep)
{
    if (n != UID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != sep)
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && memcmp(s, prefix, p) == 0;
}

static bool ends(const char *s, size_t n, const char *suffix)
{
    size_t p = strlen(suffix);
    return n >= p && memcmp(s + n - p, suffix, p) == 0;
}

typedef struct line_result {
    bool kube;
    bool has_id;
    bool has_pod;
    int32_t runtime;
    char id[ID_LEN + 1];
    char pod[UID_LEN + 1];
} line_result;

static void set_id(line_result *r, const char *s, int32_t runtime)
{
    memcpy(r->id, s, ID_LEN);
    r->id[ID_LEN] = '\0';
    r->runtime = runtime;
    r->has_id = true;
}

static void set_pod(line_result *r, const char *s)
{
    for (size_t i = 0; i < UID_LEN; i++)
        r->pod[i] = s[i] == '_' ? '-' : s[i];
    r->pod[UID_LEN] = '\0';
    r->has_pod = true;
}

static const struct {
    const char *prefix;
    int32_t runtime;
} id_prefixes[] = {
    {"docker-", MS_RUNTIME_DOCKER},
    {"cri-containerd-", MS_RUNTIME_CONTAINERD},
    {"crio-", MS_RUNTIME_CRIO},
    {"libpod-", MS_RUNTIME_PODMAN},
};

/* "<prefix><id>" (a ".scope" suffix already removed); the conmon prefixes fail the id check. */
static bool prefixed_id(line_result *r, const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof id_prefixes / sizeof id_prefixes[0]; i++) {
        size_t p = strlen(id_prefixes[i].prefix);
        if (starts(s, n, id_prefixes[i].prefix) && is_hex_id(s + p, n - p)) {
            set_id(r, s + p, id_prefixes[i].runtime);
            return true;
        }
    }
    return false;
}

/* "...slice:<runtime>:<id>": containerd's and CRI-O's systemd driver names without a scope unit. */
static bool colon_id(line_result *r, const char *s, size_t n)
{
    const char *last = memchr(s, ':', n);
    if (!last)
        return false;
    const char *c2 = last;
    while ((c2 = memchr(c2 + 1, ':', n - (size_t)(c2 + 1 - s))) != NULL)
        last = c2;
    const char *id = last + 1;
    size_t id_len = n - (size_t)(id - s);
    if (!is_hex_id(id, id_len))
        return false;
    const char *first = memchr(s, ':', n);
    if (first == last)
        return false;
    const char *rt = first + 1;
    size_t rt_len = (size_t)(last - rt);
    int32_t runtime;
    if (rt_len == 14 && memcmp(rt, "cri-containerd", 14) == 0)
        runtime = MS_RUNTIME_CONTAINERD;
    else if (rt_len == 4 && memcmp(rt, "crio", 4) == 0)
        runtime = MS_RUNTIME_CRIO;
    else if (rt_len == 6 && memcmp(rt, "docker", 6) == 0)
        runtime = MS_RUNTIME_DOCKER;
    else
        return false;
    set_id(r, id, runtime);
    /* The part before the first colon is the pod's slice. */
    size_t slice_len = (size_t)(first - s);
    const char *pod = slice_len > 6 + UID_LEN ? s + slice_len - 6 - UID_LEN : NULL;
    if (pod && ends(s, slice_len, ".slice") && pod - s >= 4 && memcmp(pod - 4, "-pod", 4) == 0 && is_uid(pod, UID_LEN, '_'))
        set_pod(r, pod);
    return true;
}

static void segment(line_result *r, const char *s, size_t n, const char *parent, size_t parent_len)
{
    if (n == 0 || n > SEGMENT_MAX)
        return;
    if (starts(s, n, "kubepods"))
        r->kube = true;
    if (colon_id(r, s, n))
        return;
    if (ends(s, n, ".slice")) {
        /* kubepods-<qos>-pod<uid_>.slice, kubepods-pod<uid_>.slice (Guaranteed) */
        size_t m = n - 6;
        if (starts(s, m, "kubepods") && m >= 4 + UID_LEN && memcmp(s + m - UID_LEN - 4, "-pod", 4) == 0 &&
            is_uid(s + m - UID_LEN, UID_LEN, '_'))
            set_pod(r, s + m - UID_LEN);
        return;
    }
    if (ends(s, n, ".scope"))
        n -= 6;
    if (prefixed_id(r, s, n))
        return;
    if (starts(s, n, "pod") && is_uid(s + 3, n - 3, '-')) {
        set_pod(r, s + 3);
        return;
    }
    if (is_hex_id(s, n)) {
        int32_t runtime = MS_RUNTIME_CONTAINERD; /* /<namespace>/<id> */
        if (r->kube)
            runtime = MS_RUNTIME_UNKNOWN;
        else if (parent_len == 6 && memcmp(parent, "docker", 6) == 0)
            runtime = MS_RUNTIME_DOCKER;
        else if (parent_len == 0)
            return; /* a bare id at the top is no runtime's shape */
        set_id(r, s, runtime);
    }
}

static void parse_line(const char *line, size_t n, line_result *r)
{
    memset(r, 0, sizeof *r);
    const char *c1 = memchr(line, ':', n);
    if (!c1)
        return;
    const char *c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line));
    if (!c2)
        return;
    const char *path = c2 + 1;
    size_t plen = n - (size_t)(path - line);
    const char *parent = "";
    size_t parent_len = 0;
    size_t i = 0;
    while (i < plen) {
        while (i < plen && path[i] == '/')
            i++;
        size_t start = i;
        while (i < plen && path[i] != '/')
            i++;
        if (i > start) {
            /* The innermost container wins: a later id replaces an earlier one (nested runtimes). */
            segment(r, path + start, i - start, parent, parent_len);
            parent = path + start;
            parent_len = i - start;
        }
    }
}

bool ms__cgroup_container(const char *text, size_t len, ms_container_info *out)
{
    line_result best, r;
    memset(&best, 0, sizeof best);
    size_t pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        parse_line(line, n, &r);
        if (r.has_id) {
            best = r;
            break;
        }
        if (r.has_pod && !best.has_pod)
            best = r;
    }
    if (best.has_id) {
        memcpy(out->id, best.id, sizeof out->id);
        out->runtime = best.runtime;
        out->flags |= MS_CONTAINER_ID;
    }
    if (best.has_pod) {
        memcpy(out->pod_uid, best.pod, sizeof out->pod_uid);
        out->flags |= MS_CONTAINER_POD;
    }
    return best.has_id;
}

bool ms__status_nspid(const char *status, int64_t *out)
{
    const char *p = status;
    for (;;) {
        if (strncmp(p, "NSpid:", 6) == 0)
            break;
        p = strchr(p, '\n');
        if (!p)
            return false;
        p++;
    }
    p += 6;
    int64_t last = -1;
    bool any = false;
    while (*p && *p != '\n') {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            break;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v > (INT32_MAX - (*p - '0')) / 10)
                return false;
            v = v * 10 + (*p - '0');
            p++;
        }
        last = v;
        any = true;
    }
    if (!any || (*p && *p != '\n' && *p != ' ' && *p != '\t'))
        return false;
    *out = last;
    return true;
}
