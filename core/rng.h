/* rng.h - counter-based random numbers (Philox4x32-10)
 *
 * Every random value in Maestro is a pure function of (seed, stream, index): shuffles,
 * initialisation and sampling therefore come out the same whatever the number of ranks, and
 * a generator's whole state is one 64-bit position, which a checkpoint stores and a resume
 * restores. Streams separate purposes so that adding draws to one never shifts another.
 */
#ifndef MO_CORE_RNG_H
#define MO_CORE_RNG_H

#include <stdint.h>

/* Well-known streams; append only (changing a number changes every result keyed by it). */
enum {
    MO_RNG_STREAM_SYNTH = 1,   /* maestro data synth */
    MO_RNG_STREAM_INIT = 2,    /* parameter initialisation */
    MO_RNG_STREAM_SHUFFLE = 3, /* per-epoch shuffles (index = epoch) */
    MO_RNG_STREAM_SPLIT = 4,   /* train/validation split */
    MO_RNG_STREAM_SAMPLER = 5, /* sweep samplers */
    MO_RNG_STREAM_DROPOUT = 6,
};

typedef struct {
    uint32_t key[2];    /* from the seed */
    uint64_t stream;    /* purpose, and a sub-purpose packed by the caller if needed */
    uint64_t pos;       /* index of the next 32-bit word */
    uint64_t block_ctr; /* counter of the cached block, UINT64_MAX when none */
    uint32_t block[4];
} mo_rng_t;

/* The Philox4x32-10 bijection: out = philox(ctr, key). */
void mo_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* A generator positioned at word `pos` of (seed, stream). */
void mo_rng_init(mo_rng_t *r, uint64_t seed, uint64_t stream, uint64_t pos);
/* Current position (words drawn since index 0); store it to resume exactly. */
uint64_t mo_rng_tell(const mo_rng_t *r);
void mo_rng_seek(mo_rng_t *r, uint64_t pos);

uint32_t mo_rng_u32(mo_rng_t *r);
uint64_t mo_rng_u64(mo_rng_t *r);
/* Uniform in [0, 1), 53 random bits. */
double mo_rng_uniform(mo_rng_t *r);
/* Standard normal (Box-Muller; consumes four words, caches nothing). */
double mo_rng_normal(mo_rng_t *r);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t mo_rng_below(mo_rng_t *r, uint64_t n);
/* Fisher-Yates shuffle of `perm[0..n)` in place. */
void mo_rng_shuffle(mo_rng_t *r, uint64_t *perm, uint64_t n);

#endif
