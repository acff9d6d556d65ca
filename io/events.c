/* events.c - event tables in memory: hash, rows, and which reader a file goes to
 *
 * The readers are events_csv.c and events_h5.c, the sort is events_sort.c. The file's first
 * bytes choose the reader (the HDF5 signature), not its name, so a renamed file still reads.
 */
#include "io/events.h"

#include "core/alloc.h"
#include "io/events_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t mo_entity_hash(const char *key, size_t len)
{
    uint64_t x = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        x ^= (unsigned char)key[i];
        x *= UINT64_C(0x100000001b3);
    }
    /* FNV-1a alone leaves the last bytes in the low bits only; ranks split by the high ones. */
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

void mo_events_init(mo_events_t *ev, size_t n_values)
{
    if (!ev)
        return;
    memset(ev, 0, sizeof *ev);
    ev->n_values = n_values;
}

void mo_events_free(mo_events_t *ev)
{
    if (!ev)
        return;
    free(ev->hash);
    free(ev->key_off);
    free(ev->pool);
    free(ev->ts);
    free(ev->created);
    free(ev->vals);
    free(ev->label_off);
    mo_events_init(ev, ev->n_values);
}

int mo_events_reserve(mo_events_t *ev, int64_t rows, size_t bytes)
{
    if (ev->n + rows > ev->cap) {
        int64_t cap = ev->cap ? ev->cap : 1024;
        while (cap < ev->n + rows)
            cap *= 2;
        size_t c = (size_t)cap, nv = ev->n_values ? ev->n_values : 1;
        /* Each array is published as soon as it is moved, so a failure leaves ev valid. */
        uint64_t *h = mo_reallocarray(ev->hash, c, sizeof *h);
        if (h)
            ev->hash = h;
        uint64_t *o = mo_reallocarray(ev->key_off, c, sizeof *o);
        if (o)
            ev->key_off = o;
        int64_t *t = mo_reallocarray(ev->ts, c, sizeof *t);
        if (t)
            ev->ts = t;
        int64_t *cr = mo_reallocarray(ev->created, c, sizeof *cr);
        if (cr)
            ev->created = cr;
        double *v = mo_reallocarray(ev->vals, c, nv * sizeof *v);
        if (v)
            ev->vals = v;
        uint64_t *l = ev->label_off ? mo_reallocarray(ev->label_off, c, sizeof *l) : NULL;
        if (l)
            ev->label_off = l;
        if (!h || !o || !t || !cr || !v || (ev->label_off && !l))
            return MO_ENOMEM;
        ev->cap = cap;
    }
    if (ev->pool_len + bytes > ev->pool_cap) {
        size_t cap = ev->pool_cap ? ev->pool_cap : 4096;
        while (cap < ev->pool_len + bytes)
            cap *= 2;
        char *p = realloc(ev->pool, cap);
        if (!p)
            return MO_ENOMEM;
        ev->pool = p;
        ev->pool_cap = cap;
    }
    return 0;
}

int mo_events_push(mo_events_t *ev, const char *key, size_t key_len, uint64_t hash, int64_t ts,
                   int64_t created, const double *vals, mo_error_t *err)
{
    if (!ev || (!key && key_len))
        return mo_errorf(err, MO_EINVAL, "mo_events_push: NULL table or key");
    if (!key)
        key = "";
    if (memchr(key, '\0', key_len))
        return mo_errorf(err, MO_EINVAL, "mo_events_push: entity key holds a NUL byte");
    if (mo_events_reserve(ev, 1, key_len + 2))
        return mo_errorf(err, MO_ENOMEM, "event table: out of memory at %lld rows",
                         (long long)ev->n);
    int64_t i = ev->n;
    if (ev->label_off)
        ev->label_off[i] = mo_events_put_text(ev, "", 0);
    mo_events_append(ev, key, key_len, ts, created);
    ev->hash[i] = hash; /* the sender's hash, not recomputed: it is part of the row */
    double *row = ev->vals + (size_t)i * ev->n_values;
    for (size_t j = 0; j < ev->n_values; j++)
        row[j] = vals ? vals[j] : NAN;
    return 0;
}

int mo_events_range_error(mo_error_t *err, const char *path, int64_t first, int64_t count,
                          int64_t total)
{
    if (count < 0)
        return mo_errorf(err, MO_EINVAL, "%s: rows from %lld on requested, the table has %lld",
                         path, (long long)first, (long long)total);
    return mo_errorf(err, MO_EINVAL, "%s: rows %lld..%lld requested, the table has %lld", path,
                     (long long)first, (long long)(first + count - 1), (long long)total);
}

