/* Pure parsers for /proc text read by inspect_process.c; see inspect_parse.h. */
#include "inspect_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool ms__parse_i64(const char *s, int base, int64_t *out)
{
    /* strtoll would also take leading blanks and a '+'. */
    if (!s || !(*s == '-' || isxdigit((unsigned char)*s)))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_u64_hex(const char *s, uint64_t *out)
{
    if (!s || strncmp(s, "0x", 2) != 0 || !isxdigit((unsigned char)s[2]))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s + 2, &end, 16);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Parses /proc/<pid>/task/<tid>/syscall: "running", "-1 SP PC" (blocked, not
 * in a system call) or "NR A1 A2 A3 A4 A5 A6 SP PC". Returns false when the
 * text has none of these shapes. */
bool ms__parse_syscall_line(char *text, ms_thread_info *t)
{
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    if (strcmp(text, "running") == 0) {
        t->flags |= MS_THREAD_RUNNING;
        return true;
    }
    char *tok[10];
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(text, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        if (n == 10)
            return false;
        tok[n++] = p;
    }
    int64_t nr;
    if (n < 3 || !ms__parse_i64(tok[0], 10, &nr))
        return false;
    if (!(nr == -1 && n == 3) && !(nr >= 0 && n == 9))
        return false;
    for (int i = 1; i < n; i++) {
        uint64_t v;
        if (!parse_u64_hex(tok[i], &v))
            return false;
    }
    parse_u64_hex(tok[n - 2], &t->sp);
    parse_u64_hex(tok[n - 1], &t->pc);
    t->flags |= MS_THREAD_REGS_KNOWN;
    if (nr >= 0) {
        t->flags |= MS_THREAD_IN_SYSCALL;
        t->syscall = nr;
    }
    return true;
}

/* "Key:\tvalue" from /proc/<pid>/status. */
bool ms__status_field(const char *status, const char *key, int64_t *out)
{
    size_t klen = strlen(key);
    for (const char *line = status; line && *line;) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            char num[32];
            size_t n = strcspn(v, "\n");
            if (n == 0 || n >= sizeof num)
                return false;
            memcpy(num, v, n);
            num[n] = '\0';
            return ms__parse_i64(num, 10, out);
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

bool ms__status_euid(const char *status, uint32_t *out)
{
    for (const char *line = status; line && *line;) {
        if (strncmp(line, "Uid:", 4) == 0) {
            const char *p = line + 4;
            uint64_t v[2];
            for (int i = 0; i < 2; i++) {
                while (*p == ' ' || *p == '\t')
                    p++;
                if (*p < '0' || *p > '9')
                    return false;
                v[i] = 0;
                while (*p >= '0' && *p <= '9') {
                    v[i] = v[i] * 10 + (uint64_t)(*p++ - '0');
                    if (v[i] > UINT32_MAX)
                        return false;
                }
            }
            *out = (uint32_t)v[1];
            return true;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

/* Streams the NUL-separated environment, capturing the first value of each
 * key of interest. An entry may span reads. */

static const char *const env_keys[2] = {"LD_PRELOAD=", "LD_AUDIT="};
static const uint32_t env_flags[2] = {MS_FACT_LD_PRELOAD, MS_FACT_LD_AUDIT};

void ms__env_scan_feed(ms_env_scan *s, const char *bytes, size_t n, ms_process_facts *out)
{
    char *values[2] = {out->ld_preload, out->ld_audit};
    const size_t caps[2] = {sizeof out->ld_preload, sizeof out->ld_audit};
    for (size_t i = 0; i < n; i++) {
        char c = bytes[i];
        if (c == '\0') {
            if (s->capturing >= 0)
                values[s->capturing][s->vlen] = '\0';
            s->pos = 0;
            s->candidates = 3u & ~s->seen;
            s->capturing = -1;
            continue;
        }
        if (s->capturing >= 0) {
            if (s->vlen + 1 < caps[s->capturing])
                values[s->capturing][s->vlen++] = c;
            else
                out->flags |= MS_FACT_TRUNCATED;
            continue;
        }
        for (int k = 0; k < 2; k++) {
            if (!(s->candidates & (1u << k)))
                continue;
            size_t klen = strlen(env_keys[k]);
            if (s->pos >= klen || env_keys[k][s->pos] != c) {
                s->candidates &= ~(1u << k);
            } else if (s->pos + 1 == klen) {
                s->capturing = k;
                s->vlen = 0;
                s->seen |= 1u << k;
                s->candidates = 0;
                out->flags |= env_flags[k];
            }
        }
        s->pos++;
    }
}

void ms__env_scan_init(ms_env_scan *s)
{
    memset(s, 0, sizeof *s);
    s->candidates = 3u;
    s->capturing = -1;
}

void ms__env_scan_end(ms_env_scan *s, ms_process_facts *out)
{
    char *values[2] = {out->ld_preload, out->ld_audit};
    if (s->capturing >= 0)
        values[s->capturing][s->vlen] = '\0';
    s->capturing = -1;
}
