/* test_store_mpi.c - the feature store written by every rank (jobs/materialize/store.c,
 * mat_store_write) under mpirun -np 1, 2, 3
 *
 * Every rank builds the same deterministic global table (entities with 1 to 6 rows, ties in
 * event_ts broken by created_ts, a NaN, a key of the maximal length), sorts it and passes a
 * slab: split by rows, so entities run across rank boundaries; all on the last rank, so
 * other ranks are empty; one entity over every rank; and a view without rows. Rank 0 then
 * reads the store back and compares every row, index entry and online row with what brute
 * force over the global table says, so the file holds the same content whatever the rank
 * count. Failures (unsorted rows, slabs out of order, ranks that disagree on the features)
 * must fail on every rank and leave the old store as it was, with no temp file.
 * Collectives run in the same order on every rank whatever the assertions say.
 */
#include "comm/comm.h"
#include "io/events.h"
#include "io/feature_store.h"
#include "jobs/materialize/store.h"
#include "tests/unit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NF = 3, N_ENT = 41 };

static mo_comm_t *comm;
static int rank, size;

typedef struct {
    int64_t n;
    char **keys;
    uint64_t *hash;
    int64_t *ts, *created;
    double *vals[NF];
} table_t;

static const mo_fs_feature_t features[NF] = {
    {"clicks_1h", "count", "clicks", 3600000000},
    {"spend_sum", "sum", "spend", 0},
    {"spend_last", "last", "spend", 86400000000},
};
static const int64_t ranges[2][2] = {{0, 1000000}, {2000000, 3000000}};

static table_t *sorted_for_cmp;
static int row_order(const void *a, const void *b)
{
    const table_t *t = sorted_for_cmp;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (t->hash[i] != t->hash[j])
        return t->hash[i] < t->hash[j] ? -1 : 1;
    int c = strcmp(t->keys[i], t->keys[j]);
    if (c)
        return c;
    if (t->ts[i] != t->ts[j])
        return t->ts[i] < t->ts[j] ? -1 : 1;
    return t->created[i] < t->created[j] ? -1 : t->created[i] > t->created[j];
}

/* The global table, sorted as the store wants it: n_ent entities (entity 7's key is
 * MO_FS_KEY_MAX bytes long when n_ent > 7), entity e with 1 + e % 6 rows. */
static table_t make_table(int n_ent)
{
    table_t raw = {0}, t = {0};
    for (int e = 0; e < n_ent; e++)
        raw.n += 1 + e % 6;
    int64_t n = raw.n, *order = malloc(sizeof *order * (size_t)(n ? n : 1));
    raw.keys = calloc((size_t)n + 1, sizeof *raw.keys);
    raw.hash = malloc(sizeof *raw.hash * (size_t)(n + 1));
    raw.ts = malloc(sizeof *raw.ts * (size_t)(n + 1));
    raw.created = malloc(sizeof *raw.created * (size_t)(n + 1));
    for (int f = 0; f < NF; f++)
        raw.vals[f] = malloc(sizeof(double) * (size_t)(n + 1));
    int64_t r = 0;
    for (int e = 0; e < n_ent; e++) {
        char key[MO_FS_KEY_MAX + 1];
        if (e == 7) {
            memset(key, 'k', MO_FS_KEY_MAX);
            key[MO_FS_KEY_MAX] = '\0';
        } else {
            snprintf(key, sizeof key, "user-%d", e * 7919 % 1000);
        }
        /* Rows in reverse time order, so the sort has work to do; rows 1 and 2 tie on ts. */
        for (int j = 1 + e % 6 - 1; j >= 0; j--, r++) {
            raw.keys[r] = strdup(key);
            raw.hash[r] = mo_entity_hash(key, strlen(key));
            raw.ts[r] = 1000 + 10 * (j == 2 ? 1 : j);
            raw.created[r] = 5000 + j;
            for (int f = 0; f < NF; f++)
                raw.vals[f][r] = e * 100.0 + j + f * 0.25;
            if (e == 3 && j == 0)
                raw.vals[1][r] = NAN;
        }
    }
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    sorted_for_cmp = &raw;
    qsort(order, (size_t)n, sizeof *order, row_order);
    t.n = n;
    t.keys = calloc((size_t)n + 1, sizeof *t.keys);
    t.hash = malloc(sizeof *t.hash * (size_t)(n + 1));
    t.ts = malloc(sizeof *t.ts * (size_t)(n + 1));
    t.created = malloc(sizeof *t.created * (size_t)(n + 1));
    for (int f = 0; f < NF; f++)
        t.vals[f] = malloc(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        int64_t s = order[i];
        t.keys[i] = raw.keys[s];
        t.hash[i] = raw.hash[s];
        t.ts[i] = raw.ts[s];
        t.created[i] = raw.created[s];
        for (int f = 0; f < NF; f++)
            t.vals[f][i] = raw.vals[f][s];
    }
    free(raw.keys);
    free(raw.hash);
    free(raw.ts);
    free(raw.created);
    for (int f = 0; f < NF; f++)
        free(raw.vals[f]);
    free(order);
    return t;
}

