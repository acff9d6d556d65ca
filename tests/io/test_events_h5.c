/* test_events_h5.c - HDF5 event tables: column types, equality with the CSV form, hyperslab
 * row ranges, messages naming file, dataset and row */
#include "io/events.h"

#include "tests/unit.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *amount_qty[] = {"amount", "qty"};

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    return path;
}

static void put(hid_t f, const char *name, hid_t ftype, hid_t mtype, const void *buf, hsize_t n)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(f, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(d >= 0);
    CU_ASSERT(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
    H5Sclose(space);
}

static void put_vlen(hid_t f, const char *name, const char **v, hsize_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    put(f, name, t, t, v, n);
    H5Tclose(t);
}

/* Fixed-length strings of `size` bytes, padded with spaces (as Fortran and some tools do). */
static void put_fixed(hid_t f, const char *name, const char **v, hsize_t n, size_t size)
{
    char *buf = calloc(n, size);
    for (hsize_t i = 0; i < n; i++) {
        memset(buf + i * size, ' ', size);
        memcpy(buf + i * size, v[i], strlen(v[i]));
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, H5T_STR_SPACEPAD);
    put(f, name, t, t, buf, n);
    H5Tclose(t);
    free(buf);
}

static hid_t create(const char *name)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp_path(name), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    return f;
}

/* The same 6-row table as CSV text and as HDF5 columns of several types. */
#define N 6
static const char *users[N] = {"u1", "u,2", "42", "u1", "zz", "-7"};
static const char *ts_text[N] = {
    "2026-11-25T10:00:00Z",      "1732527000", "1732527000123", "1969-12-31T23:59:59.5Z",
    "2024-02-29 12:00:00+01:00", "0"};
static const char *created_text[N] = {"", "5", "", "6", "7", "8"};
static const float amount[N] = {1.5f, -2.0f, NAN, 0.25f, 1e6f, 0.0f};
static const short qty[N] = {1, 2, 3, 4, -5, 6};
static const char *csv_text = "user,ts,created,amount,qty\n"
                              "u1,2026-11-25T10:00:00Z,,1.5,1\n"
                              "\"u,2\",1732527000,5,-2,2\n"
                              "42,1732527000123,,,3\n"
                              "u1,1969-12-31T23:59:59.5Z,6,0.25,4\n"
                              "zz,2024-02-29 12:00:00+01:00,7,1000000,-5\n"
                              "-7,0,8,0,6\n";

static const char *write_h5(void)
{
    hid_t f = create("t.h5");
    put_vlen(f, "user", users, N);
    put_fixed(f, "user_fixed", users, N, 8);
    put_vlen(f, "ts", ts_text, N);
    put_vlen(f, "created", created_text, N);
    put(f, "amount", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, amount, N);
    put(f, "qty", H5T_STD_I16BE, H5T_NATIVE_SHORT, qty, N);
    int32_t ids[N] = {1, 2, 42, 1, 99, -7};
    put(f, "user_id", H5T_STD_I32LE, H5T_NATIVE_INT32, ids, N);
    uint64_t big[N] = {UINT64_MAX, 0, 10, 9223372036854775808u, 1, 2};
    put(f, "user_u64", H5T_STD_U64BE, H5T_NATIVE_UINT64, big, N);
    int64_t neg[N] = {INT64_MIN, INT64_MAX, -1, 0, -10, 10};
    put(f, "user_i64", H5T_STD_I64LE, H5T_NATIVE_INT64, neg, N);
    int64_t ts_s[N] = {1732527000, -1, 0, 99999999999, -62167219200, 5};
    put(f, "ts_s", H5T_STD_I64LE, H5T_NATIVE_INT64, ts_s, N);
    double ts_f[N] = {0.3, 1732527000.5, 1732527000123.0, -1.5, 1e10, NAN};
    put(f, "ts_f", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ts_f, N);
    double label_f[N] = {0.1, 1, -2.5, 1e21, 3, 1.0 / 3};
    put(f, "label_f", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, label_f, N);
    H5Fclose(f);
    return tmp_path("t.h5");
}

