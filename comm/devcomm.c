/* devcomm.c - the gradient allreduce of a device backend: NCCL, CUDA-aware MPI, or staged
 *
 * See devcomm.h for the choice. The staged and CUDA-aware paths work with any backend table
 * (they need only sync, download and upload), so they are built everywhere; NCCL goes through
 * the CUDA module (kernels/cuda_module.h), which holds every call into CUDA and NCCL.
 */
#include "comm/devcomm.h"

#include "comm/comm_impl.h"
#include "core/alloc.h"
#include "kernels/cuda_module.h"

#include <mpi-ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { M_NCCL = 0, M_CUDA_MPI, M_STAGED } method_t;
static const char *const method_names[] = {"nccl", "cuda-mpi", "staged"};

struct mo_devcomm {
    method_t method;
    mo_comm_t *comm;
    const mo_kern_backend_t *be;
    float *host; /* staged: page-locked copy of the buffer */
    size_t count;
    const mo_cuda_module_t *cuda; /* NCCL: the module, and its communicator */
    mo_nccl_t *nccl;
};

static int cuda_aware_mpi(void)
{
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
    return MPIX_Query_cuda_support();
#else
    return 0;
#endif
}

/* Rank 0 makes the NCCL id, every rank gets it and joins. */
static int nccl_create(mo_devcomm_t *d, mo_error_t *err)
{
    unsigned char id[MO_NCCL_ID_BYTES];
    memset(id, 0, sizeof id);
    d->cuda = mo_kern_cuda_module();
    int local = d->cuda ? 0 : mo_errorf(err, MO_EDEPEND, "NCCL: the CUDA module is not loaded");
    if (!local && mo_comm_rank(d->comm) == 0)
        local = d->cuda->nccl_unique_id(id, err);
    int rc = mo_comm_allreduce(d->comm, &local, 1, MO_DT_INT32, MO_OP_MIN, err);
    if (!rc && local)
        rc = local;
    if (!rc)
        rc = mo_comm_bcast(d->comm, id, sizeof id, MO_DT_BYTE, 0, err);
    if (!rc)
        rc = d->cuda->nccl_create(&d->nccl, mo_comm_size(d->comm), mo_comm_rank(d->comm), id, err);
    return rc;
}

/* Can NCCL work here: built with it, a CUDA backend, and no two ranks of a node on one GPU. */
static int nccl_possible(mo_comm_t *c, const mo_kern_backend_t *be, char *why, size_t len,
                         mo_error_t *err)
{
    /* A host backend never needs the module (and is not worth loading it for). */
    const mo_cuda_module_t *m = be && be != mo_kern_cpu() ? mo_kern_cuda_module() : NULL;
    if (!m) {
        snprintf(why, len, "%s", be == mo_kern_cpu() ? "a CPU backend" : "no CUDA module (NCCL)");
        return 0;
    }
    int ndev = be == mo_kern_cuda() ? m->device_count() : 0;
    int crowded = mo_comm_local_size(c) > ndev;
    int rc = mo_comm_allreduce(c, &crowded, 1, MO_DT_INT32, MO_OP_MAX, err);
    if (rc)
        return rc;
    if (crowded)
        snprintf(why, len, "more ranks on a node than GPUs (NCCL needs one GPU per rank)");
    return crowded ? 0 : 1;
}

