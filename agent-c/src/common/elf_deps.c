/* See elf_deps.h. The layout is read field by field in the file's byte order,
 * never through structs laid over the bytes, so the class (32 or 64 bits) and
 * byte order of the file need not be the host's. */
#include "elf_deps.h"

#include <string.h>

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define DT_NULL 0
#define DT_NEEDED 1
#define DT_STRTAB 5
#define DT_STRSZ 10
#define DT_SONAME 14

#define MAX_PHNUM 512           /* real files have a dozen */
#define MAX_DYN_BYTES (64u << 10) /* 4096 64-bit entries */

typedef struct elf_reader {
    ms_elf_read_fn rd;
    void *ctx;
    bool is64;
    bool be;
} elf_reader;

static uint64_t get(const uint8_t *p, size_t n, bool be)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
    return v;
}

static bool read_exact(const elf_reader *r, uint64_t off, void *buf, size_t len)
{
    return r->rd(r->ctx, off, buf, len) == len;
}

typedef struct phdr {
    uint32_t type;
    uint64_t offset, vaddr, filesz;
} phdr;

static bool read_phdr(const elf_reader *r, uint64_t off, phdr *out)
{
    uint8_t b[56];
    size_t n = r->is64 ? 56 : 32;
    if (!read_exact(r, off, b, n))
        return false;
    out->type = (uint32_t)get(b, 4, r->be);
    if (r->is64) {
        out->offset = get(b + 8, 8, r->be);
        out->vaddr = get(b + 16, 8, r->be);
        out->filesz = get(b + 32, 8, r->be);
    } else {
        out->offset = get(b + 4, 4, r->be);
        out->vaddr = get(b + 8, 4, r->be);
        out->filesz = get(b + 16, 4, r->be);
    }
    return true;
}

/* Copies a NUL-terminated string of at most cap-1 bytes at off, within limit
 * bytes; false when it is longer or unreadable. */
static bool read_string(const elf_reader *r, uint64_t off, uint64_t limit, char *dst, size_t cap)
{
    size_t want = cap;
    if (limit < want)
        want = (size_t)limit;
    if (want == 0)
        return false;
    size_t got = r->rd(r->ctx, off, dst, want);
    char *nul = got ? memchr(dst, '\0', got) : NULL;
    if (!nul || nul == dst)
        return false;
    return true;
}

static const char *keep_name(ms_elf_info *out, const char *name)
{
    size_t n = strlen(name) + 1;
    if (n > sizeof out->names - out->names_used) {
        out->flags |= MS_ELF_INFO_TRUNCATED;
        return NULL;
    }
    char *dst = out->names + out->names_used;
    memcpy(dst, name, n);
    out->names_used += n;
    return dst;
}

/* The file offset of virtual address v through the PT_LOAD headers. */
static bool vaddr_to_offset(const phdr *loads, size_t nloads, uint64_t v, uint64_t *off, uint64_t *room)
{
    for (size_t i = 0; i < nloads; i++) {
        const phdr *p = &loads[i];
        if (v >= p->vaddr && v - p->vaddr < p->filesz) {
            *off = p->offset + (v - p->vaddr);
            *room = p->filesz - (v - p->vaddr);
            return *off >= p->offset; /* no wrap */
        }
    }
    return false;
}

