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
/* Appends s (a name from the kernel or a target: raw bytes) as a JSON string
 * literal whose value reads as Java's BytesText writes it: valid UTF-8
 * without the text \x is itself (control characters JSON-escaped); any
 * other name has each byte of an invalid sequence as \xNN and each
 * backslash as \\, so the text "\xff" and the byte 0xff never look alike. */
void ms__bytes_json_string(ms_bytes *b, const char *s);
void ms__bytes_free(ms_bytes *b);

#endif
