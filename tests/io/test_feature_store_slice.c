/* test_feature_store_slice.c - the reads of a point-in-time join (io/feature_store_slice.c)
 *
 * One store of N_ENT entities with 1 to 60 rows each (~90,000 rows: more than one read span
 * of mo_fs_gather), written in blocks of 4,096 rows (many blocks), one feature with NaNs.
 * Every read is compared with the table the store was written from: columns over the whole
 * table and a sub-range, the index below, on, between and above the entities' hashes and a
 * slice of it, and gathers dense, sparse (gaps wider than a span), with repeated rows and
 * rows left out; the same gathers from an uncompressed copy of the store, whose columns are
 * read without HDF5's chunk cache (io/feature_store_read.c); then the errors (rows out of order or
 * outside, an unknown column or feature, NULL arguments).
 */
#include "io/events.h"
#include "io/feature_store.h"
#include "io/feature_store_impl.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N_ENT = 3000, NF = 2 };

static const mo_fs_feature_t feats[NF] = {{"amount_sum", "sum", "amount", 3600000000},
                                          {"amount_last", "last", "amount", 0}};

typedef struct {
    int64_t n;
    char **keys;
    uint64_t *hash;
    int64_t *ts, *created;
    double *v[NF];
} table_t;

static table_t T;
static char path[512], plain_path[512]; /* deflated (when HDF5 has it) and uncompressed */

static int row_cmp(const void *a, const void *b)
{
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (T.hash[i] != T.hash[j])
        return T.hash[i] < T.hash[j] ? -1 : 1;
    int c = strcmp(T.keys[i], T.keys[j]);
    if (c)
        return c;
    if (T.ts[i] != T.ts[j])
        return T.ts[i] < T.ts[j] ? -1 : 1;
    return T.created[i] < T.created[j] ? -1 : T.created[i] > T.created[j];
}

/* The table, sorted as the store wants it: entity e has 1 + (7 e) % 60 rows; every third
 * row ties the one before on event_ts (created_ts one later); feature 1 NaN on every 11th. */
static void make_table(void)
{
    table_t raw = {0};
    for (int e = 0; e < N_ENT; e++)
        raw.n += 1 + (7 * e) % 60;
    size_t n = (size_t)raw.n;
    raw.keys = calloc(n, sizeof *raw.keys);
    raw.hash = calloc(n, sizeof *raw.hash);
    raw.ts = calloc(n, sizeof *raw.ts);
    raw.created = calloc(n, sizeof *raw.created);
    int64_t r = 0;
    for (int e = 0; e < N_ENT; e++)
        for (int j = 0; j < 1 + (7 * e) % 60; j++, r++) {
            char key[32];
            snprintf(key, sizeof key, "ent-%d", e);
            raw.keys[r] = strdup(key);
            raw.hash[r] = mo_entity_hash(key, strlen(key));
            raw.ts[r] = 1000000 * (int64_t)(j - (j % 3 == 2)) + e;
            raw.created[r] = raw.ts[r] + (j % 3 == 2);
        }
    int64_t *order = calloc(n, sizeof *order);
    for (int64_t i = 0; i < raw.n; i++)
        order[i] = i;
    T = raw;
    qsort(order, n, sizeof *order, row_cmp);
    table_t t = {.n = raw.n};
    t.keys = calloc(n, sizeof *t.keys);
    t.hash = calloc(n, sizeof *t.hash);
    t.ts = calloc(n, sizeof *t.ts);
    t.created = calloc(n, sizeof *t.created);
    for (int f = 0; f < NF; f++)
        t.v[f] = calloc(n, sizeof(double));
    for (int64_t i = 0; i < raw.n; i++) {
        int64_t k = order[i];
        t.keys[i] = raw.keys[k];
        t.hash[i] = raw.hash[k];
        t.ts[i] = raw.ts[k];
        t.created[i] = raw.created[k];
        t.v[0][i] = 0.25 * (double)i;
        t.v[1][i] = i % 11 == 5 ? NAN : -(double)i;
    }
    free(order);
    free(raw.keys);
    free(raw.hash);
    free(raw.ts);
    free(raw.created);
    T = t;
}