int mo_devcomm_create(mo_devcomm_t **out, mo_comm_t *c, const mo_kern_backend_t *be, size_t count,
                      char *why, size_t why_len, mo_error_t *err)
{
    *out = NULL;
    mo_devcomm_t *d = mo_calloc(1, sizeof *d);
    if (!d)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    d->comm = c;
    d->be = be;
    d->count = count;
    const char *force = getenv("MAESTRO_ALLREDUCE");
    int forced = -1;
    for (int m = 0; force && *force && m < 3; m++)
        if (!strcmp(force, method_names[m]))
            forced = m;
    int rc = 0;
    if (force && *force && forced < 0)
        rc = mo_errorf(err, MO_EINVAL, "MAESTRO_ALLREDUCE=%.32s: expected nccl, cuda-mpi or staged",
                       force);
    char no_nccl[128] = "";
    int nccl_ok = 0;
    if (!rc && (forced < 0 || forced == M_NCCL)) {
        nccl_ok = nccl_possible(c, be, no_nccl, sizeof no_nccl, err);
        rc = nccl_ok < 0 ? nccl_ok : 0;
    }
    int aware = cuda_aware_mpi();
    if (!rc && forced == M_NCCL && !nccl_ok)
        rc = mo_errorf(err, MO_EDEPEND, "MAESTRO_ALLREDUCE=nccl, but %s", no_nccl);
    if (!rc && forced == M_CUDA_MPI && !aware)
        rc = mo_errorf(err, MO_EDEPEND,
                       "MAESTRO_ALLREDUCE=cuda-mpi, but this MPI is not CUDA-aware "
                       "(MPIX_Query_cuda_support() is 0)");
    if (!rc) {
        d->method = forced >= 0 ? (method_t)forced
                    : nccl_ok   ? M_NCCL
                    : aware     ? M_CUDA_MPI
                                : M_STAGED;
        int n = mo_comm_size(c);
        if (d->method == M_NCCL)
            snprintf(why, why_len, "nccl (%d rank%s, one GPU each)", n, n == 1 ? "" : "s");
        else if (d->method == M_CUDA_MPI)
            snprintf(why, why_len, "cuda-mpi (CUDA-aware MPI on device buffers%s%s)",
                     no_nccl[0] ? "; not NCCL: " : "", no_nccl);
        else
            snprintf(why, why_len, "staged through host memory (%s%s)",
                     no_nccl[0] ? no_nccl : "forced", aware ? "" : "; MPI is not CUDA-aware");
    }
    if (!rc && d->method == M_NCCL)
        rc = nccl_create(d, err);
    if (!rc && d->method == M_STAGED) {
        d->host = be->host_alloc ? be->host_alloc(count * sizeof(float))
                                 : mo_calloc(count ? count : 1, sizeof(float));
        if (!d->host)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory for a %zu-float staging buffer", count);
    }
    /* Every rank must agree before anyone uses the handle in a collective. */
    rc = mo_comm_agree(c, rc, err);
    if (rc) {
        mo_devcomm_destroy(d);
        return rc;
    }
    *out = d;
    return 0;
}

const char *mo_devcomm_method(const mo_devcomm_t *d)
{
    return d ? method_names[d->method] : "none";
}

int mo_devcomm_start(mo_devcomm_t *d, float *buf, size_t off, size_t n, mo_error_t *err)
{
    if (!d || off + n > d->count)
        return mo_errorf(err, MO_EINVAL, "mo_devcomm_start: bucket outside the buffer");
    if (d->method == M_NCCL)
        return d->cuda->nccl_start(d->nccl, buf + off, n, err);
    (void)buf;
    return 0; /* the other methods move the whole buffer at finish */
}

int mo_devcomm_finish(mo_devcomm_t *d, float *buf, size_t count, mo_error_t *err)
{
    if (!d || count > d->count)
        return mo_errorf(err, MO_EINVAL, "mo_devcomm_finish: buffer larger than created for");
    int rc = 0;
    switch (d->method) {
    case M_NCCL:
        rc = d->cuda->nccl_finish(d->nccl, err);
        break;
    case M_CUDA_MPI:
        rc = d->be->sync(err);
        if (!rc)
            rc = mo_comm_allreduce(d->comm, buf, count, MO_DT_FLOAT, MO_OP_SUM, err);
        break;
    case M_STAGED:
        d->be->download(d->host, buf, count * sizeof(float));
        rc = d->be->check ? d->be->check(err) : 0;
        if (!rc)
            rc = mo_comm_allreduce(d->comm, d->host, count, MO_DT_FLOAT, MO_OP_SUM, err);
        if (!rc)
            d->be->upload(buf, d->host, count * sizeof(float));
        break;
    }
    return rc;
}

void mo_devcomm_destroy(mo_devcomm_t *d)
{
    if (!d)
        return;
    if (d->nccl)
        d->cuda->nccl_destroy(d->nccl);
    if (d->host) {
        if (d->be->host_free)
            d->be->host_free(d->host);
        else
            free(d->host);
    }
    free(d);
}
