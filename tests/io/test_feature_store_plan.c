/* test_feature_store_plan.c - each rank's checks and plan before a feature store is written
 * (io/feature_store_plan.c)
 *
 * The ranks are simulated in one process: a sorted table is cut into slabs (by rows, so
 * entities run over rank boundaries, and with empty ranks), each slab's record goes into one
 * buffer in rank order, and each rank's plan is finished from it. Put together, the parts must
 * be the table: rows, index and online table each cut into contiguous slices, each entity
 * indexed once by the rank of its first row and put online once by the rank of its last.
 */
#include "io/events.h"
#include "io/feature_store.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAXN = 64, MAXRANKS = 5 };

static const mo_fs_feature_t feat = {"n", "count", "x", 0};
static const int64_t range[2] = {0, 100};

/* A sorted table: n_ent entities, entity e with 1 + e % 4 rows. */
typedef struct {
    int64_t n;
    char keys[MAXN][16];
    const char *kp[MAXN];
    uint64_t hash[MAXN];
    int64_t ts[MAXN], created[MAXN];
    double v[MAXN];
    const double *vals[1];
} table_t;

static int ent_cmp(const void *a, const void *b)
{
    const char *ka = a, *kb = b;
    uint64_t ha = mo_entity_hash(ka, strlen(ka)), hb = mo_entity_hash(kb, strlen(kb));
    return ha != hb ? (ha < hb ? -1 : 1) : strcmp(ka, kb);
}

static void make_table(table_t *t, int n_ent)
{
    char ents[16][16];
    for (int e = 0; e < n_ent; e++)
        snprintf(ents[e], sizeof ents[e], "e%d", e);
    qsort(ents, (size_t)n_ent, sizeof ents[0], ent_cmp);
    t->n = 0;
    for (int e = 0; e < n_ent; e++)
        for (int j = 0; j < 1 + e % 4; j++, t->n++) {
            snprintf(t->keys[t->n], sizeof t->keys[t->n], "%.15s", ents[e]);
            t->kp[t->n] = t->keys[t->n];
            t->hash[t->n] = mo_entity_hash(ents[e], strlen(ents[e]));
            t->ts[t->n] = 10 * j;
            t->created[t->n] = 0;
            t->v[t->n] = (double)t->n;
        }
    t->vals[0] = t->v;
}

/* dst: rows [b, b + n) of src, as rows 0.. */
static void sub(table_t *dst, const table_t *src, int64_t b, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        memcpy(dst->keys[i], src->keys[b + i], sizeof dst->keys[i]);
        dst->kp[i] = dst->keys[i];
        dst->hash[i] = src->hash[b + i];
        dst->ts[i] = src->ts[b + i];
        dst->created[i] = src->created[b + i];
        dst->v[i] = src->v[b + i];
    }
    dst->n = n;
    dst->vals[0] = dst->v;
}

/* Rows [b, b + c) of t (values are not the slab's: neither checks nor plans read them). */
static mo_fs_view_t slab(table_t *t, int64_t b, int64_t c)
{
    return (mo_fs_view_t){.name = "v",
                          .entity = "id",
                          .features = &feat,
                          .n_features = 1,
                          .ranges_us = range,
                          .n_ranges = 1,
                          .n = c,
                          .keys = t->kp + b,
                          .hash = t->hash + b,
                          .event_ts = t->ts + b,
                          .created_ts = t->created + b,
                          .values = t->vals};
}

/* Plans of `size` ranks whose slabs start at first[r] (first[size] = t->n); 0 or the first
 * failure of a plan_finish (err says which). */
