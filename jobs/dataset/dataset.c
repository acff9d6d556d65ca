/* dataset.c - `kind: dataset`: a point-in-time-correct training set from the feature store
 *
 * For each entity row (entity, timestamp ts, label) and each requested feature: the store row
 * of that entity with the greatest event_ts such that ts - ttl <= event_ts <= ts, created_ts
 * breaking ties (Feast's rule); none gives the fill value. Never a later row: no leakage.
 *
 * Parallel like materialisation: each rank reads a block of the entity rows, sends them to the
 * rank that owns their entity's hash range (comm/shuffle.h), which answers every lookup from
 * the store's entity index, its entities' event_ts and the wanted features at the chosen rows
 * only (join.c), never its whole slab, writing each answer straight into the record that
 * goes back. The answers (float32, the dataset's type) go back to the rank that read the row,
 * so every rank holds its block in input order and writes it at its place in the dataset
 * (output.c), labels mapped as `data import` maps them.
 */
#include "jobs/dataset/dataset.h"

#include "comm/shuffle.h"
#include "core/alloc.h"
#include "core/fault.h"
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

/* Resolve every `view:feature` against the store: exit 2 at the ref's location if unknown. */
static int resolve(const ds_spec_t *s, mo_fs_t *fs, ds_view_need_t **needs, size_t *n_needs,
                   mo_error_t *err)
{
    ds_view_need_t *v = mo_calloc(s->n_features, sizeof *v);
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

static void needs_free(ds_view_need_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].src);
        free(v[i].dst);
    }
    free(v);
}

typedef struct {
    ds_spec_t *s;
    mo_comm_t *comm;
    mo_fs_t *fs;
    ds_view_need_t *needs;
    size_t n_needs;
    mo_events_t local; /* this rank's block of entity rows, in input order (labels here) */
    int64_t first;     /* global index of local row 0 */
    int64_t total;     /* entity rows in the input, on every rank */
    mo_events_t q;     /* rows shuffled to their entity's owner: vals[0] = global index */
    /* The answers, already where the exchange back sends them from: one record per query,
     * its global index (int64) then its features (float32), grouped by the rank that read
     * the row (bytes[r] of them for rank r). The join writes into them in place. */
    unsigned char *send;
    size_t *bytes, rec;
} ds_run_t;