/* io/feature_store.h's steps as one rank alone (as tests/io/test_feature_store.c does). */
static int write_store(const char *path, int no_compression, mo_error_t *err)
{
    static const int64_t ranges[1][2] = {{0, 1000000000}};
    const double *vals[NF] = {T.v[0], T.v[1]};
    mo_fs_view_t v = {.name = "tx",
                      .entity = "account",
                      .ttl_us = 0,
                      .features = feats,
                      .n_features = NF,
                      .ranges_us = &ranges[0][0],
                      .n_ranges = 1,
                      .n = T.n,
                      .keys = (const char *const *)T.keys,
                      .hash = T.hash,
                      .event_ts = T.ts,
                      .created_ts = T.created,
                      .values = vals,
                      .no_compression = no_compression,
                      .block_rows = 4096};
    int64_t key_len = 0;
    mo_fs_plan_t *plan = NULL;
    mo_fs_writer_t *w = NULL;
    char *tmp = NULL;
    size_t size = 0;
    int rc = mo_fs_check(path, &v, 1, &key_len, err);
    if (!rc && !(rc = mo_fs_plan_create(&plan, path, &v, (size_t)key_len, err)))
        rc = mo_fs_plan_finish(plan, path, &v, mo_fs_plan_record(plan, &size), 0, 1, err);
    if (!rc && !(rc = mo_fs_temp_create(&tmp, path, err)))
        rc = mo_fs_writer_open(&w, path, tmp, MPI_COMM_NULL, &v, &plan, 1, err);
    for (int done = 0; !rc && !done;)
        rc = mo_fs_writer_step(w, &done, err);
    int crc = mo_fs_writer_close(w, rc ? NULL : err);
    rc = rc ? rc : crc;
    if (!rc)
        rc = mo_fs_commit(tmp, path, err);
    if (rc && tmp)
        unlink(tmp);
    mo_fs_plan_destroy(plan);
    free(tmp);
    return rc;
}

/* The store as written by default (plain = 0) or with offline.compression: none. */
static mo_fs_t *open_store_as(int plain)
{
    static int written;
    mo_error_t err = {0};
    mo_fs_t *fs = NULL;
    if (!written) {
        make_table();
        snprintf(path, sizeof path, "%s/slice.h5", mo_test_tmpdir());
        snprintf(plain_path, sizeof plain_path, "%s/slice-plain.h5", mo_test_tmpdir());
        CU_ASSERT_EQUAL_FATAL(write_store(path, 0, &err), 0);
        CU_ASSERT_EQUAL_FATAL(write_store(plain_path, 1, &err), 0);
        written = 1;
    }
    CU_ASSERT_EQUAL_FATAL(mo_fs_open(&fs, plain ? plain_path : path, &err), 0);
    return fs;
}

static mo_fs_t *open_store(void)
{
    return open_store_as(0);
}

static void test_feature_store_slice__columns_equal_the_table(void)
{
    mo_fs_t *fs = open_store();
    mo_error_t err = {0};
    int64_t *ts = calloc((size_t)T.n, sizeof *ts), *cr = calloc((size_t)T.n, sizeof *cr);
    uint64_t *h = calloc((size_t)T.n, sizeof *h);
    double *v = calloc((size_t)T.n, sizeof *v);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "event_ts", 0, T.n, ts, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "created_ts", 0, T.n, cr, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "hash", 0, T.n, h, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "amount_sum", 0, T.n, v, &err), 0);
    int bad = 0;
    for (int64_t i = 0; i < T.n; i++)
        bad += ts[i] != T.ts[i] || cr[i] != T.created[i] || h[i] != T.hash[i] || v[i] != T.v[0][i];
    CU_ASSERT_EQUAL(bad, 0);
    /* A sub-range across block boundaries. */
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "amount_last", 4000, 9000, v, &err), 0);
    bad = 0;
    for (int64_t i = 0; i < 9000; i++)
        bad += !(v[i] == T.v[1][4000 + i] || (isnan(v[i]) && isnan(T.v[1][4000 + i])));
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "amount", 0, 1, v, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no column 'amount'"));
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "event_ts", T.n - 1, 2, ts, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "outside"));
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "event_ts", T.n, 0, ts, &err), 0);
    free(ts);
    free(cr);
    free(h);
    free(v);
    mo_fs_close(fs);
}

/* Entities of the table: first row of each run. */
static int64_t runs(int64_t *first, int64_t *count)
{
    int64_t k = 0;
    for (int64_t i = 0; i < T.n; i++)
        if (i == 0 || strcmp(T.keys[i], T.keys[i - 1])) {
            first[k] = i;
            count[k++] = 0;
        }
    for (int64_t e = 0; e < k; e++)
        count[e] = (e + 1 < k ? first[e + 1] : T.n) - first[e];
    return k;
}

