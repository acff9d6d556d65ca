/* test_feature_store.c - the feature store's writer steps (io/feature_store.c) and reader API
 * (io/feature_store_read.c), in one process
 *
 * Stores are written by running io/feature_store.h's steps as a single rank with the default
 * HDF5 driver (no MPI); tests/jobs/test_store_mpi.c covers several ranks through
 * mat_store_write, tests/io/test_feature_store_plan.c the checks and plans. Lookups are
 * checked against what the rows say: find_entity and online_get for keys present and absent,
 * lower_bound for hashes below, between, on and above the entities', and the errors a user
 * sees (a file that is not a store, an unknown view, a newer format, bad arguments).
 */
#include "io/dataset.h"
#include "io/events.h"
#include "io/feature_store.h"
#include "io/h5.h"
#include "tests/unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NF = 2, MAXR = 16, MAXV = 4 };

static const mo_fs_feature_t feats[NF] = {{"n_1h", "count", "amount", 3600000000},
                                          {"amount_last", "last", "amount", 0}};

/* The steps of io/feature_store.h as one rank alone, as mat_store_write runs them on each
 * rank (without the agreements: there is no one to agree with). `stop` >= 0: after that many
 * writer steps, give up as when another rank failed (MO_EIO). */
static int write_steps(const char *path, const mo_fs_view_t *views, size_t n, int stop,
                       mo_error_t *err)
{
    int64_t key_len[MAXV] = {0};
    mo_fs_plan_t *plans[MAXV] = {0};
    mo_fs_writer_t *w = NULL;
    char *tmp = NULL;
    int rc = n > MAXV ? MO_EINVAL : mo_fs_check(path, views, n, key_len, err);
    for (size_t i = 0; !rc && i < n; i++) {
        size_t size = 0, width = key_len[i] ? (size_t)key_len[i] : 1;
        if (!(rc = mo_fs_plan_create(&plans[i], path, &views[i], width, err)))
            rc = mo_fs_plan_finish(plans[i], path, &views[i], mo_fs_plan_record(plans[i], &size), 0,
                                   1, err);
    }
    if (!rc && !(rc = mo_fs_temp_create(&tmp, path, err)))
        rc = mo_fs_writer_open(&w, path, tmp, MPI_COMM_NULL, views, plans, n, err);
    for (int done = 0, k = 0; !rc && !done; k++)
        rc = k == stop ? mo_errorf(err, MO_EIO, "stopped") : mo_fs_writer_step(w, &done, err);
    int crc = mo_fs_writer_close(w, rc ? NULL : err);
    rc = rc ? rc : crc;
    if (!rc)
        rc = mo_fs_commit(tmp, path, err);
    if (rc && tmp)
        unlink(tmp);
    for (size_t i = 0; i < n && i < MAXV; i++)
        mo_fs_plan_destroy(plans[i]);
    free(tmp);
    return rc;
}

static int write_local(const char *path, const mo_fs_view_t *views, size_t n, mo_error_t *err)
{
    return write_steps(path, views, n, -1, err);
}

/* A view's rows, sorted by (hash, key, ts, created) as the writer wants them. */
typedef struct {
    int64_t n;
    const char *keys[MAXR];
    uint64_t hash[MAXR];
    int64_t ts[MAXR], created[MAXR];
    double v0[MAXR], v1[MAXR];
    const double *vals[NF];
} rows_t;

static int before(const rows_t *r, int64_t i, int64_t j)
{
    if (r->hash[i] != r->hash[j])
        return r->hash[i] < r->hash[j];
    int c = strcmp(r->keys[i], r->keys[j]);
    return c ? c < 0 : r->ts[i] != r->ts[j] ? r->ts[i] < r->ts[j] : r->created[i] < r->created[j];
}

