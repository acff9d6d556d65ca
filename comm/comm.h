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

/* All-to-all of bytes: `send` holds, in rank order, send_bytes[r] bytes for rank r; every rank
 * receives in a malloc'd *recv (caller frees) what each rank sent it, in rank order, with
 * recv_bytes[r] (caller's array of size ranks) from rank r and *total in all. Sizes may exceed
 * INT_MAX in total (sent in pieces). */
int mo_comm_alltoallv(mo_comm_t *c, const void *send, const size_t *send_bytes, void **recv,
                      size_t *recv_bytes, size_t *total, mo_error_t *err);
/* Exclusive prefix sum of `value` over ranks (rank 0 gets 0), and the total on every rank. */
int mo_comm_exscan_i64(mo_comm_t *c, int64_t value, int64_t *before, int64_t *total,
                       mo_error_t *err);

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

/* ---- groups of ranks (comm/group.c) --------------------------------------------------------- */

/* Collective over `c`: a handle for the ranks of `c` that passed the same `color`, numbered by
 * `key` (ties by rank in `c`), with MPI_ERRORS_RETURN and its own node-local split. A negative
 * color joins no group: *out is NULL on that rank and 0 is returned. The caller owns *out
 * (mo_comm_destroy frees its communicators; MPI stays up). Every collective, mo_comm_agree and
 * the messages below work on it, with ranks numbered inside the group. Arguments are agreed
 * on before the split, so a bad argument on one rank fails every rank instead of hanging; a
 * failure after the split also fails every rank, and no rank keeps a half-made group. */
int mo_comm_split(mo_comm_t **out, mo_comm_t *c, int color, int key, mo_error_t *err);

/* The sweep layout (docs/operations-mpi.md, "Trial groups"). World rank 0 is the controller.
 * The ranks that run trials (all of them when controller_separate is 0, ranks 1..size-1
 * otherwise) are cut, in rank order, into `parallel_trials` contiguous groups; with W such
 * ranks, each group has W / parallel_trials ranks and the first W % parallel_trials groups one
 * more. With controller_separate 0, rank 0 is the first rank (the leader) of group 0 and runs
 * the controller between that group's steps. Pure arithmetic, no MPI: *first is the world rank
 * of the group's leader, *count its ranks. MO_EINVAL when the layout is impossible. */
int mo_comm_trial_group_range(int *first, int *count, int world_size, int parallel_trials,
                              int controller_separate, int group, mo_error_t *err);

/* Collective over `world`: split it as mo_comm_trial_group_range says. On each rank *group is
 * this rank's group (caller owns it; group rank 0 is the leader) and *group_index its number,
 * 0..parallel_trials-1; the separate controller gets *group NULL and *group_index -1.
 * *n_groups is parallel_trials. parallel_trials larger than the ranks that can run trials is
 * MO_EINVAL ("parallel_trials 4 is larger than the 2 ranks of this run") on every rank. */
int mo_comm_trial_groups(mo_comm_t **group, int *group_index, int *n_groups, mo_comm_t *world,
                         int parallel_trials, int controller_separate, mo_error_t *err);

/* Small point-to-point messages (controller <-> group leaders): opaque bytes with a tag in
 * 0..MO_COMM_MSG_TAGS-1. On the wire the MPI tag is MO_COMM_MSG_TAG_BASE + tag, a range kept
 * for these messages: other point-to-point traffic on a Maestro communicator must use tags
 * outside it. Collectives cannot collide with them whatever the tag (MPI keeps collective
 * traffic in its own context). Messages between two ranks arrive in the order sent (per tag).
 * A message to oneself (the controller is also group 0's leader) is queued in-process. */
#define MO_COMM_MSG_TAGS 64
#define MO_COMM_MSG_TAG_BASE 32000 /* MPI guarantees tags up to 32767 */
#define MO_COMM_ANY_SOURCE (-1)
#define MO_COMM_ANY_TAG (-1)

/* Send `len` bytes (at most INT_MAX) to rank `dest` of `c`. Returns when `buf` may be reused:
 * at once for small messages (sent eagerly by MPI; the limit is transport-dependent, a few
 * KiB to 64 KiB in Open MPI), for larger ones once `dest` polls or receives. */
int mo_comm_send_msg(mo_comm_t *c, int dest, int tag, const void *buf, size_t len, mo_error_t *err);

/* Never waits for a sender: if a message with a tag of the range is waiting from any rank,
 * receive it and set *got to 1, else set *got to 0. On a message, *src is the sender's rank,
 * *tag its tag, *buf a malloc'd copy the caller frees, holding *len bytes followed by a NUL
 * that *len does not count (a text payload is a C string; a 0-byte message gives ""). */
int mo_comm_poll_msg(mo_comm_t *c, int *src, int *tag, void **buf, size_t *len, int *got,
                     mo_error_t *err);

/* Wait for a message from `src` (or MO_COMM_ANY_SOURCE) with `tag` (or MO_COMM_ANY_TAG, any
 * tag of the range); *buf and *len as for mo_comm_poll_msg. Waiting for a message from
 * oneself with none queued is MO_EINVAL (it could never arrive). */
int mo_comm_recv_msg(mo_comm_t *c, int src, int tag, void **buf, size_t *len, mo_error_t *err);

#endif
