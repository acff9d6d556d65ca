/* feature_store_plan.c - before a feature store is written: each rank's checks and its plan
 * (io/feature_store.h)
 *
 * Every rank holds a sorted slab of each view. Each rank checks its own rows; then, from one
 * small record per rank and view (rows, entity runs, first and last row), which the caller
 * exchanges, every rank knows its offsets, whether an entity runs across a rank boundary (its
 * index entry belongs to the rank of its first row, its online row to the rank of its last)
 * and whether the slabs are in order, with no second pass over the data. Nothing here touches
 * a file or another rank: io/feature_store.c writes from the plan.
 */
#include "io/feature_store.h"

#include "core/alloc.h"
#include "core/str.h"
#include "io/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dataset names inside a view's group; features may not take them. */
static const char *const reserved_names[] = {"key", "hash", "event_ts", "created_ts", "index"};

static int key_cmp(uint64_t ha, const char *ka, uint64_t hb, const char *kb)
{
    return ha != hb ? (ha < hb ? -1 : 1) : strcmp(ka, kb);
}

/* The sort order of rows: (hash, key, event_ts, created_ts). */
static int row_cmp(uint64_t ha, const char *ka, int64_t ta, int64_t ca, uint64_t hb, const char *kb,
                   int64_t tb, int64_t cb)
{
    int c = key_cmp(ha, ka, hb, kb);
    return c ? c : ta != tb ? (ta < tb ? -1 : 1) : (ca > cb) - (ca < cb);
}

/* ---- local checks ---------------------------------------------------------------------- */

/* MO_EINVAL, "path: view 'name': ..." */
__attribute__((format(printf, 4, 5))) static int bad(mo_error_t *err, const char *path,
                                                     const char *view, const char *fmt, ...)
{
    char msg[MO_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mo_errorf(err, MO_EINVAL, "%s: view '%s': %s", path, view ? view : "?", msg);
}

/* Names become HDF5 link names: '/' would make a path, "." names the group itself. */
static int bad_name(const char *name)
{
    return !name || !*name || strchr(name, '/') || !strcmp(name, ".");
}

static int check_meta(const char *path, const mo_fs_view_t *views, size_t iv, mo_error_t *err)
{
    const mo_fs_view_t *v = &views[iv];
    const char *vn = v->name;
    if (bad_name(vn))
        return bad(err, path, vn, "view name '%s' is empty, '.' or holds '/'", vn ? vn : "");
    for (size_t j = 0; j < iv; j++)
        if (!strcmp(views[j].name, vn))
            return mo_errorf(err, MO_EINVAL, "%s: view '%s' is given twice", path, vn);
    if (!v->entity || !*v->entity || v->ttl_us < 0 || v->block_rows < 0)
        return bad(err, path, vn, "no entity column, or ttl_us or block_rows < 0");
    if (v->n_features < 1 || !v->features)
        return bad(err, path, vn, "a view needs at least one feature");
    for (size_t f = 0; f < v->n_features; f++) {
        const char *fn = v->features[f].name;
        if (bad_name(fn))
            return bad(err, path, vn, "feature name '%s' is empty, '.' or holds '/'", fn ? fn : "");
        for (size_t r = 0; r < sizeof reserved_names / sizeof *reserved_names; r++)
            if (!strcmp(fn, reserved_names[r]))
                return bad(err, path, vn, "feature name '%s' is reserved", fn);
        for (size_t g = 0; g < f; g++)
            if (!strcmp(v->features[g].name, fn))
                return bad(err, path, vn, "feature '%s' is given twice", fn);
        if (!v->features[f].agg || !v->features[f].column || v->features[f].window_us < 0)
            return bad(err, path, vn, "feature '%s' needs an agg, a column and a window >= 0", fn);
    }
    if (v->n_ranges && !v->ranges_us)
        return bad(err, path, vn, "ranges_us is NULL");
    for (size_t r = 0; r < v->n_ranges; r++) {
        const int64_t *x = v->ranges_us + 2 * r;
        if (x[0] >= x[1] || (r && x[0] < x[-1]))
            return bad(err, path, vn, "range %zu [%lld, %lld) is empty or overlaps the one before",
                       r, (long long)x[0], (long long)x[1]);
    }
    return 0;
}

/* Check this rank's rows of view `v`; *maxlen: the longest key. */
static int check_rows(const char *path, const mo_fs_view_t *v, int64_t *maxlen, mo_error_t *err)
{
    *maxlen = 0;
    if (v->n < 0 || (v->n && (!v->keys || !v->hash || !v->event_ts || !v->created_ts ||
                              (!v->values && !v->values_fn))))
        return bad(err, path, v->name, "%lld rows, or a NULL column", (long long)v->n);
    for (size_t f = 0; v->n && !v->values_fn && f < v->n_features; f++)
        if (!v->values[f])
            return bad(err, path, v->name, "feature '%s' has no values", v->features[f].name);
    for (int64_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i];
        size_t len = k ? strnlen(k, MO_FS_KEY_MAX + 1) : 0;
        if (!k || len > MO_FS_KEY_MAX)
            return bad(err, path, v->name, "this rank's row %lld: key is %s (at most %d bytes)",
                       (long long)i, k ? "too long" : "NULL", MO_FS_KEY_MAX);
        *maxlen = (int64_t)len > *maxlen ? (int64_t)len : *maxlen;
        /* Readers find entities by this hash: a wrong one would make an entity unfindable. */
        if (v->hash[i] != mo_entity_hash(k, len))
            return bad(err, path, v->name,
                       "this rank's row %lld: hash of key '%s' is not mo_entity_hash", (long long)i,
                       k);
        if (i && row_cmp(v->hash[i - 1], v->keys[i - 1], v->event_ts[i - 1], v->created_ts[i - 1],
                         v->hash[i], k, v->event_ts[i], v->created_ts[i]) > 0)
            return bad(err, path, v->name,
                       "this rank's row %lld is out of order (rows must be sorted by hash, key, "
                       "event_ts, created_ts)",
                       (long long)i);
    }
    return 0;
}