static int plan_all(mo_fs_plan_t **plans, table_t *t, const int64_t *first, int size,
                    mo_error_t *err)
{
    mo_fs_view_t v[MAXRANKS];
    size_t rec = 0, width = 0;
    int rc = 0;
    for (int r = 0; r < size; r++) {
        v[r] = slab(t, first[r], first[r + 1] - first[r]);
        for (int64_t i = 0; i < v[r].n; i++)
            width = strlen(v[r].keys[i]) > width ? strlen(v[r].keys[i]) : width;
    }
    for (int r = 0; r < size; r++) {
        int64_t len = -1;
        CU_ASSERT_EQUAL(mo_fs_check("s.h5", &v[r], 1, &len, err), 0);
        CU_ASSERT_EQUAL_FATAL(mo_fs_plan_create(&plans[r], "s.h5", &v[r], width, err), 0);
    }
    mo_fs_plan_record(plans[0], &rec);
    char *all = calloc(MAXRANKS, rec); /* size <= MAXRANKS */
    for (int r = 0; r < size; r++) {
        size_t got = 0;
        const void *p = mo_fs_plan_record(plans[r], &got);
        CU_ASSERT_EQUAL(got, rec);
        CU_ASSERT_EQUAL(got % 8, 0);
        memcpy(all + (size_t)r * rec, p, rec);
    }
    for (int r = 0; !rc && r < size; r++)
        rc = mo_fs_plan_finish(plans[r], "s.h5", &v[r], all, r, size, err);
    free(all);
    return rc;
}

