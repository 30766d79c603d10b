#include "dump_select.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void ms__format_size(uint64_t bytes, char *out, size_t cap)
{
    if (bytes >= (1u << 30) && bytes % (1u << 30) == 0)
        snprintf(out, cap, "%" PRIu64 " GiB", bytes >> 30);
    else if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        snprintf(out, cap, "%" PRIu64 " MiB", bytes >> 20);
    else if (bytes >= (1u << 10) && bytes % (1u << 10) == 0)
        snprintf(out, cap, "%" PRIu64 " KiB", bytes >> 10);
    else
        snprintf(out, cap, "%" PRIu64 " bytes", bytes);
}

bool ms__dump_region_suspicious(const ms_region *r)
{
    bool x = (r->perms & MS_PERM_EXEC) != 0;
    bool w = (r->perms & MS_PERM_WRITE) != 0;
    if (x && w)
        return true;
    if (!x)
        return false;
    switch (r->kind) {
    case MS_REGION_ANONYMOUS:
    case MS_REGION_HEAP:
    case MS_REGION_STACK:
    case MS_REGION_MEMFD:
    case MS_REGION_DELETED:
        return true;
    default:
        return false;
    }
}

static void skip(ms_dump_choice *out, const char *reason)
{
    out->length = 0;
    out->status = MS_DUMP_REGION_SKIPPED;
    ms__strlcpy(out->reason, reason, sizeof out->reason);
}

void ms__dump_choose(const ms_region *r, bool device, const ms_dump_options *o, uint64_t *budget,
                     ms_dump_choice *out)
{
    memset(out, 0, sizeof *out);
    uint64_t size = r->end - r->start;
    char n[48];
    if (!(r->perms & MS_PERM_READ)) {
        skip(out, "not readable");
        return;
    }
    if (r->kind == MS_REGION_VVAR) {
        skip(out, "kernel data page (vvar): not readable");
        return;
    }
    if (r->kind == MS_REGION_VSYSCALL) {
        skip(out, "vsyscall page: outside the process's address space");
        return;
    }
    if (device) {
        skip(out, "device mapping: reading it could have side effects");
        return;
    }
    if ((o->flags & MS_DUMP_SUSPICIOUS_ONLY) && !ms__dump_region_suspicious(r)) {
        skip(out, "not suspicious (suspicious-only)");
        return;
    }
    if (o->skip_nonexec_over && !(r->perms & MS_PERM_EXEC) && size > o->skip_nonexec_over) {
        ms__format_size(o->skip_nonexec_over, n, sizeof n);
        snprintf(out->reason, sizeof out->reason, "non-executable and larger than %s", n);
        out->status = MS_DUMP_REGION_SKIPPED;
        return;
    }
    if (*budget == 0) {
        skip(out, "total size cap reached");
        return;
    }
    out->length = size;
    out->status = MS_DUMP_REGION_OK;
    if (o->max_region_size && out->length > o->max_region_size) {
        out->length = o->max_region_size;
        out->status = MS_DUMP_REGION_TRUNCATED;
        ms__format_size(o->max_region_size, n, sizeof n);
        snprintf(out->reason, sizeof out->reason, "cut at the per-region cap of %s", n);
    }
    if (out->length > *budget) {
        out->length = *budget;
        out->status = MS_DUMP_REGION_TRUNCATED;
        snprintf(out->reason, sizeof out->reason, "cut at the total size cap");
    }
    *budget -= out->length;
}
