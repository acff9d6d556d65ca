/* test_mlflow_batch.c - MLflow's names and limits in the mlflow plugin (plugins/mlflow/batch.c)
 *
 * Key sanitising, value truncation at MLflow's character limit, and log-batch splitting at
 * 1000 metrics, 100 params and about 1 MB are checked on the helpers directly; the params of a
 * run going out once, in bodies of 100, through the plugin under the scripted host
 * (mlflow_fixtures.h).
 */
#include "tests/plugins/mlflow_fixtures.h"

static void expect_key(const char *in, const char *want, int changed)
{
    char *out = NULL;
    int rc = mlf_sanitize_key(in, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    if (strcmp(out, want))
        fprintf(stderr, "sanitize(\"%s\") = \"%s\", want \"%s\"\n", in, out, want);
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_EQUAL(rc, changed);
    free(out);
}

static void test_mlflow_batch__keys_follow_mlflow_name_rules(void)
{
    expect_key("optimizer.lr", "optimizer.lr", 0);
    expect_key("val/accuracy-top 1", "val/accuracy-top 1", 0);
    expect_key("layers[0].units", "layers_0_.units", 1);
    expect_key("/abs/key", "_abs/key", 1);
    expect_key("a//b", "a/_b", 1);
    expect_key("a/", "a_", 1);
    expect_key("../x", "__/x", 1);
    expect_key("a/./b", "a/_/b", 1);
    expect_key("..x", "_.x", 1);
    expect_key("", "_", 1);
    expect_key("caf\xc3\xa9{x=1}", "caf__x_1_", 1);
    char long_key[400];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    char *out = NULL;
    CU_ASSERT_EQUAL(mlf_sanitize_key(long_key, &out), 1);
    CU_ASSERT_EQUAL(strlen(out), MLF_MAX_KEY_LEN);
    free(out);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void test_mlflow_batch__values_are_cut_at_the_limit_with_a_marker(void)
{
    char *v = malloc(7001 * 2 + 1), *out = NULL;
    memset(v, 'x', 6000);
    v[6000] = '\0';
    CU_ASSERT_EQUAL(mlf_truncate_value(v, 6000, &out), 0);
    CU_ASSERT_STRING_EQUAL(out, v);
    free(out);

    v[6000] = 'y';
    v[6001] = '\0';
    CU_ASSERT_EQUAL(mlf_truncate_value(v, 6000, &out), 1);
    CU_ASSERT_EQUAL(strlen(out), 6000);
    CU_ASSERT_STRING_EQUAL(out + 6000 - strlen(MLF_TRUNC_MARKER), MLF_TRUNC_MARKER);
    CU_ASSERT_EQUAL(strncmp(out, v, 6000 - strlen(MLF_TRUNC_MARKER)), 0);
    free(out);

    /* MLflow counts characters, not bytes: 7000 two-byte characters cut to 6000 characters */
    for (int i = 0; i < 7000; i++)
        memcpy(v + 2 * i, "\xc3\xa9", 2);
    v[14000] = '\0';
    CU_ASSERT_EQUAL(mlf_truncate_value(v, 6000, &out), 1);
    CU_ASSERT_EQUAL(utf8_chars(out), 6000);
    json_t *js = json_string(out); /* jansson refuses strings that are not UTF-8 */
    CU_ASSERT_PTR_NOT_NULL(js);
    json_decref(js);
    free(out);

    /* bytes that are not UTF-8 become U+FFFD, so jansson (and MLflow) accept the value */
    CU_ASSERT_EQUAL(mlf_truncate_value("a\xff"
                                       "b",
                                       6000, &out),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "a\xEF\xBF\xBD"
                                "b");
    free(out);
    free(v);
}

static json_t *metric_entries(size_t n, size_t key_len)
{
    json_t *a = json_array();
    char key[300];
    memset(key, 'm', key_len);
    key[key_len] = '\0';
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:f, s:I, s:I}", "key", key, "value", 0.5 * i,
                                           "timestamp", (json_int_t)1700000000000, "step",
                                           (json_int_t)i));
    return a;
}