const char *mo_events_quote(char *buf, size_t size, const char *s, size_t len)
{
    size_t cut = len > 40 ? 37 : len;
    if (cut + 4 > size)
        cut = size > 4 ? size - 4 : 0;
    for (size_t i = 0; i < cut; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (cut < len && size >= 4) {
        memcpy(buf + cut, "...", 3);
        cut += 3;
    }
    if (size)
        buf[cut < size ? cut : size - 1] = '\0';
    return buf;
}

void mo_events_list(char *buf, size_t size, const char *const *names, size_t n, size_t total)
{
    size_t len = 0, shown = n < 8 ? n : 8;
    buf[0] = '\0';
    for (size_t i = 0; i < shown && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", names[i]);
    if (total > shown && len < size)
        snprintf(buf + len, size - len, " and %zu more", total - shown);
    if (total == 0)
        snprintf(buf, size, "none");
}

/* ---- reading ------------------------------------------------------------------------------ */

static int check_spec(const mo_events_spec_t *spec, mo_error_t *err)
{
    if (!spec || !spec->path || !*spec->path)
        return mo_errorf(err, MO_EINVAL, "event table: no file given");
    if (!spec->entity || !*spec->entity || !spec->timestamp || !*spec->timestamp)
        return mo_errorf(err, MO_EINVAL, "%s: the entity and timestamp columns must be named",
                         spec->path);
    if ((spec->created && !*spec->created) || (spec->label && !*spec->label))
        return mo_errorf(err, MO_EINVAL, "%s: empty created or label column name", spec->path);
    if (spec->n_values && !spec->values)
        return mo_errorf(err, MO_EINVAL, "%s: %zu value columns but no names", spec->path,
                         spec->n_values);
    for (size_t j = 0; j < spec->n_values; j++)
        if (!spec->values[j] || !*spec->values[j])
            return mo_errorf(err, MO_EINVAL, "%s: value column %zu has no name", spec->path, j + 1);
    if (spec->ts_format < MO_TS_AUTO || spec->ts_format > MO_TS_EPOCH_MS)
        return mo_errorf(err, MO_EINVAL, "%s: unknown timestamp format %d", spec->path,
                         (int)spec->ts_format);
    return 0;
}

/* 1 for HDF5, 0 for CSV (anything else fails in the CSV reader with a line and column). */
static int is_hdf5(const char *path, mo_error_t *err)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s", path,
                         errno == ENOENT ? "no such file" : strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && !memcmp(head, sig, sizeof sig);
}

static int load(mo_events_t *ev, int64_t *rows, const mo_events_spec_t *spec, int64_t first,
                int64_t count, mo_error_t *err)
{
    int rc = check_spec(spec, err);
    if (rc)
        return rc;
    if (first < 0 || count < -1)
        return mo_errorf(err, MO_EINVAL, "%s: bad row range (first %lld, count %lld)", spec->path,
                         (long long)first, (long long)count);
    int h5 = is_hdf5(spec->path, err);
    if (h5 < 0)
        return h5;
    return h5 ? mo_events_h5_load(ev, rows, spec, first, count, err)
              : mo_events_csv_load(ev, rows, spec, first, count, err);
}

int mo_events_count(int64_t *rows, const mo_events_spec_t *spec, mo_error_t *err)
{
    if (!rows)
        return mo_errorf(err, MO_EINVAL, "mo_events_count: NULL output");
    *rows = 0;
    return load(NULL, rows, spec, 0, -1, err);
}

int mo_events_read(mo_events_t *ev, const mo_events_spec_t *spec, int64_t first, int64_t count,
                   mo_error_t *err)
{
    int64_t rows = 0;
    if (!ev)
        return mo_errorf(err, MO_EINVAL, "mo_events_read: NULL output");
    mo_events_init(ev, spec ? spec->n_values : 0);
    /* A non-NULL label_off tells mo_events_reserve to grow it with the other columns. */
    if (spec && spec->label && !(ev->label_off = malloc(sizeof *ev->label_off)))
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", spec->path ? spec->path : "?");
    int rc = load(ev, &rows, spec, first, count, err);
    if (rc)
        mo_events_free(ev);
    return rc;
}
