/* test_events_sort.c - event rows in memory: push, and the sort by (hash, key, ts, created) */
#include "io/events.h"

#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *key(const mo_events_t *ev, int64_t i)
{
    return ev->pool + ev->key_off[i];
}

/* Push a row whose value columns (at most 2) all hold v. */
static void push(mo_events_t *ev, const char *k, int64_t ts, int64_t created, double v)
{
    double vals[2] = {v, v};
    CU_ASSERT_EQUAL(
        mo_events_push(ev, k, strlen(k), mo_entity_hash(k, strlen(k)), ts, created, vals, NULL), 0);
}

/* Rows in order by (hash, key, ts, created); ties in order of vals[0] (the push index). */
static int sorted_stably(const mo_events_t *ev)
{
    for (int64_t i = 1; i < ev->n; i++) {
        int c = ev->hash[i - 1] < ev->hash[i] ? -1 : ev->hash[i - 1] > ev->hash[i];
        if (!c)
            c = strcmp(key(ev, i - 1), key(ev, i));
        if (!c)
            c = ev->ts[i - 1] < ev->ts[i] ? -1 : ev->ts[i - 1] > ev->ts[i];
        if (!c)
            c = ev->created[i - 1] < ev->created[i] ? -1 : ev->created[i - 1] > ev->created[i];
        if (!c)
            c = ev->vals[(i - 1) * ev->n_values] < ev->vals[i * ev->n_values] ? -1 : 1;
        if (c > 0) {
            fprintf(stderr, "\n  rows %lld and %lld out of order\n", (long long)i - 1,
                    (long long)i);
            return 0;
        }
    }
    return 1;
}

