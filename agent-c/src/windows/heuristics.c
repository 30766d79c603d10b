/* Heuristic inputs on Windows (see heuristics.h). Everything read from the
 * target or from an image file is hostile: bounded reads, checked offsets. */
#include "heuristics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_READ 4096u            /* enough for any real MZ/PE header start */
#define IMAGE_HEADERS_MAX (64u * 1024u) /* SizeOfHeaders beyond this is not a loadable image */
#define SECTIONS_MAX 96u             /* the Windows loader's own limit */

#define SCN_MEM_EXECUTE 0x20000000u
#define SCN_MEM_READ 0x40000000u
#define SCN_MEM_WRITE 0x80000000u

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool ms__win_pe_header(const uint8_t *buf, size_t len, ms_win_pe_facts *out)
{
    memset(out, 0, sizeof *out);
    if (len < 64 || buf[0] != 'M' || buf[1] != 'Z')
        return false;
    uint32_t lfanew = le32(buf + 0x3c);
    /* "PE\0\0" and the 20-byte file header must fit. */
    if (lfanew < 64 || lfanew % 4 != 0 || lfanew > len || len - lfanew < 24)
        return false;
    const uint8_t *nt = buf + lfanew;
    if (memcmp(nt, "PE\0\0", 4) != 0)
        return false;
    out->e_lfanew = lfanew;
    out->machine = le16(nt + 4);
    out->sections = le16(nt + 6);
    out->dll = (le16(nt + 22) & 0x2000) != 0;
    uint16_t optional_size = le16(nt + 20);
    /* SizeOfImage sits at offset 56 of both optional header forms. */
    if (optional_size >= 60 && len - lfanew - 24 >= 60)
        out->size_of_image = le32(nt + 24 + 56);
    return true;
}

typedef struct section {
    char name[9];
    uint32_t start, end; /* RVAs, end aligned to the section alignment */
    uint32_t perms;      /* MS_PERM_* from the characteristics */
} section;

typedef struct image_sections {
    uintptr_t base;      /* allocation these describe; 0 for none */
    bool valid;
    uint32_t headers_end; /* RVA where the first section starts */
    uint32_t count;
    section s[SECTIONS_MAX];
} image_sections;

static uint32_t align_up(uint32_t v, uint32_t a)
{
    if (a == 0 || v > UINT32_MAX - (a - 1))
        return v;
    return (v + a - 1) / a * a;
}

static uint32_t perms_of_characteristics(uint32_t c)
{
    uint32_t p = 0;
    if (c & SCN_MEM_READ)
        p |= MS_PERM_READ;
    if (c & SCN_MEM_WRITE)
        p |= MS_PERM_WRITE;
    if (c & SCN_MEM_EXECUTE)
        p |= MS_PERM_EXEC;
    return p;
}

/* Parses the section table from the first len bytes of an image file. */
static bool parse_sections(const uint8_t *buf, size_t len, image_sections *out)
{
    ms_win_pe_facts pe;
    if (!ms__win_pe_header(buf, len, &pe))
        return false;
    const uint8_t *nt = buf + pe.e_lfanew;
    size_t optional_at = (size_t)pe.e_lfanew + 24;
    uint16_t optional_size = le16(nt + 20);
    if (optional_size < 64 || optional_at + optional_size > len)
        return false;
    uint32_t alignment = le32(buf + optional_at + 32);
    size_t table = optional_at + optional_size;
    if (pe.sections > SECTIONS_MAX || table + (size_t)pe.sections * 40 > len)
        return false;
    out->count = 0;
    out->headers_end = UINT32_MAX;
    for (uint32_t i = 0; i < pe.sections; i++) {
        const uint8_t *e = buf + table + (size_t)i * 40;
        uint32_t vsize = le32(e + 8), rva = le32(e + 12), raw = le32(e + 16);
        uint32_t size = vsize ? vsize : raw;
        if (size == 0 || rva > UINT32_MAX - size)
            continue;
        section *s = &out->s[out->count++];
        memcpy(s->name, e, 8);
        s->name[8] = '\0';
        for (int k = 0; k < 8; k++) /* names are bytes, not text: keep them printable */
            if (s->name[k] && (s->name[k] < 0x20 || s->name[k] > 0x7e))
                s->name[k] = '?';
        s->start = rva;
        s->end = align_up(rva + size, alignment);
        s->perms = perms_of_characteristics(le32(e + 36));
        if (rva < out->headers_end)
            out->headers_end = rva;
    }
    return out->count > 0;
}

static void load_sections(ms_agent *agent, const ms_win_region *r, uint8_t *buf, image_sections *out)
{
    out->base = (uintptr_t)r->mbi.AllocationBase;
    out->valid = false;
    wchar_t wpath[MAX_PATH * 4];
    if (!r->region.path[0] ||
        MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, r->region.path, -1, wpath, MAX_PATH * 4) <= 0)
        return;
    HANDLE f = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (f == INVALID_HANDLE_VALUE) {
        ms__log(agent, MS_LOG_DEBUG, "image %s: cannot open, error %lu; its sections are not checked",
                r->region.path, (unsigned long)GetLastError());
        return;
    }
    DWORD got = 0;
    BOOL ok = ReadFile(f, buf, IMAGE_HEADERS_MAX, &got, NULL);
    CloseHandle(f);
    if (ok && parse_sections(buf, got, out))
        out->valid = true;
    else
        ms__log(agent, MS_LOG_DEBUG, "image %s: no usable section table on disk", r->region.path);
}

