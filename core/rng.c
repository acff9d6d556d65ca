/* rng.c - Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC11)
 *
 * Counter layout: ctr = {block lo, block hi, stream lo, stream hi}; key = seed. Word `pos` of a
 * stream is word pos%4 of block pos/4, so any position is reachable in O(1).
 */
#include "core/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void mo_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void mo_rng_init(mo_rng_t *r, uint64_t seed, uint64_t stream, uint64_t pos)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->stream = stream;
    r->pos = pos;
    r->block_ctr = UINT64_MAX;
}

uint64_t mo_rng_tell(const mo_rng_t *r)
{
    return r->pos;
}

void mo_rng_seek(mo_rng_t *r, uint64_t pos)
{
    r->pos = pos;
}

uint32_t mo_rng_u32(mo_rng_t *r)
{
    uint64_t blk = r->pos >> 2;
    if (blk != r->block_ctr) {
        uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), (uint32_t)r->stream,
                           (uint32_t)(r->stream >> 32)};
        mo_philox4x32_10(ctr, r->key, r->block);
        r->block_ctr = blk;
    }
    return r->block[r->pos++ & 3];
}

uint64_t mo_rng_u64(mo_rng_t *r)
{
    uint64_t hi = mo_rng_u32(r);
    return (hi << 32) | mo_rng_u32(r);
}

double mo_rng_uniform(mo_rng_t *r)
{
    return (double)(mo_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double mo_rng_normal(mo_rng_t *r)
{
    double u1 = mo_rng_uniform(r);
    double u2 = mo_rng_uniform(r);
    /* 1 - u1 is in (0, 1], so the log is finite. */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

uint64_t mo_rng_below(mo_rng_t *r, uint64_t n)
{
    /* Rejection: discard the top partial range so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do {
        v = mo_rng_u64(r);
    } while (v >= limit);
    return v % n;
}

void mo_rng_shuffle(mo_rng_t *r, uint64_t *perm, uint64_t n)
{
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = mo_rng_below(r, i);
        uint64_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