static void test_events_sort__push_copies_and_grows(void)
{
    mo_events_t ev;
    mo_error_t err = {0};
    mo_events_init(&ev, 2);
    double v[2] = {1.5, -2};
    for (int i = 0; i < 5000; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "k%d", i);
        CU_ASSERT_EQUAL_FATAL(mo_events_push(&ev, k, (size_t)n, 77, i, i + 1, v, &err), 0);
    }
    CU_ASSERT_EQUAL(mo_events_push(&ev, "x", 1, 1, 0, 0, NULL, &err), 0); /* NaN values */
    CU_ASSERT_EQUAL_FATAL(ev.n, 5001);
    CU_ASSERT(ev.cap >= ev.n);
    CU_ASSERT_STRING_EQUAL(key(&ev, 4321), "k4321");
    CU_ASSERT_EQUAL(ev.hash[4321], 77); /* the given hash, not recomputed */
    CU_ASSERT_EQUAL(ev.ts[4321], 4321);
    CU_ASSERT_EQUAL(ev.created[4321], 4322);
    CU_ASSERT_EQUAL(ev.vals[2 * 4321 + 1], -2.0);
    CU_ASSERT(isnan(ev.vals[2 * 5000]) && isnan(ev.vals[2 * 5000 + 1]));
    /* a key is bytes up to key_len, and may not hold a NUL */
    CU_ASSERT_EQUAL(mo_events_push(&ev, "abc", 2, 1, 0, 0, v, &err), 0);
    CU_ASSERT_STRING_EQUAL(key(&ev, 5001), "ab");
    CU_ASSERT_EQUAL(mo_events_push(&ev, "a\0b", 3, 1, 0, 0, v, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_events_push: entity key holds a NUL byte");
    CU_ASSERT_EQUAL(mo_events_push(NULL, "a", 1, 1, 0, 0, v, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_push(&ev, NULL, 1, 1, 0, 0, v, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(ev.n, 5002);
    mo_events_free(&ev);
    CU_ASSERT_EQUAL(ev.n, 0);
    CU_ASSERT_EQUAL(ev.n_values, 2);
}

static void test_events_sort__order_and_stability(void)
{
    mo_events_t ev;
    mo_events_init(&ev, 1);
    /* push index in vals[0]; equal (key, ts, created) rows must keep push order */
    const struct {
        const char *k;
        int64_t ts, created;
    } rows[] = {{"b", 5, 5}, {"a", 3, 3}, {"b", 1, 9}, {"a", 3, 3},  {"b", 1, 2},
                {"c", 0, 0}, {"a", 3, 1}, {"b", 5, 5}, {"a", -7, 0}, {"b", 5, 5}};
    int n = (int)(sizeof rows / sizeof *rows);
    for (int i = 0; i < n; i++)
        push(&ev, rows[i].k, rows[i].ts, rows[i].created, i);
    CU_ASSERT_EQUAL_FATAL(mo_events_sort(&ev, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(ev.n, n);
    CU_ASSERT(sorted_stably(&ev));
    /* each entity's rows by (ts, created) with ties in push order */
    double want_a[] = {8, 6, 1, 3}, want_b[] = {4, 2, 0, 7, 9};
    int ia = 0, ib = 0;
    for (int64_t i = 0; i < ev.n; i++) {
        if (!strcmp(key(&ev, i), "a"))
            CU_ASSERT_EQUAL(ev.vals[i], want_a[ia++]);
        if (!strcmp(key(&ev, i), "b"))
            CU_ASSERT_EQUAL(ev.vals[i], want_b[ib++]);
        int64_t src = (int64_t)ev.vals[i];
        CU_ASSERT_STRING_EQUAL(key(&ev, i), rows[src].k);
        CU_ASSERT_EQUAL(ev.ts[i], rows[src].ts);
        CU_ASSERT_EQUAL(ev.created[i], rows[src].created);
        CU_ASSERT_EQUAL(ev.hash[i], mo_entity_hash(rows[src].k, 1));
    }
    CU_ASSERT_EQUAL(ia, 4);
    CU_ASSERT_EQUAL(ib, 5);
    /* the pool was rebuilt in row order */
    for (int64_t i = 1; i < ev.n; i++)
        CU_ASSERT(ev.key_off[i] > ev.key_off[i - 1]);
    mo_events_free(&ev);
}

static void test_events_sort__keys_sharing_a_hash_sort_by_text(void)
{
    mo_events_t ev;
    mo_events_init(&ev, 1);
    double v;
    const char *keys[] = {"zeta", "alpha", "zeta", "mid", "alpha"};
    int64_t ts[] = {2, 9, 1, 0, 3};
    for (int i = 0; i < 5; i++) { /* one forged hash for all: a collision */
        v = i;
        CU_ASSERT_EQUAL(mo_events_push(&ev, keys[i], strlen(keys[i]), 5, ts[i], 0, &v, NULL), 0);
    }
    push(&ev, "other", 0, 0, 5);
    CU_ASSERT_EQUAL_FATAL(mo_events_sort(&ev, NULL), 0);
    CU_ASSERT(sorted_stably(&ev));
    double want[] = {4, 1, 3, 2, 0}; /* alpha@3, alpha@9, mid, zeta@1, zeta@2 */
    int64_t at = ev.hash[0] == 5 ? 0 : 1;
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(ev.vals[at + i], want[i]);
        CU_ASSERT_STRING_EQUAL(key(&ev, at + i), keys[(int)want[i]]);
    }
    for (int64_t i = 1; i < ev.n; i++) /* keys laid out again in row order */
        CU_ASSERT(ev.key_off[i] > ev.key_off[i - 1]);
    mo_events_free(&ev);
}

static void test_events_sort__labels_follow_their_rows(void)
{
    const char *v[] = {"x"};
    mo_events_spec_t s = {
        .entity = "user", .timestamp = "ts", .values = v, .n_values = 1, .label = "y"};
    s.path = mo_test_write_file(mo_test_tmpdir(), "l.csv",
                                "user,ts,x,y\nb,2,0,b-late\na,5,1,a-late\nb,1,2,b-early\n"
                                "a,4,3,a-early\nc,1,4,\n");
    mo_events_t ev;
    CU_ASSERT_EQUAL_FATAL(mo_events_read(&ev, &s, 0, -1, NULL), 0);
    push(&ev, "d", 0, 0, 5); /* a pushed row gets an empty label */
    CU_ASSERT_EQUAL_FATAL(mo_events_sort(&ev, NULL), 0);
    CU_ASSERT(sorted_stably(&ev));
    const char *want[] = {"b-late", "a-late", "b-early", "a-early", "", ""};
    for (int64_t i = 0; i < ev.n; i++)
        CU_ASSERT_STRING_EQUAL(ev.pool + ev.label_off[i], want[(int)ev.vals[i]]);
    mo_events_free(&ev);
    CU_ASSERT_PTR_NULL(ev.label_off);
}

static uint64_t rng(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_events_sort__random_rows_and_pushing_after(void)
{
    mo_events_t ev;
    mo_events_init(&ev, 2);
    uint64_t x = 12345;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        char k[24];
        int len = snprintf(k, sizeof k, "user_%llu", (unsigned long long)(rng(&x) % 5000));
        double v[2] = {i, (double)(rng(&x) % 1000)};
        int64_t ts = (int64_t)(rng(&x) % 100), created = (int64_t)(rng(&x) % 3);
        CU_ASSERT_EQUAL_FATAL(mo_events_push(&ev, k, (size_t)len, mo_entity_hash(k, (size_t)len),
                                             ts, created, v, NULL),
                              0);
    }
    /* keep a copy to check that the sort is a permutation of the rows */
    int64_t *ts0 = malloc((size_t)n * sizeof *ts0);
    double *v1 = malloc((size_t)n * sizeof *v1);
    char **k0 = malloc((size_t)n * sizeof *k0);
    CU_ASSERT_FATAL(ts0 && v1 && k0);
    for (int i = 0; i < n; i++) {
        ts0[i] = ev.ts[i];
        v1[i] = ev.vals[2 * i + 1];
        k0[i] = strdup(key(&ev, i));
    }
    CU_ASSERT_EQUAL_FATAL(mo_events_sort(&ev, NULL), 0);
    CU_ASSERT(sorted_stably(&ev));
    int bad = 0;
    char *seen = calloc((size_t)n, 1);
    for (int64_t i = 0; i < ev.n; i++) {
        int64_t src = (int64_t)ev.vals[2 * i];
        bad += seen[src]++ || ev.ts[i] != ts0[src] || ev.vals[2 * i + 1] != v1[src] ||
               strcmp(key(&ev, i), k0[src]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* the table stays usable: push more and sort again */
    for (int i = 0; i < 1000; i++)
        push(&ev, "late", 1000 - i, 0, n + i);
    CU_ASSERT_EQUAL(mo_events_sort(&ev, NULL), 0);
    CU_ASSERT_EQUAL(ev.n, n + 1000);
    CU_ASSERT(sorted_stably(&ev));
    for (int i = 0; i < n; i++)
        free(k0[i]);
    free(k0);
    free(ts0);
    free(v1);
    free(seen);
    mo_events_free(&ev);
}

static void test_events_sort__small_and_bad_arguments(void)
{
    mo_events_t ev;
    mo_error_t err = {0};
    mo_events_init(&ev, 0);
    CU_ASSERT_EQUAL(mo_events_sort(&ev, &err), 0); /* empty */
    push(&ev, "a", 1, 1, 0);
    CU_ASSERT_EQUAL(mo_events_sort(&ev, &err), 0); /* one row */
    push(&ev, "b", 1, 1, 0);
    push(&ev, "a", 0, 1, 0);
    CU_ASSERT_EQUAL(mo_events_sort(&ev, &err), 0); /* no value columns */
    CU_ASSERT_EQUAL(ev.n, 3);
    for (int64_t i = 1; i < ev.n; i++)
        CU_ASSERT(ev.hash[i - 1] <= ev.hash[i]);
    CU_ASSERT_EQUAL(mo_events_sort(NULL, &err), MO_EINVAL);
    mo_events_free(&ev);
    mo_events_init(NULL, 1); /* no crash */
}

static CU_TestInfo tests[] = {
    MO_TEST(test_events_sort__push_copies_and_grows),
    MO_TEST(test_events_sort__order_and_stability),
    MO_TEST(test_events_sort__keys_sharing_a_hash_sort_by_text),
    MO_TEST(test_events_sort__labels_follow_their_rows),
    MO_TEST(test_events_sort__random_rows_and_pushing_after),
    MO_TEST(test_events_sort__small_and_bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/events_sort", tests);
}
