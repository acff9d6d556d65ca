/* test_rng.c - Philox4x32-10 and the counter-based generator */
#include "core/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <stdlib.h>

/* Known-answer vectors from Random123's kat_vectors (philox4x32_10). */
static void test_rng__philox_matches_random123_known_answers(void)
{
    uint32_t out[4];
    const uint32_t zero_ctr[4] = {0, 0, 0, 0}, zero_key[2] = {0, 0};
    mo_philox4x32_10(zero_ctr, zero_key, out);
    CU_ASSERT_EQUAL(out[0], 0x6627e8d5u);
    CU_ASSERT_EQUAL(out[1], 0xe169c58du);
    CU_ASSERT_EQUAL(out[2], 0xbc57ac4cu);
    CU_ASSERT_EQUAL(out[3], 0x9b00dbd8u);

    const uint32_t ones_ctr[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    const uint32_t ones_key[2] = {0xffffffffu, 0xffffffffu};
    mo_philox4x32_10(ones_ctr, ones_key, out);
    CU_ASSERT_EQUAL(out[0], 0x408f276du);
    CU_ASSERT_EQUAL(out[1], 0x41c83b0eu);
    CU_ASSERT_EQUAL(out[2], 0xa20bc7c6u);
    CU_ASSERT_EQUAL(out[3], 0x6d5451fdu);

    const uint32_t pi_ctr[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    const uint32_t pi_key[2] = {0xa4093822u, 0x299f31d0u};
    mo_philox4x32_10(pi_ctr, pi_key, out);
    CU_ASSERT_EQUAL(out[0], 0xd16cfe09u);
    CU_ASSERT_EQUAL(out[1], 0x94fdccebu);
    CU_ASSERT_EQUAL(out[2], 0x5001e420u);
    CU_ASSERT_EQUAL(out[3], 0x24126ea1u);
}

static void test_rng__seek_reaches_the_same_value_as_drawing(void)
{
    mo_rng_t a, b;
    mo_rng_init(&a, 42, MO_RNG_STREAM_SHUFFLE, 0);
    uint32_t seq[37];
    for (int i = 0; i < 37; i++)
        seq[i] = mo_rng_u32(&a);
    for (int start = 0; start < 37; start += 5) {
        mo_rng_init(&b, 42, MO_RNG_STREAM_SHUFFLE, (uint64_t)start);
        CU_ASSERT_EQUAL(mo_rng_u32(&b), seq[start]);
    }
    CU_ASSERT_EQUAL(mo_rng_tell(&a), 37u);
    mo_rng_seek(&a, 3);
    CU_ASSERT_EQUAL(mo_rng_u32(&a), seq[3]);
}

static void test_rng__streams_and_seeds_are_independent(void)
{
    mo_rng_t a, b, c;
    mo_rng_init(&a, 1, MO_RNG_STREAM_INIT, 0);
    mo_rng_init(&b, 1, MO_RNG_STREAM_SHUFFLE, 0);
    mo_rng_init(&c, 2, MO_RNG_STREAM_INIT, 0);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 64; i++) {
        uint32_t x = mo_rng_u32(&a), y = mo_rng_u32(&b), z = mo_rng_u32(&c);
        same_ab += x == y;
        same_ac += x == z;
    }
    CU_ASSERT(same_ab < 2);
    CU_ASSERT(same_ac < 2);
}

static void test_rng__uniform_and_normal_have_expected_moments(void)
{
    mo_rng_t r;
    mo_rng_init(&r, 7, MO_RNG_STREAM_SYNTH, 0);
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0, umin = 1, umax = 0;
    for (int i = 0; i < n; i++) {
        double u = mo_rng_uniform(&r);
        su += u;
        umin = u < umin ? u : umin;
        umax = u > umax ? u : umax;
        double z = mo_rng_normal(&r);
        sn += z;
        sn2 += z * z;
    }
    CU_ASSERT(umin >= 0.0 && umax < 1.0);
    CU_ASSERT_DOUBLE_EQUAL(su / n, 0.5, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(sn / n, 0.0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(sn2 / n, 1.0, 0.02);
}

static void test_rng__below_covers_range_evenly(void)
{
    mo_rng_t r;
    mo_rng_init(&r, 3, MO_RNG_STREAM_SAMPLER, 0);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = mo_rng_below(&r, 7);
        CU_ASSERT_FATAL(v < 7);
        counts[v]++;
    }
    for (int k = 0; k < 7; k++)
        CU_ASSERT(abs(counts[k] - 10000) < 500);
    CU_ASSERT_EQUAL(mo_rng_below(&r, 1), 0u);
}

static void test_rng__shuffle_is_a_permutation_and_deterministic(void)
{
    enum { N = 1000 };
    static uint64_t p1[N], p2[N];
    for (uint64_t i = 0; i < N; i++)
        p1[i] = p2[i] = i;
    mo_rng_t a, b;
    mo_rng_init(&a, 99, MO_RNG_STREAM_SHUFFLE, 0);
    mo_rng_init(&b, 99, MO_RNG_STREAM_SHUFFLE, 0);
    mo_rng_shuffle(&a, p1, N);
    mo_rng_shuffle(&b, p2, N);
    static int seen[N];
    int moved = 0;
    for (uint64_t i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(p1[i], p2[i]);
        CU_ASSERT_FATAL(p1[i] < N);
        seen[p1[i]]++;
        moved += p1[i] != i;
    }
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT(moved > N / 2);
    mo_rng_shuffle(&a, p1, 0); /* empty input is fine */
}

static CU_TestInfo tests[] = {
    MO_TEST(test_rng__philox_matches_random123_known_answers),
    MO_TEST(test_rng__seek_reaches_the_same_value_as_drawing),
    MO_TEST(test_rng__streams_and_seeds_are_independent),
    MO_TEST(test_rng__uniform_and_normal_have_expected_moments),
    MO_TEST(test_rng__below_covers_range_evenly),
    MO_TEST(test_rng__shuffle_is_a_permutation_and_deterministic),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("core/rng", tests);
}
