/* alltoall.c - all-to-all of byte buffers of any size, and the int64 exclusive scan
 *
 * The feature shuffle sends each rank's rows to the ranks that own their entities: the bytes
 * per pair are arbitrary and the totals may pass INT_MAX, which MPI_Alltoallv (int counts,
 * int displacements from one base) cannot express. So the counts go first, as uint64
 * (MPI_Alltoall), and then the data goes one of two ways:
 *   - when every rank's send and receive totals fit one MPI call (mo_comm_chunk_limit()):
 *     one MPI_Alltoallv, the usual case and the one MPI implementations optimise;
 *   - otherwise in rounds of point-to-point messages, at most min(limit, 1 GiB) bytes per
 *     peer per round, addressed by size_t offsets so that nothing but a piece's length ever
 *     passes through an int. A round has at most one receive and one send per peer in flight,
 *     which bounds the requests (and the pinned memory) whatever the sizes.
 * Which way is agreed on (an allreduce that also agrees on allocation), because
 * MPI_Alltoallv must be called by every rank or by none. The rounds need no barrier between
 * them: MPI does not let messages between two ranks with one tag overtake each other, and
 * both sides cut a pair's bytes into the same pieces, so piece k meets piece k. A rank's bytes
 * for itself are a memcpy.
 */
#include "comm/comm_impl.h"

#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Outside the mo_comm_send_msg range (MO_COMM_MSG_TAG_BASE..+MO_COMM_MSG_TAGS), so a message
 * waiting for a poll can never be taken for a piece of an exchange, nor the reverse. */
#define ALLTOALL_TAG 31000
/* A bound on one message even when the chunk limit is INT_MAX: 1 GiB pieces keep a round's
 * registered memory modest and stay well inside every transport's limits. */
#define ROUND_BYTES_MAX ((size_t)1 << 30)

_Static_assert(sizeof(size_t) <= sizeof(uint64_t), "byte counts travel as uint64");

/* Where the exchange keeps its per-peer state (one allocation each, freed together). */
typedef struct {
    uint64_t *scount, *rcount; /* bytes to / from each rank */
    size_t *soff, *roff;       /* offsets of each rank's bytes in send / out */
    int *icount, *idispl;      /* the same as ints for MPI_Alltoallv: send then receive */
    MPI_Request *req;          /* 2 per peer: one round's receives and sends */
} plan_t;

static void plan_free(plan_t *pl)
{
    free(pl->scount);
    free(pl->soff);
    free(pl->icount);
    free(pl->req);
}

static int plan_alloc(plan_t *pl, size_t p)
{
    memset(pl, 0, sizeof *pl);
    pl->scount = mo_calloc(2 * p, sizeof *pl->scount);
    pl->soff = mo_calloc(2 * p, sizeof *pl->soff);
    pl->icount = mo_calloc(4 * p, sizeof *pl->icount);
    pl->req = mo_calloc(2 * p, sizeof *pl->req);
    if (!pl->scount || !pl->soff || !pl->icount || !pl->req)
        return 0;
    pl->rcount = pl->scount + p;
    pl->roff = pl->soff + p;
    pl->idispl = pl->icount + 2 * p;
    return 1;
}

/* One MPI_Alltoallv: only called when every total fits an int (agreed on by all ranks). */
static int exchange_once(mo_comm_t *c, const void *send, char *out, const plan_t *pl,
                         mo_error_t *err)
{
    size_t p = (size_t)c->size;
    int *sc = pl->icount, *rc = pl->icount + p, *sd = pl->idispl, *rd = pl->idispl + p;
    for (size_t r = 0; r < p; r++) {
        sc[r] = (int)pl->scount[r];
        rc[r] = (int)pl->rcount[r];
        sd[r] = (int)pl->soff[r];
        rd[r] = (int)pl->roff[r];
    }
    int mpi_rc = MPI_Alltoallv(send, sc, sd, MPI_BYTE, out, rc, rd, MPI_BYTE, c->world);
    return mpi_rc == MPI_SUCCESS ? 0 : mo_comm_mpi_error(err, mpi_rc, "MPI_Alltoallv");
}