static void swap_rows(rows_t *r, int64_t i, int64_t j)
{
    const char *k = r->keys[i];
    uint64_t h = r->hash[i];
    int64_t t = r->ts[i];
    double v0 = r->v0[i], v1 = r->v1[i];
    r->keys[i] = r->keys[j];
    r->hash[i] = r->hash[j];
    r->ts[i] = r->ts[j];
    r->v0[i] = r->v0[j];
    r->v1[i] = r->v1[j];
    r->keys[j] = k;
    r->hash[j] = h;
    r->ts[j] = t;
    r->v0[j] = v0;
    r->v1[j] = v1;
}

/* Row i: key keys[i], ts ts[i], created 0 (ts are distinct per key), values (10 i, i + 0.5);
 * then sorted. */
static rows_t make_rows(int64_t n, const char *const *keys, const int64_t *ts)
{
    rows_t r = {.n = n};
    for (int64_t i = 0; i < n; i++) {
        r.keys[i] = keys[i];
        r.hash[i] = mo_entity_hash(keys[i], strlen(keys[i]));
        r.ts[i] = ts[i];
        r.v0[i] = 10.0 * (double)i;
        r.v1[i] = (double)i + 0.5;
    }
    for (int64_t i = 1; i < n; i++) /* insertion sort: a handful of rows */
        for (int64_t j = i; j > 0 && before(&r, j, j - 1); j--)
            swap_rows(&r, j, j - 1);
    return r;
}

static mo_fs_view_t view_of(const char *name, rows_t *r)
{
    static const int64_t ranges[1][2] = {{0, 5000}};
    r->vals[0] = r->v0;
    r->vals[1] = r->v1;
    return (mo_fs_view_t){.name = name,
                          .entity = "account",
                          .ttl_us = 0,
                          .features = feats,
                          .n_features = NF,
                          .ranges_us = &ranges[0][0],
                          .n_ranges = 1,
                          .n = r->n,
                          .keys = r->keys,
                          .hash = r->hash,
                          .event_ts = r->ts,
                          .created_ts = r->created,
                          .values = r->vals};
}

/* keys a (3 rows), b (1), c (2); view "empty" without rows. */
static const char *const k6[] = {"a", "b", "c", "a", "c", "a"};
static const int64_t ts6[] = {300, 100, 200, 100, 400, 200};

static const char *write_store(const char *name, rows_t *r)
{
    static char path[512];
    mo_error_t err = {0};
    rows_t none = {0};
    *r = make_rows(6, k6, ts6);
    mo_fs_view_t v[2] = {view_of("tx", r), view_of("empty", &none)};
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    int rc = write_local(path, v, 2, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    return path;
}

static mo_fs_t *open_store(const char *path)
{
    mo_error_t err = {0};
    mo_fs_t *fs = NULL;
    CU_ASSERT_EQUAL(mo_fs_open(&fs, path, &err), 0);
    return fs;
}

static void test_feature_store__find_entity_present_and_absent(void)
{
    rows_t r;
    mo_error_t err = {0};
    mo_fs_t *fs = open_store(write_store("find.h5", &r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    const char *keys[] = {"a", "b", "c"};
    const int64_t want[] = {3, 1, 2};
    for (int k = 0; k < 3; k++) {
        int64_t first = -1, count = -1;
        CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "tx", keys[k], &first, &count, &err), 0);
        CU_ASSERT_EQUAL(count, want[k]);
        for (int64_t i = first; i < first + count; i++)
            CU_ASSERT_STRING_EQUAL(r.keys[i], keys[k]);
    }
    int64_t first = -1, count = -1;
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "tx", "zz", &first, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 0);
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "tx", "", &first, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 0);
    mo_fs_close(fs);
}

