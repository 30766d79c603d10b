#include "maps_parse.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses hex digits at *p up to end; at least one, at most 16 (no overflow). */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;
    while (*p < end && hex_value(**p) >= 0) {
        if (++digits > 16)
            return false;
        v = (v << 4) | (uint64_t)hex_value(**p);
        (*p)++;
    }
    *out = v;
    return digits > 0;
}

static bool parse_dec(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        uint64_t d = (uint64_t)(**p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        digits++;
        (*p)++;
    }
    *out = v;
    return digits > 0;
}

static bool expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

int32_t ms__region_kind_of(const char *path, uint64_t inode)
{
    size_t len = strlen(path);
    if (len == 0)
        return MS_REGION_ANONYMOUS;
    if (path[0] == '[') {
        if (strcmp(path, "[heap]") == 0)
            return MS_REGION_HEAP;
        if (strcmp(path, "[stack]") == 0 || starts_with(path, "[stack:"))
            return MS_REGION_STACK;
        if (strcmp(path, "[vdso]") == 0)
            return MS_REGION_VDSO;
        if (strcmp(path, "[vvar]") == 0 || strcmp(path, "[vvar_vclock]") == 0)
            return MS_REGION_VVAR;
        if (strcmp(path, "[vsyscall]") == 0)
            return MS_REGION_VSYSCALL;
        /* [anon:name], [anon_shmem:name] and anything unknown: a bracketed name
         * must never hide anonymous memory from the detectors. */
        return MS_REGION_ANONYMOUS;
    }
    if (starts_with(path, "/memfd:"))
        return MS_REGION_MEMFD;
    if (strcmp(path, "/dev/zero (deleted)") == 0)
        return MS_REGION_ANONYMOUS; /* shared anonymous memory */
    if (starts_with(path, "/SYSV") && inode != 0)
        return MS_REGION_SHM;
    if (ends_with(path, len, " (deleted)"))
        return MS_REGION_DELETED;
    if (starts_with(path, "anon_inode:"))
        return MS_REGION_ANONYMOUS;
    return MS_REGION_FILE;
}

ms_status ms__maps_parse_line(const char *line, size_t len, ms_region *out)
{
    const char *p = line;
    const char *end = line + len;
    uint64_t start, stop, offset, major, minor, inode;

    memset(out, 0, sizeof *out);
    if (!parse_hex(&p, end, &start) || !expect(&p, end, '-') || !parse_hex(&p, end, &stop) ||
        !expect(&p, end, ' '))
        return ms__fail(MS_E_MALFORMED, "maps: bad address range");
    if (stop <= start)
        return ms__fail(MS_E_MALFORMED, "maps: empty or inverted range");
    if (end - p < 5)
        return ms__fail(MS_E_MALFORMED, "maps: truncated permissions");
    static const char flag_chars[3] = {'r', 'w', 'x'};
    static const uint32_t flag_bits[3] = {MS_PERM_READ, MS_PERM_WRITE, MS_PERM_EXEC};
    uint32_t perms = 0;
    for (int i = 0; i < 3; i++) {
        if (p[i] == flag_chars[i])
            perms |= flag_bits[i];
        else if (p[i] != '-')
            return ms__fail(MS_E_MALFORMED, "maps: bad permission character");
    }
    if (p[3] == 'p')
        perms |= MS_PERM_PRIVATE;
    else if (p[3] != 's')
        return ms__fail(MS_E_MALFORMED, "maps: bad sharing flag");
    p += 4;
    if (!expect(&p, end, ' ') || !parse_hex(&p, end, &offset) || !expect(&p, end, ' ') ||
        !parse_hex(&p, end, &major) || !expect(&p, end, ':') || !parse_hex(&p, end, &minor) ||
        !expect(&p, end, ' ') || !parse_dec(&p, end, &inode))
        return ms__fail(MS_E_MALFORMED, "maps: bad offset, device or inode");
    if (major > UINT32_MAX || minor > UINT32_MAX)
        return ms__fail(MS_E_MALFORMED, "maps: device number out of range");
    if (p < end && *p != ' ')
        return ms__fail(MS_E_MALFORMED, "maps: junk after inode");
    while (p < end && *p == ' ')
        p++;
    /* The rest is the path, spaces and all; a NUL inside it means the line was mangled. */
    if (memchr(p, '\0', (size_t)(end - p)))
        return ms__fail(MS_E_MALFORMED, "maps: NUL byte in path");

    out->start = start;
    out->end = stop;
    out->offset = offset;
    out->dev_major = (uint32_t)major;
    out->dev_minor = (uint32_t)minor;
    out->inode = inode;
    out->perms = perms;
    out->path = p;
    out->kind = ms__region_kind_of(p, inode);
    return MS_OK;
}

void ms__perms_string(uint32_t perms, char out[5])
{
    out[0] = perms & MS_PERM_READ ? 'r' : '-';
    out[1] = perms & MS_PERM_WRITE ? 'w' : '-';
    out[2] = perms & MS_PERM_EXEC ? 'x' : '-';
    out[3] = perms & MS_PERM_PRIVATE ? 'p' : 's';
    out[4] = '\0';
}

int ms__smaps_line_kind(const char *line, size_t len, uint32_t *flags)
{
    *flags = 0;
    const char *space = memchr(line, ' ', len);
    size_t word = space ? (size_t)(space - line) : len;
    if (word == 0 || line[word - 1] != ':')
        return MS_SMAPS_HEADER;
    if (word != 8 || memcmp(line, "VmFlags:", 8) != 0)
        return MS_SMAPS_OTHER;
    /* Two-letter mnemonics separated by spaces (fs/proc/task_mmu.c). */
    for (size_t i = word; i + 2 <= len; i++) {
        if (line[i] == ' ')
            continue;
        bool whole = i + 2 == len || line[i + 2] == ' ';
        if (whole && line[i] == 'i' && line[i + 1] == 'o')
            *flags |= MS_VMFLAG_IO;
        if (whole && line[i] == 'p' && line[i + 1] == 'f')
            *flags |= MS_VMFLAG_PFNMAP;
        while (i < len && line[i] != ' ')
            i++;
    }
    return MS_SMAPS_VMFLAGS;
}
