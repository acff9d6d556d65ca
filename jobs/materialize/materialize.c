/* materialize.c - `kind: materialize`: windowed features from events into the stores
 *
 * Every rank reads a contiguous block of the source, sends each event to the rank that owns
 * its entity (shuffle.c), sorts what it received by (entity, ts, created) and keeps the rows
 * inside the materialised range. Their features are computed while the offline store is
 * written (io/feature_store.h, parallel HDF5, each rank its slab, whose online table holds the
 * latest row per entity): a block of rows at a time, each feature in one pass over the
 * entities of the block (windows.c), so a rank holds its events and one block of features,
 * never every feature of every row. Redis, when configured, gets the same values
 * (io/redis_online.h).
 *
 * Incremental runs start where the store's last range ends: features still look back into
 * older events (they are read again from the source), only the new rows are added, merged
 * into each entity's rows, and the store is rewritten atomically. No new event: nothing is
 * written.
 */
#include "jobs/materialize/materialize.h"

#include "comm/shuffle.h"
#include "core/alloc.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/time.h"
#include "io/atomic.h"
#include "io/feature_store.h"
#include "jobs/materialize/materialize_impl.h"
#include "jobs/materialize/store.h"

#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(void **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    mat_spec_t *s = NULL;
    int rc = mat_spec_parse(&s, spec, err);
    *out = s;
    return rc;
}

static void destroy(void *job)
{
    mat_spec_t *s = job;
    mat_spec_free(s);
}

/* One view's rows on this rank, in store order. Row r is event src[r] (>= 0) or old row
 * -(src[r] + 1); src NULL: row r is event r, and hash, ts and created are the events'. The
 * feature values are not kept: view_values computes them a block of rows at a time when the
 * store is written, so a rank never holds every feature of every row. */
typedef struct {
    int64_t n;
    const char **keys;
    uint64_t *hash;
    int64_t *ts, *created;
    int64_t *src;
    int own;          /* hash, ts and created are this struct's (else the events') */
    mo_fs_rows_t old; /* incremental: the store's rows of this rank's range */
} view_rows_t;

static void view_rows_free(view_rows_t *v)
{
    free(v->keys);
    if (v->own) {
        free(v->hash);
        free(v->ts);
        free(v->created);
    }
    free(v->src);
    mo_fs_rows_free(&v->old);
    memset(v, 0, sizeof *v);
}

static int view_rows_alloc(view_rows_t *v, int64_t n, int with_src, mo_error_t *err)
{
    size_t m = n > 0 ? (size_t)n : 1;
    v->own = 1;
    v->keys = mo_calloc(m, sizeof *v->keys);
    v->hash = mo_calloc(m, sizeof *v->hash);
    v->ts = mo_calloc(m, sizeof *v->ts);
    v->created = mo_calloc(m, sizeof *v->created);
    v->src = with_src ? mo_calloc(m, sizeof *v->src) : NULL;
    int ok = v->keys && v->hash && v->ts && v->created && (!with_src || v->src);
    return ok ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory for %lld feature rows", (long long)n);
}

/* Entity boundaries of sorted events: group_start has n_groups + 1 entries. */
static int entity_groups(const mo_events_t *ev, int64_t **starts, int64_t *n_groups,
                         mo_error_t *err)
{
    int64_t *g = mo_calloc((size_t)ev->n + 1, sizeof *g), k = 0;
    if (!g)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (int64_t i = 0; i < ev->n; i++)
        if (i == 0 || ev->hash[i] != ev->hash[i - 1] ||
            strcmp(ev->pool + ev->key_off[i], ev->pool + ev->key_off[i - 1]) != 0)
            g[k++] = i;
    g[k] = ev->n;
    /* Shrink to fit: one entry a group, not a row. */
    int64_t *fit = realloc(g, ((size_t)k + 1) * sizeof *g);
    *starts = fit ? fit : g;
    *n_groups = k;
    return 0;
}

