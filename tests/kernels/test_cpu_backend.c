/* test_cpu_backend.c - the CPU backend table: memory, GEMM, reductions, determinism */
#include "core/rng.h"
#include "kernels/backend.h"
#include "tests/unit.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static void fill(float *x, int64_t n, uint64_t seed)
{
    mo_rng_t r;
    mo_rng_init(&r, seed, 0, 0);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(2.0 * mo_rng_uniform(&r) - 1.0);
}

static void test_cpu_backend__names_itself_cpu_and_supports_every_op(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    CU_ASSERT_PTR_NOT_NULL_FATAL(be);
    CU_ASSERT_STRING_EQUAL(be->name, "cpu");
    for (int op = 0; op < MO_KOP_COUNT_; op++)
        CU_ASSERT_EQUAL(be->supports((mo_kop_t)op), 1);
    CU_ASSERT_EQUAL(be->supports(MO_KOP_COUNT_), 0);
    CU_ASSERT_EQUAL(be->supports((mo_kop_t)-1), 0);
    /* Every slot is filled: the trainer calls them without checking. */
    CU_ASSERT(be->alloc && be->free && be->upload && be->download && be->sync && be->gemm);
    CU_ASSERT(be->bias_act_forward && be->act_backward && be->bias_grad);
    CU_ASSERT(be->softmax_xent && be->logistic && be->mse && be->sgd_step && be->adam_step);
    CU_ASSERT(be->sumsq && be->scale);
}

static void test_cpu_backend__alloc_is_zeroed_aligned_and_distinct(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const size_t sizes[] = {0, 1, 3, 64, 1000, 1 << 20};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        unsigned char *p = be->alloc(sizes[s]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL((uintptr_t)p % 64, 0);
        size_t nonzero = 0;
        for (size_t i = 0; i < sizes[s]; i++)
            nonzero += p[i] != 0;
        CU_ASSERT_EQUAL(nonzero, 0);
        be->free(p);
    }
    /* Memory that held data before: malloc reuses a freed chunk of the same size (and ASan
     * fills new blocks), so this sees the zeroing, which fresh pages from the OS would not. */
    for (int round = 0; round < 4; round++) {
        unsigned char *p = be->alloc(1000);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        size_t nonzero = 0;
        for (size_t i = 0; i < 1000; i++)
            nonzero += p[i] != 0;
        CU_ASSERT_EQUAL(nonzero, 0);
        memset(p, 0xab, 1000);
        be->free(p);
    }
    void *a = be->alloc(0), *b = be->alloc(0);
    CU_ASSERT(a && b && a != b);
    be->free(a);
    be->free(b);
    be->free(NULL);
    CU_ASSERT_PTR_NULL(be->alloc(SIZE_MAX - 8)); /* rounding up must not wrap around */
}

static void test_cpu_backend__upload_download_round_trip(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float host[37], back[37];
    fill(host, 37, 1);
    float *dev = be->alloc(sizeof host);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
    be->upload(dev, host, sizeof host);
    memset(back, 0, sizeof back);
    be->download(back, dev, sizeof back);
    CU_ASSERT_EQUAL(memcmp(host, back, sizeof host), 0);
    be->upload(dev, dev, sizeof host); /* same buffer on both sides */
    CU_ASSERT_EQUAL(memcmp(host, dev, sizeof host), 0);
    be->upload(NULL, NULL, 0);
    be->download(NULL, NULL, 0);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(be->sync(&err), 0);
    CU_ASSERT_EQUAL(be->sync(NULL), 0);
    be->free(dev);
}

/* C = alpha op(A) op(B) + beta C, in double, for matrices stored with leading dimensions. */
static void naive_gemm(int ta, int tb, int m, int n, int k, double alpha, const float *A, int lda,
                       const float *B, int ldb, double beta, double *C, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++) {
                const double a = ta ? A[p * lda + i] : A[i * lda + p];
                const double b = tb ? B[j * ldb + p] : B[p * ldb + j];
                s += a * b;
            }
            C[i * ldc + j] = alpha * s + beta * C[i * ldc + j];
        }
}

/* All four transpose combinations, with leading dimensions wider than the rows (a view of a
 * bigger matrix), alpha and beta not 1 and 0; padding columns of C must stay untouched. */
