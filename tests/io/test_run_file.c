/* test_run_file.c - run.h5 writing, the metric history, and inspect (io/run_file.c) */
#include "io/h5.h"
#include "io/run_file.h"
#include "tests/unit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path_in(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", mo_test_tmpdir(), name);
    return p;
}

static int count_files(const char *part)
{
    int n = 0;
    DIR *d = opendir(mo_test_tmpdir());
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return n;
}

/* A 3 -> 4 -> 2 MLP and everything else a finished run has. */
enum { NF = 3, NH = 4, NO = 2 };
static float W0[NF * NH], b0[NH], W1[NH * NO], b1[NO];
static const int64_t hidden[] = {NH};
static const mo_run_layer_t layers[] = {{NULL, NF, NH, W0, b0}, {NULL, NH, NO, W1, b1}};
static const mo_run_model_t model = {"mlp", "classification", "relu", NF, NO, hidden, 1, layers, 2};
static const char *final_names[] = {"val_accuracy", "val_loss", "train_loss"};
static const mo_run_kv_t prov[] = {{"maestro_version", "0.1.0"},
                                   {"ranks", "2"},
                                   {"dataset_sha256", "ab12"},
                                   {"hosts", "node1,node2"}};
static const char *spec = "kind: train\nname: iris\n# ünïcode\n";

static mo_run_record_t full_record(const mo_history_t *h, const double *final_values)
{
    for (int i = 0; i < NF * NH; i++)
        W0[i] = (float)i * 0.5f - 1.0f;
    for (int i = 0; i < NH * NO; i++)
        W1[i] = -(float)i;
    for (int i = 0; i < NH; i++)
        b0[i] = (float)i;
    b1[0] = 0.25f;
    b1[1] = -0.0f;
    mo_run_record_t r;
    memset(&r, 0, sizeof r);
    r.name = "iris-mlp";
    r.job_kind = "train";
    r.status = "ok";
    r.spec_text = spec;
    r.model = &model;
    r.history = h;
    r.final_names = final_names;
    r.final_values = final_values;
    r.n_final = 3;
    r.provenance = prov;
    r.n_provenance = 4;
    return r;
}

static void three_rows(mo_history_t *h)
{
    CU_ASSERT_EQUAL(mo_history_add(h, 1, 0, "train_loss", 2.5), 0);
    CU_ASSERT_EQUAL(mo_history_add(h, 1, 0, "val_accuracy", 0.5), 0);
    CU_ASSERT_EQUAL(mo_history_add(h, 2, 1, "train_loss", 1.25), 0);
}