static void free_table(table_t *t)
{
    for (int64_t i = 0; i < t->n; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->hash);
    free(t->ts);
    free(t->created);
    for (int f = 0; f < NF; f++)
        free(t->vals[f]);
}

/* The view `name` with rows [b, b + c) of t on this rank (vals: NF pointers to fill). */
static mo_fs_view_t slab(const char *name, const table_t *t, int64_t b, int64_t c,
                         const double **vals)
{
    for (int f = 0; f < NF; f++)
        vals[f] = t->vals[f] + b;
    return (mo_fs_view_t){.name = name,
                          .entity = "user_id",
                          .ttl_us = 7200000000,
                          .features = features,
                          .n_features = NF,
                          .ranges_us = &ranges[0][0],
                          .n_ranges = 2,
                          .n = c,
                          .keys = (const char *const *)t->keys + b,
                          .hash = t->hash + b,
                          .event_ts = t->ts + b,
                          .created_ts = t->created + b,
                          .values = vals};
}

static void even_split(int64_t n, int64_t *b, int64_t *c)
{
    int64_t base = n / size, extra = n % size;
    *b = rank * base + (rank < extra ? rank : extra);
    *c = base + (rank < extra ? 1 : 0);
}

static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Rank 0: the view in the store holds exactly t (rows, index, online, metadata). */
static void check_view(mo_fs_t *fs, const char *name, const table_t *t)
{
    mo_error_t err = {0};
    mo_fs_view_info_t info;
    /* No FATAL asserts here: rank 0 leaving a test early would hang the others' barrier. */
    int rc = mo_fs_view(fs, name, &info, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CU_ASSERT_EQUAL(info.rows, t->n);
    CU_ASSERT_STRING_EQUAL(info.entity, "user_id");
    CU_ASSERT_EQUAL(info.ttl_us, 7200000000);
    CU_ASSERT_EQUAL(info.n_features, NF);
    CU_ASSERT_EQUAL(info.n_ranges, 2);
    CU_ASSERT(info.ranges_us[1] == 1000000 && info.ranges_us[2] == 2000000);
    for (int f = 0; f < NF; f++) {
        CU_ASSERT_STRING_EQUAL(info.features[f], features[f].name);
        CU_ASSERT_STRING_EQUAL(info.aggs[f], features[f].agg);
        CU_ASSERT_STRING_EQUAL(info.columns[f], features[f].column);
        CU_ASSERT_EQUAL(info.windows_us[f], features[f].window_us);
    }
    mo_fs_rows_t rows;
    rc = mo_fs_read_rows(fs, name, 0, t->n, &rows, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CU_ASSERT_EQUAL(rows.n, t->n);
    int64_t bad = 0, entities = 0;
    for (int64_t i = 0; i < t->n; i++) {
        bad += strcmp(rows.pool + rows.key_off[i], t->keys[i]) != 0 || rows.hash[i] != t->hash[i] ||
               rows.event_ts[i] != t->ts[i] || rows.created_ts[i] != t->created[i];
        for (int f = 0; f < NF; f++)
            bad += !same(rows.values[i * NF + f], t->vals[f][i]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    mo_fs_rows_free(&rows);
    /* Brute force: each entity's run of rows, its last row online. */
    for (int64_t i = 0; i < t->n;) {
        int64_t j = i;
        while (j < t->n && !strcmp(t->keys[j], t->keys[i]))
            j++;
        int64_t first = -1, count = -1, ts = 0, row = -1;
        double v[NF];
        int found = 0;
        CU_ASSERT_EQUAL(mo_fs_find_entity(fs, name, t->keys[i], &first, &count, &err), 0);
        CU_ASSERT_EQUAL(mo_fs_lower_bound(fs, name, t->hash[i], &row, &err), 0);
        CU_ASSERT_EQUAL(mo_fs_online_get(fs, name, t->keys[i], &found, &ts, v, &err), 0);
        bad += first != i || count != j - i || row != i || !found || ts != t->ts[j - 1];
        for (int f = 0; f < NF; f++)
            bad += !same(v[f], t->vals[f][j - 1]);
        entities++;
        i = j;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(info.entities, entities);
}

/* Rank 0's test directory, on every rank (caller frees). */
static char *shared_path(const char *name)
{
    char *path = NULL;
    if (rank == 0) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s/%s", mo_test_tmpdir(), name);
        path = strdup(buf);
    }
    mo_comm_bcast_string(comm, &path, 0, NULL);
    return path;
}

static void test_store_mpi__same_content_for_any_rank_count(void)
{
    mo_error_t err = {0};
    table_t t = make_table(N_ENT), one = {0}, none = {0};
    /* One entity of 8 rows, split over every rank. */
    char *k = strdup("solo");
    one.n = 8;
    one.keys = calloc(8, sizeof *one.keys);
    one.hash = malloc(8 * sizeof *one.hash);
    one.ts = malloc(8 * sizeof *one.ts);
    one.created = malloc(8 * sizeof *one.created);
    for (int f = 0; f < NF; f++)
        one.vals[f] = malloc(8 * sizeof(double));
    for (int64_t i = 0; i < 8; i++) {
        one.keys[i] = strdup(k);
        one.hash[i] = mo_entity_hash(k, 4);
        one.ts[i] = 100 * i;
        one.created[i] = 0;
        for (int f = 0; f < NF; f++)
            one.vals[f][i] = (double)(i * NF + f);
    }
    free(k);
    const double *va[NF], *vb[NF], *vc[NF], *vd[NF];
    int64_t b, c, bo, co;
    even_split(t.n, &b, &c);
    even_split(one.n, &bo, &co);
    int last = rank == size - 1;
    mo_fs_view_t views[4] = {
        slab("by_rows", &t, b, c, va),
        slab("on_last_rank", &t, 0, last ? t.n : 0, vb),
        slab("one_entity", &one, bo, co, vc),
        slab("no_rows", &none, 0, 0, vd),
    };
    char *path = shared_path("store.h5");
    CU_ASSERT_EQUAL(mat_store_write(path, comm, views, 4, &err), 0);
    if (err.msg[0])
        fprintf(stderr, "rank %d: %s\n", rank, err.msg);
    if (rank == 0) {
        mo_fs_t *fs = NULL;
        CU_ASSERT_EQUAL(mo_fs_open(&fs, path, &err), 0);
        const char *const *names = mo_fs_views(fs);
        CU_ASSERT_PTR_NOT_NULL(names);
        if (names) {
            CU_ASSERT_STRING_EQUAL(names[0], "by_rows");
            CU_ASSERT_STRING_EQUAL(names[1], "no_rows");
            CU_ASSERT_STRING_EQUAL(names[2], "on_last_rank");
            CU_ASSERT_STRING_EQUAL(names[3], "one_entity");
            CU_ASSERT_PTR_NULL(names[4]);
            check_view(fs, "by_rows", &t);
            check_view(fs, "on_last_rank", &t);
            check_view(fs, "one_entity", &one);
            check_view(fs, "no_rows", &none);
        }
        mo_fs_close(fs);
    }
    free(path);
    free_table(&t);
    free_table(&one);
    mo_comm_barrier(comm, NULL); /* rank 0 removes its directory at exit */
}

/* Entries of rank 0's test directory whose name holds ".tmp." */
static int temp_files(void)
{
    int n = 0;
    DIR *d = opendir(mo_test_tmpdir());
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Write a good store, then a bad one over it from `bad_rank` (which swaps two rows, passes
 * the slabs out of order, or renames a feature, per `how`); expect `msg` in the error on every
 * rank and the good store intact. */
static void fails_everywhere(int how, const char *msg)
{
    mo_error_t err = {0};
    table_t t = make_table(12);
    const double *va[NF];
    int64_t b, c;
    even_split(t.n, &b, &c);
    mo_fs_view_t v = slab("v", &t, b, c, va);
    char *path = shared_path(how == 0 ? "unsorted.h5" : how == 1 ? "order.h5" : "meta.h5");
    CU_ASSERT_EQUAL(mat_store_write(path, comm, &v, 1, &err), 0);
    int bad_rank = size - 1;
    mo_fs_feature_t renamed[NF];
    memcpy(renamed, features, sizeof renamed);
    if (how == 0 && rank == bad_rank && c >= 2) {
        char *k = t.keys[b];
        t.keys[b] = t.keys[b + c - 1];
        t.keys[b + c - 1] = k;
        uint64_t h = t.hash[b];
        t.hash[b] = t.hash[b + c - 1];
        t.hash[b + c - 1] = h;
    } else if (how == 1) {
        /* Rank r passes the slab of rank size-1-r. */
        int64_t base = t.n / size, extra = t.n % size, r = size - 1 - rank;
        b = r * base + (r < extra ? r : extra);
        c = base + (r < extra ? 1 : 0);
        v = slab("v", &t, b, c, va);
    } else if (how == 2 && rank == bad_rank) {
        renamed[1].name = "spend_total";
        v.features = renamed;
    }
    int rc = mat_store_write(path, comm, &v, 1, &err);
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
    if (!strstr(err.msg, msg))
        fprintf(stderr, "rank %d: expected '%s' in: %s\n", rank, msg, err.msg);
    if (rank == 0) {
        table_t good = make_table(12);
        mo_fs_t *fs = NULL;
        CU_ASSERT_EQUAL(mo_fs_open(&fs, path, &err), 0);
        if (fs)
            check_view(fs, "v", &good);
        mo_fs_close(fs);
        free_table(&good);
        CU_ASSERT_EQUAL(temp_files(), 0);
    }
    free(path);
    free_table(&t);
    mo_comm_barrier(comm, NULL);
}

static void test_store_mpi__unsorted_rows_fail_every_rank(void)
{
    fails_everywhere(0, "is out of order");
}

static void test_store_mpi__slabs_out_of_rank_order_fail(void)
{
    if (size > 1)
        fails_everywhere(1, "slabs must be in rank order");
}

static void test_store_mpi__ranks_disagreeing_on_features_fail(void)
{
    if (size > 1)
        fails_everywhere(2, "the ranks passed different views");
}

static void test_store_mpi__unwritable_path_fails_on_every_rank(void)
{
    mo_error_t err = {0};
    table_t t = make_table(5);
    const double *va[NF];
    int64_t b, c;
    even_split(t.n, &b, &c);
    mo_fs_view_t v = slab("v", &t, b, c, va);
    int rc = mat_store_write("/nonexistent/maestro/store.h5", comm, &v, 1, &err);
    CU_ASSERT_EQUAL(rc, MO_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/maestro/store.h5: cannot create "
                                           "/nonexistent/maestro/store.h5.tmp."));
    int fails = rc != 0;
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &fails, 1, MO_DT_INT32, MO_OP_SUM, NULL), 0);
    CU_ASSERT_EQUAL(fails, size);
    free_table(&t);
}

static void test_store_mpi__bad_arguments(void)
{
    mo_error_t err = {0};
    table_t t = make_table(3);
    const double *va[NF];
    mo_fs_view_t v = slab("v", &t, 0, rank == 0 ? t.n : 0, va);
    char *path = shared_path("args.h5");
    CU_ASSERT_EQUAL(mat_store_write(path, NULL, &v, 1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "NULL communicator"));
    /* Bad on every rank: refused on every rank, nothing created. */
    CU_ASSERT_EQUAL(mat_store_write(NULL, comm, &v, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mat_store_write("", comm, &v, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mat_store_write(path, comm, NULL, 1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a path and views are required"));
    /* Bad on rank 0 only (a view name HDF5 cannot hold): every rank gets rank 0's message. */
    if (rank == 0)
        v.name = "a/b";
    CU_ASSERT_EQUAL(mat_store_write(path, comm, &v, 1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "view name 'a/b' is empty, '.' or holds '/'"));
    if (rank == 0) {
        FILE *f = fopen(path, "r");
        CU_ASSERT_PTR_NULL(f);
        if (f)
            fclose(f);
        CU_ASSERT_EQUAL(temp_files(), 0);
    }
    free(path);
    free_table(&t);
    mo_comm_barrier(comm, NULL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_store_mpi__same_content_for_any_rank_count),
    MO_TEST(test_store_mpi__unsorted_rows_fail_every_rank),
    MO_TEST(test_store_mpi__slabs_out_of_rank_order_fail),
    MO_TEST(test_store_mpi__ranks_disagreeing_on_features_fail),
    MO_TEST(test_store_mpi__unwritable_path_fails_on_every_rank),
    MO_TEST(test_store_mpi__bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    mo_error_t err = {0};
    if (mo_comm_init(&comm, &argc, &argv, &err)) {
        fprintf(stderr, "test_store_mpi: %s\n", err.msg);
        return 1;
    }
    rank = mo_comm_rank(comm);
    size = mo_comm_size(comm);
    int rc = mo_test_main("jobs/store_mpi", tests);
    mo_comm_destroy(comm);
    return rc;
}