/* Compare a new row with an old one in store order; old first on ties (older events). */
static int new_before_old(const view_rows_t *v, int64_t i, const mo_fs_rows_t *o, int64_t j)
{
    if (v->hash[i] != o->hash[j])
        return v->hash[i] < o->hash[j];
    int c = strcmp(v->keys[i], o->pool + o->key_off[j]);
    if (c)
        return c < 0;
    if (v->ts[i] != o->event_ts[j])
        return v->ts[i] < o->event_ts[j];
    return v->created[i] < o->created_ts[j];
}

/* Incremental: this rank's old rows merged with the new ones into a fresh view_rows_t. */
static int merge_old(view_rows_t *v, mo_error_t *err)
{
    const mo_fs_rows_t *o = &v->old;
    if (o->n == 0)
        return 0;
    view_rows_t m = {0};
    int rc = view_rows_alloc(&m, v->n + o->n, 1, err);
    int64_t i = 0, j = 0, k = 0;
    while (!rc && (i < v->n || j < o->n)) {
        if (j == o->n || (i < v->n && new_before_old(v, i, o, j))) {
            m.keys[k] = v->keys[i];
            m.hash[k] = v->hash[i];
            m.ts[k] = v->ts[i];
            m.created[k] = v->created[i];
            m.src[k] = v->src ? v->src[i] : i;
            i++;
        } else {
            m.keys[k] = o->pool + o->key_off[j];
            m.hash[k] = o->hash[j];
            m.ts[k] = o->event_ts[j];
            m.created[k] = o->created_ts[j];
            m.src[k] = -(j + 1);
            j++;
        }
        k++;
    }
    if (rc) {
        view_rows_free(&m);
        return rc;
    }
    m.n = k;
    m.old = v->old; /* the merged keys point into the old pool */
    memset(&v->old, 0, sizeof v->old);
    view_rows_free(v);
    *v = m;
    return 0;
}

typedef struct {
    mat_spec_t *s;
    mo_comm_t *comm;
    mo_events_t ev;
    int64_t *groups, n_groups;
    int64_t start, end; /* the range written now */
    int64_t *ranges;    /* all ranges of the store after this run: [n][2] */
    size_t n_ranges;
    mo_fs_t *old;      /* incremental: the store as it was */
    view_rows_t *rows; /* per view */
    int64_t new_rows;  /* on this rank */
    double *scratch;   /* view_values: up to 3 features over the events of a block's entities */
    int64_t *gstart;   /* and their group starts, from 0 */
    int64_t scratch_n, gstart_n;
} mat_run_t;

/* Make this rank's rows of view vi: the events inside [start, end). */
static int compute_view(mat_run_t *m, size_t vi, mo_error_t *err)
{
    mo_events_t *ev = &m->ev;
    view_rows_t *v = &m->rows[vi];
    int64_t keep = 0;
    for (int64_t i = 0; i < ev->n; i++)
        keep += ev->ts[i] >= m->start && ev->ts[i] < m->end;
    int rc = 0;
    if (keep == ev->n) { /* every event is a row: borrow its columns */
        v->keys = mo_calloc(ev->n ? (size_t)ev->n : 1, sizeof *v->keys);
        if (!v->keys)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory for %lld feature rows", (long long)ev->n);
        v->hash = ev->hash;
        v->ts = ev->ts;
        v->created = ev->created;
    } else {
        rc = view_rows_alloc(v, keep, 1, err);
    }
    int64_t k = 0;
    for (int64_t i = 0; !rc && i < ev->n; i++) {
        if (ev->ts[i] < m->start || ev->ts[i] >= m->end)
            continue;
        v->keys[k] = ev->pool + ev->key_off[i];
        if (v->own) {
            v->hash[k] = ev->hash[i];
            v->ts[k] = ev->ts[i];
            v->created[k] = ev->created[i];
            v->src[k] = i;
        }
        k++;
    }
    v->n = keep;
    m->new_rows = keep;
    return rc;
}