static void test_run_file__roundtrip_read_back_with_h5(void)
{
    mo_history_t h = {0};
    three_rows(&h);
    const double fv[] = {0.9, NAN, 0.125};
    mo_run_record_t r = full_record(&h, fv);
    mo_error_t err = {0};
    const char *path = path_in("run.h5");
    CU_ASSERT_EQUAL_FATAL(mo_run_file_write(path, &r, &err), 0);
    CU_ASSERT_EQUAL(count_files(".tmp."), 0);
    hid_t f = H5I_INVALID_HID;
    CU_ASSERT_EQUAL_FATAL(mo_h5_open(&f, path, H5P_DEFAULT, &err), 0);
    char *s = NULL;
    int64_t iv = 0;
    double dv = 0;
    const char *want_str[][2] = {
        {"kind", "run"}, {"name", "iris-mlp"}, {"job_kind", "train"}, {"status", "ok"}};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(mo_h5_attr_read_str(&s, f, want_str[i][0], &err), 0);
        CU_ASSERT_STRING_EQUAL(s ? s : "", want_str[i][1]);
        free(s);
    }
    CU_ASSERT(mo_h5_attr_read_int(&iv, f, "format_version", &err) == 0 && iv == 1);
    /* /spec: one variable-length UTF-8 string. */
    hid_t d = H5Dopen2(f, "spec", H5P_DEFAULT), t = H5Tcopy(H5T_C_S1);
    char *text = NULL;
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    CU_ASSERT(d >= 0 && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) >= 0);
    CU_ASSERT_STRING_EQUAL(text ? text : "", spec);
    free(text);
    H5Tclose(t);
    H5Dclose(d);
    /* /model: attributes and weights, exactly. */
    hid_t m = H5Gopen2(f, "model", H5P_DEFAULT);
    CU_ASSERT_FATAL(m >= 0);
    CU_ASSERT(mo_h5_attr_read_str(&s, m, "activation", &err) == 0 && !strcmp(s, "relu"));
    free(s);
    CU_ASSERT(mo_h5_attr_read_int(&iv, m, "n_params", &err) == 0 &&
              iv == NF * NH + NH + NH * NO + NO);
    float Wr[NF * NH], br[NO];
    d = H5Dopen2(m, "layer_0/W", H5P_DEFAULT);
    CU_ASSERT(mo_h5_read_rows(d, H5T_NATIVE_FLOAT, 0, NF, Wr, &err) == 0 &&
              memcmp(Wr, W0, sizeof Wr) == 0);
    H5Dclose(d);
    d = H5Dopen2(m, "layer_1/b", H5P_DEFAULT);
    CU_ASSERT(mo_h5_read_rows(d, H5T_NATIVE_FLOAT, 0, NO, br, &err) == 0 &&
              memcmp(br, b1, sizeof br) == 0);
    H5Dclose(d);
    H5Gclose(m);
    /* /history: four columns and the name table. */
    int64_t steps[3];
    int32_t ids[3];
    double vals[3];
    d = H5Dopen2(f, "history/step", H5P_DEFAULT);
    CU_ASSERT(mo_h5_read_rows(d, H5T_NATIVE_INT64, 0, 3, steps, &err) == 0 && steps[2] == 2);
    H5Dclose(d);
    d = H5Dopen2(f, "history/name_id", H5P_DEFAULT);
    CU_ASSERT(mo_h5_read_rows(d, H5T_NATIVE_INT32, 0, 3, ids, &err) == 0 && ids[0] == 0 &&
              ids[1] == 1 && ids[2] == 0);
    H5Dclose(d);
    d = H5Dopen2(f, "history/value", H5P_DEFAULT);
    CU_ASSERT(mo_h5_read_rows(d, H5T_NATIVE_DOUBLE, 0, 3, vals, &err) == 0 && vals[2] == 1.25);
    H5Dclose(d);
    hid_t g = H5Gopen2(f, "history", H5P_DEFAULT);
    char **names = NULL;
    size_t nn = 0;
    CU_ASSERT(mo_h5_attr_read_strv(&names, &nn, g, "names", &err) == 0 && nn == 2 &&
              !strcmp(names[0], "train_loss") && !strcmp(names[1], "val_accuracy"));
    mo_h5_strv_free(names, nn);
    H5Gclose(g);
    /* /final_metrics float64 attributes (NaN kept), /provenance strings. */
    g = H5Gopen2(f, "final_metrics", H5P_DEFAULT);
    CU_ASSERT(mo_h5_attr_read_double(&dv, g, "val_accuracy", &err) == 0 && dv == 0.9);
    CU_ASSERT(mo_h5_attr_read_double(&dv, g, "val_loss", &err) == 0 && isnan(dv));
    H5Gclose(g);
    g = H5Gopen2(f, "provenance", H5P_DEFAULT);
    CU_ASSERT(mo_h5_attr_read_str(&s, g, "hosts", &err) == 0 && !strcmp(s, "node1,node2"));
    free(s);
    H5Gclose(g);
    H5Fclose(f);
    mo_history_free(&h);
}