static void test_feature_store_slice__index_lower_and_slices(void)
{
    mo_fs_t *fs = open_store();
    mo_error_t err = {0};
    int64_t *first = calloc(N_ENT, sizeof *first), *count = calloc(N_ENT, sizeof *count);
    int64_t k = runs(first, count), e = -1;
    CU_ASSERT_EQUAL_FATAL(k, N_ENT);
    CU_ASSERT_EQUAL(mo_fs_index_lower(fs, "tx", 0, &e, &err), 0);
    CU_ASSERT_EQUAL(e, 0);
    CU_ASSERT_EQUAL(mo_fs_index_lower(fs, "tx", UINT64_MAX, &e, &err), 0);
    CU_ASSERT_EQUAL(e, T.hash[first[k - 1]] == UINT64_MAX ? k - 1 : k);
    int bad = 0;
    for (int64_t i = 0; i < k; i += 37) {
        uint64_t h = T.hash[first[i]];
        bad += mo_fs_index_lower(fs, "tx", h, &e, &err) || e != i;
        bad += mo_fs_index_lower(fs, "tx", h + 1, &e, &err) || e != i + 1;
    }
    CU_ASSERT_EQUAL(bad, 0);
    mo_fs_index_t idx;
    CU_ASSERT_EQUAL_FATAL(mo_fs_read_index(fs, "tx", 1000, 1500, &idx, &err), 0);
    CU_ASSERT_EQUAL(idx.n, 1500);
    for (int64_t i = 0; i < idx.n; i++) {
        int64_t r = first[1000 + i];
        bad += idx.hash[i] != T.hash[r] || idx.row[i] != r || idx.rows[i] != count[1000 + i] ||
               strcmp(idx.keys + (size_t)i * (idx.width + 1), T.keys[r]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    mo_fs_index_free(&idx);
    mo_fs_index_free(NULL);
    CU_ASSERT_EQUAL(mo_fs_read_index(fs, "tx", 2999, 2, &idx, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(idx.n, 0);
    CU_ASSERT_EQUAL(mo_fs_read_index(fs, "tx", 3000, 0, &idx, &err), 0);
    CU_ASSERT_EQUAL(idx.n, 0);
    mo_fs_index_free(&idx);
    free(first);
    free(count);
    mo_fs_close(fs);
}

/* Gather feature f at rows[] and compare with the table (untouched where rows[i] < 0). */
static int gather_ok(mo_fs_t *fs, size_t f, const int64_t *rows, int64_t n)
{
    mo_error_t err = {0};
    double *out = malloc((size_t)(n ? n : 1) * sizeof *out);
    for (int64_t i = 0; i < n; i++)
        out[i] = 12345.0;
    int bad = mo_fs_gather(fs, "tx", f, rows, n, out, &err) != 0;
    for (int64_t i = 0; !bad && i < n; i++) {
        double want = rows[i] < 0 ? 12345.0 : T.v[f][rows[i]];
        bad += !(out[i] == want || (isnan(out[i]) && isnan(want)));
    }
    free(out);
    return bad;
}

static void test_feature_store_slice__gather_dense_sparse_and_repeated(void)
{
    mo_fs_t *fs = open_store();
    int64_t n = T.n, *rows = malloc((size_t)n * 2 * sizeof *rows), m = 0;
    for (int64_t i = 0; i < n; i++) /* every row: spans of the full length */
        rows[i] = i;
    CU_ASSERT_EQUAL(gather_ok(fs, 0, rows, n), 0);
    CU_ASSERT_EQUAL(gather_ok(fs, 1, rows, n), 0);
    for (int64_t r = 3; r < n; r += 5003) /* wider gaps than a span joins */
        rows[m++] = r;
    rows[m++] = n - 1;
    CU_ASSERT_EQUAL(gather_ok(fs, 1, rows, m), 0);
    m = 0;
    for (int64_t r = 0; r < n; r += 1 + r % 97) { /* repeated rows, rows left out (-1) */
        rows[m++] = r;
        rows[m++] = r % 5 == 0 ? -1 : r;
    }
    CU_ASSERT_EQUAL(gather_ok(fs, 0, rows, m), 0);
    CU_ASSERT_EQUAL(gather_ok(fs, 1, rows, m), 0);
    rows[0] = rows[1] = -1; /* none wanted */
    CU_ASSERT_EQUAL(gather_ok(fs, 0, rows, 2), 0);
    CU_ASSERT_EQUAL(gather_ok(fs, 0, rows, 0), 0);
    free(rows);
    mo_fs_close(fs);
}

/* Bytes of chunk cache that HDF5 gives feature f's column of view tx. */
static size_t cache_bytes(mo_fs_t *fs, size_t f)
{
    mo_fs_vdata_t *v = NULL;
    mo_error_t err = {0};
    size_t slots = 0, bytes = 12345;
    double w0 = 0;
    CU_ASSERT_EQUAL_FATAL(mo_fs_find_view(&v, fs, "tx", &err), 0);
    hid_t dapl = H5Dget_access_plist(v->rows_t.feat[f]);
    CU_ASSERT(dapl >= 0);
    CU_ASSERT(H5Pget_chunk_cache(dapl, &slots, &bytes, &w0) >= 0);
    H5Pclose(dapl);
    return bytes;
}

/* An uncompressed store's columns are read straight into the caller's buffer (no chunk cache
 * to copy through), a compressed one's keep the cache (a chunk inflated once for the reads
 * that share it); both give the table's values. */
static void test_feature_store_slice__plain_store_reads_past_the_chunk_cache(void)
{
    mo_fs_t *plain = open_store_as(1), *deflated = open_store_as(0);
    CU_ASSERT_EQUAL(cache_bytes(plain, 0), 0);
    CU_ASSERT_EQUAL(cache_bytes(plain, 1), 0);
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        CU_ASSERT(cache_bytes(deflated, 0) > 0);
    } else
        printf("\n  (this HDF5 has no deflate: both stores are uncompressed)\n");
    int64_t n = T.n, *rows = malloc((size_t)n * sizeof *rows), m = 0;
    for (int64_t r = 0; r < n; r += 1 + r % 13) /* several rows of a chunk, then a gap */
        rows[m++] = r;
    for (size_t f = 0; f < NF; f++) {
        CU_ASSERT_EQUAL(gather_ok(plain, f, rows, m), 0);
        CU_ASSERT_EQUAL(gather_ok(deflated, f, rows, m), 0);
    }
    free(rows);
    mo_fs_close(plain);
    mo_fs_close(deflated);
}

static void test_feature_store_slice__bad_arguments(void)
{
    mo_fs_t *fs = open_store();
    mo_error_t err = {0};
    int64_t e, rows[3] = {5, 4, 6};
    double out[3] = {7, 7, 7};
    mo_fs_index_t idx;
    CU_ASSERT_EQUAL(mo_fs_gather(fs, "tx", 0, rows, 3, out, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "gather row 4 (at 1) is before the one before"));
    CU_ASSERT(out[0] == 7 && out[1] == 7 && out[2] == 7); /* nothing written on failure */
    rows[1] = T.n;
    CU_ASSERT_EQUAL(mo_fs_gather(fs, "tx", 0, rows, 3, out, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "outside the table"));
    rows[1] = 5;
    CU_ASSERT_EQUAL(mo_fs_gather(fs, "tx", NF, rows, 3, out, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_gather(fs, "tx", 0, NULL, 3, out, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_gather(fs, "tx", 0, rows, 3, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_gather(fs, "nope", 0, rows, 3, out, &err), MO_ENOTFOUND);
    CU_ASSERT_EQUAL(mo_fs_gather(NULL, "tx", 0, rows, 3, out, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_index_lower(fs, "tx", 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_index_lower(NULL, "tx", 0, &e, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_index_lower(fs, "nope", 0, &e, &err), MO_ENOTFOUND);
    CU_ASSERT_EQUAL(mo_fs_read_index(fs, "tx", 0, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_index(fs, "tx", -1, 1, &idx, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_index(NULL, "tx", 0, 1, &idx, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", NULL, 0, 1, out, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "event_ts", 0, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_column(fs, "tx", "event_ts", -1, 1, out, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_column(NULL, "tx", "event_ts", 0, 1, out, &err), MO_EINVAL);
    mo_fs_close(fs);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_feature_store_slice__columns_equal_the_table),
    MO_TEST(test_feature_store_slice__index_lower_and_slices),
    MO_TEST(test_feature_store_slice__gather_dense_sparse_and_repeated),
    MO_TEST(test_feature_store_slice__plain_store_reads_past_the_chunk_cache),
    MO_TEST(test_feature_store_slice__bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/feature_store_slice", tests);
}
