/* shuffle.h - event rows to the rank that owns their entity (feature materialisation) */
#ifndef MO_COMM_SHUFFLE_H
#define MO_COMM_SHUFFLE_H

#include "comm/comm.h"
#include "io/events.h"

#include <stdint.h>

#define MO_SHUFFLE_MAX_VALUES 1024

/* The rank that owns `hash` among `size`: contiguous hash ranges in rank order (monotonic in
 * the hash), so the ranks' slabs of a table sorted by hash follow each other. */
static inline int mo_comm_hash_owner(uint64_t hash, int size)
{
    return (int)(((hash >> 32) * (uint64_t)size) >> 32);
}

/* The smallest hash rank r owns (UINT64_MAX for r >= size). */
uint64_t mo_comm_hash_first(int r, int size);

/* Collective: every row of `ev` goes to mo_comm_hash_owner(hash); *ev is replaced by what this
 * rank received (unsorted). */
int mo_comm_shuffle_events(mo_events_t *ev, mo_comm_t *comm, mo_error_t *err);

#endif
