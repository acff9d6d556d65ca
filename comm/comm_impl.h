/* comm_impl.h - what the comm/ sources share: the handle body, MPI error mapping, chunking
 *
 * Not part of the public API: only the sources in comm/ and tests/comm/ include it.
 */
#ifndef MO_COMM_COMM_IMPL_H
#define MO_COMM_COMM_IMPL_H

#include "comm/comm.h"

#include <stddef.h>

struct mo_comm {
    MPI_Comm world; /* dup of MPI_COMM_WORLD, MPI_ERRORS_RETURN */
    MPI_Comm local; /* ranks sharing this node (MPI_COMM_TYPE_SHARED), MPI_ERRORS_RETURN */
    int rank;
    int size;
    int local_rank;
    int local_size;
    int owns_mpi; /* this handle called MPI_Init_thread, so its destroy finalises */
};

/* Map an MPI return code to MO_EMPI with "<op>: <MPI_Error_string text>" in `err`. */
int mo_comm_mpi_error(mo_error_t *err, int mpi_rc, const char *op);

/* Checks every collective starts with: `c` is a handle and MPI is still up. `fn` names the
 * public function in the message. Calls no MPI routine other than MPI_Finalized. */
int mo_comm_check(const mo_comm_t *c, const char *fn, mo_error_t *err);

/* The MPI datatype of `dtype`, MPI_DATATYPE_NULL when `dtype` is not a mo_dtype_t. */
MPI_Datatype mo_comm_mpi_dtype(mo_dtype_t dtype);

/* Largest element count one MPI call carries; counts above it are sent in pieces. Defaults
 * to INT_MAX (MPI counts are int). Tests lower it to exercise the piecewise path without
 * gigabytes. Returns the previous limit; 0 restores the default; values above INT_MAX are
 * clamped. Process-wide, not thread-safe (MPI is FUNNELED anyway). */
size_t mo_comm_set_chunk_limit(size_t elems);
size_t mo_comm_chunk_limit(void);

#endif
