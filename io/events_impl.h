/* events_impl.h - what io/events.c, io/events_csv.c and io/events_h5.c share
 *
 * Kept apart from io/io_impl.h so that the event readers build on their own; it could move
 * there once the event table settles.
 */
#ifndef MO_IO_EVENTS_IMPL_H
#define MO_IO_EVENTS_IMPL_H

#include "io/events.h"

#include <string.h>

/* Room for `rows` more rows and `bytes` more pool bytes (NULs included). label_off grows only
 * when it is not NULL (a table read with a label column). 0 or MO_ENOMEM. */
int mo_events_reserve(mo_events_t *ev, int64_t rows, size_t bytes);

/* Copy text into the pool (NUL added) and return its offset; room must have been reserved.
 * A label goes in before its row's key is appended. */
static inline uint64_t mo_events_put_text(mo_events_t *ev, const char *s, size_t len)
{
    uint64_t off = ev->pool_len;
    memcpy(ev->pool + off, s, len);
    ev->pool[off + len] = '\0';
    ev->pool_len += len + 1;
    return off;
}

/* Append a row without checks; room must have been reserved. */
static inline void mo_events_append(mo_events_t *ev, const char *key, size_t len, int64_t ts,
                                    int64_t created)
{
    int64_t i = ev->n++;
    char *k = ev->pool + ev->pool_len;
    memcpy(k, key, len);
    k[len] = '\0';
    ev->key_off[i] = ev->pool_len;
    ev->pool_len += len + 1;
    ev->hash[i] = mo_entity_hash(key, len);
    ev->ts[i] = ts;
    ev->created[i] = created;
}

/* The readers behind mo_events_count / mo_events_read, after the spec was checked. With ev
 * NULL: count only, *rows = the data rows. With ev: rows [first, first + count) appended
 * (count -1: to the end). */
int mo_events_csv_load(mo_events_t *ev, int64_t *rows, const mo_events_spec_t *spec, int64_t first,
                       int64_t count, mo_error_t *err);
int mo_events_h5_load(mo_events_t *ev, int64_t *rows, const mo_events_spec_t *spec, int64_t first,
                      int64_t count, mo_error_t *err);

/* MO_EINVAL: rows [first, first + count) (count -1: to the end) are not all in a table of
 * `total` rows. */
int mo_events_range_error(mo_error_t *err, const char *path, int64_t first, int64_t count,
                          int64_t total);

/* `s` for a message, into buf: at most 40 bytes then "...", control bytes as '?'. */
const char *mo_events_quote(char *buf, size_t size, const char *s, size_t len);

/* "a, b, c" into buf: the n names given (at most 8 are shown), then "and N more" up to
 * `total`; "none" when total is 0. */
void mo_events_list(char *buf, size_t size, const char *const *names, size_t n, size_t total);

#endif
