/* backend.h - the math of training behind one table (ggml-style backends)
 *
 * jobs/ calls only this table, so a CUDA backend changes nothing above kernels/. All matrices
 * are row-major float32. Pointers passed to the ops are "device" pointers of the backend
 * (plain host memory for the CPU backend); the host moves data with upload/download.
 *
 * Losses return the SUM over rows (double) and write the gradient already multiplied by
 * `scale` (the trainer passes 1 / global batch size), so per-rank partial gradients add up
 * exactly to the gradient of the global-batch mean loss after an allreduce(sum).
 *
 * Every backend is tested against the CPU backend within a stated tolerance, and every
 * gradient against finite differences (tests/kernels/).
 */
#ifndef MO_KERNELS_BACKEND_H
#define MO_KERNELS_BACKEND_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { MO_ACT_NONE = 0, MO_ACT_RELU, MO_ACT_TANH, MO_ACT_SIGMOID } mo_act_t;

/* Operations a backend may or may not support (supports(op) says). */
typedef enum {
    MO_KOP_GEMM = 0,
    MO_KOP_BIAS,
    MO_KOP_ACT,
    MO_KOP_SOFTMAX_XENT,
    MO_KOP_LOGISTIC,
    MO_KOP_MSE,
    MO_KOP_SGD,
    MO_KOP_ADAM,
    MO_KOP_REDUCE,
    MO_KOP_COUNT_
} mo_kop_t;

typedef struct {
    float lr;
    float momentum; /* 0: plain SGD */
    int nesterov;
    float weight_decay; /* L2 added to the gradient (SGD, Adam); decoupled for AdamW */
} mo_sgd_hparams_t;

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    int decoupled; /* 1: AdamW (decay applied to the weights, not the gradient) */
    int64_t t;     /* step number, starting at 1, for bias correction */
} mo_adam_hparams_t;

