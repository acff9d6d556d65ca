/* nccl_ops.cu - the NCCL gradient allreduce's CUDA side (kernels/cuda_module.h), used by
 * comm/devcomm.c through the module table: a communicator bootstrapped from an id the ranks
 * share, its own non-blocking stream, and two events: the compute stream's "produced" before
 * each sum, NCCL's "reduced" before the compute stream goes on. */
#include "kernels/cuda/check.h"
#include "kernels/cuda/cuda_impl.h"

#include <nccl.h>
#include <stdlib.h>
#include <string.h>

static_assert(sizeof(ncclUniqueId) == MO_NCCL_ID_BYTES, "NCCL unique id size");

struct mo_nccl {
    ncclComm_t comm;
    cudaStream_t stream;
    cudaEvent_t produced, reduced;
    int started;
};

static int nccl_error(mo_error_t *err, ncclResult_t r, const char *what)
{
    return mo_errorf(err, MO_ECUDA, "%s: %s", what, ncclGetErrorString(r));
}

int mo_nccl_unique_id(unsigned char *id, mo_error_t *err)
{
    ncclUniqueId u;
    memset(&u, 0, sizeof u);
    ncclResult_t r = ncclGetUniqueId(&u);
    if (r != ncclSuccess)
        return nccl_error(err, r, "ncclGetUniqueId");
    memcpy(id, &u, sizeof u);
    return 0;
}

void mo_nccl_destroy(mo_nccl_t *h)
{
    if (!h)
        return;
    if (h->comm)
        ncclCommDestroy(h->comm);
    if (h->stream)
        MO_CK(cudaStreamDestroy(h->stream));
    if (h->produced)
        MO_CK(cudaEventDestroy(h->produced));
    if (h->reduced)
        MO_CK(cudaEventDestroy(h->reduced));
    free(h);
}

int mo_nccl_create(mo_nccl_t **out, int size, int rank, const unsigned char *id, mo_error_t *err)
{
    *out = NULL;
    mo_nccl_t *h = (mo_nccl_t *)calloc(1, sizeof *h);
    if (!h)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    ncclUniqueId u;
    memcpy(&u, id, sizeof u);
    ncclResult_t r = ncclCommInitRank(&h->comm, size, u, rank);
    if (r != ncclSuccess) {
        h->comm = NULL;
        mo_nccl_destroy(h);
        return nccl_error(err, r, "ncclCommInitRank");
    }
    if (MO_CK(cudaStreamCreateWithFlags(&h->stream, cudaStreamNonBlocking)) ||
        MO_CK(cudaEventCreateWithFlags(&h->produced, cudaEventDisableTiming)) ||
        MO_CK(cudaEventCreateWithFlags(&h->reduced, cudaEventDisableTiming))) {
        mo_nccl_destroy(h);
        return mo_cuda_failure(err);
    }
    *out = h;
    return 0;
}

int mo_nccl_start(mo_nccl_t *h, float *buf, size_t n, mo_error_t *err)
{
    cudaStream_t compute = (cudaStream_t)mo_kern_cuda_stream();
    if (MO_CK(cudaEventRecord(h->produced, compute)) ||
        MO_CK(cudaStreamWaitEvent(h->stream, h->produced, 0)))
        return mo_cuda_failure(err);
    ncclResult_t r = ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, h->comm, h->stream);
    if (r != ncclSuccess)
        return nccl_error(err, r, "ncclAllReduce");
    h->started = 1;
    return 0;
}

int mo_nccl_finish(mo_nccl_t *h, mo_error_t *err)
{
    if (!h->started)
        return 0;
    cudaStream_t compute = (cudaStream_t)mo_kern_cuda_stream();
    if (MO_CK(cudaEventRecord(h->reduced, h->stream)) ||
        MO_CK(cudaStreamWaitEvent(compute, h->reduced, 0)))
        return mo_cuda_failure(err);
    h->started = 0;
    return 0;
}

int mo_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

/* The module's one visible symbol (the module is built with hidden visibility). */
extern "C" __attribute__((visibility("default"))) const mo_cuda_module_t *mo_cuda_module(void)
{
    static const mo_cuda_module_t table = {
        MO_CUDA_MODULE_ABI,   mo_kern_cuda,      mo_kern_cuda_devices, mo_kern_cuda_stream,
        mo_cuda_device_count, mo_nccl_unique_id, mo_nccl_create,       mo_nccl_start,
        mo_nccl_finish,       mo_nccl_destroy,
    };
    return &table;
}
