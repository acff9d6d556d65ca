/* test_prometheus_format.c - the prometheus plugin's exposition text and grouping keys
 *
 * expo.c is compiled into this test directly (it includes no Maestro header), so the bytes
 * the plugin sends are checked here exactly, without a host or a server; test_prometheus.c
 * checks what a real Pushgateway makes of them.
 */
#include "plugins/prometheus/expo.c"

#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ASSERT_TEXT(got, want)                                                                     \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL(got, want);                                                         \
        if (strcmp(got, want))                                                                     \
            fprintf(stderr, "\n  got:  [%s]\n  want: [%s]\n", got, want);                          \
    } while (0)

static char text[8192];

static const char *label_value(const char *v)
{
    prom_buf_t b;
    prom_buf_init(&b);
    prom_escape_label_value(&b, v);
    snprintf(text, sizeof text, "%s", b.data ? b.data : "");
    prom_buf_free(&b);
    return text;
}

static const char *segment(const char *name, const char *v)
{
    prom_buf_t b;
    prom_buf_init(&b);
    prom_group_segment(&b, name, v);
    snprintf(text, sizeof text, "%s", b.data ? b.data : "");
    prom_buf_free(&b);
    return text;
}

static const char *b64(const char *v, size_t n)
{
    prom_buf_t b;
    prom_buf_init(&b);
    prom_buf_add(&b, "", 0);
    prom_base64url(&b, (const unsigned char *)v, n);
    snprintf(text, sizeof text, "%s", b.data);
    prom_buf_free(&b);
    return text;
}

static const char *value(double v)
{
    prom_format_value(text, sizeof text, v);
    return text;
}

static const char *render(const prom_set_t *s, const prom_label_t *prefix, size_t n)
{
    prom_buf_t b;
    prom_buf_init(&b);
    prom_set_render(s, prefix, n, &b);
    CU_ASSERT_FALSE(b.oom);
    snprintf(text, sizeof text, "%s", b.data ? b.data : "");
    prom_buf_free(&b);
    return text;
}