static mo_events_spec_t spec(const char *path)
{
    mo_events_spec_t s = {.path = path,
                          .entity = "user",
                          .timestamp = "ts",
                          .created = "created",
                          .values = amount_qty,
                          .n_values = 2};
    return s;
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Two tables hold the same rows (pool layout may differ). */
static void assert_same(const mo_events_t *a, const mo_events_t *b)
{
    CU_ASSERT_EQUAL_FATAL(a->n, b->n);
    CU_ASSERT_EQUAL_FATAL(a->n_values, b->n_values);
    for (int64_t i = 0; i < a->n; i++) {
        CU_ASSERT_STRING_EQUAL(a->pool + a->key_off[i], b->pool + b->key_off[i]);
        CU_ASSERT_EQUAL(a->hash[i], b->hash[i]);
        CU_ASSERT_EQUAL(a->ts[i], b->ts[i]);
        CU_ASSERT_EQUAL(a->created[i], b->created[i]);
        for (size_t j = 0; j < a->n_values; j++)
            CU_ASSERT(same_double(a->vals[i * a->n_values + j], b->vals[i * b->n_values + j]));
        if (a->label_off && b->label_off)
            CU_ASSERT_STRING_EQUAL(a->pool + a->label_off[i], b->pool + b->label_off[i]);
    }
}

static void read_ok(mo_events_t *ev, mo_events_spec_t s, int64_t first, int64_t count)
{
    mo_error_t err = {0};
    int rc = mo_events_read(ev, &s, first, count, &err);
    if (rc)
        fprintf(stderr, "\n  unexpected error: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void test_events_h5__same_table_as_csv(void)
{
    mo_events_t c, h, fx;
    const char *csv = mo_test_write_file(mo_test_tmpdir(), "t.csv", csv_text);
    read_ok(&c, spec(csv), 0, -1);
    mo_events_spec_t s = spec(write_h5());
    read_ok(&h, s, 0, -1);
    assert_same(&c, &h);
    s.entity = "user_fixed";
    read_ok(&fx, s, 0, -1);
    assert_same(&c, &fx);
    CU_ASSERT_STRING_EQUAL(h.pool + h.key_off[1], "u,2");
    CU_ASSERT_EQUAL(h.created[0], h.ts[0]); /* empty created string: the event timestamp */
    CU_ASSERT_EQUAL(h.created[1], 5000000);
    CU_ASSERT_EQUAL(h.ts[3], -500000);
    CU_ASSERT_EQUAL(h.ts[4], INT64_C(1709204400000000));
    CU_ASSERT(isnan(h.vals[2 * 2]));
    CU_ASSERT_EQUAL(h.vals[2 * 4 + 1], -5.0);
    mo_events_free(&c);
    mo_events_free(&h);
    mo_events_free(&fx);
}

static void test_events_h5__integer_keys_and_numeric_timestamps(void)
{
    mo_events_t ev;
    mo_events_spec_t s = spec(write_h5());
    s.entity = "user_id";
    s.timestamp = "ts_s";
    s.created = "ts_f";
    s.label = "label_f";
    read_ok(&ev, s, 0, -1);
    const char *keys[N] = {"1", "2", "42", "1", "99", "-7"};
    /* AUTO per value: below 1e11 seconds, else milliseconds; floats to the nearest µs */
    int64_t ts[N] = {INT64_C(1732527000000000),  -1000000,     0,
                     INT64_C(99999999999000000), MO_TS_MIN_US, 5000000};
    int64_t created[N] = {
        300000,   INT64_C(1732527000500000),  INT64_C(1732527000123000),
        -1500000, INT64_C(10000000000000000), 5000000 /* NaN: the event timestamp */};
    const char *labels[N] = {"0.1", "1", "-2.5", "1e+21", "3", "0.3333333333333333"};
    CU_ASSERT_EQUAL_FATAL(ev.n, N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev.label_off);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_STRING_EQUAL(ev.pool + ev.key_off[i], keys[i]);
        CU_ASSERT_EQUAL(ev.hash[i], mo_entity_hash(keys[i], strlen(keys[i])));
        CU_ASSERT_EQUAL(ev.ts[i], ts[i]);
        CU_ASSERT_EQUAL(ev.created[i], created[i]);
        CU_ASSERT_STRING_EQUAL(ev.pool + ev.label_off[i], labels[i]);
    }
    mo_events_free(&ev);
    /* integer keys of any width and sign, in decimal */
    const char *u64[N] = {"18446744073709551615", "0", "10", "9223372036854775808", "1", "2"};
    const char *i64[N] = {"-9223372036854775808", "9223372036854775807", "-1", "0", "-10", "10"};
    s.label = NULL;
    s.entity = "user_u64";
    read_ok(&ev, s, 0, -1);
    for (int i = 0; i < N; i++)
        CU_ASSERT_STRING_EQUAL(ev.pool + ev.key_off[i], u64[i]);
    mo_events_free(&ev);
    s.entity = "user_i64";
    read_ok(&ev, s, 0, -1);
    for (int i = 0; i < N; i++)
        CU_ASSERT_STRING_EQUAL(ev.pool + ev.key_off[i], i64[i]);
    mo_events_free(&ev);
    /* epoch_ms read as declared: 1732527000 ms is in 1970 */
    s.ts_format = MO_TS_EPOCH_MS;
    s.created = NULL;
    s.label = NULL;
    read_ok(&ev, s, 0, 1);
    CU_ASSERT_EQUAL(ev.ts[0], INT64_C(1732527000000));
    CU_ASSERT_EQUAL(ev.created[0], ev.ts[0]);
    mo_events_free(&ev);
}

static void test_events_h5__hyperslabs_concatenate_to_the_whole(void)
{
    /* 1000 rows: ranks 1..7 each read their slab; together they are the whole table */
    enum { M = 1000 };
    hid_t f = create("big.h5");
    const char **keys = malloc(M * sizeof *keys);
    char(*text)[16] = malloc(M * sizeof *text);
    int64_t ts[M];
    double v[M], w[M];
    for (int i = 0; i < M; i++) {
        snprintf(text[i], sizeof text[i], "e%d", i % 37);
        keys[i] = text[i];
        ts[i] = 1700000000 + i;
        v[i] = i;
        w[i] = -i;
    }
    put_vlen(f, "user", keys, M);
    put(f, "ts", H5T_STD_I64LE, H5T_NATIVE_INT64, ts, M);
    put(f, "amount", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, M);
    put(f, "qty", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, w, M);
    H5Fclose(f);
    mo_events_spec_t s = spec(tmp_path("big.h5"));
    s.created = NULL;
    mo_events_t whole;
    int64_t rows = 0;
    CU_ASSERT_EQUAL_FATAL(mo_events_count(&rows, &s, NULL), 0);
    CU_ASSERT_EQUAL(rows, M);
    read_ok(&whole, s, 0, -1);
    for (int size = 1; size <= 7; size++) {
        mo_events_t all;
        mo_events_init(&all, 2);
        for (int r = 0; r < size; r++) {
            mo_events_t part;
            int64_t first = rows * r / size, count = rows * (r + 1) / size - first;
            read_ok(&part, s, first, count);
            CU_ASSERT_EQUAL(part.n, count);
            for (int64_t i = 0; i < part.n; i++)
                mo_events_push(&all, part.pool + part.key_off[i],
                               strlen(part.pool + part.key_off[i]), part.hash[i], part.ts[i],
                               part.created[i], part.vals + 2 * i, NULL);
            mo_events_free(&part);
        }
        assert_same(&whole, &all);
        mo_events_free(&all);
    }
    mo_events_free(&whole);
    free(keys);
    free(text);
}

static void expect(mo_events_spec_t s, int64_t first, int64_t count, int code, const char *want)
{
    mo_error_t err = {0};
    mo_events_t ev;
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, first, count, &err), code);
    if (code == 0) { /* a range next to a bad row reads */
        mo_events_free(&ev);
        return;
    }
    CU_ASSERT_EQUAL(ev.n, 0);
    size_t skip = strlen(mo_test_tmpdir()) + 1;
    const char *msg = strlen(err.msg) > skip ? err.msg + skip : err.msg;
    if (strcmp(msg, want))
        fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", msg, want);
    CU_ASSERT_STRING_EQUAL(msg, want);
}

