/* events_sort.c - event rows sorted by (hash, key, ts, created), stably (io/events.h)
 *
 * Every rank sorts its rows after the shuffle, millions of them, and the cost is memory
 * traffic, not comparisons. So:
 *   1. (hash, row) pairs are scattered once into 65536 buckets by the top bits of the hash and
 *      each bucket, a few dozen rows that sit in cache, is merge-sorted by the full hash;
 *   2. one gather, in that order, of ts, created and the keys (into a new pool), each row's
 *      data read once from wherever it was (prefetched), so everything after is sequential;
 *   3. each run of equal hashes, almost always one entity's events, is checked and, only when
 *      out of order, merge-sorted (stable) by (key, ts, created) on those gathered copies.
 *      Logs usually arrive in time order and steps 1-2 keep it, so most runs cost one scan;
 *   4. one more gather for the value rows and labels.
 * Keys compare with strcmp only inside a run whose keys differ (two keys, one hash).
 */
#include "core/alloc.h"
#include "io/events_impl.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif
#define AHEAD 16 /* rows to prefetch ahead in a gather */

#define TOP_BITS 16 /* the first pass splits by the top 16 bits of the hash */

typedef struct {
    uint64_t h;
    int64_t row;
} pair_t;

/* Stable merge sort of pairs by h (scratch t of n/2 + 1). */
static void sort_pairs(pair_t *v, pair_t *t, int64_t n)
{
    if (n <= 16) {
        for (int64_t i = 1; i < n; i++) {
            pair_t x = v[i];
            int64_t j = i;
            for (; j > 0 && v[j - 1].h > x.h; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    int64_t h = n / 2;
    sort_pairs(v, t, h);
    sort_pairs(v + h, t, n - h);
    if (v[h - 1].h <= v[h].h)
        return;
    memcpy(t, v, (size_t)h * sizeof *v);
    int64_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        v[k++] = v[j].h < t[i].h ? v[j++] : t[i++];
    while (i < h)
        v[k++] = t[i++];
}

/* Rows in order of hash, stably: key[i] the hash of row idx[i]. One counting pass on the top
 * 16 bits scatters the rows into 65536 buckets (hashes are uniform, so about n / 65536 rows
 * each), then each bucket is sorted where it sits, in cache. One scatter instead of the six
 * of a 64-bit LSD radix sort. p: n pairs; t: scratch of n pairs. */
static void hash_order(const uint64_t *hash, uint64_t *key, int64_t *idx, pair_t *p, pair_t *t,
                       size_t *start, int64_t n)
{
    const size_t nb = (size_t)1 << TOP_BITS;
    for (int64_t i = 0; i < n; i++)
        start[hash[i] >> (64 - TOP_BITS)]++;
    size_t sum = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t c = start[b];
        start[b] = sum;
        sum += c;
    }
    for (int64_t i = 0; i < n; i++)
        p[start[hash[i] >> (64 - TOP_BITS)]++] = (pair_t){hash[i], i};
    /* start[b] is now the end of bucket b */
    for (size_t b = 0, lo = 0; b < nb; lo = start[b++])
        if (start[b] - lo > 1)
            sort_pairs(p + lo, t, (int64_t)(start[b] - lo));
    for (int64_t i = 0; i < n; i++) {
        key[i] = p[i].h;
        idx[i] = p[i].row;
    }
}

/* The rows gathered in hash order, position p: ts[p], cr[p], key pool + off[p]. */
typedef struct {
    const int64_t *ts, *cr;
    const uint64_t *off;
    const char *pool;
    int with_key; /* compare keys too (a run whose keys differ) */
} gathered_t;

static int cmp(const gathered_t *g, int64_t a, int64_t b)
{
    if (g->with_key) {
        int c = strcmp(g->pool + g->off[a], g->pool + g->off[b]);
        if (c)
            return c;
    }
    if (g->ts[a] != g->ts[b])
        return g->ts[a] < g->ts[b] ? -1 : 1;
    return g->cr[a] < g->cr[b] ? -1 : g->cr[a] > g->cr[b];
}

/* Stable merge sort of positions v[0..n) with scratch t[0..n/2]. */
static void merge_sort(const gathered_t *g, int64_t *v, int64_t *t, int64_t n)
{
    if (n <= 16) {
        for (int64_t i = 1; i < n; i++) {
            int64_t x = v[i], j = i;
            for (; j > 0 && cmp(g, v[j - 1], x) > 0; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    int64_t h = n / 2;
    merge_sort(g, v, t, h);
    merge_sort(g, v + h, t, n - h);
    if (cmp(g, v[h - 1], v[h]) <= 0)
        return;
    memcpy(t, v, (size_t)h * sizeof *v);
    int64_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        v[k++] = cmp(g, v[j], t[i]) < 0 ? v[j++] : t[i++];
    while (i < h)
        v[k++] = t[i++];
}

/* Order the run of positions [a, a + n) (all one hash): pos[a..a+n) receives the order.
 * Keys of a run whose keys differ are laid out again in the new order, so the pool stays in
 * row order; keys of a one-key run are all the same bytes, so they need no moving. */
static int sort_run(gathered_t *g, char *pool, uint64_t *off, int64_t *pos, int64_t *t, int64_t a,
                    int64_t n)
{
    int one_key = 1, sorted = 1;
    for (int64_t p = a + 1; p < a + n && (one_key || sorted); p++) {
        int c = strcmp(pool + off[p - 1], pool + off[p]);
        one_key &= c == 0;
        g->with_key = 0;
        sorted &= c < 0 || (c == 0 && cmp(g, p - 1, p) <= 0);
    }
    if (sorted)
        return 0;
    g->with_key = !one_key;
    merge_sort(g, pos + a, t, n);
    if (one_key)
        return 0;
    size_t bytes = off[a + n - 1] + strlen(pool + off[a + n - 1]) + 1 - off[a];
    char *copy = malloc(bytes);
    if (!copy)
        return MO_ENOMEM;
    memcpy(copy, pool + off[a], bytes);
    uint64_t base = off[a], at = base, *o = (uint64_t *)t; /* t is free again */
    for (int64_t i = 0; i < n; i++) {
        const char *k = copy + (off[pos[a + i]] - base);
        size_t len = strlen(k) + 1;
        memcpy(pool + at, k, len);
        o[i] = at;
        at += len;
    }
    memcpy(off + a, o, (size_t)n * sizeof *o);
    free(copy);
    return 0;
}

int mo_events_sort(mo_events_t *ev, mo_error_t *err)
{
    int rc = 0;
    if (!ev)
        return mo_errorf(err, MO_EINVAL, "mo_events_sort: NULL table");
    int64_t n = ev->n;
    if (n < 2)
        return 0;
    size_t nv = ev->n_values, un = (size_t)n;
    /* Everything is allocated before anything moves: on MO_ENOMEM *ev is untouched. New vals
     * and pool are as large as the old ones, so later pushes find the room cap promises. */
    uint64_t *key = mo_mallocarray(un, sizeof *key), *off = mo_mallocarray(un, sizeof *off);
    int64_t *idx = mo_mallocarray(un, sizeof *idx), *ts = mo_mallocarray(un, sizeof *ts);
    int64_t *cr = mo_mallocarray(un, sizeof *cr), *pos = mo_mallocarray(un, sizeof *pos);
    int64_t *t = mo_mallocarray(un, sizeof *t);
    pair_t *pairs = mo_mallocarray(un, sizeof *pairs);
    size_t *start = mo_calloc((size_t)1 << TOP_BITS, sizeof *start);
    double *vals = nv ? mo_mallocarray((size_t)ev->cap, nv * sizeof *vals) : NULL;
    char *pool = malloc(ev->pool_cap);
    if (!key || !off || !idx || !ts || !cr || !pos || !t || !pairs || !start || (nv && !vals) ||
        !pool) {
        rc = mo_errorf(err, MO_ENOMEM, "sorting %lld events: out of memory", (long long)n);
        goto out;
    }
    /* ts and cr (2n int64) are free until the gather: the scratch pairs of the bucket sort */
    hash_order(ev->hash, key, idx, pairs, (pair_t *)(void *)ts, start, n);
    free(pairs);
    pairs = NULL;
    size_t len = 0;
    for (int64_t i = 0; i < n; i++) {
        /* Two steps: the row's key_off (and ts, created) first, its key once key_off is in. */
        if (i + 2 * AHEAD < n) {
            int64_t r = idx[i + 2 * AHEAD];
            PREFETCH(&ev->key_off[r]);
            PREFETCH(&ev->ts[r]);
            PREFETCH(&ev->created[r]);
        }
        if (i + AHEAD < n)
            PREFETCH(ev->pool + ev->key_off[idx[i + AHEAD]]);
        int64_t r = idx[i];
        const char *k = ev->pool + ev->key_off[r];
        size_t kl = strlen(k) + 1;
        memcpy(pool + len, k, kl);
        off[i] = len;
        len += kl;
        ts[i] = ev->ts[r];
        cr[i] = ev->created[r];
        pos[i] = i;
    }
    gathered_t g = {ts, cr, off, pool, 0};
    for (int64_t i = 0, j; i < n && !rc; i = j) {
        for (j = i + 1; j < n && key[j] == key[i]; j++)
            ;
        if (j - i > 1 && sort_run(&g, pool, off, pos, t, i, j - i))
            rc = mo_errorf(err, MO_ENOMEM, "sorting %lld events: out of memory", (long long)n);
    }
    if (rc) /* only the new copies changed so far */
        goto out;
    /* Publish: hash and key_off are already in the final order; ts, created are positions away
     * (within one run), values and labels are gathered from the original rows. */
    memcpy(ev->hash, key, un * sizeof *key);
    memcpy(ev->key_off, off, un * sizeof *off);
    for (int64_t i = 0; i < n; i++) {
        ev->ts[i] = ts[pos[i]];
        ev->created[i] = cr[pos[i]];
        t[i] = idx[pos[i]]; /* the original row of row i */
    }
    for (int64_t i = 0; nv && i < n; i++) {
        if (i + AHEAD < n)
            PREFETCH(ev->vals + (size_t)t[i + AHEAD] * nv);
        memcpy(vals + (size_t)i * nv, ev->vals + (size_t)t[i] * nv, nv * sizeof *vals);
    }
    for (int64_t i = 0; ev->label_off && i < n; i++) {
        const char *l = ev->pool + ev->label_off[t[i]];
        size_t ll = strlen(l) + 1;
        memcpy(pool + len, l, ll);
        idx[i] = (int64_t)len;
        len += ll;
    }
    for (int64_t i = 0; ev->label_off && i < n; i++)
        ev->label_off[i] = (uint64_t)idx[i];
    if (nv) {
        free(ev->vals);
        ev->vals = vals;
        vals = NULL;
    }
    free(ev->pool);
    ev->pool = pool;
    pool = NULL;
out:
    free(key);
    free(off);
    free(idx);
    free(ts);
    free(cr);
    free(pos);
    free(t);
    free(pairs);
    free(start);
    free(vals);
    free(pool);
    return rc;
}
