/* test_checkpoint.c - checkpoint entries and files (io/checkpoint.c); folders are in
 * test_checkpoint_dir.c */
#include "io/checkpoint.h"
#include "io/io_impl.h"
#include "io/dataset.h"
#include "io/h5.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A fresh empty folder under the test's temp dir. */
static const char *fresh_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
    return p;
}

static float f32_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double f64_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void test_checkpoint__roundtrip_is_bitwise(void)
{
    /* NaNs with payloads (quiet and signalling), -0.0, the smallest denormal, infinities. */
    const float f[] = {1.5f,  f32_bits(0x7fc12345u), f32_bits(0xffc00001u), f32_bits(0x7f800001u),
                       -0.0f, f32_bits(0x00000001u), f32_bits(0x807fffffu), f32_bits(0x7f800000u)};
    const double d[] = {f64_bits(0x7ff8000000abcdefull), -0.0,  f64_bits(0x0000000000000001ull),
                        f64_bits(0x800fffffffffffffull), 1e308, f64_bits(0xfff0000000000000ull)};
    const int64_t i64[] = {INT64_MIN, -1, 0, INT64_MAX};
    const int32_t i32[] = {INT32_MIN, -7, INT32_MAX};
    const char *sv[] = {"loss", "", "val accuracy ✓", "naïve"};
    double dnan = f64_bits(0x7ff4000000000042ull);
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL, *r = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "params", f, 8, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f64(c, "adam.m", d, 6, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_i64(c, "rng-counters", i64, 4, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_i32(c, "perm_0", i32, 3, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_int(c, "step", -42, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_double(c, "lr", dnan, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_str(c, "spec", "épochs: 3\n", &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_strv(c, "metric_names", sv, 4, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "e.f32", NULL, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f64(c, "e.f64", NULL, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_i64(c, "e.i64", NULL, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_i32(c, "e.i32", i32, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_strv(c, "e.strv", NULL, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_str(c, "e.str", "", &err), 0);
    const char *dir = fresh_dir("bitwise");
    char *path = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_save(c, dir, 100, 3, &path, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_PTR_NOT_NULL(strstr(path, "/ckpt-000000000100.h5"));
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_load(&r, path, &err), 0);
    /* Both the in-memory original and the loaded copy give the same bytes. */
    const mo_ckpt_t *both[] = {c, r};
    for (int k = 0; k < 2; k++) {
        const mo_ckpt_t *x = both[k];
        const float *gf = NULL;
        const double *gd = NULL;
        const int64_t *gi64 = NULL;
        const int32_t *gi32 = NULL;
        const char *const *gsv = NULL;
        const char *gs = NULL;
        int64_t n = -1, iv = 0;
        double dv = 0;
        CU_ASSERT_EQUAL(mo_ckpt_get_f32(x, "params", &gf, &n, &err), 0);
        CU_ASSERT(n == 8 && gf && memcmp(gf, f, sizeof f) == 0);
        CU_ASSERT_EQUAL(mo_ckpt_get_f64(x, "adam.m", &gd, &n, &err), 0);
        CU_ASSERT(n == 6 && gd && memcmp(gd, d, sizeof d) == 0);
        CU_ASSERT_EQUAL(mo_ckpt_get_i64(x, "rng-counters", &gi64, &n, &err), 0);
        CU_ASSERT(n == 4 && gi64 && memcmp(gi64, i64, sizeof i64) == 0);
        CU_ASSERT_EQUAL(mo_ckpt_get_i32(x, "perm_0", &gi32, &n, &err), 0);
        CU_ASSERT(n == 3 && gi32 && memcmp(gi32, i32, sizeof i32) == 0);
        CU_ASSERT_EQUAL(mo_ckpt_get_int(x, "step", &iv, &err), 0);
        CU_ASSERT_EQUAL(iv, -42);
        CU_ASSERT_EQUAL(mo_ckpt_get_double(x, "lr", &dv, &err), 0);
        CU_ASSERT_EQUAL(memcmp(&dv, &dnan, sizeof dv), 0);
        CU_ASSERT_EQUAL(mo_ckpt_get_str(x, "spec", &gs, &err), 0);
        CU_ASSERT_STRING_EQUAL(gs ? gs : "", "épochs: 3\n");
        CU_ASSERT_EQUAL(mo_ckpt_get_strv(x, "metric_names", &gsv, &n, &err), 0);
        CU_ASSERT_EQUAL_FATAL(n, 4);
        for (int i = 0; i < 4; i++)
            CU_ASSERT_STRING_EQUAL(gsv[i], sv[i]);
        /* Empty arrays: length 0, a pointer that is safe to pass to memcpy. */
        CU_ASSERT(mo_ckpt_get_f32(x, "e.f32", &gf, &n, &err) == 0 && n == 0 && gf);
        CU_ASSERT(mo_ckpt_get_f64(x, "e.f64", &gd, &n, &err) == 0 && n == 0 && gd);
        CU_ASSERT(mo_ckpt_get_i64(x, "e.i64", &gi64, &n, &err) == 0 && n == 0 && gi64);
        CU_ASSERT(mo_ckpt_get_i32(x, "e.i32", &gi32, &n, &err) == 0 && n == 0 && gi32);
        CU_ASSERT(mo_ckpt_get_strv(x, "e.strv", &gsv, &n, &err) == 0 && n == 0 && gsv);
        CU_ASSERT(mo_ckpt_get_str(x, "e.str", &gs, &err) == 0 && gs && !*gs);
    }
    /* What other tools see: exact dtypes, scalars as scalar datasets, the root attributes. */
    json_t *j = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, path, &err), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "kind")), "checkpoint");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "format_version")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "step")), 100);
    json_t *entries = json_object_get(j, "entries"), *dsets = json_object_get(j, "datasets");
    CU_ASSERT_EQUAL(json_array_size(entries), 14);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(entries, 0)), "adam.m");
    size_t i;
    json_t *ds;
    int seen = 0;
    json_array_foreach(dsets, i, ds)
    {
        const char *name = json_string_value(json_object_get(ds, "name"));
        const char *dtype = json_string_value(json_object_get(ds, "dtype"));
        json_t *shape = json_object_get(ds, "shape");
        if (!strcmp(name, "/params"))
            seen += !strcmp(dtype, "float32") && json_integer_value(json_array_get(shape, 0)) == 8;
        if (!strcmp(name, "/perm_0"))
            seen += !strcmp(dtype, "int32");
        if (!strcmp(name, "/step"))
            seen += !strcmp(dtype, "int64") && json_array_size(shape) == 0;
        if (!strcmp(name, "/e.f64"))
            seen += !strcmp(dtype, "float64") && json_integer_value(json_array_get(shape, 0)) == 0;
        if (!strcmp(name, "/metric_names"))
            seen += !strcmp(dtype, "string");
    }
    CU_ASSERT_EQUAL(seen, 5);
    json_decref(j);
    free(path);
    mo_ckpt_destroy(r);
    mo_ckpt_destroy(c);
}

