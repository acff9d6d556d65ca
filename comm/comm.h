/* comm.h - everything MPI: ranks, collectives, abort
 *
 * Every MPI call in Maestro lives under comm/ (io/ may hand mo_comm_mpi() to parallel HDF5,
 * nothing more). MPI errors return as MO_EMPI with MPI's own error string (the communicators
 * use MPI_ERRORS_RETURN), never as a hang or an abort from inside the library.
 *
 * Works launched by mpirun/srun or alone (a singleton is one rank).
 *
 * Bad arguments are MO_EINVAL, found before any MPI call. Each rank checks its own, so pass
 * the same arguments on every rank: a rank that returns early leaves the others waiting in the
 * collective. Launching and container settings: docs/operations-mpi.md.
 */
#ifndef MO_COMM_COMM_H
#define MO_COMM_COMM_H

#include "core/status.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mo_comm mo_comm_t;

typedef enum {
    MO_DT_INT32 = 0,
    MO_DT_INT64,
    MO_DT_FLOAT,
    MO_DT_DOUBLE,
    MO_DT_BYTE,
} mo_dtype_t;

typedef enum { MO_OP_SUM = 0, MO_OP_MIN, MO_OP_MAX } mo_op_t;

/* Initialise MPI if nobody has (MPI_THREAD_FUNNELED) and wrap MPI_COMM_WORLD, with the
 * node-local split (MPI_COMM_TYPE_SHARED). The caller owns *out: mo_comm_destroy. The world
 * handle finalises MPI when destroyed if it initialised it. argc and argv may both be NULL.
 * On failure MPI is left initialised, so mo_comm_abort(NULL, ...) can still stop every rank. */
int mo_comm_init(mo_comm_t **out, int *argc, char ***argv, mo_error_t *err);
void mo_comm_destroy(mo_comm_t *c);

/* The accessors return -1 (mo_comm_mpi: MPI_COMM_NULL) for a NULL handle. */
int mo_comm_rank(const mo_comm_t *c);
int mo_comm_size(const mo_comm_t *c);
int mo_comm_local_rank(const mo_comm_t *c); /* rank among the ranks on this node */
int mo_comm_local_size(const mo_comm_t *c);
/* The MPI communicator, for parallel HDF5 only. */
MPI_Comm mo_comm_mpi(const mo_comm_t *c);

int mo_comm_barrier(mo_comm_t *c, mo_error_t *err);
/* `count` elements of `dtype` from `root` to all. Counts beyond INT_MAX are sent in pieces. */
int mo_comm_bcast(mo_comm_t *c, void *buf, size_t count, mo_dtype_t dtype, int root,
                  mo_error_t *err);
/* Broadcast a string: on `root` *s is the input; elsewhere *s is replaced by a malloc'd copy.
 * The old *s on non-root ranks is neither read nor freed. A NULL *s on root is allowed and
 * gives NULL on every rank (an optional value that is absent). */
int mo_comm_bcast_string(mo_comm_t *c, char **s, int root, mo_error_t *err);
/* In-place allreduce of `count` elements (sum, min, max over int32/int64/float/double). */
int mo_comm_allreduce(mo_comm_t *c, void *buf, size_t count, mo_dtype_t dtype, mo_op_t op,
                      mo_error_t *err);

/* Allreduce(sum) of a flat float buffer, in place, in buckets of at most `bucket_bytes` (one
 * MPI call each): the fused gradient buffer of a training step. The result equals
 * allreducing each piece separately; bucket_bytes 0 means one call for the whole buffer. */
int mo_comm_allreduce_fused(mo_comm_t *c, float *buf, size_t count, size_t bucket_bytes,
                            mo_error_t *err);

/* Every rank contributes `count` elements (counts may differ); every rank receives the
 * concatenation in rank order in a malloc'd *recv (caller frees) of *total elements. */
int mo_comm_allgatherv(mo_comm_t *c, const void *send, size_t count, mo_dtype_t dtype, void **recv,
                       size_t *total, mo_error_t *err);

/* Collective agreement on failure: every rank passes its local status and error; returns the
 * first failing rank's code on every rank, with that rank's message copied into `err`
 * (prefixed "rank N: " when size > 1). 0 when every rank passed 0. Use it after work that may
 * fail on some ranks only, so all ranks leave together instead of hanging in a collective.
 * The lowest failing rank wins. A message already starting "rank N: " keeps that prefix, so
 * agreeing again one level up does not re-attribute it. With a NULL or empty `err` on the
 * failing rank the message is mo_strerror(code). `err` is cleared when 0 is returned. */
int mo_comm_agree(mo_comm_t *c, int local_rc, mo_error_t *err);

/* Print `rank N: message` on stderr and abort every rank with `exit_code`. Does not return.
 * `c` may be NULL (aborts MPI_COMM_WORLD if MPI is up, else exits). Without MPI the rank is
 * unknown and the line is `maestro: message`. */
void mo_comm_abort(mo_comm_t *c, int exit_code, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* Size in bytes of one element of `dtype`; 0 for a value that is not a mo_dtype_t. */
size_t mo_dtype_size(mo_dtype_t dtype);

#endif