static void test_events_h5__errors_name_file_dataset_and_row(void)
{
    hid_t f = create("bad.h5");
    const char *users_bad[3] = {"a", "", "c"}, *ts_bad[3] = {"1", "2", "2026-02-30T00:00:00Z"};
    double inf[3] = {1, 2, INFINITY}, nan_ts[3] = {1, NAN, 3}, grid[2][3] = {{0}};
    int64_t ok_ts[3] = {1, 2, 3}, short_col[2] = {1, 2};
    put_vlen(f, "user", users, 3);
    put_vlen(f, "user_empty", users_bad, 3);
    put_vlen(f, "ts", ts_text, 3);
    put_vlen(f, "ts_bad", ts_bad, 3);
    put(f, "ts_nan", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, nan_ts, 3);
    put(f, "ts_int", H5T_STD_I64LE, H5T_NATIVE_INT64, ok_ts, 3);
    put(f, "amount", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, inf, 3);
    put(f, "short", H5T_STD_I64LE, H5T_NATIVE_INT64, short_col, 2);
    hsize_t dims[2] = {2, 3};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "grid", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, grid);
    H5Dclose(d);
    H5Sclose(sp);
    H5Gclose(H5Gcreate2(f, "group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
    const char *one[1] = {"amount"};
    mo_events_spec_t s = {.path = tmp_path("bad.h5"),
                          .entity = "user",
                          .timestamp = "ts",
                          .values = one,
                          .n_values = 1};
    expect(s, 0, 2, 0, "");
    expect(s, 0, -1, MO_EFORMAT, "bad.h5: /amount row 2: not a finite number: inf");
    mo_events_spec_t t = s;
    t.entity = "nope";
    expect(t, 0, -1, MO_EINVAL,
           "bad.h5: no dataset 'nope' (datasets: amount, grid, group, short, ts, ts_bad, "
           "ts_int, ts_nan and 2 more)");
    t = s;
    t.entity = "user_empty";
    expect(t, 0, 2, MO_EFORMAT, "bad.h5: /user_empty row 1: empty entity key");
    t = s;
    t.timestamp = "ts_bad";
    expect(t, 0, 2, 0, "");
    expect(t, 1, 2, MO_EFORMAT,
           "bad.h5: /ts_bad row 2: not a timestamp: '2026-02-30T00:00:00Z' (2026-02 has no "
           "day 30)");
    t.timestamp = "ts_nan";
    expect(t, 0, 2, MO_EFORMAT, "bad.h5: /ts_nan row 1: empty timestamp (NaN)");
    t.timestamp = "ts_int";
    t.ts_format = MO_TS_RFC3339;
    expect(t, 0, 2, MO_EFORMAT,
           "bad.h5: /ts_int row 0: not a timestamp: 1 (a number, expected RFC 3339 text)");
    t = s;
    t.entity = "amount";
    expect(t, 0, 2, MO_EFORMAT,
           "bad.h5: /amount: expected strings or integers (entity keys), found float64");
    t = s;
    one[0] = "ts";
    expect(t, 0, 2, MO_EFORMAT, "bad.h5: /ts: expected numbers, found string");
    one[0] = "short";
    expect(t, 0, 2, MO_EFORMAT, "bad.h5: /short has 2 rows, /user has 3");
    one[0] = "grid";
    expect(t, 0, 2, MO_EFORMAT, "bad.h5: /grid: expected a 1-D dataset, found 2-D");
    one[0] = "group";
    expect(t, 0, 2, MO_EFORMAT, "bad.h5: /group is not a dataset");
    one[0] = "amount";
    expect(s, 2, 2, MO_EINVAL, "bad.h5: rows 2..3 requested, the table has 3");
    expect(s, 4, -1, MO_EINVAL, "bad.h5: rows from 4 on requested, the table has 3");
    expect(s, 3, -1, 0, "");
    /* count checks the columns as reading does */
    int64_t rows = 9;
    mo_error_t err = {0};
    t.entity = "nope";
    CU_ASSERT_EQUAL(mo_events_count(&rows, &t, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(rows, 0);
    CU_ASSERT_EQUAL(mo_events_count(&rows, &s, &err), 0);
    CU_ASSERT_EQUAL(rows, 3);
}

static void test_events_h5__chosen_by_signature_not_name(void)
{
    mo_events_t a, b;
    const char *h5 = write_h5();
    char renamed[600];
    snprintf(renamed, sizeof renamed, "%s/events.csv", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(rename(h5, renamed), 0);
    read_ok(&a, spec(renamed), 0, -1);
    read_ok(&b, spec(mo_test_write_file(mo_test_tmpdir(), "t.csv", csv_text)), 0, -1);
    assert_same(&a, &b);
    mo_events_free(&a);
    mo_events_free(&b);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_events_h5__same_table_as_csv),
    MO_TEST(test_events_h5__integer_keys_and_numeric_timestamps),
    MO_TEST(test_events_h5__hyperslabs_concatenate_to_the_whole),
    MO_TEST(test_events_h5__errors_name_file_dataset_and_row),
    MO_TEST(test_events_h5__chosen_by_signature_not_name),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/events_h5", tests);
}