static void test_checkpoint__put_twice_replaces(void)
{
    const float a[] = {1, 2, 3}, b[] = {9, 8};
    const double dd[] = {0.5};
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL, *r = NULL;
    const float *g = NULL;
    const double *gd = NULL;
    int64_t n = 0;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "w", a, 3, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "w", b, 2, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(c, "w", &g, &n, &err), 0);
    CU_ASSERT(n == 2 && g && g[0] == 9 && g[1] == 8);
    /* Another type under the same name replaces too: the old type is gone. */
    CU_ASSERT_EQUAL(mo_ckpt_put_f64(c, "w", dd, 1, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(c, "w", &g, &n, &err), MO_EFORMAT);
    CU_ASSERT_EQUAL(mo_ckpt_get_f64(c, "w", &gd, &n, &err), 0);
    CU_ASSERT(n == 1 && gd && gd[0] == 0.5);
    /* Put copies: changing the caller's array afterwards changes nothing. */
    float live[] = {4, 5};
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "live", live, 2, &err), 0);
    live[0] = -1;
    CU_ASSERT(mo_ckpt_get_f32(c, "live", &g, &n, &err) == 0 && g[0] == 4);
    const char *dir = fresh_dir("replace");
    char *path = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_save(c, dir, 1, 1, &path, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_load(&r, path, &err), 0);
    CU_ASSERT(mo_ckpt_get_f64(r, "w", &gd, &n, &err) == 0 && n == 1 && gd[0] == 0.5);
    json_t *j = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, path, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "entries")), 2);
    json_decref(j);
    free(path);
    mo_ckpt_destroy(r);
    mo_ckpt_destroy(c);
}