static void test_run_file__describe_shows_every_key(void)
{
    mo_history_t h = {0};
    three_rows(&h);
    const double fv[] = {0.9, NAN, 0.125};
    mo_run_record_t r = full_record(&h, fv);
    mo_error_t err = {0};
    const char *path = path_in("describe.h5");
    CU_ASSERT_EQUAL_FATAL(mo_run_file_write(path, &r, &err), 0);
    json_t *j = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, path, &err), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "kind")), "run");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "format_version")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "ok");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "job_kind")), "train");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "name")), "iris-mlp");
    json_t *fm = json_object_get(j, "final_metrics");
    CU_ASSERT_EQUAL(json_object_size(fm), 3);
    CU_ASSERT(json_is_real(json_object_get(fm, "val_accuracy")) &&
              json_real_value(json_object_get(fm, "val_accuracy")) == 0.9);
    CU_ASSERT(json_is_real(json_object_get(fm, "train_loss")) &&
              json_real_value(json_object_get(fm, "train_loss")) == 0.125);
    CU_ASSERT(json_is_null(json_object_get(fm, "val_loss"))); /* NaN: JSON has none */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "history_length")), 3);
    json_t *pv = json_object_get(j, "provenance");
    CU_ASSERT_EQUAL(json_object_size(pv), 4);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(pv, "ranks")), "2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(pv, "dataset_sha256")), "ab12");
    json_t *m = json_object_get(j, "model");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "type")), "mlp");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "task")), "classification");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "activation")), "relu");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "n_features")), NF);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "n_outputs")), NO);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "n_params")), 12 + 4 + 8 + 2);
    json_t *hj = json_object_get(m, "hidden");
    CU_ASSERT(json_array_size(hj) == 1 && json_integer_value(json_array_get(hj, 0)) == NH);
    /* The whole object serialises, the NaN as null. */
    char *dump = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    CU_ASSERT_PTR_NOT_NULL(dump ? strstr(dump, "\"val_loss\":null") : NULL);
    if (getenv("MO_TEST_SHOW")) { /* the sample in docs/formats.md */
        char *pretty = json_dumps(j, JSON_INDENT(2));
        printf("\n%s\n", pretty ? pretty : "");
        free(pretty);
    }
    free(dump);
    json_decref(j);
    mo_history_free(&h);
}

static void test_run_file__failed_run_without_model_or_history(void)
{
    mo_run_record_t r;
    memset(&r, 0, sizeof r);
    r.name = "broken";
    r.job_kind = "train";
    r.status = "failed";
    mo_error_t err = {0};
    const char *path = path_in("failed.h5");
    CU_ASSERT_EQUAL_FATAL(mo_run_file_write(path, &r, &err), 0);
    json_t *j = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, path, &err), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "failed");
    CU_ASSERT(json_is_null(json_object_get(j, "model")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "history_length")), 0);
    CU_ASSERT(json_is_object(json_object_get(j, "final_metrics")) &&
              json_object_size(json_object_get(j, "final_metrics")) == 0);
    CU_ASSERT(json_is_object(json_object_get(j, "provenance")));
    json_decref(j);
    /* A linear model: no hidden layers gives hidden []. */
    static const float W[NF] = {1, 2, 3}, b[1] = {0};
    static const mo_run_layer_t lin[] = {{NULL, NF, 1, W, b}};
    mo_run_model_t lm = {"linreg", "regression", "none", NF, 1, NULL, 0, lin, 1};
    r.model = &lm;
    r.status = "preempted";
    CU_ASSERT_EQUAL_FATAL(mo_run_file_write(path, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, path, &err), 0);
    json_t *m = json_object_get(j, "model");
    CU_ASSERT(json_is_array(json_object_get(m, "hidden")) &&
              json_array_size(json_object_get(m, "hidden")) == 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "n_params")), NF + 1);
    json_decref(j);
}

