/* dataset.c - `kind: dataset`: a point-in-time-correct training set from the feature store
 *
 * For each entity row (entity, timestamp ts, label) and each requested feature: the store row
 * of that entity with the greatest event_ts such that ts - ttl <= event_ts <= ts, created_ts
 * breaking ties (Feast's rule); none gives the fill value. Never a later row: no leakage.
 *
 * Parallel like materialisation: each rank reads a block of the entity rows, sends them to the
 * rank that owns their entity's hash range (comm/shuffle.h), which reads its contiguous slab of
 * each view once and answers every lookup in one merge pass over rows sorted the same way. The
 * answers go back to the rank that read the row, so every rank holds its block in input order;
 * rank 0 gathers them and writes the dataset (io/dataset.h), labels mapped as `data import`
 * maps them.
 */
#include "jobs/dataset/dataset.h"

#include "comm/shuffle.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "jobs/dataset/dataset_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(void **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    ds_spec_t *s = NULL;
    int rc = ds_spec_parse(&s, spec, err);
    *out = s;
    return rc;
}

static void destroy(void *job)
{
    ds_spec_free(job);
}

/* Per view: the features asked from it and where they go in the output row. */
typedef struct {
    const char *view;
    int64_t ttl_us;
    size_t *src; /* index of each wanted feature among the view's features */
    size_t *dst; /* its column in the output */
    size_t n;
    size_t n_view_features;
} view_need_t;

/* Resolve every `view:feature` against the store: exit 2 at the ref's location if unknown. */
static int resolve(const ds_spec_t *s, mo_fs_t *fs, view_need_t **needs, size_t *n_needs,
                   mo_error_t *err)
{
    view_need_t *v = mo_calloc(s->n_features, sizeof *v);
    size_t nv = 0;
    if (!v)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < s->n_features && !rc; i++) {
        const ds_ref_t *r = &s->features[i];
        mo_fs_view_info_t info;
        mo_error_t why = {0};
        if (mo_fs_view(fs, r->view, &info, &why)) {
            rc = mo_errorf(err, MO_EINVAL, "%s: %s", r->where, why.msg);
            break;
        }
        size_t f = 0;
        while (f < info.n_features && strcmp(info.features[f], r->feature))
            f++;
        if (f == info.n_features) {
            mo_buf_t b = {0};
            for (size_t k = 0; k < info.n_features; k++)
                mo_buf_printf(&b, "%s%s", k ? ", " : "", info.features[k]);
            rc = mo_errorf(err, MO_EINVAL, "%s: view '%s' in %s has no feature '%s' (it has: %s)",
                           r->where, r->view, s->store, r->feature, b.data ? b.data : "");
            mo_buf_free(&b);
            break;
        }
        size_t k = 0;
        while (k < nv && strcmp(v[k].view, r->view))
            k++;
        if (k == nv) {
            v[nv].view = r->view;
            v[nv].ttl_us = info.ttl_us;
            v[nv].n_view_features = info.n_features;
            v[nv].src = mo_calloc(s->n_features, sizeof(size_t));
            v[nv].dst = mo_calloc(s->n_features, sizeof(size_t));
            if (!v[nv].src || !v[nv].dst)
                rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            nv++;
        }
        if (!rc) {
            v[k].src[v[k].n] = f;
            v[k].dst[v[k].n++] = i;
        }
    }
    *needs = v;
    *n_needs = nv;
    return rc;
}

static void needs_free(view_need_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].src);
        free(v[i].dst);
    }
    free(v);
}

/* Compare entity row i of q with store row j of r in store order (hash, key). */
static int cmp_entity(const mo_events_t *q, int64_t i, const mo_fs_rows_t *r, int64_t j)
{
    if (q->hash[i] != r->hash[j])
        return q->hash[i] < r->hash[j] ? -1 : 1;
    return strcmp(q->pool + q->key_off[i], r->pool + r->key_off[j]);
}

/* One pass: q sorted by (hash, key, ts); rows sorted by (hash, key, event_ts, created_ts). For
 * each query the last row of its entity with event_ts <= ts, if within ttl. out[i * width +
 * dst] gets the feature values (fill stays where none). */