int mo_fs_check(const char *path, const mo_fs_view_t *views, size_t n_views, int64_t *key_len,
                mo_error_t *err)
{
    int rc = 0;
    if (!path || !*path || (n_views && (!views || !key_len)))
        return mo_errorf(err, MO_EINVAL, "mo_fs_check: a path and views are required");
    for (size_t i = 0; !rc && i < n_views; i++)
        if (!(rc = check_meta(path, views, i, err)))
            rc = check_rows(path, &views[i], &key_len[i], err);
    return rc;
}

uint64_t mo_fs_fingerprint(const mo_fs_view_t *views, size_t n_views)
{
    mo_buf_t b = {0};
    for (size_t i = 0; views && i < n_views; i++) {
        const mo_fs_view_t *v = &views[i];
        mo_buf_printf(&b, "%s|%s|%lld|%zu|%zu|%d|%lld|", v->name, v->entity, (long long)v->ttl_us,
                      v->n_features, v->n_ranges, v->no_compression, (long long)v->block_rows);
        for (size_t f = 0; f < v->n_features; f++)
            mo_buf_printf(&b, "%s|%s|%s|%lld|", v->features[f].name, v->features[f].agg,
                          v->features[f].column, (long long)v->features[f].window_us);
        for (size_t r = 0; r < 2 * v->n_ranges; r++)
            mo_buf_printf(&b, "%lld|", (long long)v->ranges_us[r]);
    }
    uint64_t h = b.failed ? 0 : mo_entity_hash(b.data ? b.data : "", b.len);
    mo_buf_free(&b);
    return h;
}

/* ---- the plan: who writes what where ----------------------------------------------------- */

/* One rank's record for one view, followed on the wire by its first and last key, each
 * padded to width + 1 bytes; records are rounded up to 8 bytes, so each is aligned. */
