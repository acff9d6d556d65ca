/* cuda_impl.h - what the files of kernels/cuda/ share
 *
 *   cuda_backend.cu  the backend table: device binding, memory, streams, GEMM (cuBLAS)
 *   cuda_ops.cu      kernels: bias + activation, activation backward, bias gradient, losses,
 *                    optimiser updates, reductions
 *   nccl_ops.cu      the NCCL allreduce's CUDA side, and the module's table
 *                    (kernels/cuda_module.h): these files are the shared module maestro-cuda.so
 *
 * One process drives one device. Every op is queued on one compute stream (`mo_cuda.compute`)
 * in call order, so the trainer's sequence of calls is the device's sequence of work; batches
 * arrive on a separate copy stream (double buffering, backend.h). Every CUDA and cuBLAS call
 * goes through MO_CK: the first failure is kept (file:line, the call, the library's message)
 * and reported by check() and sync(), so a void op never fails silently.
 */
#ifndef MO_KERNELS_CUDA_IMPL_H
#define MO_KERNELS_CUDA_IMPL_H

extern "C" {
#include "kernels/backend.h"
#include "kernels/cuda_module.h"
}
#include "kernels/cuda/check.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

typedef struct {
    int bound, device;
    cudaStream_t compute, copy;
    cublasHandle_t blas;
    cudaEvent_t ready[2];    /* slot's copy done (copy stream) */
    cudaEvent_t released[2]; /* compute done with the slot */
    double *scratch;         /* device: per-row losses, then partial sums */
    size_t scratch_cap;      /* doubles */
    double *result;          /* pinned host: one reduced value */
    int defer;               /* losses queue their sum (defer_loss) */
    mo_error_t sticky;       /* the first failure, kept until reported */
} mo_cuda_t;

extern mo_cuda_t mo_cuda;

/* The module's entries (kernels/cuda_module.h), hidden: only the table is exported. */
extern "C" {
int mo_cuda_device_count(void);
int mo_nccl_unique_id(unsigned char *id, mo_error_t *err);
int mo_nccl_create(mo_nccl_t **out, int size, int rank, const unsigned char *id, mo_error_t *err);
int mo_nccl_start(mo_nccl_t *h, float *buf, size_t n, mo_error_t *err);
int mo_nccl_finish(mo_nccl_t *h, mo_error_t *err);
void mo_nccl_destroy(mo_nccl_t *h);
}

/* Device scratch of at least n doubles (grown on demand); NULL after a failure. */
double *mo_cuda_scratch(size_t n);

/* ---- cuda_ops.cu ---- */
void mo_cuda_bias_act_forward(float *Y, const float *b, int64_t rows, int64_t cols, mo_act_t act);
void mo_cuda_act_backward(float *dY, const float *Y, int64_t n, mo_act_t act);
void mo_cuda_bias_grad(float *db, const float *dZ, int64_t rows, int64_t cols);
double mo_cuda_softmax_xent(const float *logits, const int32_t *y, int64_t rows, int64_t k,
                            float scale, float *dlogits, float *probs);
double mo_cuda_logistic(const float *z, const int32_t *y, int64_t rows, float scale, float *dz,
                        float *prob);
double mo_cuda_mse(const float *pred, const float *y, int64_t rows, float scale, float *dpred);
void mo_cuda_sgd_step(float *w, const float *g, float *v, int64_t n, const mo_sgd_hparams_t *h);
void mo_cuda_adam_step(float *w, const float *g, float *m, float *v, int64_t n,
                       const mo_adam_hparams_t *h);
double mo_cuda_sumsq(const float *x, int64_t n);
void mo_cuda_defer_loss(int on);
double mo_cuda_loss_result(void);
void mo_cuda_gather_rows(void *dst, const void *src, const int64_t *idx, int64_t rows,
                         int64_t row_words);
void mo_cuda_scale(float *x, int64_t n, float a);

#endif
