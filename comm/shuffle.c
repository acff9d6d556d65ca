/* shuffle.c - every event row to the rank that owns its entity
 *
 * Ranks own contiguous ranges of the entity hash (mo_comm_hash_owner), so after the shuffle
 * and a local sort each rank holds a contiguous slab of the feature store's global order. Rows
 * travel as packed records (hash, ts, created, values, key length, key bytes) in one
 * alltoallv.
 */
#include "comm/shuffle.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

static size_t record_size(const mo_events_t *ev, int64_t i)
{
    return 3 * sizeof(int64_t) + ev->n_values * sizeof(double) + sizeof(uint32_t) +
           strlen(ev->pool + ev->key_off[i]);
}

int mo_comm_shuffle_events(mo_events_t *ev, mo_comm_t *comm, mo_error_t *err)
{
    int size = mo_comm_size(comm);
    size_t *bytes = mo_calloc((size_t)size, sizeof *bytes);
    size_t *off = mo_calloc((size_t)size + 1, sizeof *off);
    size_t *recv_bytes = mo_calloc((size_t)size, sizeof *recv_bytes);
    unsigned char *send = NULL;
    void *recv = NULL;
    size_t total = 0;
    int rc = bytes && off && recv_bytes ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < ev->n; i++)
        bytes[mo_comm_hash_owner(ev->hash[i], size)] += record_size(ev, i);
    for (int r = 0; !rc && r < size; r++)
        off[r + 1] = off[r] + bytes[r];
    if (!rc && !(send = malloc(off[size] ? off[size] : 1)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory packing %zu bytes of events", off[size]);
    for (int64_t i = 0; !rc && i < ev->n; i++) {
        int r = mo_comm_hash_owner(ev->hash[i], size);
        unsigned char *p = send + off[r];
        const char *key = ev->pool + ev->key_off[i];
        uint32_t klen = (uint32_t)strlen(key);
        memcpy(p, &ev->hash[i], 8);
        memcpy(p + 8, &ev->ts[i], 8);
        memcpy(p + 16, &ev->created[i], 8);
        memcpy(p + 24, ev->vals + (size_t)i * ev->n_values, ev->n_values * sizeof(double));
        p += 24 + ev->n_values * sizeof(double);
        memcpy(p, &klen, 4);
        memcpy(p + 4, key, klen);
        off[r] += record_size(ev, i);
    }
    size_t n_values = ev->n_values;
    mo_events_free(ev);
    mo_events_init(ev, n_values);
    if (!rc)
        rc = mo_comm_alltoallv(comm, send, bytes, &recv, recv_bytes, &total, err);
    free(send);
    double vals[MO_SHUFFLE_MAX_VALUES];
    if (n_values > MO_SHUFFLE_MAX_VALUES)
        rc = mo_errorf(err, MO_EINVAL, "at most %d value columns, got %zu", MO_SHUFFLE_MAX_VALUES,
                       n_values);
    const unsigned char *p = recv, *end = p ? p + total : NULL;
    while (!rc && p && p < end) {
        uint64_t hash;
        int64_t ts, created;
        uint32_t klen;
        memcpy(&hash, p, 8);
        memcpy(&ts, p + 8, 8);
        memcpy(&created, p + 16, 8);
        memcpy(vals, p + 24, n_values * sizeof(double));
        p += 24 + n_values * sizeof(double);
        memcpy(&klen, p, 4);
        rc = mo_events_push(ev, (const char *)p + 4, klen, hash, ts, created, vals, err);
        p += 4 + klen;
    }
    free(recv);
    free(bytes);
    free(off);
    free(recv_bytes);
    return rc;
}

uint64_t mo_comm_hash_first(int r, int size)
{
    if (r >= size)
        return UINT64_MAX;
    if (r <= 0)
        return 0;
    /* The smallest h32 with h32 * size >= r * 2^32. */
    uint64_t h32 = (((uint64_t)r << 32) + (uint64_t)size - 1) / (uint64_t)size;
    return h32 << 32;
}
