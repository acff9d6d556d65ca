/* check.h - the one checking macro for CUDA runtime and cuBLAS calls, from C++ and C
 *
 * MO_CK(call) evaluates to 0 when the call succeeded; otherwise it keeps the first failure
 * (file:line, the call, the library's message) for the backend's check()/sync() and evaluates
 * to MO_ECUDA. In C++ (kernels/cuda/, the CUDA module) it takes cudaError_t and
 * cublasStatus_t; the C form takes CUDA runtime calls only (nothing outside the module calls
 * CUDA any more: comm/devcomm.c goes through the module's table).
 */
#ifndef MO_KERNELS_CUDA_CHECK_H
#define MO_KERNELS_CUDA_CHECK_H

#ifdef __cplusplus
extern "C" {
#include "core/status.h"
}
#else
#include "core/status.h"
#endif

#include <cuda_runtime_api.h>

#ifdef __cplusplus
#include <cublas_v2.h>
int mo_cuda_ck_(cudaError_t e, const char *what, const char *file, int line);
int mo_cuda_ck_(cublasStatus_t s, const char *what, const char *file, int line);
extern "C" {
#endif

int mo_cuda_ck_rt(int e, const char *what, const char *file, int line);
/* The first failure kept by MO_CK, copied to err (may be NULL); 0 when there was none. */
int mo_cuda_failure(mo_error_t *err);

#ifdef __cplusplus
}
#define MO_CK(call) mo_cuda_ck_((call), #call, __FILE__, __LINE__)
#else
#define MO_CK(call) mo_cuda_ck_rt((int)(call), #call, __FILE__, __LINE__)
#endif

#endif
