/* collectives.c - broadcast, string broadcast and in-place allreduce, in pieces when large
 *
 * MPI counts are int, Maestro's are size_t: a buffer of more than INT_MAX elements goes as a
 * sequence of calls of at most mo_comm_chunk_limit() elements each. Elementwise reductions
 * and broadcasts are the same done in pieces as done at once, so the result does not depend
 * on the limit. Arguments are checked before any MPI call, so a bad argument is MO_EINVAL
 * and never an MPI error or a crash inside the library.
 */
#include "comm/comm_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The checks bcast and allreduce share. On success *type and *esize describe `dtype`. */
static int check_buffer(const mo_comm_t *c, const char *fn, const void *buf, size_t count,
                        mo_dtype_t dtype, MPI_Datatype *type, size_t *esize, mo_error_t *err)
{
    int ret = mo_comm_check(c, fn, err);
    if (ret)
        return ret;
    *esize = mo_dtype_size(dtype);
    *type = mo_comm_mpi_dtype(dtype);
    if (*esize == 0 || *type == MPI_DATATYPE_NULL)
        return mo_errorf(err, MO_EINVAL, "%s: unknown dtype %d", fn, (int)dtype);
    if (count > 0 && !buf)
        return mo_errorf(err, MO_EINVAL, "%s: buffer is NULL with count %zu", fn, count);
    if (count > SIZE_MAX / *esize)
        return mo_errorf(err, MO_EINVAL, "%s: count %zu of %zu-byte elements overflows size_t", fn,
                         count, *esize);
    return 0;
}

/* Broadcast with no argument checks (callers have made them). */
static int bcast_pieces(mo_comm_t *c, void *buf, size_t count, MPI_Datatype type, size_t esize,
                        int root, mo_error_t *err)
{
    size_t limit = mo_comm_chunk_limit();
    char *p = buf;
    while (count > 0) {
        size_t n = count < limit ? count : limit;
        int rc = MPI_Bcast(p, (int)n, type, root, c->world);
        if (rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, rc, "MPI_Bcast");
        p += n * esize;
        count -= n;
    }
    return 0;
}

int mo_comm_bcast(mo_comm_t *c, void *buf, size_t count, mo_dtype_t dtype, int root,
                  mo_error_t *err)
{
    MPI_Datatype type;
    size_t esize;
    int ret = check_buffer(c, "mo_comm_bcast", buf, count, dtype, &type, &esize, err);
    if (ret)
        return ret;
    if (root < 0 || root >= c->size)
        return mo_errorf(err, MO_EINVAL, "mo_comm_bcast: root %d out of range for %d ranks", root,
                         c->size);
    return bcast_pieces(c, buf, count, type, esize, root, err);
}

/* The string goes as its length (int64, -1 for NULL), then its bytes. Between the two, every
 * rank agrees that its receive buffer was allocated: a rank that could not allocate would
 * otherwise leave the others waiting in the byte broadcast for ever. */
int mo_comm_bcast_string(mo_comm_t *c, char **s, int root, mo_error_t *err)
{
    char *copy = NULL;
    int ret = mo_comm_check(c, "mo_comm_bcast_string", err);
    if (ret)
        return ret;
    if (!s)
        return mo_errorf(err, MO_EINVAL, "mo_comm_bcast_string: s is NULL");
    if (root < 0 || root >= c->size)
        return mo_errorf(err, MO_EINVAL, "mo_comm_bcast_string: root %d out of range for %d ranks",
                         root, c->size);

    int is_root = c->rank == root;
    int64_t len = -1;
    if (is_root && *s)
        len = (int64_t)strlen(*s);
    ret = bcast_pieces(c, &len, 1, MPI_INT64_T, sizeof len, root, err);
    if (ret)
        goto out;
    if (len < 0) {
        /* root's string is NULL: every rank gets NULL */
        if (!is_root)
            *s = NULL;
        goto out;
    }

    int ok = 1;
    if (!is_root) {
        copy = malloc((size_t)len + 1);
        ok = copy != NULL;
    }
    int rc = MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, c->world);
    if (rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, rc, "MPI_Allreduce");
        goto out;
    }
    if (!ok) {
        ret = mo_errorf(err, MO_ENOMEM, "mo_comm_bcast_string: a rank cannot allocate %lld bytes",
                        (long long)len + 1);
        goto out;
    }

    ret = bcast_pieces(c, is_root ? *s : copy, (size_t)len, MPI_BYTE, 1, root, err);
    if (ret)
        goto out;
    if (!is_root) {
        copy[len] = '\0';
        *s = copy;
        copy = NULL;
    }
out:
    free(copy);
    return ret;
}

static MPI_Op mpi_op(mo_op_t op)
{
    switch (op) {
    case MO_OP_SUM:
        return MPI_SUM;
    case MO_OP_MIN:
        return MPI_MIN;
    case MO_OP_MAX:
        return MPI_MAX;
    }
    return MPI_OP_NULL;
}

int mo_comm_allreduce(mo_comm_t *c, void *buf, size_t count, mo_dtype_t dtype, mo_op_t op,
                      mo_error_t *err)
{
    MPI_Datatype type;
    size_t esize;
    int ret = check_buffer(c, "mo_comm_allreduce", buf, count, dtype, &type, &esize, err);
    if (ret)
        return ret;
    MPI_Op mop = mpi_op(op);
    if (mop == MPI_OP_NULL)
        return mo_errorf(err, MO_EINVAL, "mo_comm_allreduce: unknown op %d", (int)op);
    if (dtype == MO_DT_BYTE)
        return mo_errorf(err, MO_EINVAL, "mo_comm_allreduce: bytes cannot be reduced");

    size_t limit = mo_comm_chunk_limit();
    char *p = buf;
    while (count > 0) {
        size_t n = count < limit ? count : limit;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p, (int)n, type, mop, c->world);
        if (rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, rc, "MPI_Allreduce");
        p += n * esize;
        count -= n;
    }
    return 0;
}