static void test_feature_store__lower_bound_splits_rows_by_hash(void)
{
    rows_t r;
    mo_error_t err = {0};
    mo_fs_t *fs = open_store(write_store("lower.h5", &r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    int64_t row = -1;
    CU_ASSERT_EQUAL(mo_fs_lower_bound(fs, "tx", 0, &row, &err), 0);
    CU_ASSERT_EQUAL(row, 0);
    CU_ASSERT_EQUAL(mo_fs_lower_bound(fs, "tx", UINT64_MAX, &row, &err), 0);
    CU_ASSERT_EQUAL(row, 6);
    for (int64_t i = 0; i < r.n; i++) {
        int64_t first = i;
        while (first > 0 && r.hash[first - 1] == r.hash[i])
            first--;
        CU_ASSERT_EQUAL(mo_fs_lower_bound(fs, "tx", r.hash[i], &row, &err), 0);
        CU_ASSERT_EQUAL(row, first);
        /* Just above this entity's hash: the next entity's first row. */
        int64_t next = i;
        while (next < r.n && r.hash[next] == r.hash[i])
            next++;
        CU_ASSERT_EQUAL(mo_fs_lower_bound(fs, "tx", r.hash[i] + 1, &row, &err), 0);
        CU_ASSERT_EQUAL(row, next);
    }
    mo_fs_close(fs);
}

static void test_feature_store__online_get_gives_the_latest_row(void)
{
    rows_t r;
    mo_error_t err = {0};
    mo_fs_t *fs = open_store(write_store("online.h5", &r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    /* The input rows: a at 300 (row 0), c at 400 (row 4), b at 100 (row 1). */
    const char *keys[] = {"a", "b", "c"};
    const int64_t ts[] = {300, 100, 400}, src[] = {0, 1, 4};
    for (int k = 0; k < 3; k++) {
        int found = 0;
        int64_t t = -1;
        double v[NF] = {-1, -1};
        CU_ASSERT_EQUAL(mo_fs_online_get(fs, "tx", keys[k], &found, &t, v, &err), 0);
        CU_ASSERT_EQUAL(found, 1);
        CU_ASSERT_EQUAL(t, ts[k]);
        CU_ASSERT_DOUBLE_EQUAL(v[0], 10.0 * (double)src[k], 0);
        CU_ASSERT_DOUBLE_EQUAL(v[1], (double)src[k] + 0.5, 0);
    }
    int found = 1;
    CU_ASSERT_EQUAL(mo_fs_online_get(fs, "tx", "nobody", &found, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(found, 0);
    mo_fs_close(fs);
}

static void test_feature_store__read_rows_gives_rows_row_major(void)
{
    rows_t r;
    mo_error_t err = {0};
    mo_fs_t *fs = open_store(write_store("rows.h5", &r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    mo_fs_rows_t rows;
    CU_ASSERT_EQUAL_FATAL(mo_fs_read_rows(fs, "tx", 2, 3, &rows, &err), 0);
    CU_ASSERT_EQUAL(rows.n, 3);
    CU_ASSERT_EQUAL(rows.n_features, NF);
    for (int64_t i = 0; i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(rows.pool + rows.key_off[i], r.keys[2 + i]);
        CU_ASSERT_EQUAL(rows.hash[i], r.hash[2 + i]);
        CU_ASSERT_EQUAL(rows.event_ts[i], r.ts[2 + i]);
        CU_ASSERT_EQUAL(rows.created_ts[i], 0);
        CU_ASSERT_DOUBLE_EQUAL(rows.values[i * NF], r.v0[2 + i], 0);
        CU_ASSERT_DOUBLE_EQUAL(rows.values[i * NF + 1], r.v1[2 + i], 0);
    }
    mo_fs_rows_free(&rows);
    mo_fs_rows_free(&rows); /* twice is harmless */
    CU_ASSERT_EQUAL(mo_fs_read_rows(fs, "tx", 4, 3, &rows, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "view 'tx': rows 4..7 are outside 0..6"));
    CU_ASSERT_EQUAL(mo_fs_read_rows(fs, "tx", -1, 1, &rows, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_rows(fs, "tx", 6, 0, &rows, &err), 0);
    CU_ASSERT_EQUAL(rows.n, 0);
    mo_fs_rows_free(&rows);
    mo_fs_close(fs);
}

static void test_feature_store__view_info_and_names(void)
{
    rows_t r;
    mo_error_t err = {0};
    mo_fs_t *fs = open_store(write_store("info.h5", &r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    const char *const *names = mo_fs_views(fs);
    CU_ASSERT_STRING_EQUAL(names[0], "empty");
    CU_ASSERT_STRING_EQUAL(names[1], "tx");
    CU_ASSERT_PTR_NULL(names[2]);
    mo_fs_view_info_t info;
    CU_ASSERT_EQUAL_FATAL(mo_fs_view(fs, "tx", &info, &err), 0);
    CU_ASSERT_STRING_EQUAL(info.name, "tx");
    CU_ASSERT_STRING_EQUAL(info.entity, "account");
    CU_ASSERT_EQUAL(info.rows, 6);
    CU_ASSERT_EQUAL(info.entities, 3);
    CU_ASSERT_EQUAL(info.n_features, NF);
    CU_ASSERT_STRING_EQUAL(info.features[1], "amount_last");
    CU_ASSERT_STRING_EQUAL(info.aggs[1], "last");
    CU_ASSERT_STRING_EQUAL(info.columns[0], "amount");
    CU_ASSERT_EQUAL(info.windows_us[0], 3600000000);
    CU_ASSERT_EQUAL(info.n_ranges, 1);
    CU_ASSERT(info.ranges_us[0] == 0 && info.ranges_us[1] == 5000);
    CU_ASSERT_PTR_NULL(mo_fs_views(NULL));
    mo_fs_close(fs);
}

static void test_feature_store__unknown_view_lists_the_views(void)
{
    rows_t r;
    mo_error_t err = {0};
    const char *path = write_store("unknown.h5", &r);
    mo_fs_t *fs = open_store(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    mo_fs_view_info_t info;
    int64_t first, count;
    char want[600];
    snprintf(want, sizeof want, "%s: no view 'clicks' (views: empty, tx)", path);
    CU_ASSERT_EQUAL(mo_fs_view(fs, "clicks", &info, &err), MO_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "clicks", "a", &first, &count, &err), MO_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    mo_fs_close(fs);
}

static void test_feature_store__zero_row_view(void)
{
    rows_t r;
    mo_error_t err = {0};
    mo_fs_t *fs = open_store(write_store("zero.h5", &r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    mo_fs_view_info_t info;
    CU_ASSERT_EQUAL(mo_fs_view(fs, "empty", &info, &err), 0);
    CU_ASSERT_EQUAL(info.rows, 0);
    CU_ASSERT_EQUAL(info.entities, 0);
    mo_fs_rows_t rows;
    CU_ASSERT_EQUAL(mo_fs_read_rows(fs, "empty", 0, 0, &rows, &err), 0);
    CU_ASSERT_EQUAL(rows.n, 0);
    mo_fs_rows_free(&rows);
    int64_t first = -1, count = -1, row = -1;
    int found = 1;
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "empty", "a", &first, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 0);
    CU_ASSERT_EQUAL(mo_fs_lower_bound(fs, "empty", 12345, &row, &err), 0);
    CU_ASSERT_EQUAL(row, 0);
    CU_ASSERT_EQUAL(mo_fs_online_get(fs, "empty", "a", &found, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(found, 0);
    mo_fs_close(fs);
}

static void test_feature_store__store_without_views_or_ranges(void)
{
    mo_error_t err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/none.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(write_local(path, NULL, 0, &err), 0);
    mo_fs_t *fs = open_store(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    CU_ASSERT_PTR_NULL(mo_fs_views(fs)[0]);
    mo_fs_view_info_t info;
    CU_ASSERT_EQUAL(mo_fs_view(fs, "tx", &info, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no view 'tx' (views: none)"));
    mo_fs_close(fs);
    rows_t r = make_rows(6, k6, ts6);
    mo_fs_view_t v = view_of("tx", &r);
    v.n_ranges = 0;
    CU_ASSERT_EQUAL_FATAL(write_local(path, &v, 1, &err), 0);
    fs = open_store(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    CU_ASSERT_EQUAL(mo_fs_view(fs, "tx", &info, &err), 0);
    CU_ASSERT_EQUAL(info.n_ranges, 0);
    CU_ASSERT_EQUAL(info.rows, 6);
    mo_fs_close(fs);
}

static void test_feature_store__key_of_maximal_length(void)
{
    mo_error_t err = {0};
    char *longest = malloc(MO_FS_KEY_MAX + 2);
    memset(longest, 'x', MO_FS_KEY_MAX);
    longest[MO_FS_KEY_MAX] = '\0';
    const char *keys[] = {"short", longest, "short"};
    const int64_t ts[] = {1, 2, 3};
    rows_t r = make_rows(3, keys, ts);
    mo_fs_view_t v = view_of("long", &r);
    char path[512];
    snprintf(path, sizeof path, "%s/long.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(write_local(path, &v, 1, &err), 0);
    mo_fs_t *fs = open_store(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    int64_t first = -1, count = -1;
    int found = 0;
    double vals[NF];
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "long", longest, &first, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 1);
    CU_ASSERT_STRING_EQUAL(r.keys[first], longest);
    CU_ASSERT_EQUAL(mo_fs_online_get(fs, "long", longest, &found, NULL, vals, &err), 0);
    CU_ASSERT_EQUAL(found, 1);
    CU_ASSERT_DOUBLE_EQUAL(vals[1], 1.5, 0);
    mo_fs_rows_t rows;
    CU_ASSERT_EQUAL(mo_fs_read_rows(fs, "long", first, 1, &rows, &err), 0);
    CU_ASSERT_STRING_EQUAL(rows.pool + rows.key_off[0], longest);
    mo_fs_rows_free(&rows);
    /* A key one byte longer than any reader would need to hold is refused. */
    longest[MO_FS_KEY_MAX] = 'x';
    longest[MO_FS_KEY_MAX + 1] = '\0';
    r = make_rows(3, keys, ts);
    v = view_of("long", &r);
    CU_ASSERT_EQUAL(write_local(path, &v, 1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "key is too long (at most 1024 bytes)"));
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "long", longest, &first, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 0);
    mo_fs_close(fs);
    free(longest);
}

static void test_feature_store__not_a_store_is_eformat(void)
{
    mo_error_t err = {0};
    mo_fs_t *fs = (mo_fs_t *)&err;
    const char *dir = mo_test_tmpdir();
    const char *text = mo_test_write_file(dir, "notes.txt", "not hdf5\n");
    char want[600];
    CU_ASSERT_EQUAL(mo_fs_open(&fs, text, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NULL(fs);
    snprintf(want, sizeof want, "%s: not an HDF5 file", text);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    float X[2] = {1, 2};
    int32_t y[2] = {0, 1};
    mo_ds_info_t info = {
        .n_rows = 2, .n_features = 1, .task = MO_DS_CLASSIFICATION, .n_classes = 2};
    char path[512];
    snprintf(path, sizeof path, "%s/data.h5", dir);
    CU_ASSERT_EQUAL_FATAL(mo_ds_write(path, &info, X, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_open(&fs, path, &err), MO_EFORMAT);
    snprintf(want, sizeof want, "%s: is a 'dataset' file, not a feature store", path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    snprintf(path, sizeof path, "%s/missing.h5", dir);
    CU_ASSERT_EQUAL(mo_fs_open(&fs, path, &err), MO_ENOTFOUND);
}

static void test_feature_store__newer_format_version_is_refused(void)
{
    rows_t r;
    mo_error_t err = {0};
    const char *path = write_store("newer.h5", &r);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(f, "format_version", MO_FS_FORMAT_VERSION + 1, &err), 0);
    H5Fclose(f);
    mo_fs_t *fs = NULL;
    CU_ASSERT_EQUAL(mo_fs_open(&fs, path, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "format_version 2 is not supported (this Maestro "
                                           "reads 1..1; written by a newer Maestro)"));
}

static void test_feature_store__missing_dataset_is_eformat(void)
{
    rows_t r;
    mo_error_t err = {0};
    const char *path = write_store("broken.h5", &r);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT(H5Ldelete(f, "/online/tx/amount_last", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    mo_fs_t *fs = NULL;
    char want[600];
    snprintf(want, sizeof want, "%s: /online/tx/amount_last is missing or not a dataset", path);
    CU_ASSERT_EQUAL(mo_fs_open(&fs, path, &err), MO_EFORMAT);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
}

static void test_feature_store__inspect_summarises_views(void)
{
    rows_t r;
    mo_error_t err = {0};
    json_t *obj = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&obj, write_store("inspect.h5", &r), &err), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(obj, "kind")), "feature_store");
    json_t *views = json_object_get(obj, "views");
    CU_ASSERT_EQUAL_FATAL(json_array_size(views), 2);
    json_t *tx = json_array_get(views, 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(tx, "name")), "tx");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(tx, "rows")), 6);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(tx, "entities")), 3);
    json_t *f1 = json_array_get(json_object_get(tx, "features"), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f1, "name")), "amount_last");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f1, "agg")), "last");
    json_t *range = json_array_get(json_object_get(tx, "ranges_us"), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(range, 1)), 5000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(views, 0), "rows")), 0);
    json_decref(obj);
}

/* Each case: what is wrong, and the text the error must hold. */
static void expect_write_error(mo_fs_view_t *v, size_t n, const char *msg)
{
    mo_error_t err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/bad.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL(write_local(path, v, n, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
    if (!strstr(err.msg, msg))
        fprintf(stderr, "expected '%s' in '%s'\n", msg, err.msg);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NULL(f); /* nothing written */
    if (f)
        fclose(f);
}

static void test_feature_store__bad_arguments(void)
{
    mo_error_t err = {0};
    rows_t r = make_rows(6, k6, ts6);
    mo_fs_view_t v[2] = {view_of("tx", &r), view_of("tx", &r)};
    expect_write_error(v, 2, "view 'tx' is given twice");
    v[1].name = "a/b";
    expect_write_error(v + 1, 1, "view name 'a/b' is empty, '.' or holds '/'");
    mo_fs_feature_t f[NF] = {feats[0], {"hash", "sum", "x", 0}};
    v[1] = view_of("tx", &r);
    v[1].features = f;
    expect_write_error(v + 1, 1, "feature name 'hash' is reserved");
    int64_t overlap[2][2] = {{0, 10}, {5, 20}};
    v[1] = view_of("tx", &r);
    v[1].ranges_us = &overlap[0][0];
    v[1].n_ranges = 2;
    expect_write_error(v + 1, 1, "range 1 [5, 20) is empty or overlaps the one before");
    v[1] = view_of("tx", &r);
    r.hash[2] ^= 1;
    expect_write_error(v + 1, 1, "hash of key");
    r.hash[2] ^= 1;
    v[1].n_features = 0;
    expect_write_error(v + 1, 1, "needs at least one feature");

    mo_fs_t *fs = NULL;
    CU_ASSERT_EQUAL(mo_fs_open(NULL, "x.h5", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_open(&fs, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_open(&fs, "", &err), MO_EINVAL);
    mo_fs_close(NULL);
    mo_fs_rows_free(NULL);
    int64_t a, b;
    int found;
    mo_fs_rows_t rows;
    mo_fs_view_info_t info;
    CU_ASSERT_EQUAL(mo_fs_view(NULL, "tx", &info, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_rows(NULL, "tx", 0, 1, &rows, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_find_entity(NULL, "tx", "a", &a, &b, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_lower_bound(NULL, "tx", 1, &a, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_online_get(NULL, "tx", "a", &found, NULL, NULL, &err), MO_EINVAL);
    fs = open_store(write_store("args.h5", &r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    CU_ASSERT_EQUAL(mo_fs_view(fs, "tx", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_read_rows(fs, "tx", 0, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "tx", NULL, &a, &b, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_find_entity(fs, "tx", "a", NULL, &b, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_lower_bound(fs, "tx", 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_online_get(fs, "tx", "a", NULL, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_online_get(fs, NULL, "a", &found, NULL, NULL, &err), MO_EINVAL);
    mo_fs_close(fs);
}

/* values_fn: the rows' values, block by block. */
static int values_of(void *ctx, int64_t first, int64_t count, double *const *out, mo_error_t *err)
{
    const rows_t *r = ctx;
    memcpy(out[0], r->v0 + first, (size_t)count * sizeof(double));
    memcpy(out[1], r->v1 + first, (size_t)count * sizeof(double));
    return first + count > r->n ? mo_errorf(err, MO_EINVAL, "rows past the end") : 0;
}

/* Values computed per block (1, 2 or 4 rows; compressed or not) equal values given whole. */
static void test_feature_store__values_fn_in_blocks_equals_columns(void)
{
    rows_t r, b = make_rows(6, k6, ts6), none = {0};
    mo_error_t err = {0};
    char path[512];
    mo_fs_t *ref = open_store(write_store("blocks-ref.h5", &r)), *fs;
    for (int64_t block = 1; block <= 4; block *= 2) {
        mo_fs_view_t v[2] = {view_of("tx", &b), view_of("empty", &none)};
        v[0].values = NULL;
        v[0].values_fn = values_of;
        v[0].values_ctx = &b;
        v[0].block_rows = block;
        v[0].no_compression = block == 2;
        snprintf(path, sizeof path, "%s/blocks%lld.h5", mo_test_tmpdir(), (long long)block);
        CU_ASSERT_EQUAL_FATAL(write_local(path, v, 2, &err), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fs = open_store(path));
        mo_fs_rows_t a;
        CU_ASSERT_EQUAL_FATAL(mo_fs_read_rows(fs, "tx", 0, 6, &a, &err), 0);
        for (int64_t i = 0; i < 6; i++)
            CU_ASSERT(a.values[i * NF] == r.v0[i] && a.values[i * NF + 1] == r.v1[i]);
        double x[NF], y[NF];
        int64_t ta, tc;
        for (int i = 0, fa, fc; i < 3; i++) {
            CU_ASSERT_EQUAL(mo_fs_online_get(fs, "tx", k6[i], &fa, &ta, x, &err), 0);
            CU_ASSERT_EQUAL(mo_fs_online_get(ref, "tx", k6[i], &fc, &tc, y, &err), 0);
            CU_ASSERT(fa && fc && ta == tc && !memcmp(x, y, sizeof x));
        }
        mo_fs_rows_free(&a);
        mo_fs_close(fs);
    }
    mo_fs_close(ref);
}

/* A write given up after any number of steps (another rank failed there) closes cleanly and
 * leaves the store that was there, and no temp file. */
static void test_feature_store__write_given_up_midway_keeps_the_old_store(void)
{
    rows_t r, again = make_rows(6, k6, ts6), none = {0};
    mo_error_t err = {0};
    const char *path = write_store("midway.h5", &r);
    again.v0[0] = -1;
    mo_fs_view_t v[2] = {view_of("tx", &again), view_of("empty", &none)};
    for (int stop = 0; stop < 40; stop++) {
        CU_ASSERT_EQUAL(write_steps(path, v, 2, stop, &err), MO_EIO);
        CU_ASSERT_STRING_EQUAL(err.msg, "stopped");
    }
    mo_fs_t *fs = open_store(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    mo_fs_rows_t rows;
    CU_ASSERT_EQUAL_FATAL(mo_fs_read_rows(fs, "tx", 0, 6, &rows, &err), 0);
    for (int64_t i = 0; i < 6; i++)
        CU_ASSERT_DOUBLE_EQUAL(rows.values[i * NF], r.v0[i], 0);
    mo_fs_rows_free(&rows);
    mo_fs_close(fs);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
    /* All the steps: the new rows. */
    CU_ASSERT_EQUAL_FATAL(write_local(path, v, 2, &err), 0);
    fs = open_store(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    CU_ASSERT_EQUAL_FATAL(mo_fs_read_rows(fs, "tx", 0, 6, &rows, &err), 0);
    for (int64_t i = 0; i < 6; i++)
        CU_ASSERT_DOUBLE_EQUAL(rows.values[i * NF], again.v0[i], 0);
    mo_fs_rows_free(&rows);
    mo_fs_close(fs);
}

static void test_feature_store__writer_steps_bad_arguments(void)
{
    mo_error_t err = {0};
    rows_t r = make_rows(6, k6, ts6);
    mo_fs_view_t v = view_of("tx", &r);
    mo_fs_plan_t *plan = NULL;
    mo_fs_writer_t *w = (mo_fs_writer_t *)&err;
    char *tmp = (char *)"x", path[512], missing[600];
    int done = 0;
    snprintf(path, sizeof path, "%s/steps.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL(mo_fs_temp_create(NULL, path, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_temp_create(&tmp, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_temp_create(&tmp, "", &err), MO_EINVAL);
    snprintf(missing, sizeof missing, "%s/no/such/dir/s.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL(mo_fs_temp_create(&tmp, missing, &err), MO_EIO);
    CU_ASSERT_PTR_NULL(tmp);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot create"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));

    /* A plan not finished yet cannot be written. */
    CU_ASSERT_EQUAL_FATAL(mo_fs_plan_create(&plan, path, &v, 1, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_writer_open(&w, path, "t.h5", MPI_COMM_NULL, &v, &plan, 1, &err),
                    MO_EINVAL);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "view 'tx' has no finished plan"));
    CU_ASSERT_EQUAL(mo_fs_writer_open(NULL, path, "t.h5", MPI_COMM_NULL, NULL, NULL, 0, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_writer_open(&w, path, NULL, MPI_COMM_NULL, NULL, NULL, 0, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_writer_open(&w, path, "t.h5", MPI_COMM_NULL, NULL, NULL, 1, &err),
                    MO_EINVAL);
    /* HDF5 cannot create the file: MO_EIO, nothing to close. */
    CU_ASSERT_EQUAL(mo_fs_writer_open(&w, path, missing, MPI_COMM_NULL, NULL, NULL, 0, &err),
                    MO_EIO);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "HDF5 cannot create"));
    CU_ASSERT_EQUAL(mo_fs_writer_step(NULL, &done, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_writer_close(NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_commit(NULL, path, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_commit("t.h5", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_commit(missing, path, &err), MO_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot rename"));
    mo_fs_plan_destroy(plan);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_feature_store__find_entity_present_and_absent),
    MO_TEST(test_feature_store__lower_bound_splits_rows_by_hash),
    MO_TEST(test_feature_store__online_get_gives_the_latest_row),
    MO_TEST(test_feature_store__read_rows_gives_rows_row_major),
    MO_TEST(test_feature_store__view_info_and_names),
    MO_TEST(test_feature_store__unknown_view_lists_the_views),
    MO_TEST(test_feature_store__zero_row_view),
    MO_TEST(test_feature_store__store_without_views_or_ranges),
    MO_TEST(test_feature_store__key_of_maximal_length),
    MO_TEST(test_feature_store__not_a_store_is_eformat),
    MO_TEST(test_feature_store__newer_format_version_is_refused),
    MO_TEST(test_feature_store__missing_dataset_is_eformat),
    MO_TEST(test_feature_store__inspect_summarises_views),
    MO_TEST(test_feature_store__bad_arguments),
    MO_TEST(test_feature_store__write_given_up_midway_keeps_the_old_store),
    MO_TEST(test_feature_store__values_fn_in_blocks_equals_columns),
    MO_TEST(test_feature_store__writer_steps_bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/feature_store", tests);
}
