/*
 * mountindex.c -- the mount table's index: mount point -> entry, open
 * addressing with linear probing over a hash keyed per table, so that no
 * set of mount points can be chosen to collide.
 *
 * No Lua functions: km_index_build, km_index_find and km_index_free,
 * declared in katamount.h (mounttable.c uses them).
 */
#include "katamount.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * The index is keyed per table: SipHash-1-3 under a 128-bit key drawn from
 * getrandom(2) when the table is read. Mount points come from whoever can
 * mount (a pod's volumes, a crafted mountinfo file); with a fixed hash they
 * could be chosen to collide and make indexing quadratic (spec/
 * core_mounts_index_spec.lua builds such a table for the FNV-1a hash used
 * before). Without getrandom (ENOSYS, or no entropy yet) the key mixes the
 * clock, the object's address and the pid: weaker, never fixed.
 */

#define KM_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define KM_SIPROUND(v0, v1, v2, v3)                                     \
    do {                                                                \
        v0 += v1; v1 = KM_ROTL(v1, 13); v1 ^= v0; v0 = KM_ROTL(v0, 32); \
        v2 += v3; v3 = KM_ROTL(v3, 16); v3 ^= v2;                       \
        v0 += v3; v3 = KM_ROTL(v3, 21); v3 ^= v0;                       \
        v2 += v1; v1 = KM_ROTL(v1, 17); v1 ^= v2; v2 = KM_ROTL(v2, 32); \
    } while (0)

/* SipHash-1-3 of s[0..n) under the key k[0], k[1]. */
static uint64_t siphash13(const uint64_t k[2], const char *s, size_t n)
{
    uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL, v1 = k[1] ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL, v3 = k[1] ^ 0x7465646279746573ULL;
    uint64_t b = (uint64_t)n << 56, m;
    const unsigned char *p = (const unsigned char *)s;
    size_t i, left = n & 7;
    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&m, p + i, 8);           /* little-endian hosts (Linux x86, arm64) */
        v3 ^= m;
        KM_SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    while (left > 0) {
        left--;
        b |= (uint64_t)p[i + left] << (8 * left);
    }
    v3 ^= b;
    KM_SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    KM_SIPROUND(v0, v1, v2, v3);
    KM_SIPROUND(v0, v1, v2, v3);
    KM_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* splitmix64: spreads a weak seed over 64 bits. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A fresh key for the table's index. */
static void index_key(struct km_index *m)
{
    struct timespec ts;
    size_t got = 0;
    while (got < sizeof m->key) {
        ssize_t r = getrandom((char *)m->key + got, sizeof m->key - got, GRND_NONBLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == sizeof m->key)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->key[0] ^= mix64((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m->key[1] ^= mix64(((uint64_t)(uintptr_t)m << 16) ^ (uint64_t)getpid() ^
                       ((uint64_t)ts.tv_nsec << 32));
}

static size_t index_slot(const struct km_index *m, const char *key, size_t len)
{
    return (size_t)siphash13(m->key, key, len) & m->mask;
}

long km_index_find(const struct km_index *m, const struct km_ent *ents,
                   const char *key, size_t len)
{
    size_t slot;
    if (m->slots == NULL)
        return -1;
    slot = index_slot(m, key, len);
    for (;;) {
        uint32_t v = m->slots[slot];
        const struct km_ent *e;
        if (v == 0)
            return -1;
        e = &ents[v - 1];
        if (e->len[KM_F_MNT] == len && memcmp(e->str[KM_F_MNT], key, len) == 0)
            return (long)(v - 1);
        slot = (slot + 1) & m->mask;
    }
}

int km_index_build(struct km_index *m, const struct km_ent *ents, size_t n)
{
    size_t cap = 8, i;
    while (cap < 2 * n)
        cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    if (m->slots == NULL)
        return ENOMEM;
    m->mask = cap - 1;
    m->probes = 0;
    m->longest = 0;
    index_key(m);
    for (i = 0; i < n; i++) {
        const struct km_ent *e = &ents[i];
        size_t slot = index_slot(m, e->str[KM_F_MNT], e->len[KM_F_MNT]), run = 1;
        for (;;) {
            uint32_t v = m->slots[slot];
            if (v == 0 || (ents[v - 1].len[KM_F_MNT] == e->len[KM_F_MNT] &&
                           memcmp(ents[v - 1].str[KM_F_MNT], e->str[KM_F_MNT],
                                  e->len[KM_F_MNT]) == 0)) {
                m->slots[slot] = (uint32_t)(i + 1);
                break;
            }
            slot = (slot + 1) & m->mask;
            run++;
        }
        m->probes += run;
        if (run > m->longest)
            m->longest = run;
    }
    return 0;
}

void km_index_free(struct km_index *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
}
