/* cuda_backend.cu - the CUDA backend table: device binding, memory, streams, cuBLAS GEMM
 *
 * Row-major matrices meet column-major cuBLAS by transposition: a row-major X is the
 * column-major X^T, so C = op(A) op(B) (row-major) is computed as C^T = op(B)^T op(A)^T, i.e.
 * cublasSgemm with the operands swapped and the same transpose flags. The math mode is plain
 * fp32 (CUBLAS_DEFAULT_MATH) unless the spec opts into TF32 (set_tf32).
 */
#include "kernels/cuda/cuda_impl.h"

#include <stdio.h>
#include <string.h>

mo_cuda_t mo_cuda;

int mo_cuda_ck_(cudaError_t e, const char *what, const char *file, int line)
{
    if (e == cudaSuccess)
        return 0;
    if (!mo_cuda.sticky.code)
        mo_errorf(&mo_cuda.sticky, MO_ECUDA, "CUDA error at %s:%d: %.80s: %s", file, line, what,
                  cudaGetErrorString(e));
    return MO_ECUDA;
}

int mo_cuda_ck_(cublasStatus_t s, const char *what, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return 0;
    if (!mo_cuda.sticky.code)
        mo_errorf(&mo_cuda.sticky, MO_ECUDA, "cuBLAS error at %s:%d: %.80s: %s", file, line, what,
                  cublasGetStatusString(s));
    return MO_ECUDA;
}

extern "C" int mo_cuda_ck_rt(int e, const char *what, const char *file, int line)
{
    return mo_cuda_ck_((cudaError_t)e, what, file, line);
}

extern "C" int mo_cuda_failure(mo_error_t *err)
{
    if (!mo_cuda.sticky.code)
        return 0;
    if (err)
        *err = mo_cuda.sticky;
    return mo_cuda.sticky.code;
}

static int report(mo_error_t *err)
{
    if (!mo_cuda.sticky.code)
        return 0;
    if (err)
        *err = mo_cuda.sticky;
    return mo_cuda.sticky.code;
}

static const char *no_device_why(cudaError_t e)
{
    if (e == cudaErrorInsufficientDriver)
        return "no CUDA driver, or one older than this build's CUDA runtime";
    if (e == cudaSuccess || e == cudaErrorNoDevice)
        return "no devices";
    return cudaGetErrorString(e);
}

extern "C" int mo_kern_cuda_devices(char *buf, size_t len)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (buf && len)
        buf[0] = '\0';
    if (e != cudaSuccess || n == 0) {
        if (buf && len)
            snprintf(buf, len, "%s", no_device_why(e));
        cudaGetLastError(); /* not sticky: the next query starts clean */
        return 0;
    }
    size_t used = 0;
    for (int d = 0; d < n && buf && used + 1 < len; d++) {
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, d) != cudaSuccess)
            continue;
        int w = snprintf(buf + used, len - used, "%s%d: %s, %.1f GiB, sm_%d%d", d ? "\n" : "", d,
                         p.name, (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), p.major,
                         p.minor);
        if (w < 0)
            break;
        used += (size_t)w < len - used ? (size_t)w : len - used - 1;
    }
    return n;
}

extern "C" void *mo_kern_cuda_stream(void)
{
    return mo_cuda.bound ? (void *)mo_cuda.compute : NULL;
}

static int cuda_bind(int local_rank, char *desc, size_t desc_len, mo_error_t *err)
{
    if (mo_cuda.bound)
        return report(err);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        cudaGetLastError();
        return mo_errorf(err, MO_EINVAL, "no CUDA device visible (%s)", no_device_why(e));
    }
    /* Node-local rank modulo the visible devices: CUDA_VISIBLE_DEVICES has already narrowed
     * and renumbered them, so device d here is the d-th device the job was given. */
    int dev = (local_rank < 0 ? 0 : local_rank) % n;
    int rc = MO_CK(cudaSetDevice(dev));
    if (!rc)
        rc = MO_CK(cudaStreamCreateWithFlags(&mo_cuda.compute, cudaStreamNonBlocking));
    if (!rc)
        rc = MO_CK(cudaStreamCreateWithFlags(&mo_cuda.copy, cudaStreamNonBlocking));
    for (int s = 0; s < 2 && !rc; s++) {
        rc = MO_CK(cudaEventCreateWithFlags(&mo_cuda.ready[s], cudaEventDisableTiming));
        if (!rc)
            rc = MO_CK(cudaEventCreateWithFlags(&mo_cuda.released[s], cudaEventDisableTiming));
    }
    if (!rc)
        rc = MO_CK(cublasCreate(&mo_cuda.blas));
    if (!rc)
        rc = MO_CK(cublasSetStream(mo_cuda.blas, mo_cuda.compute));
    if (!rc)
        rc = MO_CK(cublasSetMathMode(mo_cuda.blas, CUBLAS_DEFAULT_MATH));
    if (!rc)
        rc = MO_CK(cudaMallocHost((void **)&mo_cuda.result, sizeof(double)));
    if (rc)
        return report(err);
    mo_cuda.device = dev;
    mo_cuda.bound = 1;
    cudaDeviceProp p;
    if (desc && desc_len) {
        if (MO_CK(cudaGetDeviceProperties(&p, dev)))
            return report(err);
        snprintf(desc, desc_len, "cuda:%d %s (sm_%d%d, %d of %d visible)", dev, p.name, p.major,
                 p.minor, dev + 1, n);
    }
    return 0;
}

static int cuda_check(mo_error_t *err)
{
    /* Launch failures show up here at once; faults inside a kernel at the next sync. */
    MO_CK(cudaGetLastError());
    return report(err);
}