static void test_cpu_backend__gemm_matches_naive_for_every_transpose(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { M = 5, N = 7, K = 6, PAD = 3, LD = 16 };
    float A[LD * LD], B[LD * LD], C[M * (N + PAD)];
    double ref[M * (N + PAD)];
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            fill(A, LD * LD, 10 + (uint64_t)(2 * ta + tb));
            fill(B, LD * LD, 20 + (uint64_t)(2 * ta + tb));
            fill(C, M * (N + PAD), 30);
            for (int i = 0; i < M * (N + PAD); i++)
                ref[i] = C[i];
            const int lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD, ldc = N + PAD;
            be->gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, -2.0f, C, ldc);
            naive_gemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, -2.0, ref, ldc);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N + PAD; j++) {
                    /* Braces: CUnit's assertion macros are blocks, not statements. */
                    if (j < N) {
                        CU_ASSERT_DOUBLE_EQUAL(C[i * ldc + j], ref[i * ldc + j], 1e-5);
                    } else {
                        CU_ASSERT_EQUAL(C[i * ldc + j], (float)ref[i * ldc + j]);
                    }
                }
        }
}

static void test_cpu_backend__gemm_with_empty_output_writes_nothing(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 2, 3, 4}, C[4] = {9, 9, 9, 9};
    be->gemm(0, 0, 0, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2);
    be->gemm(0, 0, 2, 0, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(C[i], 9.0f);
}

/* x[0]^2 = 2^24 and then 1000 ones: a float running sum would stay at 2^24 (2^24 + 1 is not
 * a float), a double one reaches 2^24 + 1000 exactly. */
static void test_cpu_backend__sumsq_accumulates_in_double(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { N = 1001 };
    float x[N];
    x[0] = 4096.0f;
    for (int i = 1; i < N; i++)
        x[i] = (i % 2) ? 1.0f : -1.0f;
    CU_ASSERT_EQUAL(be->sumsq(x, N), 16777216.0 + 1000.0);
    CU_ASSERT_EQUAL(be->sumsq(x, 0), 0.0);
}

static void test_cpu_backend__sumsq_matches_reference_for_any_length(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float x[50];
    fill(x, 50, 3);
    for (int n = 1; n <= 50; n++) {
        double ref = 0.0;
        for (int i = 0; i < n; i++)
            ref += (double)x[i] * x[i];
        CU_ASSERT_DOUBLE_EQUAL(be->sumsq(x, n), ref, 1e-12 * ref);
    }
}

static void test_cpu_backend__scale_multiplies_every_element(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { N = 37 }; /* two chunks of 16 and a tail of 5 */
    float x[N], y[N];
    fill(x, N, 4);
    memcpy(y, x, sizeof x);
    be->scale(y, N, 0.25f);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(y[i], x[i] * 0.25f);
    be->scale(y, 0, 0.0f);
    CU_ASSERT_EQUAL(y[0], x[0] * 0.25f);
}

/* Same inputs, same bits: the resume contract (DESIGN.md) depends on it. */
static void test_cpu_backend__repeated_calls_give_identical_bits(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { M = 33, N = 29, K = 31 };
    static float A[M * K], B[K * N], C1[M * N], C2[M * N], g[4099];
    fill(A, M * K, 5);
    fill(B, K * N, 6);
    fill(g, 4099, 7);
    be->gemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N);
    be->gemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N);
    CU_ASSERT_EQUAL(memcmp(C1, C2, sizeof C1), 0);
    const double s1 = be->sumsq(g, 4099), s2 = be->sumsq(g, 4099);
    CU_ASSERT_EQUAL(memcmp(&s1, &s2, sizeof s1), 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_cpu_backend__names_itself_cpu_and_supports_every_op),
    MO_TEST(test_cpu_backend__alloc_is_zeroed_aligned_and_distinct),
    MO_TEST(test_cpu_backend__upload_download_round_trip),
    MO_TEST(test_cpu_backend__gemm_matches_naive_for_every_transpose),
    MO_TEST(test_cpu_backend__gemm_with_empty_output_writes_nothing),
    MO_TEST(test_cpu_backend__sumsq_accumulates_in_double),
    MO_TEST(test_cpu_backend__sumsq_matches_reference_for_any_length),
    MO_TEST(test_cpu_backend__scale_multiplies_every_element),
    MO_TEST(test_cpu_backend__repeated_calls_give_identical_bits),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/cpu_backend", tests);
}
