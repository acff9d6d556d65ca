/* cpu_impl.h - what the files of the CPU backend share
 *
 * The ops are split by concern (cpu_backend.c: table, memory, gemm, reductions; dense.c: bias,
 * activations; loss.c; optim.c) and meet here. The inline math below (exp of a non-positive
 * argument, sigmoid, tanh) is written so GCC and clang vectorise it: no libm calls, no
 * branches, selects done with integer masks on the float bits. It is also ours rather than
 * libm's, so results do not change with the glibc version of the machine that runs them.
 *
 * Vectorisation note: GCC 12 at -O2 (our RelWithDebInfo) uses the "very cheap" cost model,
 * which vectorises a loop only when the vector code replaces the scalar loop completely. A loop
 * over an unknown count is therefore written as chunks of MO_CPU_CHUNK elements with a
 * fixed-count inner loop, plus a scalar tail. Float compare-and-select other than the ReLU
 * shape `v < 0 ? 0 : v` is done on integer bits because GCC will not if-convert it.
 */
#ifndef MO_KERNELS_CPU_CPU_IMPL_H
#define MO_KERNELS_CPU_CPU_IMPL_H

#include "kernels/backend.h"

#include <stdint.h>
#include <string.h>

/* 16 floats: one AVX-512 vector, two AVX vectors, four SSE vectors. */
#define MO_CPU_CHUNK 16

/* ---- ops, one file each (names in the table of cpu_backend.c) ---- */

/* dense.c */
void mo_kern_cpu_bias_act_forward(float *Y, const float *b, int64_t rows, int64_t cols,
                                  mo_act_t act);
void mo_kern_cpu_act_backward(float *dY, const float *Y, int64_t n, mo_act_t act);
void mo_kern_cpu_bias_grad(float *db, const float *dZ, int64_t rows, int64_t cols);

/* loss.c */
double mo_kern_cpu_softmax_xent(const float *logits, const int32_t *y, int64_t rows, int64_t k,
                                float scale, float *dlogits, float *probs);
double mo_kern_cpu_logistic(const float *z, const int32_t *y, int64_t rows, float scale, float *dz,
                            float *prob);
double mo_kern_cpu_mse(const float *pred, const float *y, int64_t rows, float scale, float *dpred);

/* optim.c */
void mo_kern_cpu_sgd_step(float *w, const float *g, float *v, int64_t n, const mo_sgd_hparams_t *h);
void mo_kern_cpu_adam_step(float *w, const float *g, float *m, float *v, int64_t n,
                           const mo_adam_hparams_t *h);

/* ---- branch-free float math ---- */

static inline uint32_t mo_cpu_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float mo_cpu_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* All ones when c is nonzero, else zero: the mask form of a select. */
static inline uint32_t mo_cpu_mask(int c)
{
    return 0u - (uint32_t)(c != 0);
}

static inline float mo_cpu_select(uint32_t mask, float if_set, float if_clear)
{
    return mo_cpu_float((mo_cpu_bits(if_set) & mask) | (mo_cpu_bits(if_clear) & ~mask));
}

/* exp(-a) for a >= 0 (or NaN, returned unchanged), within 2 ulp of the exact value, including
 * gradual underflow to denormals and 0 (a >= 104).
 *
 * Cephes expf: a = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact n ln2), a degree
 * 6 polynomial for e^r, then a scale by 2^n. n is found without a float-to-int conversion
 * (undefined behaviour for NaN): adding 1.5 * 2^23 rounds to an integer that then sits in the
 * low mantissa bits. 2^n is applied as 2^(n/2) * 2^(n - n/2), both normal floats, so results
 * down to the smallest denormal round once, correctly. */
static inline float mo_cpu_expneg(float a)
{
    const uint32_t a_bits = mo_cpu_bits(a);
    const uint32_t nan_mask = mo_cpu_mask(a_bits > 0x7f800000u); /* a is NaN */
    const uint32_t max_bits = 0x42d00000u;                       /* 104.0f */
    const float x = -mo_cpu_float(a_bits > max_bits ? max_bits : a_bits);

    const float shifter = 12582912.0f; /* 1.5 * 2^23 */
    const float t = x * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    const int32_t ni = (int32_t)(mo_cpu_bits(t) - mo_cpu_bits(shifter)); /* in [-150, 0] */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;

    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;

    const int32_t n1 = ni / 2, n2 = ni - n1; /* each >= -75: normal scale factors */
    const float s1 = mo_cpu_float((uint32_t)(n1 + 127) << 23);
    const float s2 = mo_cpu_float((uint32_t)(n2 + 127) << 23);
    return mo_cpu_select(nan_mask, a, p * s1 * s2);
}

/* 1 / (1 + e^-v), never overflowing: with e = e^-|v|, 1/(1+e) for v >= 0 and e/(1+e) for
 * v < 0, so tiny outputs keep their relative precision. NaN stays NaN. */
static inline float mo_cpu_sigmoid(float v)
{
    const uint32_t v_bits = mo_cpu_bits(v);
    const float e = mo_cpu_expneg(mo_cpu_float(v_bits & 0x7fffffffu));
    const float s = 1.0f / (1.0f + e);
    return mo_cpu_select(mo_cpu_mask(v_bits >> 31), e * s, s);
}

/* tanh(v) = sign(v) tanh(|v|). Below |v| = 0.625, Cephes' odd polynomial (the exp form would
 * lose bits to 1 - e^-2|v| there); above, (1 - t)/(1 + t) with t = e^-2|v| <= 0.29, which
 * saturates to exactly 1 for large |v|. NaN stays NaN. */
static inline float mo_cpu_tanh(float v)
{
    const uint32_t v_bits = mo_cpu_bits(v);
    const uint32_t a_bits = v_bits & 0x7fffffffu;
    const float a = mo_cpu_float(a_bits);

    const float z = a * a;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = p * z * a + a;

    /* From 2|v| = 17 on, t < 2^-24 and the quotient rounds to exactly 1; capping 2|v| at 40
     * keeps t a normal float, sparing saturated units the slow path x86 takes on denormals.
     * NaN (bits above infinity's) is not capped, so it reaches the result. */
    const uint32_t a2_bits = mo_cpu_bits(a + a);
    const uint32_t cap = mo_cpu_mask((a2_bits > 0x42200000u) & (a2_bits <= 0x7f800000u)); /* 40 */
    const float t = mo_cpu_expneg(mo_cpu_select(cap, 40.0f, mo_cpu_float(a2_bits)));
    const float large = (1.0f - t) / (1.0f + t);

    const float r = mo_cpu_select(mo_cpu_mask(a_bits < 0x3f200000u), small, large); /* 0.625 */
    return mo_cpu_float(mo_cpu_bits(r) | (v_bits & 0x80000000u));
}

#endif