/* The group (entity) of event e: the last g with groups[g] <= e. */
static int64_t group_of(const mat_run_t *m, int64_t e)
{
    int64_t lo = 0, hi = m->n_groups; /* groups[lo] <= e < groups[hi] */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (m->groups[mid] <= e)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int grow(void **p, int64_t *cap, int64_t want, size_t elem)
{
    if (want <= *cap)
        return 0;
    void *q = realloc(*p, (size_t)want * elem);
    if (!q)
        return MO_ENOMEM;
    *p = q;
    *cap = want;
    return 0;
}

typedef struct {
    mat_run_t *m;
    size_t vi;
} view_ctx_t;

/* count, sum and mean: computed together when they share a column and a window. */
static int is_sums(mo_agg_t agg)
{
    return agg == MO_AGG_COUNT || agg == MO_AGG_SUM || agg == MO_AGG_MEAN;
}

/* mo_fs_values_fn: the features of rows [first, first + count) of a view. The windows of an
 * event depend only on its entity's events, so the entities of the block's events are
 * computed whole (an entity that straddles two blocks is computed twice: at most two
 * entities a block); old rows (incremental) keep their stored values. */

static int view_values(void *ctx, int64_t first, int64_t count, double *const *out, mo_error_t *err)
{
    mat_run_t *m = ((view_ctx_t *)ctx)->m;
    size_t vi = ((view_ctx_t *)ctx)->vi;
    const mat_view_t *view = &m->s->views[vi];
    const view_rows_t *v = &m->rows[vi];
    const mo_events_t *ev = &m->ev;
    int64_t e_lo = INT64_MAX, e_hi = -1;
    int rc = mo_fault_fail("store_fill", err);
    if (rc)
        return rc;
    for (int64_t r = first; r < first + count; r++) {
        int64_t e = v->src ? v->src[r] : r;
        if (e >= 0) {
            e_lo = e < e_lo ? e : e_lo;
            e_hi = e > e_hi ? e : e_hi;
        }
    }
    int64_t g0 = 0, g1 = 0, base = 0, span = 0;
    if (e_hi >= 0) {
        g0 = group_of(m, e_lo);
        g1 = group_of(m, e_hi) + 1;
        base = m->groups[g0];
        span = m->groups[g1] - base;
        if (grow((void **)&m->scratch, &m->scratch_n, 3 * span, sizeof *m->scratch) ||
            grow((void **)&m->gstart, &m->gstart_n, g1 - g0 + 1, sizeof *m->gstart))
            return mo_errorf(err, MO_ENOMEM, "out of memory for %lld events' features",
                             (long long)span);
        for (int64_t g = g0; g <= g1; g++)
            m->gstart[g - g0] = m->groups[g] - base;
    }
    /* One pass per feature, but one for the count, sum and mean of one column and window. */
    size_t nf = view->n_features;
    unsigned char *done = mo_calloc(nf ? nf : 1, 1);
    if (!done)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t f = 0; !rc && f < nf; f++) {
        if (done[f])
            continue;
        const mat_feature_t *feat = &view->features[f];
        size_t pass[3] = {f, SIZE_MAX, SIZE_MAX}; /* the features this pass computes */
        if (is_sums(feat->agg)) {
            size_t who[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
            who[feat->agg] = f;
            for (size_t g = f + 1; g < nf; g++) {
                const mat_feature_t *o = &view->features[g];
                if (!done[g] && is_sums(o->agg) && who[o->agg] == SIZE_MAX && o->col == feat->col &&
                    o->window_us == feat->window_us)
                    who[o->agg] = g;
            }
            memcpy(pass, who, sizeof pass);
        }
        if (span && !is_sums(feat->agg))
            rc = mo_window_compute(feat->agg, feat->window_us, ev->ts + base, ev->created + base,
                                   ev->vals + (size_t)base * ev->n_values + feat->col, ev->n_values,
                                   span, m->gstart, g1 - g0, m->scratch, err);
        else if (span) {
            double *o[3];
            for (int a = 0; a < 3; a++)
                o[a] = pass[a] == SIZE_MAX ? NULL : m->scratch + (size_t)a * (size_t)span;
            rc = mo_window_sums(feat->window_us, ev->ts + base,
                                ev->vals + (size_t)base * ev->n_values + feat->col, ev->n_values,
                                span, m->gstart, g1 - g0, o[0], o[1], o[2], err);
        }
        for (int a = 0; !rc && a < 3; a++) {
            size_t k = pass[a];
            if (k == SIZE_MAX)
                continue;
            const double *got = span ? m->scratch + (size_t)a * (size_t)span : NULL;
            done[k] = 1;
            if (!v->src && count > 0) { /* every row an event: one stretch of the scratch */
                memcpy(out[k], got + (first - base), (size_t)count * sizeof *got);
                continue;
            }
            for (int64_t r = first; r < first + count; r++) {
                int64_t e = v->src ? v->src[r] : r;
                out[k][r - first] = e >= 0
                                        ? got[e - base]
                                        : v->old.values[(size_t)(-e - 1) * v->old.n_features + k];
            }
        }
    }
    free(done);
    return rc;
}

/* Incremental: the store's view must have the same features; read this rank's old rows. */
static int load_old_view(mat_run_t *m, size_t vi, mo_error_t *err)
{
    const mat_view_t *view = &m->s->views[vi];
    mo_fs_view_info_t info;
    int rc = mo_fs_view(m->old, view->name, &info, err);
    if (rc == MO_ENOTFOUND)
        return 0; /* a view added since: it starts now */
    if (rc)
        return rc;
    int same = info.n_features == view->n_features;
    for (size_t f = 0; same && f < view->n_features; f++)
        same = !strcmp(info.features[f], view->features[f].name) &&
               !strcmp(info.aggs[f], mo_agg_names[view->features[f].agg]) &&
               info.windows_us[f] == view->features[f].window_us;
    if (!same)
        return mo_errorf(err, MO_EINVAL,
                         "incremental: view '%s' in %s has other features than the spec; run "
                         "once with incremental: false to rebuild it",
                         view->name, m->s->offline_path);
    int r = mo_comm_rank(m->comm), size = mo_comm_size(m->comm);
    int64_t lo = 0, hi = info.rows;
    if ((rc = mo_fs_lower_bound(m->old, view->name, mo_comm_hash_first(r, size), &lo, err)))
        return rc;
    if (r + 1 < size &&
        (rc = mo_fs_lower_bound(m->old, view->name, mo_comm_hash_first(r + 1, size), &hi, err)))
        return rc;
    return mo_fs_read_rows(m->old, view->name, lo, hi - lo, &m->rows[vi].old, err);
}

static int write_stores(mat_run_t *m, mo_error_t *err)
{
    const mat_spec_t *s = m->s;
    mo_fs_view_t *views = mo_calloc(s->n_views, sizeof *views);
    mo_fs_feature_t *feats = NULL;
    size_t total_f = 0;
    for (size_t v = 0; v < s->n_views; v++)
        total_f += s->views[v].n_features;
    feats = mo_calloc(total_f ? total_f : 1, sizeof *feats);
    view_ctx_t *ctx = mo_calloc(s->n_views, sizeof *ctx);
    if (!views || !feats || !ctx) {
        free(views);
        free(feats);
        free(ctx);
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t v = 0; v < s->n_views; v++) {
        const mat_view_t *sv = &s->views[v];
        views[v] = (mo_fs_view_t){.name = sv->name,
                                  .entity = s->source.entity,
                                  .ttl_us = sv->ttl_us,
                                  .features = feats + k,
                                  .n_features = sv->n_features,
                                  .ranges_us = m->ranges,
                                  .n_ranges = m->n_ranges,
                                  .n = m->rows[v].n,
                                  .keys = m->rows[v].keys,
                                  .hash = m->rows[v].hash,
                                  .event_ts = m->rows[v].ts,
                                  .created_ts = m->rows[v].created,
                                  .values_fn = view_values,
                                  .values_ctx = &ctx[v],
                                  .no_compression = s->no_compression,
                                  .block_rows = s->block_rows};
        ctx[v] = (view_ctx_t){m, v};
        for (size_t f = 0; f < sv->n_features; f++, k++)
            feats[k] = (mo_fs_feature_t){sv->features[f].name, mo_agg_names[sv->features[f].agg],
                                         sv->features[f].column, sv->features[f].window_us};
    }
    int rc = mat_store_write(s->offline_path, m->comm, views, s->n_views, err);
    free(views);
    free(feats);
    free(ctx);
    return rc;
}

/* A view's rows to Redis. While Redis cannot be reached (down, restarting, loading its data,
 * a reset connection, no reply in time) the rows are sent again after a pause, 0.5 s doubling
 * to 8 s, until online.retry_s has passed since the first failure: the write is idempotent
 * (an entity's row is replaced only by a newer event), so rows a lost batch had already
 * written are harmless to send twice. An error reply (authentication, a wrong key type) is
 * not waited for. */
static int redis_write_view(mo_redis_t *r, const mat_spec_t *s, const mo_redis_view_t *rv,
                            int64_t n, const char **keys, const int64_t *ts, const double *vals,
                            int64_t *w, int64_t *sk, mo_error_t *err)
{
    double until = -1, pause = 0.5;
    for (;;) {
        int rc = mo_redis_write(r, rv, n, keys, ts, vals, w, sk, err);
        if (rc != MO_ESERVICE || !mo_redis_unreachable(r))
            return rc;
        double now = mo_time_mono();
        if (until < 0)
            until = now + s->redis_retry_s;
        if (now + pause > until)
            return mo_errorf(err, rc,
                             "%s (gave up after online.retry_s = %g s; the offline store is "
                             "written: run again with incremental: false to fill Redis)",
                             err->msg, s->redis_retry_s);
        mo_log_warn("materialize", "%s; view %s: trying again in %g s", err->msg, rv->view, pause);
        mo_time_sleep(pause);
        pause = pause * 2 > 8 ? 8 : pause * 2;
    }
}

/* Each rank writes the latest row of each of its entities to Redis. */
static int write_redis(mat_run_t *m, mo_error_t *err)
{
    const mat_spec_t *s = m->s;
    mo_redis_t *r = NULL;
    int rc = mo_redis_open(&r, s->redis_url, 10.0, err);
    int64_t written = 0, skipped = 0;
    for (size_t v = 0; !rc && v < s->n_views; v++) {
        const view_rows_t *rows = &m->rows[v];
        const mat_view_t *sv = &s->views[v];
        size_t nf = sv->n_features;
        const char **names = mo_calloc(nf, sizeof *names);
        const char **keys = mo_calloc(rows->n ? (size_t)rows->n : 1, sizeof *keys);
        int64_t *ts = mo_calloc(rows->n ? (size_t)rows->n : 1, sizeof *ts);
        double **blk = mo_calloc(nf, sizeof *blk);
        int64_t n = 0, bn = MO_FS_BLOCK_ROWS;
        for (size_t f = 0; blk && f < nf; f++)
            if (!(blk[f] = mo_mallocarray((size_t)bn, sizeof **blk)))
                rc = MO_ENOMEM;
        /* The last rows first, then their features, a block of rows at a time as the store
         * was written. */
        for (int64_t i = 0; !rc && i < rows->n; i++) {
            if (i + 1 < rows->n && rows->hash[i + 1] == rows->hash[i] &&
                !strcmp(rows->keys[i + 1], rows->keys[i]))
                continue; /* not the entity's last row */
            keys[n] = rows->keys[i];
            ts[n] = rows->ts[i];
            n++;
        }
        double *vals = mo_calloc((n ? (size_t)n : 1) * nf, sizeof *vals);
        if (rc || !names || !keys || !ts || !blk || !vals)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        view_ctx_t ctx = {m, v};
        for (int64_t lo = 0, j = 0; !rc && lo < rows->n; lo += bn) {
            int64_t cnt = rows->n - lo < bn ? rows->n - lo : bn;
            rc = view_values(&ctx, lo, cnt, blk, err);
            for (int64_t i = lo; !rc && i < lo + cnt; i++) {
                if (i + 1 < rows->n && rows->hash[i + 1] == rows->hash[i] &&
                    !strcmp(rows->keys[i + 1], rows->keys[i]))
                    continue;
                for (size_t f = 0; f < nf; f++)
                    vals[(size_t)j * nf + f] = blk[f][i - lo];
                j++;
            }
        }
        for (size_t f = 0; !rc && f < sv->n_features; f++)
            names[f] = sv->features[f].name;
        mo_redis_view_t rv = {s->project,     sv->name, s->source.entity,
                              s->entity_type, names,    sv->n_features};
        int64_t w = 0, sk = 0;
        if (!rc)
            rc = redis_write_view(r, s, &rv, n, keys, ts, vals, &w, &sk, err);
        written += w;
        skipped += sk;
        free(names);
        free(keys);
        free(ts);
        free(vals);
        for (size_t f = 0; blk && f < nf; f++)
            free(blk[f]);
        free(blk);
    }
    mo_redis_close(r);
    int64_t tw = 0, ts_ = 0, before;
    if (!rc)
        rc = mo_comm_exscan_i64(m->comm, written, &before, &tw, err);
    if (!rc)
        rc = mo_comm_exscan_i64(m->comm, skipped, &before, &ts_, err);
    if (!rc && mo_comm_rank(m->comm) == 0)
        mo_log_info("materialize",
                    "online store (Redis, project %s): %lld entity rows written, "
                    "%lld already as new or newer",
                    s->project, (long long)tw, (long long)ts_);
    return rc;
}

/* The range this run writes, from the spec, the store (incremental) and the events. */
static int pick_range(mat_run_t *m, int *nothing_new, mo_error_t *err)
{
    const mat_spec_t *s = m->s;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int64_t i = 0; i < m->ev.n; i++) {
        lo = m->ev.ts[i] < lo ? m->ev.ts[i] : lo;
        hi = m->ev.ts[i] > hi ? m->ev.ts[i] : hi;
    }
    int rc = mo_comm_allreduce(m->comm, &lo, 1, MO_DT_INT64, MO_OP_MIN, err);
    if (!rc)
        rc = mo_comm_allreduce(m->comm, &hi, 1, MO_DT_INT64, MO_OP_MAX, err);
    if (rc)
        return rc;
    m->start = s->has_start ? s->start_us : lo;
    m->end = s->has_end ? s->end_us : (hi == INT64_MIN ? lo : hi + 1);
    size_t n_old = 0;
    mo_fs_view_info_t info;
    if (m->old && mo_fs_view(m->old, s->views[0].name, &info, NULL) == 0 && info.n_ranges) {
        n_old = info.n_ranges;
        int64_t last_end = info.ranges_us[2 * (n_old - 1) + 1];
        if (m->start < last_end)
            m->start = last_end;
        m->ranges = mo_calloc(2 * (n_old + 1), sizeof *m->ranges);
        if (!m->ranges)
            return mo_errorf(err, MO_ENOMEM, "out of memory");
        memcpy(m->ranges, info.ranges_us, 2 * n_old * sizeof *m->ranges);
    } else if (!(m->ranges = mo_calloc(2, sizeof *m->ranges))) {
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    int64_t in_range = 0, all = 0, before;
    for (int64_t i = 0; i < m->ev.n; i++)
        in_range += m->ev.ts[i] >= m->start && m->ev.ts[i] < m->end;
    rc = mo_comm_exscan_i64(m->comm, in_range, &before, &all, err);
    *nothing_new = !rc && all == 0 && m->old;
    m->ranges[2 * n_old] = m->start;
    m->ranges[2 * n_old + 1] = m->end > m->start ? m->end : m->start;
    m->n_ranges = n_old + 1;
    return rc;
}

static int read_and_shuffle(mat_run_t *m, mo_error_t *err)
{
    int rank = mo_comm_rank(m->comm), size = mo_comm_size(m->comm);
    int64_t rows = 0;
    double t0 = mo_time_mono();
    int rc = mo_comm_agree(m->comm, mo_events_count(&rows, &m->s->source, err), err);
    int64_t first = rows * rank / size, last = rows * (rank + 1) / size;
    if (!rc)
        rc = mo_comm_agree(m->comm, mo_events_read(&m->ev, &m->s->source, first, last - first, err),
                           err);
    double t1 = mo_time_mono();
    mo_log_phase("materialize", "read", t0);
    if (!rc)
        rc = mo_comm_agree(m->comm, mo_comm_shuffle_events(&m->ev, m->comm, err), err);
    mo_log_phase("materialize", "shuffle", t0);
    if (!rc)
        rc = mo_comm_agree(m->comm, mo_events_sort(&m->ev, err), err);
    mo_log_phase("materialize", "sort", t0);
    if (!rc)
        rc = mo_comm_agree(m->comm, entity_groups(&m->ev, &m->groups, &m->n_groups, err), err);
    int64_t ents = m->n_groups, all_ents = 0, before;
    if (!rc)
        rc = mo_comm_exscan_i64(m->comm, ents, &before, &all_ents, err);
    if (!rc && rank == 0)
        mo_log_info("materialize",
                    "%s: %lld events read in %.2f s, shuffled and sorted by entity in %.2f s "
                    "(%lld entities on %d rank%s)",
                    m->s->source.path, (long long)rows, t1 - t0, mo_time_mono() - t1,
                    (long long)all_ents, size, size == 1 ? "" : "s");
    return rc;
}

static int run(void *job, mo_job_ctx_t *ctx, mo_error_t *err)
{
    mat_run_t m = {.s = job, .comm = ctx->comm};
    int rank = mo_comm_rank(ctx->comm);
    double t0 = mo_time_mono();
    int local = 0;
    if (m.s->incremental && access(m.s->offline_path, F_OK) == 0)
        local = mo_fs_open(&m.old, m.s->offline_path, err);
    int rc = mo_comm_agree(ctx->comm, local, err);
    if (!rc)
        rc = read_and_shuffle(&m, err);
    int nothing_new = 0;
    if (!rc)
        rc = pick_range(&m, &nothing_new, err);
    if (!rc && nothing_new) {
        char a[40];
        if (rank == 0)
            mo_log_info("materialize", "incremental: no event since %s; %s is unchanged",
                        mo_ts_format(m.start, a, sizeof a), m.s->offline_path);
        goto done;
    }
    if (!rc) {
        m.rows = mo_calloc(m.s->n_views, sizeof *m.rows);
        rc = mo_comm_agree(ctx->comm, m.rows ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory"), err);
    }
    for (size_t v = 0; !rc && v < m.s->n_views; v++) {
        local = compute_view(&m, v, err);
        if (!local && m.old)
            local = load_old_view(&m, v, err);
        if (!local && m.old)
            local = merge_old(&m.rows[v], err);
        rc = mo_comm_agree(ctx->comm, local, err);
    }
    local = 0;
    if (!rc && rank == 0) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", m.s->offline_path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            local = mo_io_mkdir_p(dir, err);
        }
    }
    if (!rc)
        rc = mo_comm_agree(ctx->comm, rank == 0 ? local : 0, err);
    mo_fs_close(m.old); /* the old store is in memory now; it is about to be replaced */
    m.old = NULL;
    mo_log_phase("materialize", "rows", t0);
    if (!rc)
        rc = write_stores(&m, err);
    mo_log_phase("materialize", "store", t0);
    int64_t rows_now = 0, all_rows = 0, before;
    for (size_t v = 0; m.rows && v < m.s->n_views; v++)
        rows_now = m.rows[v].n;
    if (!rc)
        rc = mo_comm_exscan_i64(ctx->comm, m.new_rows, &before, &all_rows, err);
    if (!rc && rank == 0) {
        char a[40], b[40];
        size_t nf = 0;
        for (size_t v = 0; v < m.s->n_views; v++)
            nf += m.s->views[v].n_features;
        mo_log_info("materialize",
                    "%s: %lld new rows of %zu features in %zu view%s for [%s, %s) in %.2f s",
                    m.s->offline_path, (long long)all_rows, nf, m.s->n_views,
                    m.s->n_views == 1 ? "" : "s", mo_ts_format(m.start, a, sizeof a),
                    mo_ts_format(m.end, b, sizeof b), mo_time_mono() - t0);
    }
    (void)rows_now;
    if (!rc && m.s->redis_url)
        rc = mo_comm_agree(ctx->comm, write_redis(&m, err), err);
done:
    for (size_t v = 0; m.rows && v < m.s->n_views; v++)
        view_rows_free(&m.rows[v]);
    free(m.rows);
    free(m.ranges);
    free(m.groups);
    free(m.scratch);
    free(m.gstart);
    mo_events_free(&m.ev);
    mo_fs_close(m.old);
    return rc;
}

const mo_job_kind_t mo_job_materialize = {
    .name = "materialize",
    .summary = "features from event data into the offline and online stores",
    .parse = parse,
    .run = run,
    .destroy = destroy,
};
