/* join.c - one view's point-in-time lookups, on the rank that owns the queries' entities
 *
 * The queries (this rank's entity rows) are sorted by (hash, key, ts), the store's rows by
 * (hash, key, event_ts, created_ts), and the rank owns a hash range, so its entities are one
 * slice of the view's index. Three passes, none of which reads the whole slab:
 *   1. merge the queries with the index slice (read a piece at a time): each query gets its
 *      entity's rows, or none;
 *   2. per query, the last row of the entity with event_ts <= ts (a binary search in the
 *      entity's event_ts, read in blocks as the entities advance); ties on event_ts end at the
 *      greatest created_ts because that is how the rows are sorted; a row older than ttl
 *      counts as none. The chosen rows never decrease from one query to the next;
 *   3. per wanted feature, its value at the chosen rows (mo_fs_gather reads only the spans of
 *      the column that hold them); a missing row or a NaN value leaves the fill.
 */
#include "core/alloc.h"
#include "jobs/dataset/dataset_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Index entries read at a time. */
#define IDX_PIECE 65536
/* Rows of event_ts read at a time (more when one entity has more). */
#define TS_BLOCK 65536
/* Queries gathered at a time: the wanted features' values of a piece stay in cache. */
#define GATHER_PIECE 8192

/* The event_ts of rows [b0, b0 + bn), kept while the entities advance. */
typedef struct {
    int64_t *ts;
    int64_t b0, bn, cap;
} ts_buf_t;

/* Make rows [row, row + count) present in b (of a view of `total` rows). */
static int ts_need(ts_buf_t *b, mo_fs_t *fs, const char *view, int64_t row, int64_t count,
                   int64_t total, mo_error_t *err)
{
    if (row >= b->b0 && row + count <= b->b0 + b->bn)
        return 0;
    int64_t n = count > TS_BLOCK ? count : TS_BLOCK;
    if (n > total - row)
        n = total - row;
    if (n > b->cap) {
        int64_t *p = mo_reallocarray(b->ts, (size_t)n, sizeof *p);
        if (!p)
            return mo_errorf(err, MO_ENOMEM, "out of memory for %lld timestamps", (long long)n);
        b->ts = p;
        b->cap = n;
    }
    b->bn = 0;
    int rc = mo_fs_read_column(fs, view, "event_ts", row, n, b->ts, err);
    if (!rc) {
        b->b0 = row;
        b->bn = n;
    }
    return rc;
}

/* Query i against its entity's rows [row, row + count): the chosen row, or -1. */
static int64_t choose(const ts_buf_t *b, int64_t row, int64_t count, int64_t ts, int64_t ttl_us)
{
    const int64_t *t = b->ts + (row - b->b0);
    int64_t lo = 0, hi = count; /* the first row with event_ts > ts */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (t[mid] <= ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || (ttl_us > 0 && t[lo - 1] < ts - ttl_us))
        return -1;
    return row + lo - 1;
}

static int cmp_entry(const mo_events_t *q, int64_t i, const mo_fs_index_t *idx, int64_t e)
{
    if (q->hash[i] != idx->hash[e])
        return q->hash[i] < idx->hash[e] ? -1 : 1;
    return strcmp(q->pool + q->key_off[i], idx->keys + (size_t)e * (idx->width + 1));
}

/* Passes 1 and 2: best[i] for every query. */
static int choose_rows(mo_fs_t *fs, const ds_view_need_t *v, const mo_events_t *q, int rank,
                       int size, int64_t *best, mo_error_t *err)
{
    mo_fs_view_info_t info;
    int64_t lo = 0, hi = 0, i = 0;
    ts_buf_t b = {0};
    int rc = mo_fs_view(fs, v->view, &info, err);
    if (!rc)
        rc = mo_fs_index_lower(fs, v->view, mo_comm_hash_first(rank, size), &lo, err);
    hi = info.entities;
    if (!rc && rank + 1 < size)
        rc = mo_fs_index_lower(fs, v->view, mo_comm_hash_first(rank + 1, size), &hi, err);
    for (int64_t p = lo; !rc && p < hi && i < q->n; p += IDX_PIECE) {
        mo_fs_index_t idx;
        if ((rc = mo_fs_read_index(fs, v->view, p, hi - p < IDX_PIECE ? hi - p : IDX_PIECE, &idx,
                                   err)))
            break;
        int64_t e = 0;
        while (!rc && i < q->n && e < idx.n) {
            int c = cmp_entry(q, i, &idx, e);
            if (c > 0) {
                e++;
                continue;
            }
            best[i] = -1;
            if (c == 0 && !(rc = ts_need(&b, fs, v->view, idx.row[e], idx.rows[e], info.rows, err)))
                best[i] = choose(&b, idx.row[e], idx.rows[e], q->ts[i], v->ttl_us);
            i++;
        }
        mo_fs_index_free(&idx);
    }
    for (; i < q->n; i++) /* past the last entity of the slice */
        best[i] = -1;
    free(b.ts);
    return rc;
}

int ds_join_view(mo_fs_t *fs, const ds_view_need_t *v, const mo_events_t *q, int rank, int size,
                 const ds_rows_t *out, mo_error_t *err)
{
    if (q->n == 0 || v->n == 0)
        return 0;
    int64_t *best = mo_mallocarray((size_t)q->n, sizeof *best);
    double *vals = mo_mallocarray(GATHER_PIECE * v->n, sizeof *vals);
    int rc = best && vals ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc)
        rc = choose_rows(fs, v, q, rank, size, best, err);
    /* A piece of queries at a time: every wanted feature gathered into its own column, then
     * written row by row, so the answer rows are each visited once. */
    for (int64_t p = 0; !rc && p < q->n; p += GATHER_PIECE) {
        int64_t m = q->n - p < GATHER_PIECE ? q->n - p : GATHER_PIECE;
        for (size_t f = 0; !rc && f < v->n; f++)
            rc = mo_fs_gather(fs, v->view, v->src[f], best + p, m, vals + f * GATHER_PIECE, err);
        for (int64_t i = 0; !rc && i < m; i++) {
            if (best[p + i] < 0)
                continue;
            float *row = ds_row(out, p + i);
            for (size_t f = 0; f < v->n; f++) {
                double x = vals[f * GATHER_PIECE + (size_t)i];
                if (!isnan(x)) /* a missing value takes the fill */
                    row[v->dst[f]] = (float)x;
            }
        }
    }
    free(best);
    free(vals);
    return rc;
}
