/* libFuzzer target: arbitrary bytes as an ELF file whose headers and DT_NEEDED
 * list a target controls (common/elf_deps.c), read as a file (dynamic
 * section) and as a loaded image's first page (program headers only). */
#include "common/elf_deps.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const ms_elf_info *info)
{
    if (info->needed_count > MS_ELF_MAX_NEEDED || info->names_used > sizeof info->names)
        __builtin_trap();
    for (uint32_t i = 0; i < info->needed_count; i++) {
        const char *n = info->needed[i];
        if (n < info->names || n >= info->names + info->names_used || strlen(n) >= MS_ELF_NAME_MAX)
            __builtin_trap();
    }
    if (info->soname && (info->soname < info->names || info->soname >= info->names + info->names_used))
        __builtin_trap();
    if (!memchr(info->interp, '\0', sizeof info->interp))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_elf_info *info = malloc(sizeof *info);
    if (!info)
        return 0;
    ms_elf_buffer b = {data, size};
    if (ms__elf_parse(ms__elf_read_buffer, &b, true, info) == MS_OK)
        check(info);
    if (ms__elf_parse(ms__elf_read_buffer, &b, false, info) == MS_OK)
        check(info);
    free(info);
    return 0;
}