/* The parts of every rank put together are the table's rows, index and online table. */
static void check_parts(mo_fs_plan_t **plans, const table_t *t, int size)
{
    int64_t row = 0, idx = 0, onl = 0, bad = 0, ents = 0;
    for (int64_t i = 0; i < t->n; i++)
        ents += !i || strcmp(t->keys[i], t->keys[i - 1]);
    for (int r = 0; r < size; r++) {
        const mo_fs_part_t *p = mo_fs_plan_part(plans[r]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        /* An offset matters only where there is something to write. */
        bad += p->total != t->n || p->entities != ents || (p->n && p->off != row) ||
               (p->n_idx && p->idx_off != idx) || (p->n_onl && p->onl_off != onl);
        for (int64_t i = 0; i < p->n_idx; i++) { /* entity idx + i starts at row idx_first[i] */
            int64_t g = p->idx_first[i], end = g;
            while (end < t->n && !strcmp(t->keys[end], t->keys[g]))
                end++;
            bad += g != p->off + p->idx_row[i] || (g && !strcmp(t->keys[g - 1], t->keys[g])) ||
                   p->idx_count[i] != end - g;
        }
        for (int64_t i = 0; i < p->n_onl; i++) { /* the entity's last row */
            int64_t g = p->off + p->onl_row[i];
            bad += g + 1 < t->n && !strcmp(t->keys[g + 1], t->keys[g]);
        }
        row += p->n;
        idx += p->n_idx;
        onl += p->n_onl;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(row, t->n);
    CU_ASSERT_EQUAL(idx, ents);
    CU_ASSERT_EQUAL(onl, ents);
}

static void test_feature_store_plan__parts_make_the_table_for_any_split(void)
{
    table_t t;
    make_table(&t, 9);
    mo_error_t err = {0};
    for (int size = 1; size <= MAXRANKS; size++) {
        for (int how = 0; how < 3; how++) {
            int64_t first[MAXRANKS + 1];
            /* By rows; all on the last rank; every other rank empty. */
            for (int r = 0; r <= size; r++)
                first[r] = how == 1 && r < size ? 0 : t.n * r / size;
            for (int r = 1; how == 2 && r < size; r += 2)
                first[r] = first[r - 1];
            mo_fs_plan_t *plans[MAXRANKS] = {0};
            int rc = plan_all(plans, &t, first, size, &err);
            CU_ASSERT_EQUAL(rc, 0);
            if (rc)
                fprintf(stderr, "size %d, split %d: %s\n", size, how, err.msg);
            else
                check_parts(plans, &t, size);
            for (int r = 0; r < size; r++)
                mo_fs_plan_destroy(plans[r]);
        }
    }
}

static void test_feature_store_plan__one_entity_over_every_rank(void)
{
    table_t t, one;
    make_table(&t, 4); /* the last entity has 4 rows: keep only it, one row per rank */
    sub(&one, &t, t.n - 4, 4);
    CU_ASSERT_STRING_EQUAL(one.keys[0], one.keys[3]);
    int size = (int)one.n;
    int64_t first[MAXRANKS + 1];
    for (int r = 0; r <= size; r++)
        first[r] = r;
    mo_error_t err = {0};
    mo_fs_plan_t *plans[MAXRANKS] = {0};
    CU_ASSERT_EQUAL_FATAL(plan_all(plans, &one, first, size, &err), 0);
    check_parts(plans, &one, size);
    const mo_fs_part_t *p0 = mo_fs_plan_part(plans[0]), *pl = mo_fs_plan_part(plans[size - 1]);
    CU_ASSERT_EQUAL(p0->n_idx, 1);
    CU_ASSERT_EQUAL(p0->idx_count[0], one.n); /* counted over every rank */
    CU_ASSERT_EQUAL(p0->n_onl, 0);
    CU_ASSERT_EQUAL(pl->n_idx, 0);
    CU_ASSERT_EQUAL(pl->n_onl, 1);
    CU_ASSERT_EQUAL(pl->max_n, 1);
    for (int r = 0; r < size; r++)
        mo_fs_plan_destroy(plans[r]);
}

static void test_feature_store_plan__slabs_out_of_rank_order_fail(void)
{
    table_t t, swapped;
    make_table(&t, 6);
    /* Rank 0 holds the second half, rank 1 the first. */
    int64_t half = t.n / 2;
    sub(&swapped, &t, half, t.n - half);
    table_t low;
    sub(&low, &t, 0, half);
    for (int64_t i = 0; i < half; i++) {
        memcpy(swapped.keys[t.n - half + i], low.keys[i], sizeof low.keys[i]);
        swapped.kp[t.n - half + i] = swapped.keys[t.n - half + i];
        swapped.hash[t.n - half + i] = low.hash[i];
        swapped.ts[t.n - half + i] = low.ts[i];
        swapped.created[t.n - half + i] = low.created[i];
    }
    swapped.n = t.n;
    int64_t first[3] = {0, t.n - half, t.n};
    mo_error_t err = {0};
    mo_fs_plan_t *plans[2] = {0};
    CU_ASSERT_EQUAL(plan_all(plans, &swapped, first, 2, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "s.h5: view 'v': rank 1's first row sorts before rank 0's "
                                    "last (slabs must be in rank order)");
    CU_ASSERT_PTR_NULL(mo_fs_plan_part(plans[0]));
    /* The same plans finish from records in order (a plan starts afresh each time). */
    mo_fs_plan_destroy(plans[0]);
    mo_fs_plan_destroy(plans[1]);
    int64_t ok[3] = {0, half, t.n};
    CU_ASSERT_EQUAL_FATAL(plan_all(plans, &t, ok, 2, &err), 0);
    check_parts(plans, &t, 2);
    mo_fs_view_t v0 = slab(&t, 0, half);
    size_t rec = 0;
    const void *r0 = mo_fs_plan_record(plans[0], &rec);
    char *solo = malloc(rec);
    memcpy(solo, r0, rec);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(plans[0], "s.h5", &v0, solo, 0, 1, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_plan_part(plans[0])->total, half);
    free(solo);
    mo_fs_plan_destroy(plans[0]);
    mo_fs_plan_destroy(plans[1]);
}

static void test_feature_store_plan__check_gives_key_lengths_and_refuses_disorder(void)
{
    table_t t;
    make_table(&t, 12);
    mo_fs_view_t v[2] = {slab(&t, 0, t.n), slab(&t, 0, 0)};
    v[1].name = "w";
    int64_t len[2] = {-1, -1};
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_fs_check("s.h5", v, 2, len, &err), 0);
    CU_ASSERT_EQUAL(len[0], 3); /* "e10", "e11" */
    CU_ASSERT_EQUAL(len[1], 0);
    CU_ASSERT_EQUAL(mo_fs_check("s.h5", NULL, 0, NULL, &err), 0);
    CU_ASSERT_STRING_EQUAL(t.keys[1], t.keys[2]); /* the second entity has two rows */
    int64_t ts = t.ts[2];
    t.ts[2] = t.ts[1] - 1;
    CU_ASSERT_EQUAL(mo_fs_check("s.h5", v, 2, len, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "s.h5: view 'v': this rank's row 2 is out of order"));
    t.ts[2] = ts;
    CU_ASSERT_EQUAL(mo_fs_check(NULL, v, 2, len, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_check("", v, 2, len, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_check("s.h5", NULL, 2, len, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_check("s.h5", v, 2, NULL, &err), MO_EINVAL);
}

static void test_feature_store_plan__fingerprint_sees_every_metadata_field(void)
{
    table_t t;
    make_table(&t, 5);
    mo_fs_view_t a = slab(&t, 0, t.n), b = slab(&t, 2, 3);
    uint64_t fa = mo_fs_fingerprint(&a, 1);
    CU_ASSERT_NOT_EQUAL(fa, 0);
    CU_ASSERT_EQUAL(mo_fs_fingerprint(&b, 1), fa); /* rows are no metadata */
    mo_fs_feature_t f = feat;
    b.features = &f;
    f.name = "m";
    CU_ASSERT_NOT_EQUAL(mo_fs_fingerprint(&b, 1), fa);
    f = feat;
    f.window_us = 1;
    CU_ASSERT_NOT_EQUAL(mo_fs_fingerprint(&b, 1), fa);
    b = slab(&t, 0, 1);
    b.ttl_us = 5;
    CU_ASSERT_NOT_EQUAL(mo_fs_fingerprint(&b, 1), fa);
    b = slab(&t, 0, 1);
    b.n_ranges = 0;
    CU_ASSERT_NOT_EQUAL(mo_fs_fingerprint(&b, 1), fa);
    b = slab(&t, 0, 1);
    b.name = "w";
    mo_fs_view_t ab[2] = {a, b}, ba[2] = {b, a};
    CU_ASSERT_NOT_EQUAL(mo_fs_fingerprint(ab, 2), mo_fs_fingerprint(ba, 2));
    CU_ASSERT_EQUAL(mo_fs_fingerprint(NULL, 0), mo_fs_fingerprint(NULL, 0));
}

static void test_feature_store_plan__bad_arguments(void)
{
    table_t t;
    make_table(&t, 3);
    mo_fs_view_t v = slab(&t, 0, t.n);
    mo_fs_plan_t *p = (mo_fs_plan_t *)&t;
    mo_error_t err = {0};
    size_t size = 7;
    CU_ASSERT_EQUAL(mo_fs_plan_create(NULL, "s.h5", &v, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_plan_create(&p, "s.h5", NULL, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_plan_create(&p, "s.h5", &v, 0, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL(mo_fs_plan_create(&p, "s.h5", &v, MO_FS_KEY_MAX + 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_plan_create(&p, "s.h5", &v, 1, &err), MO_EINVAL); /* keys are 2 */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "key is longer than 1"));
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NULL(mo_fs_plan_record(NULL, &size));
    CU_ASSERT_EQUAL(size, 0);
    CU_ASSERT_PTR_NULL(mo_fs_plan_part(NULL));
    mo_fs_plan_destroy(NULL);
    CU_ASSERT_EQUAL_FATAL(mo_fs_plan_create(&p, "s.h5", &v, 2, &err), 0);
    CU_ASSERT_PTR_NULL(mo_fs_plan_part(p)); /* not finished */
    const void *rec = mo_fs_plan_record(p, &size);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(NULL, "s.h5", &v, rec, 0, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &v, NULL, 0, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &v, rec, 1, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &v, rec, -1, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &v, rec, 0, 0, &err), MO_EINVAL);
    mo_fs_view_t other = slab(&t, 0, 1); /* not the view this plan is of */
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &other, rec, 0, 1, &err), MO_EINVAL);
    char *two = calloc(2, size); /* this plan's record as rank 1's: rank 0's is empty */
    memcpy(two + size, rec, size);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &v, two, 0, 2, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "record 0 is not this plan's"));
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &v, two, 1, 2, &err), 0);
    CU_ASSERT_EQUAL(mo_fs_plan_part(p)->off, 0);
    CU_ASSERT_EQUAL(mo_fs_plan_part(p)->total, t.n);
    free(two);
    CU_ASSERT_EQUAL(mo_fs_plan_finish(p, "s.h5", &v, rec, 0, 1, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(mo_fs_plan_part(p));
    mo_fs_plan_destroy(p);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_feature_store_plan__parts_make_the_table_for_any_split),
    MO_TEST(test_feature_store_plan__one_entity_over_every_rank),
    MO_TEST(test_feature_store_plan__slabs_out_of_rank_order_fail),
    MO_TEST(test_feature_store_plan__check_gives_key_lengths_and_refuses_disorder),
    MO_TEST(test_feature_store_plan__fingerprint_sees_every_metadata_field),
    MO_TEST(test_feature_store_plan__bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/feature_store_plan", tests);
}