static int cuda_sync(mo_error_t *err)
{
    if (mo_cuda.bound)
        MO_CK(cudaStreamSynchronize(mo_cuda.compute));
    return cuda_check(err);
}

static int cuda_supports(mo_kop_t op)
{
    return op >= 0 && op < MO_KOP_COUNT_;
}

static void *cuda_alloc(size_t bytes)
{
    void *p = NULL;
    if (MO_CK(cudaMalloc(&p, bytes ? bytes : 1)))
        return NULL;
    /* Zeroed as the table promises, and finished before returning: the copy stream may
     * write the buffer next, and it does not wait for the compute stream's memset. */
    if (MO_CK(cudaMemsetAsync(p, 0, bytes, mo_cuda.compute)) ||
        MO_CK(cudaStreamSynchronize(mo_cuda.compute))) {
        cudaFree(p);
        return NULL;
    }
    return p;
}

static void cuda_free(void *p)
{
    if (!p)
        return;
    /* cudaFree waits for the device; the stream's queued work that uses p has finished. */
    MO_CK(cudaFree(p));
}

static void cuda_upload(void *dst, const void *src, size_t bytes)
{
    if (!bytes)
        return;
    MO_CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, mo_cuda.compute));
    /* The source may be pageable host memory the caller reuses at once. */
    MO_CK(cudaStreamSynchronize(mo_cuda.compute));
}

static void cuda_download(void *dst, const void *src, size_t bytes)
{
    if (!bytes)
        return;
    MO_CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, mo_cuda.compute));
    MO_CK(cudaStreamSynchronize(mo_cuda.compute));
}

static void cuda_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX ||
        ldc > INT32_MAX) {
        MO_CK(CUBLAS_STATUS_INVALID_VALUE);
        return;
    }
    MO_CK(cublasSgemm(mo_cuda.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                      trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, B,
                      (int)ldb, A, (int)lda, &beta, C, (int)ldc));
}

static void cuda_set_tf32(int allowed)
{
    if (mo_cuda.bound)
        MO_CK(cublasSetMathMode(mo_cuda.blas,
                                allowed ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

static void *cuda_host_alloc(size_t bytes)
{
    void *p = NULL;
    if (MO_CK(cudaMallocHost(&p, bytes ? bytes : 1)))
        return NULL;
    memset(p, 0, bytes);
    return p;
}

static void cuda_host_free(void *p)
{
    if (p)
        MO_CK(cudaFreeHost(p));
}

static void cuda_prefetch(void *dst, const void *src, size_t bytes, int slot)
{
    MO_CK(cudaStreamWaitEvent(mo_cuda.copy, mo_cuda.released[slot], 0));
    MO_CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, mo_cuda.copy));
    MO_CK(cudaEventRecord(mo_cuda.ready[slot], mo_cuda.copy));
}

static void cuda_use_slot(int slot)
{
    MO_CK(cudaStreamWaitEvent(mo_cuda.compute, mo_cuda.ready[slot], 0));
}

static void cuda_release_slot(int slot)
{
    MO_CK(cudaEventRecord(mo_cuda.released[slot], mo_cuda.compute));
}

static void cuda_host_wait(int slot)
{
    MO_CK(cudaEventSynchronize(mo_cuda.ready[slot]));
}

double *mo_cuda_scratch(size_t n)
{
    if (n <= mo_cuda.scratch_cap)
        return mo_cuda.scratch;
    /* Queued work may still read the old scratch: wait before freeing it. */
    MO_CK(cudaStreamSynchronize(mo_cuda.compute));
    if (mo_cuda.scratch)
        MO_CK(cudaFree(mo_cuda.scratch));
    mo_cuda.scratch = NULL;
    mo_cuda.scratch_cap = 0;
    size_t cap = n < 4096 ? 4096 : n;
    if (MO_CK(cudaMalloc((void **)&mo_cuda.scratch, cap * sizeof(double))))
        return NULL;
    mo_cuda.scratch_cap = cap;
    return mo_cuda.scratch;
}

static void cuda_download_async(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        MO_CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, mo_cuda.compute));
}

static int cuda_mem_info(size_t *free_bytes, size_t *total_bytes, mo_error_t *err)
{
    if (MO_CK(cudaMemGetInfo(free_bytes, total_bytes)))
        return report(err);
    return 0;
}

static const mo_kern_backend_t cuda_backend = {
    .name = "cuda",
    .supports = cuda_supports,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .sync = cuda_sync,
    .gemm = cuda_gemm,
    .bias_act_forward = mo_cuda_bias_act_forward,
    .act_backward = mo_cuda_act_backward,
    .bias_grad = mo_cuda_bias_grad,
    .softmax_xent = mo_cuda_softmax_xent,
    .logistic = mo_cuda_logistic,
    .mse = mo_cuda_mse,
    .sgd_step = mo_cuda_sgd_step,
    .adam_step = mo_cuda_adam_step,
    .sumsq = mo_cuda_sumsq,
    .scale = mo_cuda_scale,
    .bind = cuda_bind,
    .check = cuda_check,
    .set_tf32 = cuda_set_tf32,
    .host_alloc = cuda_host_alloc,
    .host_free = cuda_host_free,
    .prefetch = cuda_prefetch,
    .use_slot = cuda_use_slot,
    .release_slot = cuda_release_slot,
    .host_wait = cuda_host_wait,
    .defer_loss = mo_cuda_defer_loss,
    .loss_result = mo_cuda_loss_result,
    .download_async = cuda_download_async,
    .gather_rows = mo_cuda_gather_rows,
    .mem_info = cuda_mem_info,
};

extern "C" const mo_kern_backend_t *mo_kern_cuda(void)
{
    return &cuda_backend;
}