static void test_run_file__history_grows_over_10k_rows(void)
{
    static const char *names[] = {"train_loss", "val_loss", "val_accuracy", "lr", "grad_norm"};
    mo_history_t h = {0};
    int reallocs = 0;
    int64_t cap = 0;
    for (int i = 0; i < 10000; i++) {
        /* Names arrive as fresh buffers each time: interned by content, not by pointer. */
        char name[32];
        snprintf(name, sizeof name, "%s", names[i % 5]);
        CU_ASSERT_EQUAL_FATAL(mo_history_add(&h, i / 5, i / 1000, name, i * 0.5), 0);
        reallocs += h.cap != cap;
        cap = h.cap;
    }
    CU_ASSERT_EQUAL(h.n, 10000);
    CU_ASSERT_EQUAL(h.n_names, 5);
    CU_ASSERT(h.cap >= h.n && h.cap < 2 * h.n);
    CU_ASSERT(reallocs <= 10); /* amortised: doubling, not one per row */
    int ok = 1;
    for (int i = 0; i < 10000; i++)
        ok &= h.step[i] == i / 5 && h.epoch[i] == i / 1000 && h.value[i] == i * 0.5 &&
              !strcmp(h.names[h.name_id[i]], names[i % 5]);
    CU_ASSERT(ok);
    mo_run_record_t r;
    memset(&r, 0, sizeof r);
    r.name = "long";
    r.job_kind = "train";
    r.status = "ok";
    r.history = &h;
    mo_error_t err = {0};
    const char *path = path_in("long.h5");
    CU_ASSERT_EQUAL_FATAL(mo_run_file_write(path, &r, &err), 0);
    json_t *j = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, path, &err), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "history_length")), 10000);
    json_decref(j);
    hid_t f = H5I_INVALID_HID;
    CU_ASSERT_EQUAL_FATAL(mo_h5_open(&f, path, H5P_DEFAULT, &err), 0);
    hid_t d = H5Dopen2(f, "history/value", H5P_DEFAULT);
    double v[2];
    CU_ASSERT(mo_h5_read_rows(d, H5T_NATIVE_DOUBLE, 9998, 2, v, &err) == 0 && v[0] == 4999 &&
              v[1] == 4999.5);
    H5Dclose(d);
    H5Fclose(f);
    mo_history_free(&h);
    mo_history_t zero = {0};
    CU_ASSERT_EQUAL(memcmp(&h, &zero, sizeof h), 0);
    /* Usable again after free. */
    CU_ASSERT(mo_history_add(&h, 1, 1, "x", 1) == 0 && h.n == 1 && h.n_names == 1);
    mo_history_free(&h);
}

static void test_run_file__bad_arguments(void)
{
    mo_history_t h = {0};
    CU_ASSERT_EQUAL(mo_history_add(NULL, 0, 0, "a", 1), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_history_add(&h, 0, 0, NULL, 1), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_history_add(&h, 0, 0, "", 1), MO_EINVAL);
    CU_ASSERT_EQUAL(h.n, 0);
    mo_history_free(NULL);
    mo_history_free(&h);
    const double fv[] = {0.9, 0.1, 0.2};
    mo_run_record_t good = full_record(NULL, fv), r;
    mo_error_t err = {0};
    const char *path = path_in("bad.h5");
    CU_ASSERT_EQUAL(mo_run_file_write(NULL, &good, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_run_file_write("", &good, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_run_file_write(path, NULL, &err), MO_EINVAL);
    r = good;
    r.status = "done";
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "run status 'done' is not ok, gate_failed"));
    r = good;
    r.name = NULL;
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    r = good;
    r.final_values = NULL;
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    static const mo_run_kv_t bad_prov[] = {{"k", NULL}};
    r = good;
    r.provenance = bad_prov;
    r.n_provenance = 1;
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    /* Layers that do not chain: 3 -> 4, then 5 -> 2. */
    mo_run_layer_t broken[2] = {layers[0], layers[1]};
    broken[1].in = 5;
    mo_run_model_t bm = model;
    bm.layers = broken;
    r = good;
    r.model = &bm;
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "model layer 1 is [5, 2]; expected in = 4"));
    broken[1] = layers[1];
    broken[1].W = NULL;
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    bm = model;
    bm.n_outputs = 3;
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    /* A history row naming a metric that does not exist. */
    mo_history_t hb = {0};
    CU_ASSERT_EQUAL(mo_history_add(&hb, 0, 0, "a", 1), 0);
    hb.name_id[0] = 3;
    r = good;
    r.history = &hb;
    CU_ASSERT_EQUAL(mo_run_file_write(path, &r, &err), MO_EINVAL);
    mo_history_free(&hb);
    CU_ASSERT_EQUAL(count_files("bad.h5"), 0);
    /* A folder that does not exist: an I/O error, no temp left. */
    CU_ASSERT_EQUAL(mo_run_file_write(path_in("no/such/run.h5"), &good, &err), MO_EIO);
    CU_ASSERT_EQUAL(count_files(".tmp."), 0);
}

static CU_TestInfo tests[] = {MO_TEST(test_run_file__roundtrip_read_back_with_h5),
                              MO_TEST(test_run_file__describe_shows_every_key),
                              MO_TEST(test_run_file__failed_run_without_model_or_history),
                              MO_TEST(test_run_file__history_grows_over_10k_rows),
                              MO_TEST(test_run_file__bad_arguments),
                              CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/run_file", tests);
}