static void parse_dynamic(const elf_reader *r, const phdr *dyn, const phdr *loads, size_t nloads, ms_elf_info *out)
{
    size_t ent = r->is64 ? 16 : 8;
    uint64_t size = dyn->filesz < MAX_DYN_BYTES ? dyn->filesz : MAX_DYN_BYTES;
    static const size_t chunk_entries = 64;
    uint8_t buf[64 * 16];
    uint64_t strtab = 0, strsz = 0, soname = UINT64_MAX;
    bool have_strtab = false, ended = false;
    uint64_t needed[MS_ELF_MAX_NEEDED];
    uint32_t nneeded = 0;
    for (uint64_t at = 0; at + ent <= size && !ended;) {
        size_t want = (size_t)((size - at) / ent);
        if (want > chunk_entries)
            want = chunk_entries;
        size_t got = r->rd(r->ctx, dyn->offset + at, buf, want * ent) / ent;
        if (got == 0 || dyn->offset + at < dyn->offset)
            break;
        for (size_t i = 0; i < got; i++) {
            const uint8_t *e = buf + i * ent;
            uint64_t tag = get(e, ent / 2, r->be), val = get(e + ent / 2, ent / 2, r->be);
            if (tag == DT_NULL) {
                ended = true;
                break;
            }
            if (tag == DT_STRTAB) {
                strtab = val;
                have_strtab = true;
            } else if (tag == DT_STRSZ) {
                strsz = val;
            } else if (tag == DT_SONAME) {
                soname = val;
            } else if (tag == DT_NEEDED) {
                if (nneeded < MS_ELF_MAX_NEEDED)
                    needed[nneeded++] = val;
                else
                    out->flags |= MS_ELF_INFO_TRUNCATED;
            }
        }
        at += got * ent;
    }
    uint64_t str_off, room;
    if (!have_strtab || !vaddr_to_offset(loads, nloads, strtab, &str_off, &room))
        return;
    if (strsz && strsz < room)
        room = strsz;
    out->flags |= MS_ELF_INFO_DYNAMIC;
    char name[MS_ELF_NAME_MAX];
    if (soname != UINT64_MAX) {
        if (soname < room && read_string(r, str_off + soname, room - soname, name, sizeof name))
            out->soname = keep_name(out, name);
        else
            out->flags |= MS_ELF_INFO_TRUNCATED;
    }
    for (uint32_t i = 0; i < nneeded; i++) {
        const char *kept = NULL;
        if (needed[i] < room && read_string(r, str_off + needed[i], room - needed[i], name, sizeof name))
            kept = keep_name(out, name);
        if (kept)
            out->needed[out->needed_count++] = kept;
        else
            out->flags |= MS_ELF_INFO_TRUNCATED;
    }
}

ms_status ms__elf_parse(ms_elf_read_fn rd, void *ctx, bool dynamic, ms_elf_info *out)
{
    memset(out, 0, sizeof *out);
    uint8_t h[64];
    size_t got = rd(ctx, 0, h, sizeof h);
    if (got < 52 || memcmp(h, "\x7f" "ELF", 4) != 0 || (h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2) ||
        h[6] != 1)
        return MS_E_MALFORMED;
    elf_reader r = {rd, ctx, h[4] == 2, h[5] == 2};
    if (r.is64 && got < 64)
        return MS_E_MALFORMED;
    out->type = (uint16_t)get(h + 16, 2, r.be);
    out->machine = (uint16_t)get(h + 18, 2, r.be);
    uint64_t phoff;
    uint16_t phentsize, phnum;
    if (r.is64) {
        out->entry = get(h + 24, 8, r.be);
        phoff = get(h + 32, 8, r.be);
        phentsize = (uint16_t)get(h + 54, 2, r.be);
        phnum = (uint16_t)get(h + 56, 2, r.be);
    } else {
        out->entry = get(h + 24, 4, r.be);
        phoff = get(h + 28, 4, r.be);
        phentsize = (uint16_t)get(h + 42, 2, r.be);
        phnum = (uint16_t)get(h + 44, 2, r.be);
    }
    if (phnum == 0)
        return MS_OK;
    if (phentsize != (r.is64 ? 56 : 32) || phnum > MAX_PHNUM || phoff > UINT64_MAX - (uint64_t)phnum * phentsize)
        return MS_E_MALFORMED;
    phdr loads[16];
    size_t nloads = 0;
    phdr dyn = {0};
    bool have_dyn = false;
    for (uint16_t i = 0; i < phnum; i++) {
        phdr p;
        if (!read_phdr(&r, phoff + (uint64_t)i * phentsize, &p))
            break;
        if (p.type == PT_INTERP) {
            out->has_interp = true;
            if (p.filesz > 1 && !read_string(&r, p.offset, p.filesz, out->interp, sizeof out->interp))
                out->interp[0] = '\0';
        } else if (p.type == PT_LOAD && nloads < sizeof loads / sizeof loads[0]) {
            loads[nloads++] = p;
        } else if (p.type == PT_DYNAMIC && !have_dyn) {
            dyn = p;
            have_dyn = true;
        }
    }
    if (dynamic && have_dyn)
        parse_dynamic(&r, &dyn, loads, nloads, out);
    return MS_OK;
}

size_t ms__elf_read_buffer(void *ctx, uint64_t off, void *buf, size_t len)
{
    const ms_elf_buffer *b = ctx;
    if (off >= b->len)
        return 0;
    size_t n = b->len - (size_t)off < len ? b->len - (size_t)off : len;
    memcpy(buf, b->bytes + off, n);
    return n;
}