typedef struct {
    int64_t n, runs, first_run; /* rows, entity runs, rows of the first run */
    int64_t first_ts, first_created, last_ts, last_created;
    uint64_t first_hash, last_hash;
} bound_t;

struct mo_fs_plan {
    mo_fs_part_t part;    /* the outcome, once finished */
    int64_t runs, *start; /* run r (one entity) is local rows start[r] .. start[r + 1] - 1 */
    int64_t *block;       /* idx_row, idx_first, idx_count and onl_row, one after the other */
    char *rec;            /* this rank's record: a bound_t, then the first and last key */
    size_t rec_size;
    int finished;
};

/* A rank's record as received, and where its first entity belongs. */
typedef struct {
    const bound_t *b;
    const char *first, *last; /* keys */
    int cont;       /* its first entity continues the last of the previous rank with rows */
    int cont_after; /* its last entity continues on the next rank with rows */
} peer_t;

int mo_fs_plan_create(mo_fs_plan_t **out, const char *path, const mo_fs_view_t *v, size_t width,
                      mo_error_t *err)
{
    int rc = 0;
    mo_fs_plan_t *p = NULL;
    if (out)
        *out = NULL;
    if (!out || !path || !v || v->n < 0 || width < 1 || width > MO_FS_KEY_MAX ||
        (v->n && (!v->keys || !v->hash || !v->event_ts || !v->created_ts)))
        return mo_errorf(err, MO_EINVAL,
                         "mo_fs_plan_create: a view and a width in 1..%d are required",
                         MO_FS_KEY_MAX);
    int64_t z = v->n - 1;
    if (v->n && (strlen(v->keys[0]) > width || strlen(v->keys[z]) > width))
        return bad(err, path, v->name, "this rank's first or last key is longer than %zu", width);
    if (!(p = mo_calloc(1, sizeof *p))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: view '%s': out of memory", path, v->name);
        goto out;
    }
    p->part.n = v->n;
    p->part.width = width;
    p->rec_size = (sizeof(bound_t) + 2 * (width + 1) + 7) / 8 * 8;
    p->start = mo_mallocarray((size_t)v->n + 1, sizeof *p->start);
    p->rec = mo_calloc(1, p->rec_size);
    if (!p->start || !p->rec) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: view '%s': out of memory", path, v->name);
        goto out;
    }
    for (int64_t i = 0; i < v->n; i++)
        if (!i || key_cmp(v->hash[i - 1], v->keys[i - 1], v->hash[i], v->keys[i]))
            p->start[p->runs++] = i;
    p->start[p->runs] = v->n;
    if (v->n) { /* an empty rank's record stays zero */
        *(bound_t *)(void *)p->rec = (bound_t){
            v->n,           p->runs,          p->start[1], v->event_ts[0], v->created_ts[0],
            v->event_ts[z], v->created_ts[z], v->hash[0],  v->hash[z]};
        memcpy(p->rec + sizeof(bound_t), v->keys[0], strlen(v->keys[0]));
        memcpy(p->rec + sizeof(bound_t) + width + 1, v->keys[z], strlen(v->keys[z]));
    }
    *out = p;
    p = NULL;
out:
    mo_fs_plan_destroy(p);
    return rc;
}

const void *mo_fs_plan_record(const mo_fs_plan_t *p, size_t *size)
{
    if (size)
        *size = p ? p->rec_size : 0;
    return p ? p->rec : NULL;
}

const mo_fs_part_t *mo_fs_plan_part(const mo_fs_plan_t *p)
{
    return p && p->finished ? &p->part : NULL;
}

void mo_fs_plan_destroy(mo_fs_plan_t *p)
{
    if (!p)
        return;
    free(p->start);
    free(p->block);
    free(p->rec);
    free(p);
}

