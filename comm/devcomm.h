/* devcomm.h - the gradient allreduce of a device backend (one GPU per rank)
 *
 * Three ways to sum a buffer that lives in device memory across ranks, chosen at start and
 * reported by name (Horovod's order of preference):
 *   nccl     NCCL, bootstrapped over MPI (rank 0's unique id broadcast), on its own stream;
 *            each bucket starts as soon as the compute stream has produced it, so the sums of
 *            late layers overlap the backward pass of early ones. Needs one GPU per rank on
 *            every node (NCCL refuses two ranks on one device).
 *   cuda-mpi MPI on device pointers, when Open MPI says it is CUDA-aware
 *            (MPIX_Query_cuda_support()).
 *   staged   through a page-locked host buffer: download, MPI allreduce, upload.
 * MAESTRO_ALLREDUCE=nccl|cuda-mpi|staged forces one; a forced method that cannot work here is
 * an error (MO_EDEPEND), not a silent fallback.
 *
 * All calls are collective in the sense of MPI: every rank starts the same buckets in the same
 * order, then finishes.
 */
#ifndef MO_COMM_DEVCOMM_H
#define MO_COMM_DEVCOMM_H

#include "comm/comm.h"
#include "kernels/backend.h"

#include <stddef.h>

typedef struct mo_devcomm mo_devcomm_t;

/* For a float buffer of `count` elements in `be`'s memory (be already bound to its device).
 * `why` receives one line for the start-up log ("nccl (2 ranks, one GPU each)"). */
int mo_devcomm_create(mo_devcomm_t **out, mo_comm_t *c, const mo_kern_backend_t *be, size_t count,
                      char *why, size_t why_len, mo_error_t *err);
const char *mo_devcomm_method(const mo_devcomm_t *d);
/* Start summing buf[off, off + n) once the compute work queued so far has written it. */
int mo_devcomm_start(mo_devcomm_t *d, float *buf, size_t off, size_t n, mo_error_t *err);
/* Finish every started bucket of buf (count elements in all): compute work queued after this
 * sees the sums. */
int mo_devcomm_finish(mo_devcomm_t *d, float *buf, size_t count, mo_error_t *err);
void mo_devcomm_destroy(mo_devcomm_t *d);

#endif
