/* Header checks strict enough that data which merely starts with "MZ" or
 * "\x7fELF" is not called an image: ELF needs a valid class, byte order,
 * version and an object type; PE needs e_lfanew to point at "PE\0\0". */
#include "header.h"

#include <string.h>

#define ELF_ET_REL 1
#define ELF_ET_CORE 4

static uint16_t get16(const uint8_t *p, bool big_endian)
{
    return big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t get32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool classify_elf(const uint8_t *b, size_t len, ms_region_probe_result *out)
{
    /* e_ident (16) + e_type (2) + e_machine (2) + e_version (4) */
    if (len < 24 || memcmp(b, "\x7f" "ELF", 4) != 0)
        return false;
    uint8_t cls = b[4], data = b[5], ident_version = b[6];
    if ((cls != 1 && cls != 2) || (data != 1 && data != 2) || ident_version != 1)
        return false;
    bool be = data == 2;
    uint16_t type = get16(b + 16, be);
    /* Relocatable objects and core files are data, not loaded images. */
    if (type == 0 || type == ELF_ET_REL || type == ELF_ET_CORE || (type > ELF_ET_CORE && type < 0xfe00))
        return false;
    uint32_t version = be ? (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23]
                          : get32le(b + 20);
    if (version != 1)
        return false;
    out->header = MS_HEADER_ELF;
    out->elf_type = type;
    out->machine = get16(b + 18, be);
    return true;
}

static bool classify_mz(const uint8_t *b, size_t len, ms_region_probe_result *out)
{
    if (len < 2 || b[0] != 'M' || b[1] != 'Z')
        return false;
    out->header = MS_HEADER_MZ;
    if (len < 0x40)
        return true;
    uint32_t lfanew = get32le(b + 0x3c);
    /* The PE signature, then the 20-byte file header: Machine comes first. */
    if (lfanew >= 0x40 && lfanew <= len - 24 && memcmp(b + lfanew, "PE\0\0", 4) == 0) {
        out->header = MS_HEADER_PE;
        out->machine = get16(b + lfanew + 4, false);
    }
    return true;
}

void ms__classify_header(const uint8_t *bytes, size_t len, ms_region_probe_result *out)
{
    out->header = MS_HEADER_NONE;
    out->elf_type = 0;
    out->machine = 0;
    if (!bytes || len == 0)
        return;
    if (!classify_elf(bytes, len, out))
        classify_mz(bytes, len, out);
}