typedef struct mo_kern_backend {
    const char *name; /* "cpu", "cuda" */
    int (*supports)(mo_kop_t op);

    /* ---- memory ---- */
    void *(*alloc)(size_t bytes); /* zeroed; NULL on failure */
    void (*free)(void *p);
    void (*upload)(void *dst, const void *src, size_t bytes);   /* host -> device */
    void (*download)(void *dst, const void *src, size_t bytes); /* device -> host */
    int (*sync)(mo_error_t *err);                               /* wait for queued work */

    /* ---- dense layers ---- */
    /* C[m,n] = alpha * op(A) * op(B) + beta * C; op(X) = X^T when trans_x. Leading dimensions
     * are the row lengths of the matrices as stored. */
    void (*gemm)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc);
    /* Y[r, :] = act(Y[r, :] + b) for r < rows, in place (bias and activation fused). */
    void (*bias_act_forward)(float *Y, const float *b, int64_t rows, int64_t cols, mo_act_t act);
    /* dZ = dY * act'(.) given the activation's OUTPUT Y, in place on dY; NONE leaves dY. */
    void (*act_backward)(float *dY, const float *Y, int64_t n, mo_act_t act);
    /* db[c] = sum_r dZ[r, c] (overwrites db). */
    void (*bias_grad)(float *db, const float *dZ, int64_t rows, int64_t cols);

    /* ---- losses: return the sum over rows; gradients are scaled by `scale` ----
     * softmax cross-entropy on logits [rows, k] with class ids y; numerically stable
     * (max-shifted log-sum-exp). probs (may be NULL) receives the softmax. dlogits may be NULL
     * as well (evaluation); neither output may overlap logits or the other. */
    double (*softmax_xent)(const float *logits, const int32_t *y, int64_t rows, int64_t k,
                           float scale, float *dlogits, float *probs);
    /* Binary logistic loss on one logit per row, y in {0, 1}; stable for large |z|.
     * prob (may be NULL) receives sigmoid(z). dz may be NULL (evaluation). */
    double (*logistic)(const float *z, const int32_t *y, int64_t rows, float scale, float *dz,
                       float *prob);
    /* Squared error 0.5 * (pred - y)^2 summed; dpred = scale * (pred - y). dpred may be NULL. */
    double (*mse)(const float *pred, const float *y, int64_t rows, float scale, float *dpred);

    /* ---- optimisers over one flat parameter buffer ----
     * SGD with momentum (velocity v), Nesterov optional, weight decay as L2 on the gradient.
     * v is not touched (may be NULL) when momentum is 0. Exact rules: kernels/cpu/optim.c. */
    void (*sgd_step)(float *w, const float *g, float *v, int64_t n, const mo_sgd_hparams_t *h);
    /* Adam / AdamW with first and second moments m, v. */
    void (*adam_step)(float *w, const float *g, float *m, float *v, int64_t n,
                      const mo_adam_hparams_t *h);

    /* ---- reductions and elementwise ---- */
    double (*sumsq)(const float *x, int64_t n);  /* sum of squares (grad clipping) */
    void (*scale)(float *x, int64_t n, float a); /* x *= a */

    /* ---- devices and streams: NULL on the CPU backend, whose ops are done on return ----
     * A device backend queues its ops in order on one compute stream; results a host reads
     * (losses, sumsq, download) wait for what was queued before them. Errors inside a queued
     * op are sticky: check() reports the first one without waiting. */
    /* Pick this process's device from its node-local rank (modulo the devices visible) and
     * describe it in desc ("cuda:0 NVIDIA H200"). Before any alloc. */
    int (*bind)(int local_rank, char *desc, size_t desc_len, mo_error_t *err);
    int (*check)(mo_error_t *err);
    void (*set_tf32)(int allowed);     /* TF32 tensor cores for the matrix products (opt-in) */
    void *(*host_alloc)(size_t bytes); /* page-locked host memory for async copies */
    void (*host_free)(void *p);
    /* Double-buffered batches, slots 0 and 1: prefetch copies host -> device on a copy
     * stream once compute has released the slot; use_slot makes the compute stream wait for
     * that copy; release_slot marks compute done with the slot (after its backward);
     * host_wait blocks the host until the slot's copy has read its source, which may then be
     * refilled. */
    void (*prefetch)(void *dst, const void *src, size_t bytes, int slot);
    void (*use_slot)(int slot);
    void (*release_slot)(int slot);
    void (*host_wait)(int slot);
    /* Deferred losses: with defer_loss(1) the loss functions queue their sum and return 0;
     * loss_result() waits for the work queued so far and returns the last queued sum. So
     * the host can queue backward and prepare the next batch before it waits. */
    void (*defer_loss)(int on);
    double (*loss_result)(void);
    /* Device -> page-locked host copy, queued; done once loss_result() or sync() returns. */
    void (*download_async)(void *dst, const void *src, size_t bytes);
    /* dst[i, :] = src[idx[i], :] for i < rows, rows of row_words 32-bit words; all three in
     * device memory (idx int64). Queued on the compute stream. */
    void (*gather_rows)(void *dst, const void *src, const int64_t *idx, int64_t rows,
                        int64_t row_words);
    /* Free and total device memory in bytes. */
    int (*mem_info)(size_t *free_bytes, size_t *total_bytes, mo_error_t *err);
} mo_kern_backend_t;

/* The CPU backend (OpenBLAS + plain C); always built. */
const mo_kern_backend_t *mo_kern_cpu(void);

/* The CUDA backend (kernels/cuda/: cuBLAS + CUDA kernels); NULL in a build without CUDA. */
const mo_kern_backend_t *mo_kern_cuda(void);

/* The backend named "cpu", "cuda" or "auto" (CUDA when this build has it and a GPU is
 * visible, else the CPU). "cuda" fails with MO_ENOTBUILT ("built without CUDA") or
 * MO_EINVAL ("no CUDA device visible"): both bad input for a spec (exit 2). */
int mo_kern_backend_get(const mo_kern_backend_t **out, const char *name, mo_error_t *err);

/* CUDA devices this process sees: their count, one line per device into buf ("0: NVIDIA
 * H200, 139.8 GiB, sm_90"), or a negative count with why there are none (built without
 * CUDA: -1; no device or no driver: 0 and the reason). buf may be NULL. */
int mo_kern_cuda_devices(char *buf, size_t len);

/* The CUDA compute stream (a cudaStream_t) that queued ops run on, for comm/'s NCCL
 * allreduce; NULL without CUDA or before bind. */
void *mo_kern_cuda_stream(void);

#endif
