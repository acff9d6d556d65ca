/* fused.c - bucketed allreduce of the flat gradient buffer, and allgatherv
 *
 * The trainer keeps every layer's gradient in one flat buffer, so "fusing" tensors is free;
 * what remains is choosing how much to send per MPI call. Buckets bound the size of one call
 * (a huge single message can stall progress elsewhere and, for counts past INT_MAX, is not
 * expressible); everything below the threshold goes in one call, which is what makes a small
 * model's step cost one latency instead of one per layer.
 */
#include "comm/comm_impl.h"

#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int mo_comm_allreduce_fused(mo_comm_t *c, float *buf, size_t count, size_t bucket_bytes,
                            mo_error_t *err)
{
    int rc = mo_comm_check(c, "mo_comm_allreduce_fused", err);
    if (rc)
        return rc;
    if (count && !buf)
        return mo_errorf(err, MO_EINVAL, "mo_comm_allreduce_fused: buffer is NULL");
    size_t per = bucket_bytes / sizeof(float);
    if (per == 0 || per > count)
        per = count;
    for (size_t off = 0; off < count && !rc; off += per) {
        size_t n = count - off < per ? count - off : per;
        rc = mo_comm_allreduce(c, buf + off, n, MO_DT_FLOAT, MO_OP_SUM, err);
    }
    return rc;
}

int mo_comm_allgatherv(mo_comm_t *c, const void *send, size_t count, mo_dtype_t dtype, void **recv,
                       size_t *total, mo_error_t *err)
{
    int rc = mo_comm_check(c, "mo_comm_allgatherv", err);
    if (rc)
        return rc;
    if (!recv || !total || (count && !send))
        return mo_errorf(err, MO_EINVAL, "mo_comm_allgatherv: NULL argument");
    *recv = NULL;
    *total = 0;
    size_t esize = mo_dtype_size(dtype);
    MPI_Datatype type = mo_comm_mpi_dtype(dtype);
    if (!esize || type == MPI_DATATYPE_NULL)
        return mo_errorf(err, MO_EINVAL, "mo_comm_allgatherv: unknown dtype %d", (int)dtype);
    int *counts = mo_calloc((size_t)c->size, sizeof *counts);
    int *displs = mo_calloc((size_t)c->size, sizeof *displs);
    char *out = NULL;
    int mine = count > (size_t)INT32_MAX ? -1 : (int)count;
    /* Every local failure is agreed on before the first data collective: a rank that returned
     * on its own would leave the others waiting in MPI_Allgather. */
    int ok = counts && displs && mine >= 0, all_ok = 0;
    int mpi_rc = MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        rc = mo_comm_mpi_error(err, mpi_rc, "MPI_Allreduce");
        goto out;
    }
    if (!all_ok) {
        rc = mine < 0 ? mo_errorf(err, MO_EINVAL,
                                  "mo_comm_allgatherv: %zu elements is more than one MPI call "
                                  "carries",
                                  count)
                      : mo_errorf(err, MO_ENOMEM,
                                  "mo_comm_allgatherv: a rank could not "
                                  "allocate or holds too many elements");
        goto out;
    }
    mpi_rc = MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        rc = mo_comm_mpi_error(err, mpi_rc, "MPI_Allgather");
        goto out;
    }
    size_t sum = 0;
    for (int r = 0; r < c->size; r++) {
        if (sum > (size_t)INT32_MAX) {
            rc = mo_errorf(err, MO_EINVAL, "mo_comm_allgatherv: more than 2^31 elements in all");
            goto out;
        }
        displs[r] = (int)sum;
        sum += (size_t)counts[r];
    }
    out = mo_mallocarray(sum ? sum : 1, esize);
    /* Every rank must learn whether every other could allocate before the data moves. */
    ok = out != NULL;
    mpi_rc = MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        rc = mo_comm_mpi_error(err, mpi_rc, "MPI_Allreduce");
        goto out;
    }
    if (!all_ok) {
        rc = mo_errorf(err, MO_ENOMEM, "mo_comm_allgatherv: a rank is out of memory");
        goto out;
    }
    mpi_rc = MPI_Allgatherv(send, mine, type, out, counts, displs, type, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        rc = mo_comm_mpi_error(err, mpi_rc, "MPI_Allgatherv");
        goto out;
    }
    *recv = out;
    *total = sum;
    out = NULL;
out:
    free(out);
    free(counts);
    free(displs);
    return rc;
}