static void test_expo__label_values_escape_backslash_quote_newline(void)
{
    ASSERT_TEXT(label_value("plain"), "plain");
    ASSERT_TEXT(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    /* a tab and a carriage return are legal as they are */
    ASSERT_TEXT(label_value("a\tb\r"), "a\tb\r");
    ASSERT_TEXT(label_value(""), "");
    ASSERT_TEXT(label_value(NULL), "");
}

static void test_expo__label_values_become_valid_utf8(void)
{
    /* the gateway answers 400 "invalid label value" to bytes that are not UTF-8 */
    ASSERT_TEXT(label_value("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
    ASSERT_TEXT(label_value("a\xff"
                            "b"),
                "a\xEF\xBF\xBD"
                "b");
    ASSERT_TEXT(label_value("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD"); /* overlong '/' */
    ASSERT_TEXT(label_value("\xed\xa0\x80"),
                "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                /* surrogate */
    ASSERT_TEXT(label_value("x\xe2\x82"), "x\xEF\xBF\xBD\xEF\xBF\xBD"); /* truncated at the end */
    char *c = prom_utf8_clean("ok\xfe");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ASSERT_TEXT(c, "ok\xEF\xBF\xBD");
    free(c);
}

static void test_expo__help_escapes_backslash_and_newline_only(void)
{
    prom_buf_t b;
    prom_buf_init(&b);
    prom_escape_help(&b, "a \"quoted\" \\ path\nnext");
    ASSERT_TEXT(b.data, "a \"quoted\" \\\\ path\\nnext");
    prom_buf_free(&b);
}

static void test_expo__values_as_prometheus_spells_them(void)
{
    ASSERT_TEXT(value(NAN), "NaN");
    ASSERT_TEXT(value(INFINITY), "+Inf");
    ASSERT_TEXT(value(-INFINITY), "-Inf");
    ASSERT_TEXT(value(1), "1");
    ASSERT_TEXT(value(0), "0");
    ASSERT_TEXT(value(0.1), "0.1");
    ASSERT_TEXT(value(-2.5), "-2.5");
    ASSERT_TEXT(value(1e-7), "1e-07");
    ASSERT_TEXT(value(50), "50");
    ASSERT_TEXT(value(12345.5), "12345.5");
    ASSERT_TEXT(value(100000), "100000");
    ASSERT_TEXT(value(1000000), "1e+06");
    ASSERT_TEXT(value(123456789), "1.23456789e+08");
    ASSERT_TEXT(value(0.0001), "0.0001");
    ASSERT_TEXT(value(0.00001234), "1.234e-05");
    ASSERT_TEXT(value(1e300), "1e+300");
    /* shortest text that reads back exactly */
    double third = 1.0 / 3.0;
    CU_ASSERT_EQUAL(strtod(value(third), NULL), third);
    CU_ASSERT_EQUAL(strtod(value(1.7976931348623157e308), NULL), 1.7976931348623157e308);
}

static void test_expo__base64url_rfc4648_vectors(void)
{
    ASSERT_TEXT(b64("", 0), "");
    ASSERT_TEXT(b64("f", 1), "Zg");
    ASSERT_TEXT(b64("fo", 2), "Zm8");
    ASSERT_TEXT(b64("foo", 3), "Zm9v");
    ASSERT_TEXT(b64("foob", 4), "Zm9vYg");
    ASSERT_TEXT(b64("fooba", 5), "Zm9vYmE");
    ASSERT_TEXT(b64("foobar", 6), "Zm9vYmFy");
    /* the URL alphabet: '-' and '_' where standard base64 has '+' and '/' */
    ASSERT_TEXT(b64("\xfb\xff", 2), "-_8");
    ASSERT_TEXT(b64("/var/tmp", 8), "L3Zhci90bXA"); /* the Pushgateway README's example */
}

static void test_expo__grouping_key_base64_where_needed(void)
{
    ASSERT_TEXT(segment("run", "demo-20240101T000000Z-ab12"), "/run/demo-20240101T000000Z-ab12");
    ASSERT_TEXT(segment("run", "a/b"), "/run@base64/YS9i");
    ASSERT_TEXT(segment("run", ""), "/run@base64/=");
    ASSERT_TEXT(segment("run", NULL), "/run@base64/=");
    /* HTTP path cleaning would redirect these */
    ASSERT_TEXT(segment("run", "."), "/run@base64/Lg");
    ASSERT_TEXT(segment("run", ".."), "/run@base64/Li4");
    /* anything that would need percent-encoding */
    ASSERT_TEXT(segment("run", "a b"), "/run@base64/YSBi");
    ASSERT_TEXT(segment("run", "x?y#z%"), "/run@base64/eD95I3ol");

    prom_buf_t b;
    prom_buf_init(&b);
    prom_group_path(&b, "maestro", "r1", 3);
    ASSERT_TEXT(b.data, "/metrics/job/maestro/run/r1/rank/3");
    prom_buf_free(&b);
    prom_group_path(&b, "team/a", "q\"x", 0);
    ASSERT_TEXT(b.data, "/metrics/job@base64/dGVhbS9h/run@base64/cSJ4/rank/0");
    prom_buf_free(&b);
}

static void test_expo__label_names_made_valid(void)
{
    char n[64];
    CU_ASSERT_EQUAL(prom_label_name(n, sizeof n, "layer"), 0);
    ASSERT_TEXT(n, "layer");
    CU_ASSERT_EQUAL(prom_label_name(n, sizeof n, "data-set.v2"), 0);
    ASSERT_TEXT(n, "data_set_v2");
    CU_ASSERT_EQUAL(prom_label_name(n, sizeof n, "9lives"), 0);
    ASSERT_TEXT(n, "_9lives");
    CU_ASSERT_EQUAL(prom_label_name(n, sizeof n, "__name__"), -1);
    CU_ASSERT_EQUAL(prom_label_name(n, sizeof n, "--x"), -1); /* becomes reserved "__x" */
    CU_ASSERT_EQUAL(prom_label_name(n, sizeof n, ""), -1);
    CU_ASSERT_EQUAL(prom_label_name(n, sizeof n, NULL), -1);
    CU_ASSERT_EQUAL(prom_label_name(NULL, 8, "x"), -1);
    CU_ASSERT_EQUAL(prom_label_name(n, 1, "x"), -1);
}

static void test_expo__render_families_contiguous_help_type_once(void)
{
    prom_set_t *s = prom_set_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    prom_label_t acc = {"name", "accuracy"}, loss = {"name", "loss"};
    /* interleaved puts still render each family as one block, families in a fixed order */
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_VAL_METRIC, &loss, 1, 0.5), 0);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_EPOCH, NULL, 0, 1), 0);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_VAL_METRIC, &acc, 1, 0.75), 0);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_TRAIN_LOSS, NULL, 0, 0.25), 0);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_EPOCH, NULL, 0, 2), 0); /* replaces */
    CU_ASSERT_EQUAL(prom_set_count(s), 4);
    ASSERT_TEXT(render(s, NULL, 0),
                "# HELP maestro_train_loss Training loss of the latest epoch.\n"
                "# TYPE maestro_train_loss gauge\n"
                "maestro_train_loss 0.25\n"
                "# HELP maestro_val_metric Latest value of a validation metric, by name "
                "(without the val_ prefix).\n"
                "# TYPE maestro_val_metric gauge\n"
                "maestro_val_metric{name=\"accuracy\"} 0.75\n"
                "maestro_val_metric{name=\"loss\"} 0.5\n"
                "# HELP maestro_epoch Latest epoch reached.\n"
                "# TYPE maestro_epoch gauge\n"
                "maestro_epoch 2\n");
    prom_set_destroy(s);
}