/* Save a checkpoint whose only entry "v" holds `v`. */
static void save_value(const char *dir, int64_t step, int keep, double v)
{
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_double(c, "v", v, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_save(c, dir, step, keep, NULL, &err), 0);
    mo_ckpt_destroy(c);
}

/* A file changed in place by the test gets its checksum written again, so the check under
 * test is the one after it (io/h5_sum.c). */
static void reseal(const char *p)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_h5_sum_write(p, p, &err), 0);
}

static void test_checkpoint__load_errors(void)
{
    char d[512], p[600];
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    snprintf(d, sizeof d, "%s", fresh_dir("load_errors"));
    snprintf(p, sizeof p, "%s/missing.h5", d);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, p, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, mo_test_write_file(d, "text.h5", "hello"), &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not an HDF5 file"));
    /* A dataset file is HDF5 but not a checkpoint. */
    float X[2] = {1, 2};
    int32_t y[2] = {0, 1};
    mo_ds_info_t info;
    memset(&info, 0, sizeof info);
    info.n_rows = 2;
    info.n_features = 1;
    info.task = MO_DS_CLASSIFICATION;
    info.n_classes = 2;
    info.format_version = MO_DS_FORMAT_VERSION;
    snprintf(p, sizeof p, "%s/data.h5", d);
    CU_ASSERT_EQUAL_FATAL(mo_ds_write(p, &info, X, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, p, &err), MO_EFORMAT);
    /* (Datasets carry no checksum: refused before HDF5 reads a byte of them.) */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "an HDF5 file without a Maestro checksum"));
    /* A newer format_version, then a missing kind, then an entry of a foreign type. */
    save_value(d, 1, 1, 1.0);
    snprintf(p, sizeof p, "%s/ckpt-000000000001.h5", d);
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(f, "format_version", 2, &err), 0);
    H5Fclose(f);
    reseal(p);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, p, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "format_version 2 is not supported"));
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(f, "format_version", 1, &err), 0);
    hsize_t dims[1] = {3};
    hid_t s = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(f, "odd", H5T_STD_I16LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(ds >= 0);
    H5Dclose(ds);
    H5Sclose(s);
    H5Fclose(f);
    reseal(p);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, p, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/odd: int16"));
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    H5Ldelete(f, "odd", H5P_DEFAULT);
    H5Adelete(f, "kind");
    H5Fclose(f);
    reseal(p);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, p, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "root attribute 'kind' is missing"));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, d, &err), MO_EFORMAT); /* a folder */
}

