/* cpu_backend.c - the CPU backend table: memory, GEMM (OpenBLAS), reductions
 *
 * "Device" memory is host memory, so upload/download are copies and sync has nothing to wait
 * for. GEMM is cblas_sgemm, row-major; the number of BLAS threads is the trainer's decision
 * (one per rank under MPI) and is never changed here. The elementwise ops live in dense.c,
 * loss.c and optim.c; this file assembles the table.
 */
#include "kernels/cpu/cpu_impl.h"

#include <cblas.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Cache-line alignment (and a full AVX-512 vector) for every buffer the trainer allocates. */
enum { ALIGN = 64 };

static int cpu_supports(mo_kop_t op)
{
    return (int)op >= 0 && (int)op < (int)MO_KOP_COUNT_; /* every op; nothing else */
}

/* Zeroed, 64-byte aligned. A request for 0 bytes still returns a distinct pointer, so NULL
 * always means failure. */
static void *cpu_alloc(size_t bytes)
{
    if (bytes > SIZE_MAX - ALIGN)
        return NULL;
    /* C11 aligned_alloc wants a size that is a multiple of the alignment. */
    const size_t size = bytes ? (bytes + ALIGN - 1) / ALIGN * ALIGN : ALIGN;
    void *p = aligned_alloc(ALIGN, size);
    if (p)
        memset(p, 0, size);
    return p;
}

static void cpu_free(void *p)
{
    free(p);
}

/* memmove, not memcpy: on this backend host and device buffers are the same memory, and a
 * caller may well hand the same buffer to both sides. */
static void cpu_upload(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        memmove(dst, src, bytes);
}

static void cpu_download(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        memmove(dst, src, bytes);
}

static int cpu_sync(mo_error_t *err)
{
    (void)err;
    return 0;
}

/* C[m,n] = alpha op(A) op(B) + beta C. Sizes come from the model, which the trainer checked
 * when it built the layers; one that does not fit BLAS's int is a broken invariant. */
static void cpu_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc)
{
    MO_ASSERT(m >= 0 && n >= 0 && k >= 0);
    MO_ASSERT(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX);
    MO_ASSERT(lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX);
    if (m == 0 || n == 0)
        return; /* nothing to write; spares BLAS's leading-dimension checks on empty shapes */
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, alpha, A,
                (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
}

/* Sum of squares in double, for gradient-norm clipping. Eight partial sums in a fixed
 * interleave (element i goes to sum i % 8 over the chunked part), combined in a fixed order:
 * the same bits on every call, and a loop the compiler can vectorise, which a single running
 * double sum is not (its additions may not be reordered). */
static double cpu_sumsq(const float *restrict x, int64_t n)
{
    double part[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; u++)
            part[u] += (double)x[i + u] * (double)x[i + u];
    double s =
        ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (; i < n; i++)
        s += (double)x[i] * (double)x[i];
    return s;
}

static void cpu_scale(float *restrict x, int64_t n, float a)
{
    int64_t i = 0;
    for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            x[i + u] *= a;
    for (; i < n; i++)
        x[i] *= a;
}

static const mo_kern_backend_t cpu_backend = {
    .name = "cpu",
    .supports = cpu_supports,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .sync = cpu_sync,
    .gemm = cpu_gemm,
    .bias_act_forward = mo_kern_cpu_bias_act_forward,
    .act_backward = mo_kern_cpu_act_backward,
    .bias_grad = mo_kern_cpu_bias_grad,
    .softmax_xent = mo_kern_cpu_softmax_xent,
    .logistic = mo_kern_cpu_logistic,
    .mse = mo_kern_cpu_mse,
    .sgd_step = mo_kern_cpu_sgd_step,
    .adam_step = mo_kern_cpu_adam_step,
    .sumsq = cpu_sumsq,
    .scale = cpu_scale,
};

const mo_kern_backend_t *mo_kern_cpu(void)
{
    return &cpu_backend;
}