typedef struct hint_ctx {
    ms_agent *agent;
    HANDLE process;
    ms_win_hint_cb cb;
    void *user_data;
    uint8_t *buf; /* IMAGE_HEADERS_MAX bytes */
    image_sections *image;
} hint_ctx;

/* Sets the hint's section fields when the image region [rva, rva_end) has
 * write or execute rights that a section it overlaps does not give. */
static bool image_protection_differs(const image_sections *img, uint64_t rva, uint64_t rva_end, uint32_t perms,
                                     ms_win_hint *hint)
{
    uint32_t risky = perms & (MS_PERM_WRITE | MS_PERM_EXEC);
    if (!risky)
        return false;
    if (rva < img->headers_end) { /* headers are read-only */
        memcpy(hint->section, "headers", 8);
        hint->section_perms = MS_PERM_READ;
        return true;
    }
    for (uint32_t i = 0; i < img->count; i++) {
        const section *s = &img->s[i];
        if (s->end <= rva || s->start >= rva_end)
            continue;
        if (risky & ~s->perms) {
            memcpy(hint->section, s->name, sizeof hint->section);
            hint->section_perms = s->perms;
            return true;
        }
    }
    return false;
}

/* Fills hint with what holds for region r; hint->hints stays 0 for none. */
static void hints_of(hint_ctx *ctx, const ms_win_region *r, ms_win_hint *out)
{
    const ms_region *reg = &r->region;
    ms_win_hint hint;
    memset(&hint, 0, sizeof hint);
    hint.region = r;
    bool exec = reg->perms & MS_PERM_EXEC;
    bool unnamed = r->mbi.Type == MEM_PRIVATE || (r->mbi.Type == MEM_MAPPED && !reg->path[0]);
    if (exec && unnamed)
        hint.hints |= MS_WIN_HINT_PRIVATE_EXEC;
    if (exec && (reg->perms & MS_PERM_WRITE))
        hint.hints |= MS_WIN_HINT_RWX;
    if (unnamed && ms__win_readable(r->mbi.State, r->mbi.Protect)) {
        size_t want = reg->end - reg->start < HEADER_READ ? (size_t)(reg->end - reg->start) : HEADER_READ;
        SIZE_T got = 0;
        if (ReadProcessMemory(ctx->process, (LPCVOID)(uintptr_t)reg->start, ctx->buf, want, &got) &&
            ms__win_pe_header(ctx->buf, got, &hint.pe))
            hint.hints |= MS_WIN_HINT_PE_HEADER;
    }
    if (r->mbi.Type == MEM_IMAGE) {
        if (ctx->image->base != (uintptr_t)r->mbi.AllocationBase)
            load_sections(ctx->agent, r, ctx->buf, ctx->image);
        if (ctx->image->valid &&
            image_protection_differs(ctx->image, reg->offset, reg->offset + (reg->end - reg->start), reg->perms,
                                     &hint))
            hint.hints |= MS_WIN_HINT_IMAGE_PROTECTION;
    }
    *out = hint;
}

static int examine(const ms_win_region *r, void *user_data)
{
    hint_ctx *ctx = user_data;
    ms_win_hint hint;
    hints_of(ctx, r, &hint);
    if (!hint.hints)
        return 0;
    return ctx->cb(&hint, ctx->user_data);
}

/* The buffers of a walk or a single look; release with ctx_free. */
static ms_status ctx_init(hint_ctx *ctx, ms_agent *agent, HANDLE process, ms_win_hint_cb cb, void *user_data)
{
    *ctx = (hint_ctx){agent, process, cb, user_data, malloc(IMAGE_HEADERS_MAX), malloc(sizeof(image_sections))};
    if (!ctx->buf || !ctx->image)
        return ms__fail(MS_E_NO_MEMORY, "heuristic buffers");
    ctx->image->base = 0;
    ctx->image->valid = false;
    return MS_OK;
}

static void ctx_free(hint_ctx *ctx)
{
    free(ctx->buf);
    free(ctx->image);
}

ms_status ms__win_hints(ms_agent *agent, int64_t pid, ms_win_hint_cb cb, void *user_data)
{
    HANDLE h;
    ms_status st = ms__win_open_process(agent, pid, PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, &h);
    if (st != MS_OK)
        return st;
    hint_ctx ctx;
    st = ctx_init(&ctx, agent, h, cb, user_data);
    if (st == MS_OK)
        st = ms__win_region_walk(agent, h, examine, &ctx);
    ctx_free(&ctx);
    CloseHandle(h);
    return st;
}

typedef struct one_region {
    hint_ctx ctx;
    ms_win_hint *out;
} one_region;

static int examine_one(const ms_win_region *r, void *user_data)
{
    one_region *one = user_data;
    hints_of(&one->ctx, r, one->out);
    one->out->region = NULL; /* r lives only during this call */
    return 0;
}

ms_status ms__win_region_hints(ms_agent *agent, HANDLE process, uint64_t addr, ms_win_hint *out)
{
    memset(out, 0, sizeof *out);
    one_region one = {.out = out};
    ms_status st = ctx_init(&one.ctx, agent, process, NULL, NULL);
    if (st == MS_OK)
        st = ms__win_region_at(agent, process, addr, examine_one, &one);
    ctx_free(&one.ctx);
    return st;
}