/* After a failed post, the requests already posted must not outlive the buffers: receives
 * are cancelled and completed (a receive can always be cancelled); sends are released to
 * finish on their own, since cancelling a send is deprecated and may not succeed. */
static void abandon(MPI_Request *req, int n, int n_recv)
{
    for (int i = 0; i < n; i++) {
        if (i < n_recv) {
            MPI_Cancel(&req[i]);
            MPI_Wait(&req[i], MPI_STATUS_IGNORE);
        } else {
            MPI_Request_free(&req[i]);
        }
    }
}

static int exchange_rounds(mo_comm_t *c, const char *send, char *out, plan_t *pl, mo_error_t *err)
{
    size_t p = (size_t)c->size, me = (size_t)c->rank;
    size_t piece = mo_comm_chunk_limit();
    if (piece > ROUND_BYTES_MAX)
        piece = ROUND_BYTES_MAX;
    if (pl->scount[me])
        memcpy(out + pl->roff[me], send + pl->soff[me], (size_t)pl->scount[me]);

    /* `done`: bytes of every pair that earlier rounds carried. A rank stops when its own pairs
     * are done; a peer with more to exchange with others goes on without it. */
    for (size_t done = 0;; done += piece) {
        int n = 0, n_recv, mpi_rc = MPI_SUCCESS;
        const char *op = "MPI_Irecv";
        for (size_t r = 0; r < p && mpi_rc == MPI_SUCCESS; r++) {
            if (r == me || pl->rcount[r] <= done)
                continue;
            size_t left = (size_t)pl->rcount[r] - done, len = left < piece ? left : piece;
            mpi_rc = MPI_Irecv(out + pl->roff[r] + done, (int)len, MPI_BYTE, (int)r, ALLTOALL_TAG,
                               c->world, &pl->req[n]);
            n += mpi_rc == MPI_SUCCESS;
        }
        n_recv = n;
        if (mpi_rc == MPI_SUCCESS)
            op = "MPI_Isend";
        for (size_t r = 0; r < p && mpi_rc == MPI_SUCCESS; r++) {
            if (r == me || pl->scount[r] <= done)
                continue;
            size_t left = (size_t)pl->scount[r] - done, len = left < piece ? left : piece;
            mpi_rc = MPI_Isend(send + pl->soff[r] + done, (int)len, MPI_BYTE, (int)r, ALLTOALL_TAG,
                               c->world, &pl->req[n]);
            n += mpi_rc == MPI_SUCCESS;
        }
        if (mpi_rc != MPI_SUCCESS) {
            abandon(pl->req, n, n_recv);
            return mo_comm_mpi_error(err, mpi_rc, op);
        }
        if (n == 0)
            return 0;
        mpi_rc = MPI_Waitall(n, pl->req, MPI_STATUSES_IGNORE);
        if (mpi_rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, mpi_rc, "MPI_Waitall");
    }
}