static void test_checkpoint__typed_get_errors(void)
{
    const double d[] = {1, 2, 3};
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL, *r = NULL;
    const float *g = (const float *)d;
    int64_t n = 5, iv = 0;
    const char *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f64(c, "params", d, 3, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(c, "missing", &g, &n, &err), MO_EFORMAT);
    CU_ASSERT_STRING_EQUAL(err.msg, "checkpoint has no float32 entry 'missing'");
    CU_ASSERT(g == NULL && n == 0);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(c, "params", &g, &n, &err), MO_EFORMAT);
    CU_ASSERT_STRING_EQUAL(err.msg, "checkpoint has no float32 entry 'params' (it is float64[3])");
    CU_ASSERT_EQUAL(mo_ckpt_get_int(c, "params", &iv, &err), MO_EFORMAT);
    CU_ASSERT_EQUAL(mo_ckpt_get_str(c, "params", &s, &err), MO_EFORMAT);
    /* A one-element array is not a scalar, and a scalar is not a one-element array. */
    CU_ASSERT_EQUAL(mo_ckpt_put_int(c, "step", 4, &err), 0);
    const int64_t *gi = NULL;
    CU_ASSERT_EQUAL(mo_ckpt_get_i64(c, "step", &gi, &n, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(it is an int64 scalar)"));
    /* After a load the message names the file. */
    const char *dir = fresh_dir("typed");
    char *path = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_save(c, dir, 12, 1, &path, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_load(&r, path, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(r, "params", &g, &n, &err), MO_EFORMAT);
    char want[700];
    snprintf(want, sizeof want, "%s: checkpoint has no float32 entry 'params' (it is float64[3])",
             path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT(mo_ckpt_get_int(r, "step", &iv, &err) == 0 && iv == 4);
    free(path);
    mo_ckpt_destroy(r);
    mo_ckpt_destroy(c);
}

static void test_checkpoint__bad_arguments(void)
{
    const float v[] = {1};
    const char *sv[] = {"a", NULL};
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    const float *g = NULL;
    int64_t n = 0, iv = 0;
    double dv = 0;
    char long_name[120];
    CU_ASSERT_EQUAL(mo_ckpt_create(NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, NULL), 0);
    mo_ckpt_destroy(NULL);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(NULL, "a", v, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, NULL, v, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "", v, 1, &err), MO_EINVAL);
    const char *bad[] = {"a/b", "a b", "é", ".", "..", "x\n", "/a"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, bad[i], v, 1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad entry name"));
    memset(long_name, 'a', 101);
    long_name[101] = '\0';
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, long_name, v, 1, &err), MO_EINVAL);
    long_name[100] = '\0';
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, long_name, v, 1, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "ok.name-1_", v, 1, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "a", v, -1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "a", NULL, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_put_str(c, "a", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_put_strv(c, "a", sv, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_put_int(NULL, "a", 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_put_double(c, "a b", 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(NULL, "a", &g, &n, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(c, "a", NULL, &n, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(c, NULL, &g, &n, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_get_int(c, "a", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_get_double(c, "", &dv, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_get_int(c, "a", &iv, NULL), MO_EFORMAT);
    /* Failed puts left nothing behind: only the two good names are there. */
    CU_ASSERT_EQUAL(mo_ckpt_get_f32(c, "a", &g, &n, &err), MO_EFORMAT);
    CU_ASSERT_EQUAL(mo_ckpt_load(NULL, "x.h5", &err), MO_EINVAL);
    mo_ckpt_t *r = c;
    CU_ASSERT_EQUAL(mo_ckpt_load(&r, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(mo_ckpt_load(&r, "", &err), MO_EINVAL);
    mo_ckpt_destroy(c);
}

/* The size the trainer writes for the default MLP: 101,770 parameters and two Adam moments. */
static void test_checkpoint__save_time_mlp_size(void)
{
    enum { P = 101770 };
    float *w = malloc(3 * (size_t)P * sizeof *w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    for (size_t i = 0; i < 3 * (size_t)P; i++)
        w[i] = (float)i * 1e-3f;
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL, *r = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, &err), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "params", w, P, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "adam.m", w + P, P, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_f32(c, "adam.v", w + 2 * P, P, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_int(c, "step", 1000, &err), 0);
    const char *dir = fresh_dir("timing");
    char *path = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_save(c, dir, 1000, 2, &path, &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_load(&r, path, &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double lms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    const float *g = NULL;
    int64_t n = 0;
    CU_ASSERT(mo_ckpt_get_f32(r, "adam.v", &g, &n, &err) == 0 && n == P &&
              memcmp(g, w + 2 * P, P * sizeof *g) == 0);
    printf("\n    checkpoint of 3 x %d float32: save %.1f ms (incl. fsync), load %.1f ms ", P, ms,
           lms);
    free(path);
    free(w);
    mo_ckpt_destroy(r);
    mo_ckpt_destroy(c);
}

static CU_TestInfo tests[] = {MO_TEST(test_checkpoint__roundtrip_is_bitwise),
                              MO_TEST(test_checkpoint__put_twice_replaces),
                              MO_TEST(test_checkpoint__load_errors),
                              MO_TEST(test_checkpoint__typed_get_errors),
                              MO_TEST(test_checkpoint__bad_arguments),
                              MO_TEST(test_checkpoint__save_time_mlp_size),
                              CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/checkpoint", tests);
}