static void test_mlflow_batch__batches_split_at_1000_metrics(void)
{
    json_t *m = metric_entries(2500, 10);
    size_t dropped = 9;
    json_t *b = mlf_batch_split(m, "metrics", MLF_MAX_BATCH_METRICS, MLF_MAX_BATCH_BYTES, &dropped);
    CU_ASSERT_EQUAL(dropped, 0);
    CU_ASSERT_EQUAL_FATAL(json_array_size(b), 3);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 0), "metrics")), 1000);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 1), "metrics")), 1000);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 2), "metrics")), 500);
    /* order kept: the last body ends with step 2499 */
    json_t *last = json_object_get(json_array_get(b, 2), "metrics");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(last, 499), "step")), 2499);
    json_decref(b);
    json_decref(m);
}

static void test_mlflow_batch__batches_split_at_about_1_mb(void)
{
    /* 1000 metrics with 250-character keys are ~300 KB: one body. Params of 6000 quotes (each
     * escaped to two bytes) are ~12 KB each: 100 of them exceed 1e6 bytes and must split. */
    json_t *m = metric_entries(1000, 250);
    size_t dropped;
    json_t *b = mlf_batch_split(m, "metrics", 1000, MLF_MAX_BATCH_BYTES, &dropped);
    CU_ASSERT_EQUAL(json_array_size(b), 1);
    json_decref(b);
    json_decref(m);

    char *v = malloc(6001);
    memset(v, '"', 6000);
    v[6000] = '\0';
    json_t *p = json_array();
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        json_array_append_new(p, json_pack("{s:s, s:s}", "key", key, "value", v));
    }
    b = mlf_batch_split(p, "params", MLF_MAX_BATCH_PARAMS, MLF_MAX_BATCH_BYTES, &dropped);
    CU_ASSERT_EQUAL(dropped, 0);
    CU_ASSERT_EQUAL(json_array_size(b), 2);
    size_t i, total = 0;
    json_t *body;
    json_array_foreach(b, i, body)
    {
        /* what actually goes on the wire, run_id included, stays within MLflow's 1e6 bytes */
        json_object_set_new(body, "run_id", json_string("0123456789abcdef0123456789abcdef"));
        char *s = json_dumps(body, JSON_COMPACT);
        CU_ASSERT(strlen(s) <= MLF_MAX_BATCH_BYTES);
        free(s);
        total += json_array_size(json_object_get(body, "params"));
    }
    CU_ASSERT_EQUAL(total, 100);
    json_decref(b);

    /* an entry that cannot fit any body is dropped and counted, not sent to be refused */
    b = mlf_batch_split(p, "params", 100, 4096, &dropped);
    CU_ASSERT_EQUAL(dropped, 100);
    CU_ASSERT_EQUAL(json_array_size(b), 0);
    json_decref(b);
    json_decref(p);
    free(v);
}

static void test_mlflow_batch__params_split_at_100_and_go_once(void)
{
    reset();
    void *st = start_plugin();
    maestro_kv_t params[250];
    char keys[250][16];
    for (int i = 0; i < 250; i++) {
        snprintf(keys[i], sizeof keys[i], "k%03d", i);
        params[i] = (maestro_kv_t){keys[i], "v"};
    }
    maestro_run_info_t run = run_info(0);
    run.params = params;
    run.n_params = 250;
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    json_t *b = bodies_of("runs/log-batch");
    CU_ASSERT_EQUAL_FATAL(json_array_size(b), 3);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 0), "params")), 100);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 2), "params")), 50);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(b, 0), "run_id")),
                           "r1");
    json_decref(b);
    maestro_plugin.fini(st);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow_batch__keys_follow_mlflow_name_rules),
    MO_TEST(test_mlflow_batch__values_are_cut_at_the_limit_with_a_marker),
    MO_TEST(test_mlflow_batch__batches_split_at_1000_metrics),
    MO_TEST(test_mlflow_batch__batches_split_at_about_1_mb),
    MO_TEST(test_mlflow_batch__params_split_at_100_and_go_once),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = mo_test_main("plugins/mlflow_batch", tests);
    reset();
    return rc;
}