int mo_comm_alltoallv(mo_comm_t *c, const void *send, const size_t *send_bytes, void **recv,
                      size_t *recv_bytes, size_t *total, mo_error_t *err)
{
    static const char fn[] = "mo_comm_alltoallv";
    int ret = mo_comm_check(c, fn, err);
    if (ret)
        return ret;
    if (!send_bytes || !recv || !recv_bytes || !total)
        return mo_errorf(err, MO_EINVAL, "%s: NULL argument", fn);
    *recv = NULL;
    *total = 0;
    size_t p = (size_t)c->size, send_total = 0;
    for (size_t r = 0; r < p; r++) {
        if (send_bytes[r] > SIZE_MAX - send_total)
            return mo_errorf(err, MO_EINVAL, "%s: send sizes overflow size_t", fn);
        send_total += send_bytes[r];
    }
    if (send_total && !send)
        return mo_errorf(err, MO_EINVAL, "%s: send is NULL with %zu bytes to send", fn, send_total);

    plan_t pl;
    char *out = NULL;
    /* Every local failure is agreed on before the next collective: a rank that returned on
     * its own would leave the others waiting in MPI_Alltoall. */
    int ok = plan_alloc(&pl, p), all_ok = 0;
    int mpi_rc = MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, mpi_rc, "MPI_Allreduce");
        goto out;
    }
    if (!all_ok) {
        ret = mo_errorf(err, MO_ENOMEM, "%s: a rank is out of memory for %zu ranks", fn, p);
        goto out;
    }
    for (size_t r = 0, off = 0; r < p; off += send_bytes[r], r++) {
        pl.scount[r] = (uint64_t)send_bytes[r];
        pl.soff[r] = off;
    }
    mpi_rc = MPI_Alltoall(pl.scount, 1, MPI_UINT64_T, pl.rcount, 1, MPI_UINT64_T, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, mpi_rc, "MPI_Alltoall");
        goto out;
    }

    size_t recv_total = 0;
    int fits_size = 1;
    for (size_t r = 0; r < p; r++) {
        pl.roff[r] = recv_total;
        if (pl.rcount[r] > SIZE_MAX - recv_total)
            fits_size = 0;
        else
            recv_total += (size_t)pl.rcount[r];
    }
    if (fits_size)
        out = malloc(recv_total ? recv_total : 1);
    size_t limit = mo_comm_chunk_limit();
    int flags[2] = {out != NULL, send_total <= limit && recv_total <= limit}, all[2] = {0, 0};
    mpi_rc = MPI_Allreduce(flags, all, 2, MPI_INT, MPI_MIN, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, mpi_rc, "MPI_Allreduce");
        goto out;
    }
    if (!all[0]) {
        ret = !fits_size ? mo_errorf(err, MO_EINVAL, "%s: the bytes received overflow size_t", fn)
              : !flags[0]
                  ? mo_errorf(err, MO_ENOMEM, "%s: cannot allocate %zu bytes to receive", fn,
                              recv_total)
                  : mo_errorf(err, MO_ENOMEM, "%s: a rank cannot allocate its receive buffer", fn);
        goto out;
    }
    ret = all[1] ? exchange_once(c, send, out, &pl, err) : exchange_rounds(c, send, out, &pl, err);
    if (ret)
        goto out;
    for (size_t r = 0; r < p; r++)
        recv_bytes[r] = (size_t)pl.rcount[r];
    *recv = out;
    *total = recv_total;
    out = NULL;
out:
    free(out);
    plan_free(&pl);
    return ret;
}

/* Every rank gathers every value and sums them itself: one collective, the same exact
 * answer everywhere, and an overflow every rank sees alike (MPI's own int64 sum would wrap
 * without saying so). */
int mo_comm_exscan_i64(mo_comm_t *c, int64_t value, int64_t *before, int64_t *total,
                       mo_error_t *err)
{
    static const char fn[] = "mo_comm_exscan_i64";
    int ret = mo_comm_check(c, fn, err);
    if (ret)
        return ret;
    if (!before || !total)
        return mo_errorf(err, MO_EINVAL, "%s: NULL argument", fn);
    *before = 0;
    *total = 0;
    int64_t *all = mo_calloc((size_t)c->size, sizeof *all);
    int ok = all != NULL, all_ok = 0;
    int mpi_rc = MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, mpi_rc, "MPI_Allreduce");
        goto out;
    }
    if (!all_ok) {
        ret = mo_errorf(err, MO_ENOMEM, "%s: a rank is out of memory", fn);
        goto out;
    }
    mpi_rc = MPI_Allgather(&value, 1, MPI_INT64_T, all, 1, MPI_INT64_T, c->world);
    if (mpi_rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, mpi_rc, "MPI_Allgather");
        goto out;
    }
    int64_t sum = 0, mine = 0;
    for (int r = 0; r < c->size; r++) {
        if (r == c->rank)
            mine = sum;
        if (__builtin_add_overflow(sum, all[r], &sum)) {
            ret = mo_errorf(err, MO_EINVAL, "%s: the sum over ranks overflows int64 at rank %d", fn,
                            r);
            goto out;
        }
    }
    *before = mine;
    *total = sum;
out:
    free(all);
    return ret;
}
