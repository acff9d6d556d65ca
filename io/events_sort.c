/* events_sort.c - event rows sorted by (hash, key, ts, created), stably (io/events.h)
 *
 * Every rank sorts its rows after the shuffle, millions of them, and the cost is memory
 * traffic, not comparisons. So:
 *   1. (hash, row) pairs are scattered once into 65536 buckets by the top bits of the hash and
 *      each bucket, a few dozen rows that sit in cache, is merge-sorted by the full hash;
 *   2. one gather, in that order, of ts, created and the keys (into a new pool), each row's
 *      data read once from wherever it was (prefetched), so everything after is sequential;
 *      the gathered columns become the table's;
 *   3. each run of equal hashes, almost always one entity's events, is checked and, only when
 *      out of order, merge-sorted (stable) by (key, ts, created) in place, with run-sized
 *      scratch. Logs usually arrive in time order and steps 1-2 keep it, so most runs cost
 *      one scan;
 *   4. the values permuted in place a column at a time (through the freed ts column), and the
 *      labels copied after the keys.
 * Scratch beyond the table: ~48 bytes a row at the peak (step 2), down from ~76.
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
 * of a 64-bit LSD radix sort. p: n pairs; the merge scratch is as large as the largest
 * bucket's half, not the table's. MO_ENOMEM when it cannot be had. */
static int hash_order(const uint64_t *hash, uint64_t *key, int64_t *idx, pair_t *p, size_t *start,
                      int64_t n)
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
    size_t most = 0;
    for (size_t b = 0, lo = 0; b < nb; lo = start[b++])
        most = start[b] - lo > most ? start[b] - lo : most;
    pair_t *t = mo_mallocarray(most / 2 + 1, sizeof *t);
    if (!t)
        return MO_ENOMEM;
    for (size_t b = 0, lo = 0; b < nb; lo = start[b++])
        if (start[b] - lo > 1)
            sort_pairs(p + lo, t, (int64_t)(start[b] - lo));
    free(t);
    for (int64_t i = 0; i < n; i++) {
        key[i] = p[i].h;
        idx[i] = p[i].row;
    }
    return 0;
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

/* Sort the run [a, a + n) of gathered rows (all one hash) by (key, ts, created), stably and in
 * place: ts, cr and idx move together; keys of a run whose keys differ are laid out again in
 * the new order, so the pool stays in row order (a one-key run's keys are all the same bytes,
 * so they need no moving). t: scratch of 2 n + 1. */
