/* hash: SipHash (see hash.h), written from the paper's description. */
#include "hash.h"

#include <ctype.h>
#include <string.h>

static uint8_t table_key[16] = {0x70, 0x68, 0x69, 0x64, 0x62, 0x2d, 0x64, 0x65,
                                0x66, 0x61, 0x75, 0x6c, 0x74, 0x2d, 0x6b, 0x31};

void hash_set_key(const uint8_t key[16])
{
    memcpy(table_key, key, 16);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static uint64_t siphash(int c, int d, const uint8_t key[16], const uint8_t *p, size_t n,
                        int fold)
{
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = ((uint64_t)n) << 56;
    size_t full = n & ~(size_t)7;
    uint8_t tmp[8];

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m;
        if (fold) {
            for (int j = 0; j < 8; j++)
                tmp[j] = (uint8_t)tolower(p[i + (size_t)j]);
            m = load_le64(tmp);
        } else {
            m = load_le64(p + i);
        }
        v3 ^= m;
        for (int r = 0; r < c; r++)
            SIPROUND;
        v0 ^= m;
    }
    size_t left = n & 7;
    for (size_t j = 0; j < left; j++) {
        uint8_t ch = p[full + j];
        if (fold) ch = (uint8_t)tolower(ch);
        b |= ((uint64_t)ch) << (8 * j);
    }
    v3 ^= b;
    for (int r = 0; r < c; r++)
        SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (int r = 0; r < d; r++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    return siphash(1, 3, table_key, p, n, 0);
}

uint64_t hash_bytes_nocase(const uint8_t *p, size_t n)
{
    return siphash(1, 3, table_key, p, n, 1);
}

uint64_t hash_siphash(int c, int d, const uint8_t key[16], const uint8_t *p, size_t n)
{
    return siphash(c, d, key, p, n, 0);
}
