/* cuda_module.h - the CUDA module: what maestro-cuda.so offers the rest of Maestro
 *
 * Everything that links the CUDA runtime, cuBLAS and NCCL (kernels/cuda/) is built into one
 * shared module, loaded with dlopen the first time something asks for CUDA (`device: cuda` or
 * `auto`, `maestro version`), never at start-up: linking cuBLAS into the binary cost every
 * process ~210 MiB of memory and ~80 ms before main, GPU or not. The module exports one
 * function, MO_CUDA_MODULE_SYMBOL, returning this table; kernels/backend.c finds and loads it
 * (next to the maestro binary, in ../lib/maestro/, at $MAESTRO_CUDA_MODULE, or in the build
 * folder) and answers for it. A table of another ABI is refused.
 */
#ifndef MO_KERNELS_CUDA_MODULE_H
#define MO_KERNELS_CUDA_MODULE_H

#include "kernels/backend.h"

#define MO_CUDA_MODULE_ABI 1
#define MO_CUDA_MODULE_SYMBOL "mo_cuda_module"
#define MO_CUDA_MODULE_FILE "maestro-cuda.so"
/* Bytes of an NCCL unique id (NCCL_UNIQUE_ID_BYTES) */
#define MO_NCCL_ID_BYTES 128

/* One NCCL communicator with its stream and the events that order it against the backend's
 * compute stream (kernels/cuda/nccl_ops.cu). */
typedef struct mo_nccl mo_nccl_t;

typedef struct {
    int abi; /* MO_CUDA_MODULE_ABI */
    /* the backend and its queries (backend.h's mo_kern_cuda, _devices, _stream) */
    const mo_kern_backend_t *(*backend)(void);
    int (*devices)(char *buf, size_t len);
    void *(*stream)(void);
    int (*device_count)(void); /* 0 when none or no driver */
    /* NCCL: rank 0 makes the id, every rank creates its communicator with it; start queues an
     * in-place sum of n floats once the compute stream has produced them; finish makes the
     * compute stream wait for every started sum. */
    int (*nccl_unique_id)(unsigned char *id, mo_error_t *err);
    int (*nccl_create)(mo_nccl_t **out, int size, int rank, const unsigned char *id,
                       mo_error_t *err);
    int (*nccl_start)(mo_nccl_t *h, float *buf, size_t n, mo_error_t *err);
    int (*nccl_finish)(mo_nccl_t *h, mo_error_t *err);
    void (*nccl_destroy)(mo_nccl_t *h);
} mo_cuda_module_t;

typedef const mo_cuda_module_t *(*mo_cuda_module_fn)(void);

/* The module, loaded on first use (thread-safe); NULL in a build without CUDA or when it
 * cannot be loaded (mo_kern_cuda_devices then says why). */
const mo_cuda_module_t *mo_kern_cuda_module(void);

#endif
