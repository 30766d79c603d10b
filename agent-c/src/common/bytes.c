#include "bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(ms_bytes *b, size_t more)
{
    if (b->failed)
        return false;
    if (more <= b->cap - b->len)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *grown = realloc(b->p, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->p = grown;
    b->cap = cap;
    return true;
}

void ms__bytes_append(ms_bytes *b, const void *data, size_t len)
{
    if (len == 0 || !reserve(b, len))
        return;
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

void ms__bytes_zeros(ms_bytes *b, size_t len)
{
    if (len == 0 || !reserve(b, len))
        return;
    memset(b->p + b->len, 0, len);
    b->len += len;
}

void ms__bytes_printf(ms_bytes *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        ms__bytes_append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Whether s must be written escaped: it holds bytes that are not UTF-8, or
 * the text \x, which would read like an escaped byte. */
static bool needs_byte_escapes(const unsigned char *p)
{
    for (; *p; p++) {
        if (p[0] == '\\' && p[1] == 'x')
            return true;
        if (*p >= 0x80) {
            size_t n = utf8_len(p);
            if (!n)
                return true;
            p += n - 1;
        }
    }
    return false;
}

void ms__bytes_json_string(ms_bytes *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    bool escaped = needs_byte_escapes(p);
    ms__bytes_append(b, "\"", 1);
    while (*p) {
        unsigned char c = *p;
        if (c == '\\' && escaped) {
            ms__bytes_append(b, "\\\\\\\\", 4); /* the value holds \\ */
            p++;
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            ms__bytes_append(b, esc, 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            ms__bytes_printf(b, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            ms__bytes_append(b, p, 1);
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n) {
                ms__bytes_append(b, p, n);
                p += n;
            } else {
                ms__bytes_printf(b, "\\\\x%02x", c); /* the value holds \xNN, as BytesText writes it */
                p++;
            }
        }
    }
    ms__bytes_append(b, "\"", 1);
}

void ms__bytes_free(ms_bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