static void join_view(const mo_events_t *q, const mo_fs_rows_t *rows, const view_need_t *v,
                      double *out, size_t width)
{
    int64_t j = 0;
    for (int64_t i = 0; i < q->n; i++) {
        /* Skip store rows of entities before this query's. */
        while (j < rows->n && cmp_entity(q, i, rows, j) > 0)
            j++;
        /* Within the entity, advance while event_ts <= ts (queries are sorted by ts, so the
         * pointer only moves forward; ties on event_ts end at the greatest created_ts). */
        int64_t k = j, best = -1;
        while (k < rows->n && cmp_entity(q, i, rows, k) == 0 && rows->event_ts[k] <= q->ts[i])
            best = k++;
        if (best >= 0 && (v->ttl_us == 0 || rows->event_ts[best] >= q->ts[i] - v->ttl_us))
            for (size_t f = 0; f < v->n; f++) {
                double x = rows->values[(size_t)best * rows->n_features + v->src[f]];
                if (!isnan(x)) /* a missing value takes the fill too */
                    out[(size_t)i * width + v->dst[f]] = x;
            }
        /* The next query may be the same entity at a later ts: keep j at the entity's start,
         * but skip rows already known to be <= this ts (they stay candidates). */
        if (best > j)
            j = best;
    }
}

typedef struct {
    ds_spec_t *s;
    mo_comm_t *comm;
    mo_fs_t *fs;
    view_need_t *needs;
    size_t n_needs;
    mo_events_t local; /* this rank's block of entity rows, in input order (labels here) */
    int64_t first;     /* global index of local row 0 */
    mo_events_t q;     /* rows shuffled to their entity's owner: vals[0] = global index */
    double *feat;      /* q.n x width */
} ds_run_t;

static int read_block(ds_run_t *d, mo_error_t *err)
{
    int rank = mo_comm_rank(d->comm), size = mo_comm_size(d->comm);
    int64_t rows = 0;
    int rc = mo_events_count(&rows, &d->s->entities, err);
    d->first = rows * rank / size;
    int64_t count = rows * (rank + 1) / size - d->first;
    if (!rc)
        rc = mo_events_read(&d->local, &d->s->entities, d->first, count, err);
    mo_events_init(&d->q, 1);
    for (int64_t i = 0; !rc && i < d->local.n; i++) {
        const char *key = d->local.pool + d->local.key_off[i];
        double idx = (double)(d->first + i);
        rc = mo_events_push(&d->q, key, strlen(key), d->local.hash[i], d->local.ts[i],
                            d->local.ts[i], &idx, err);
    }
    return rc;
}

/* On the owner rank: look every query up in each view's slab. */
static int lookup(ds_run_t *d, mo_error_t *err)
{
    size_t width = d->s->n_features;
    int r = mo_comm_rank(d->comm), size = mo_comm_size(d->comm);
    int rc = mo_events_sort(&d->q, err);
    d->feat = rc ? NULL : malloc((d->q.n ? (size_t)d->q.n : 1) * width * sizeof(double));
    if (!rc && !d->feat)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < d->q.n * (int64_t)width; i++)
        d->feat[i] = d->s->fill;
    for (size_t v = 0; !rc && v < d->n_needs; v++) {
        int64_t lo = 0, hi = 0;
        mo_fs_view_info_t info;
        rc = mo_fs_view(d->fs, d->needs[v].view, &info, err);
        hi = rc ? 0 : info.rows;
        if (!rc && d->q.n == 0)
            continue; /* nothing to look up: do not read the slab */
        if (!rc)
            rc = mo_fs_lower_bound(d->fs, d->needs[v].view, mo_comm_hash_first(r, size), &lo, err);
        if (!rc && r + 1 < size)
            rc = mo_fs_lower_bound(d->fs, d->needs[v].view, mo_comm_hash_first(r + 1, size), &hi,
                                   err);
        mo_fs_rows_t rows = {0};
        if (!rc)
            rc = mo_fs_read_rows(d->fs, d->needs[v].view, lo, hi - lo, &rows, err);
        if (!rc)
            join_view(&d->q, &rows, &d->needs[v], d->feat, width);
        mo_fs_rows_free(&rows);
    }
    return rc;
}