/* From every rank's record: offsets, entities crossing rank boundaries, slab order. */
int mo_fs_plan_finish(mo_fs_plan_t *p, const char *path, const mo_fs_view_t *v, const void *all,
                      int rank, int size, mo_error_t *err)
{
    int rc = 0;
    if (!p || !path || !v || !all || size < 1 || rank < 0 || rank >= size || v->n != p->part.n)
        return mo_errorf(err, MO_EINVAL,
                         "mo_fs_plan_finish: this view's plan, records and a rank required");
    const char *recs = all;
    size_t rec_size = p->rec_size;
    mo_fs_part_t *t = &p->part;
    /* Afresh each time: a plan may be finished again with other records. */
    free(p->block);
    p->block = NULL;
    p->finished = 0;
    *t = (mo_fs_part_t){.n = t->n, .width = t->width};
    peer_t *q = mo_calloc((size_t)size, sizeof *q), *a;
    if (!q)
        return mo_errorf(err, MO_ENOMEM, "%s: view '%s': out of memory", path, v->name);
    for (int r = 0, prev = -1; r < size; r++) {
        q[r].b = (const bound_t *)(const void *)(recs + (size_t)r * rec_size);
        q[r].first = (const char *)(q[r].b + 1);
        q[r].last = q[r].first + t->width + 1;
        if (!q[r].b->n)
            continue;
        if (prev >= 0) {
            a = &q[prev];
            if (row_cmp(a->b->last_hash, a->last, a->b->last_ts, a->b->last_created,
                        q[r].b->first_hash, q[r].first, q[r].b->first_ts,
                        q[r].b->first_created) > 0) {
                rc = mo_errorf(err, MO_EINVAL,
                               "%s: view '%s': rank %d's first row sorts before rank %d's last "
                               "(slabs must be in rank order)",
                               path, v->name, r, prev);
                goto out;
            }
            q[r].cont = key_cmp(a->b->last_hash, a->last, q[r].b->first_hash, q[r].first) == 0;
            a->cont_after = q[r].cont;
        }
        prev = r;
    }
    if (q[rank].b->n != t->n || q[rank].b->runs != (t->n ? p->runs : 0)) {
        rc = mo_errorf(err, MO_EINVAL, "mo_fs_plan_finish: record %d is not this plan's", rank);
        goto out;
    }
    int64_t ents_before = 0, after = 0;
    for (int r = 0; r < size; r++) {
        int64_t n = q[r].b->n, n_idx = q[r].b->runs - q[r].cont;
        t->total += n;
        t->entities += n_idx;
        t->off += r < rank ? n : 0;
        ents_before += r < rank ? n_idx : 0;
        t->max_n = n > t->max_n ? n : t->max_n;
    }
    /* The rows of this rank's last entity on higher ranks: through every rank that holds only
     * that entity, into the first one that holds more. */
    for (int r = rank + 1; q[rank].cont_after && r < size; r++) {
        if (!q[r].b->n)
            continue;
        if (!q[r].cont)
            break;
        after += q[r].b->first_run;
        if (q[r].b->runs > 1)
            break;
    }
    int64_t n_idx = p->runs - q[rank].cont, n_onl = p->runs - q[rank].cont_after;
    int64_t *row, *first, *count, *onl;
    if (!(p->block = mo_mallocarray((size_t)(3 * n_idx + n_onl + 1), sizeof(int64_t)))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: view '%s': out of memory", path, v->name);
        goto out;
    }
    t->idx_row = row = p->block;
    t->idx_first = first = row + n_idx;
    t->idx_count = count = first + n_idx;
    t->onl_row = onl = count + n_idx;
    t->n_idx = n_idx;
    t->idx_off = ents_before;
    t->n_onl = n_onl;
    t->onl_off = ents_before - q[rank].cont;
    for (int64_t r = q[rank].cont, i = 0; r < p->runs; r++, i++) {
        row[i] = p->start[r];
        first[i] = t->off + p->start[r];
        count[i] = p->start[r + 1] - p->start[r] + (r == p->runs - 1 ? after : 0);
    }
    for (int64_t r = 0; r < n_onl; r++)
        onl[r] = p->start[r + 1] - 1;
    p->finished = 1;
out:
    free(q);
    return rc;
}