static void test_expo__render_labels_sorted_escaped_prefixed(void)
{
    prom_set_t *s = prom_set_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    prom_label_t l[] = {{"run_id", "r\"1\\\n"}, {"kind", "train"}, {"kind", "second loses"}};
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_RUN_INFO, l, 3, 1), 0);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_ALLREDUCE_SECONDS, NULL, 0, INFINITY), 0);
    prom_label_t prefix[] = {{"run", "a/b"}, {"rank", "2"}};
    ASSERT_TEXT(render(s, prefix, 2),
                "# HELP maestro_run_info Identity of a Maestro run; always 1 (join on run_id for "
                "the labels).\n"
                "# TYPE maestro_run_info gauge\n"
                "maestro_run_info{rank=\"2\",run=\"a/b\",kind=\"train\",run_id=\"r\\\"1\\\\\\n\"} "
                "1\n"
                "# HELP maestro_allreduce_seconds_total Time this rank spent in gradient "
                "allreduce since the run started.\n"
                "# TYPE maestro_allreduce_seconds_total counter\n"
                "maestro_allreduce_seconds_total{rank=\"2\",run=\"a/b\"} +Inf\n");
    prom_set_destroy(s);
}

static void test_expo__render_no_timestamps_final_newline(void)
{
    prom_set_t *s = prom_set_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int f = 0; f < PROM_N_FAMILIES; f++) {
        prom_label_t l = {"name", "x y"};
        CU_ASSERT_EQUAL(prom_set_put(s, (prom_family_t)f, &l, 1, NAN), 0);
    }
    const char *t = render(s, NULL, 0);
    size_t n = strlen(t);
    CU_ASSERT(n > 0 && t[n - 1] == '\n');
    int helps = 0, types = 0, samples = 0;
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", t);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "# HELP ", 7)) {
            helps++;
        } else if (!strncmp(line, "# TYPE ", 7)) {
            types++;
        } else {
            samples++;
            /* `name{...} value` and nothing after the value: no timestamp */
            const char *close = strrchr(line, '}');
            CU_ASSERT_PTR_NOT_NULL_FATAL(close);
            CU_ASSERT_STRING_EQUAL(close, "} NaN");
        }
    }
    CU_ASSERT_EQUAL(helps, PROM_N_FAMILIES);
    CU_ASSERT_EQUAL(types, PROM_N_FAMILIES);
    CU_ASSERT_EQUAL(samples, PROM_N_FAMILIES);
    prom_set_destroy(s);
}

static void test_expo__clear_drops_one_family(void)
{
    prom_set_t *s = prom_set_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    prom_label_t run = {"status", "running"}, ok = {"status", "ok"};
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_RUN_STATUS, &run, 1, 1), 0);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_EPOCH, NULL, 0, 3), 0);
    prom_set_clear(s, PROM_RUN_STATUS);
    CU_ASSERT_EQUAL(prom_set_count(s), 1);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_RUN_STATUS, &ok, 1, 1), 0);
    const char *t = render(s, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "maestro_run_status{status=\"ok\"} 1\n"));
    CU_ASSERT_PTR_NULL(strstr(t, "status=\"running\""));
    prom_set_destroy(s);
}

static void test_expo__bad_arguments_and_series_cap(void)
{
    prom_set_t *s = prom_set_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(prom_set_put(NULL, PROM_EPOCH, NULL, 0, 1), -1);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_N_FAMILIES, NULL, 0, 1), -1);
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_EPOCH, NULL, 2, 1), -1);
    CU_ASSERT_PTR_NULL(prom_family(PROM_N_FAMILIES));
    ASSERT_TEXT(render(s, NULL, 0), ""); /* nothing: not even HELP lines */
    char v[32];
    for (int i = 0; i < PROM_MAX_SERIES; i++) {
        snprintf(v, sizeof v, "m%d", i);
        prom_label_t l = {"name", v};
        CU_ASSERT_EQUAL_FATAL(prom_set_put(s, PROM_TRAIN_METRIC, &l, 1, i), 0);
    }
    prom_label_t extra = {"name", "one too many"}, first = {"name", "m0"};
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_TRAIN_METRIC, &extra, 1, 1), -1);
    /* an existing series still updates at the cap */
    CU_ASSERT_EQUAL(prom_set_put(s, PROM_TRAIN_METRIC, &first, 1, 7), 0);
    CU_ASSERT_EQUAL(prom_set_count(s), PROM_MAX_SERIES);
    prom_set_destroy(s);
    prom_set_destroy(NULL);
    prom_set_clear(NULL, PROM_EPOCH);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_expo__label_values_escape_backslash_quote_newline),
    MO_TEST(test_expo__label_values_become_valid_utf8),
    MO_TEST(test_expo__help_escapes_backslash_and_newline_only),
    MO_TEST(test_expo__values_as_prometheus_spells_them),
    MO_TEST(test_expo__base64url_rfc4648_vectors),
    MO_TEST(test_expo__grouping_key_base64_where_needed),
    MO_TEST(test_expo__label_names_made_valid),
    MO_TEST(test_expo__render_families_contiguous_help_type_once),
    MO_TEST(test_expo__render_labels_sorted_escaped_prefixed),
    MO_TEST(test_expo__render_no_timestamps_final_newline),
    MO_TEST(test_expo__clear_drops_one_family),
    MO_TEST(test_expo__bad_arguments_and_series_cap),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/prometheus_format", tests);
}