static int sort_run(gathered_t *g, char *pool, uint64_t *off, int64_t *ts, int64_t *cr,
                    int64_t *idx, int64_t *t, int64_t a, int64_t n)
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
    int64_t *ord = t, *scr = t + n;
    for (int64_t i = 0; i < n; i++)
        ord[i] = a + i;
    g->with_key = !one_key;
    merge_sort(g, ord, scr, n);
    if (!one_key) {
        size_t bytes = off[a + n - 1] + strlen(pool + off[a + n - 1]) + 1 - off[a];
        char *copy = malloc(bytes);
        if (!copy)
            return MO_ENOMEM;
        memcpy(copy, pool + off[a], bytes);
        uint64_t base = off[a], at = base, *o = (uint64_t *)scr;
        for (int64_t i = 0; i < n; i++) {
            const char *k = copy + (off[ord[i]] - base);
            size_t len = strlen(k) + 1;
            memcpy(pool + at, k, len);
            o[i] = at;
            at += len;
        }
        memcpy(off + a, o, (size_t)n * sizeof *o);
        free(copy);
    }
    int64_t *cols[] = {ts, cr, idx};
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
        for (int64_t i = 0; i < n; i++)
            scr[i] = cols[c][ord[i]];
        memcpy(cols[c] + a, scr, (size_t)n * sizeof *scr);
    }
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
    size_t nv = ev->n_values, un = (size_t)n, ucap = (size_t)ev->cap;
    /* Memory is what this costs at scale (millions of rows a rank), so nothing is copied that
     * need not be: the hash order (pairs, 16 B a row, freed at once), then the columns gathered
     * in that order into new arrays that become the table's (hash, key_off, ts, created: the
     * old ones are freed, or serve as scratch), a new pool, and the original row of each row
     * (idx). Values are permuted in place a column at a time. On MO_ENOMEM *ev is untouched:
     * every allocation comes before the first change to it. */
    uint64_t *key = mo_mallocarray(ucap, sizeof *key), *off = NULL;
    int64_t *idx = mo_mallocarray(un, sizeof *idx), *ts = NULL, *cr = NULL, *t = NULL;
    pair_t *pairs = mo_mallocarray(un, sizeof *pairs);
    size_t *start = mo_calloc((size_t)1 << TOP_BITS, sizeof *start);
    char *pool = NULL;
    if (!key || !idx || !pairs || !start || hash_order(ev->hash, key, idx, pairs, start, n)) {
        rc = mo_errorf(err, MO_ENOMEM, "sorting %lld events: out of memory", (long long)n);
        goto out;
    }
    free(pairs);
    pairs = NULL;
    free(start);
    start = NULL;
    int64_t most = 1; /* the longest run of one hash: sort_run's scratch */
    for (int64_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && key[j] == key[i]; j++)
            ;
        most = j - i > most ? j - i : most;
    }
    off = mo_mallocarray(ucap, sizeof *off);
    ts = mo_mallocarray(ucap, sizeof *ts);
    cr = mo_mallocarray(ucap, sizeof *cr);
    t = mo_mallocarray(2 * (size_t)most + 1, sizeof *t);
    pool = malloc(ev->pool_cap);
    if (!off || !ts || !cr || !t || !pool) {
        rc = mo_errorf(err, MO_ENOMEM, "sorting %lld events: out of memory", (long long)n);
        goto out;
    }
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
    }
    gathered_t g = {ts, cr, off, pool, 0};
    for (int64_t i = 0, j; i < n && !rc; i = j) {
        for (j = i + 1; j < n && key[j] == key[i]; j++)
            ;
        if (j - i > 1 && sort_run(&g, pool, off, ts, cr, idx, t, i, j - i))
            rc = mo_errorf(err, MO_ENOMEM, "sorting %lld events: out of memory", (long long)n);
    }
    if (rc) /* only the new copies changed so far */
        goto out;
    /* Publish. From here nothing can fail: the old columns become scratch, then go. */
    uint64_t *old_hash = ev->hash, *old_off = ev->key_off;
    int64_t *old_ts = ev->ts, *old_cr = ev->created;
    ev->hash = key;
    ev->key_off = off;
    ev->ts = ts;
    ev->created = cr;
    key = off = NULL;
    ts = cr = NULL;
    /* Values, a column at a time through old_ts: row i takes the values of row idx[i]. */
    double *tmp = (double *)(void *)old_ts;
    for (size_t c = 0; c < nv; c++) {
        for (int64_t i = 0; i < n; i++) {
            if (i + AHEAD < n)
                PREFETCH(ev->vals + (size_t)idx[i + AHEAD] * nv + c);
            tmp[i] = ev->vals[(size_t)idx[i] * nv + c];
        }
        for (int64_t i = 0; i < n; i++)
            ev->vals[(size_t)i * nv + c] = tmp[i];
    }
    /* Labels into the new pool after the keys; their new offsets in old_off first. */
    for (int64_t i = 0; ev->label_off && i < n; i++) {
        const char *l = ev->pool + ev->label_off[idx[i]];
        size_t ll = strlen(l) + 1;
        memcpy(pool + len, l, ll);
        old_off[i] = len;
        len += ll;
    }
    if (ev->label_off)
        memcpy(ev->label_off, old_off, un * sizeof *old_off);
    free(old_hash);
    free(old_off);
    free(old_ts);
    free(old_cr);
    free(ev->pool);
    ev->pool = pool;
    pool = NULL;
out:
    free(key);
    free(off);
    free(idx);
    free(ts);
    free(cr);
    free(t);
    free(pairs);
    free(start);
    free(pool);
    return rc;
}
