/* SHA-256 (FIPS 180-4), small and dependency-free: the raw dump's manifest
 * carries one digest per region so the evidence can be verified later. */
#ifndef MS_SHA256_H
#define MS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MS_SHA256_LEN 32

typedef struct ms_sha256 {
    uint32_t h[8];
    uint64_t total;    /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;       /* bytes waiting in block */
} ms_sha256;

void ms__sha256_init(ms_sha256 *s);
void ms__sha256_update(ms_sha256 *s, const void *data, size_t len);
/* Hashes len zero bytes without a buffer of zeros. */
void ms__sha256_zeros(ms_sha256 *s, uint64_t len);
void ms__sha256_final(ms_sha256 *s, uint8_t out[MS_SHA256_LEN]);
/* Lowercase hex of a digest into out (65 bytes with the NUL). */
void ms__sha256_hex(const uint8_t digest[MS_SHA256_LEN], char out[2 * MS_SHA256_LEN + 1]);

#endif