/* Send each answer back to the rank that read the row; returns this rank's block's features
 * in input order. */
static int answer_back(ds_run_t *d, double **block, mo_error_t *err)
{
    int size = mo_comm_size(d->comm);
    size_t width = d->s->n_features, rec = (1 + width) * sizeof(double);
    int64_t total = 0, before = 0;
    int rc = mo_comm_exscan_i64(d->comm, d->local.n, &before, &total, err);
    size_t *bytes = mo_calloc((size_t)size, sizeof *bytes), *off = NULL;
    size_t *recv_bytes = mo_calloc((size_t)size, sizeof *recv_bytes);
    int64_t *firsts = mo_calloc((size_t)size + 1, sizeof *firsts);
    unsigned char *send = NULL;
    void *recv = NULL;
    size_t got = 0;
    if (!rc && (!bytes || !recv_bytes || !firsts))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    /* Block boundaries are the same arithmetic every rank did in read_block. */
    for (int r = 0; !rc && r <= size; r++)
        firsts[r] = total * r / size;
    int64_t *dest = rc ? NULL : mo_calloc(d->q.n ? (size_t)d->q.n : 1, sizeof *dest);
    for (int64_t i = 0; !rc && dest && i < d->q.n; i++) {
        int64_t g = (int64_t)d->q.vals[i];
        int r = 0;
        while (r + 1 < size && firsts[r + 1] <= g)
            r++;
        dest[i] = r;
        bytes[r] += rec;
    }
    if (!rc && !(off = mo_calloc((size_t)size + 1, sizeof *off)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (int r = 0; !rc && r < size; r++)
        off[r + 1] = off[r] + bytes[r];
    if (!rc && !(send = malloc(off[size] ? off[size] : 1)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < d->q.n; i++) {
        unsigned char *p = send + off[dest[i]];
        memcpy(p, &d->q.vals[i], sizeof(double));
        memcpy(p + sizeof(double), d->feat + (size_t)i * width, width * sizeof(double));
        off[dest[i]] += rec;
    }
    if (!rc)
        rc = mo_comm_alltoallv(d->comm, send, bytes, &recv, recv_bytes, &got, err);
    double *b = rc ? NULL : malloc((d->local.n ? (size_t)d->local.n : 1) * width * sizeof *b);
    if (!rc && !b)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t p = 0; !rc && p < got; p += rec) {
        double g;
        memcpy(&g, (unsigned char *)recv + p, sizeof g);
        memcpy(b + ((size_t)((int64_t)g - d->first)) * width,
               (unsigned char *)recv + p + sizeof(double), width * sizeof(double));
    }
    free(dest);
    free(send);
    free(recv);
    free(bytes);
    free(off);
    free(recv_bytes);
    free(firsts);
    *block = b;
    return rc;
}

static int run(void *job, mo_job_ctx_t *ctx, mo_error_t *err)
{
    ds_run_t d = {.s = job, .comm = ctx->comm};
    double t0 = mo_time_mono();
    int rc = mo_comm_agree(ctx->comm, mo_fs_open(&d.fs, d.s->store, err), err);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, resolve(d.s, d.fs, &d.needs, &d.n_needs, err), err);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, read_block(&d, err), err);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, mo_comm_shuffle_events(&d.q, ctx->comm, err), err);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, lookup(&d, err), err);
    double *block = NULL;
    if (!rc)
        rc = mo_comm_agree(ctx->comm, answer_back(&d, &block, err), err);
    if (!rc)
        rc = ds_write_output(d.s, ctx->comm, ctx->output_dir, &d.local, block, t0, err);
    free(block);
    free(d.feat);
    mo_events_free(&d.q);
    mo_events_free(&d.local);
    needs_free(d.needs, d.n_needs);
    mo_fs_close(d.fs);
    return rc;
}

const mo_job_kind_t mo_job_dataset = {
    .name = "dataset",
    .summary = "point-in-time-correct training set from the feature store",
    .parse = parse,
    .run = run,
    .destroy = destroy,
    .output_is_file = 1,
};