static int read_block(ds_run_t *d, mo_error_t *err)
{
    int rank = mo_comm_rank(d->comm), size = mo_comm_size(d->comm);
    int64_t rows = 0;
    int rc = mo_events_count(&rows, &d->s->entities, err);
    d->total = rows;
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

/* The answer records of the sorted queries: slot[i] is query i's record, records grouped by
 * the rank that read the row (the same block arithmetic as read_block), each holding the
 * row's global index and the fill value in every feature. */
static int answer_slots(ds_run_t *d, int64_t *slot, mo_error_t *err)
{
    int size = mo_comm_size(d->comm);
    size_t width = d->s->n_features;
    int64_t total = d->total; /* no collective here: a rank may come after a failure */
    int rc = 0;
    int64_t *firsts = mo_calloc((size_t)size + 1, sizeof *firsts);
    size_t *off = mo_calloc((size_t)size + 1, sizeof *off);
    d->rec = sizeof(int64_t) + width * sizeof(float);
    d->bytes = mo_calloc((size_t)size, sizeof *d->bytes);
    if (!rc && (!firsts || !off || !d->bytes))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (int r = 0; !rc && r <= size; r++)
        firsts[r] = total * r / size;
    for (int64_t i = 0; !rc && i < d->q.n; i++) { /* slot[i]: the reading rank, for now */
        int64_t g = (int64_t)d->q.vals[i];
        int r = 0;
        while (r + 1 < size && firsts[r + 1] <= g)
            r++;
        slot[i] = r;
        d->bytes[r] += d->rec;
    }
    for (int r = 0; !rc && r < size; r++)
        off[r + 1] = off[r] + d->bytes[r] / d->rec;
    if (!rc && !(d->send = mo_mallocarray(d->q.n ? (size_t)d->q.n : 1, d->rec)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory for %lld answers", (long long)d->q.n);
    float fill = (float)d->s->fill;
    for (int64_t i = 0; !rc && i < d->q.n; i++) {
        int64_t g = (int64_t)d->q.vals[i];
        slot[i] = (int64_t)off[slot[i]]++;
        unsigned char *p = d->send + (size_t)slot[i] * d->rec;
        memcpy(p, &g, sizeof g);
        for (size_t f = 0; f < width; f++)
            memcpy(p + sizeof g + f * sizeof fill, &fill, sizeof fill);
    }
    free(firsts);
    free(off);
    return rc;
}

/* On the owner rank: look every query up in each view, the answers into their records. */
static int lookup(ds_run_t *d, mo_error_t *err)
{
    int r = mo_comm_rank(d->comm), size = mo_comm_size(d->comm);
    int64_t *slot = NULL;
    int rc = mo_fault_fail("dataset_lookup", err);
    if (!rc)
        rc = mo_events_sort(&d->q, err);
    if (!rc && !(slot = mo_mallocarray(d->q.n ? (size_t)d->q.n : 1, sizeof *slot)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc)
        rc = answer_slots(d, slot, err);
    ds_rows_t out = {.base = d->send, .stride = d->rec, .offset = sizeof(int64_t), .slot = slot};
    for (size_t v = 0; !rc && v < d->n_needs; v++)
        rc = ds_join_view(d->fs, &d->needs[v], &d->q, r, size, &out, err);
    free(slot);
    return rc;
}

/* Send each answer back to the rank that read the row; returns this rank's block's features
 * in input order. */
static int answer_back(ds_run_t *d, float **block, mo_error_t *err)
{
    int size = mo_comm_size(d->comm);
    size_t width = d->s->n_features;
    size_t *recv_bytes = mo_calloc((size_t)size, sizeof *recv_bytes);
    unsigned char *recv = NULL;
    size_t got = 0;
    *block = NULL;
    int rc = recv_bytes ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc)
        rc = mo_comm_alltoallv(d->comm, d->send, d->bytes, (void **)&recv, recv_bytes, &got, err);
    free(d->send); /* sent: not needed any more, and the exchange doubles what is held */
    d->send = NULL;
    float *b = rc ? NULL : mo_mallocarray((d->local.n ? (size_t)d->local.n : 1) * width, sizeof *b);
    if (!rc && !b)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t p = 0; !rc && p < got; p += d->rec) {
        int64_t g;
        memcpy(&g, recv + p, sizeof g);
        memcpy(b + (size_t)(g - d->first) * width, recv + p + sizeof g, width * sizeof(float));
    }
    free(recv);
    free(recv_bytes);
    *block = b;
    return rc;
}

static int run(void *job, mo_job_ctx_t *ctx, mo_error_t *err)
{
    ds_run_t d = {.s = job, .comm = ctx->comm};
    double t0 = mo_time_mono();
    float *block = NULL;
    int rc = mo_comm_agree(ctx->comm, mo_fs_open(&d.fs, d.s->store, err), err);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, resolve(d.s, d.fs, &d.needs, &d.n_needs, err), err);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, read_block(&d, err), err);
    mo_log_phase("dataset", "read", t0);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, mo_comm_shuffle_events(&d.q, ctx->comm, err), err);
    mo_log_phase("dataset", "shuffle", t0);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, lookup(&d, err), err);
    mo_log_phase("dataset", "join", t0);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, answer_back(&d, &block, err), err);
    mo_log_phase("dataset", "answer", t0);
    if (!rc)
        rc = ds_write_output(d.s, ctx->comm, ctx->output_dir, &d.local, block, t0, err);
    mo_log_phase("dataset", "write", t0);
    free(block);
    free(d.send);
    free(d.bytes);
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
