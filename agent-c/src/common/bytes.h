/* A growable byte buffer for small generated files (ELF notes, JSON). An
 * allocation failure is sticky: append freely, check `failed` once. */
#ifndef MS_BYTES_H
#define MS_BYTES_H

#include "../internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ms_bytes {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool failed;
} ms_bytes;

void ms__bytes_append(ms_bytes *b, const void *data, size_t len);
void ms__bytes_zeros(ms_bytes *b, size_t len);
void ms__bytes_printf(ms_bytes *b, const char *fmt, ...) MS_PRINTF(2, 3);
/* Appends s as a JSON string literal. Valid UTF-8 passes through; control
 * characters are escaped; each byte of an invalid sequence becomes \\u00XX
 * (paths from the kernel are raw bytes). */
void ms__bytes_json_string(ms_bytes *b, const char *s);
void ms__bytes_free(ms_bytes *b);

#endif
