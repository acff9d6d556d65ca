/* test_loki_batch.c - the loki plugin's push bodies: plugins/loki/batch.c, byte by byte
 *
 * batch.c is compiled into this test directly (it includes no Maestro header), so the bytes
 * of a push are checked exactly, without a host or a server: stream labels, timestamps as
 * strings strictly increasing per stream, exact size accounting, lines as JSON objects of
 * valid UTF-8, splitting of long messages, and the static labels a config may add.
 * test_loki.c checks what the Loki fake makes of them.
 */
#include "plugins/loki/batch.c"

#include "tests/plugins/loki_fixtures.h"

static void test_loki_batch__body_has_streams_labels_and_string_timestamps(void)
{
    json_t *statics = json_object();
    char why[256];
    CU_ASSERT_EQUAL(loki_parse_static_labels(statics, "team=ml, env = ci", why, sizeof why), 0);
    loki_batch_t b;
    CU_ASSERT_EQUAL_FATAL(loki_batch_init(&b, "run-1", "train", statics), 0);
    char *l1 = loki_line("info", "train", "epoch 1", 7, 0, 0);
    char *l2 = loki_line("warn", "io", "slow disk", 9, 1, 0);
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 1700000000000000000LL, l1, 1, NULL), 0);
    CU_ASSERT_EQUAL(loki_batch_add(&b, 1, 2, 1700000000000000005LL, l2, 1, NULL), 0);
    size_t len, n;
    char *body = loki_batch_take(&b, &len, &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(
        body, "{\"streams\":[{\"stream\":{\"job\":\"maestro\",\"run_id\":\"run-1\",\"kind\":"
              "\"train\",\"rank\":\"0\",\"level\":\"info\",\"team\":\"ml\",\"env\":\"ci\"},"
              "\"values\":[[\"1700000000000000000\",\"{\\\"level\\\":\\\"info\\\","
              "\\\"component\\\":\\\"train\\\",\\\"msg\\\":\\\"epoch 1\\\",\\\"rank\\\":0}\"]]},"
              "{\"stream\":{\"job\":\"maestro\",\"run_id\":\"run-1\",\"kind\":\"train\","
              "\"rank\":\"1\",\"level\":\"warn\",\"team\":\"ml\",\"env\":\"ci\"},\"values\":[["
              "\"1700000000000000005\",\"{\\\"level\\\":\\\"warn\\\",\\\"component\\\":"
              "\\\"io\\\",\\\"msg\\\":\\\"slow disk\\\",\\\"rank\\\":1}\"]]}]}");
    /* Taken: nothing waits any more. */
    size_t len2, n2;
    CU_ASSERT_PTR_NULL(loki_batch_take(&b, &len2, &n2));
    CU_ASSERT_EQUAL(n2, 0);
    free(body);
    free(l1);
    free(l2);
    loki_batch_free(&b);
    json_decref(statics);
}

static void test_loki_batch__timestamps_strictly_increase_per_stream_across_batches(void)
{
    loki_batch_t b;
    CU_ASSERT_EQUAL_FATAL(loki_batch_init(&b, "r", "train", NULL), 0);
    int64_t used[5];
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 1000, "a", 0, &used[0]), 0);
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 1000, "b", 0, &used[1]), 0); /* same ns */
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 900, "c", 0, &used[2]), 0);  /* clock went back */
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 2, 900, "d", 0, &used[3]), 0);  /* other stream */
    CU_ASSERT_EQUAL(used[0], 1000);
    CU_ASSERT_EQUAL(used[1], 1001);
    CU_ASSERT_EQUAL(used[2], 1002);
    CU_ASSERT_EQUAL(used[3], 900);
    size_t len, n;
    free(loki_batch_take(&b, &len, &n));
    /* The next batch continues after what was sent, so a later push is never older. */
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 500, "e", 0, &used[4]), 0);
    CU_ASSERT_EQUAL(used[4], 1003);
    loki_batch_free(&b);
}

static void test_loki_batch__size_accounting_equals_body_length(void)
{
    loki_batch_t b;
    json_t *statics = json_object();
    json_object_set_new(statics, "team", json_string("m\"l"));
    CU_ASSERT_EQUAL_FATAL(loki_batch_init(&b, "run\\x", "tr\"ain", statics), 0);
    const char *msgs[] = {"plain",
                          "quote \" and \\ backslash",
                          "tab\there\nnewline\r",
                          "ctl \x01\x1f end",
                          "utf-8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                          "bad \xff\xfe bytes",
                          "slash / del \x7f"};
    for (int round = 0; round < 3; round++) {
        size_t expect = 0;
        for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
            char *line = loki_line("info", "c", msgs[i], strlen(msgs[i]), (int)i % 3, 0);
            int rank = (int)(i % 3), level = (int)(i % 4);
            int64_t ts = round == 2 ? 5 : 1700000000000000000LL + (int64_t)i;
            size_t cost = loki_batch_cost(&b, rank, level, ts, line);
            CU_ASSERT_EQUAL(loki_batch_add(&b, rank, level, ts, line, 0, NULL), 0);
            expect += cost;
            CU_ASSERT_EQUAL(b.bytes, expect);
            free(line);
        }
        size_t len, n;
        char *body = loki_batch_take(&b, &len, &n);
        CU_ASSERT_EQUAL(len, expect);
        CU_ASSERT_EQUAL(strlen(body), expect);
        json_t *j = json_loads(body, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(j);
        json_decref(j);
        free(body);
    }
    loki_batch_free(&b);
    json_decref(statics);
}

static void test_loki_batch__line_is_a_json_object_with_valid_utf8(void)
{
    const char msg[] = "bad \xff byte and \"quotes\"";
    char *line = loki_line("error", NULL, msg, strlen(msg), 3, 0);
    json_t *j = json_loads(line, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(jstr(j, "level"), "error");
    CU_ASSERT_STRING_EQUAL(jstr(j, "component"), "maestro");
    CU_ASSERT_STRING_EQUAL(jstr(j, "msg"), "bad \xef\xbf\xbd byte and \"quotes\"");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "rank")), 3);
    CU_ASSERT_PTR_NULL(json_object_get(j, "part"));
    json_decref(j);
    free(line);
}

static void test_loki_batch__split_pieces_fit_and_reassemble(void)
{
    /* Multi-byte characters and characters that grow when escaped, to stress the cut. */
    mo_buf_t m = {0};
    for (int i = 0; i < 300; i++)
        mo_buf_puts(&m, i % 3 == 0 ? "\xe2\x82\xac" : i % 3 == 1 ? "\"" : "ab\n");
    char *msg = mo_buf_steal(&m);
    size_t *starts, *lens, n;
    CU_ASSERT_EQUAL_FATAL(loki_split("info", "train", msg, 0, 256, &starts, &lens, &n), 0);
    CU_ASSERT(n > 1);
    mo_buf_t back = {0};
    for (size_t i = 0; i < n; i++) {
        char *line = loki_line("info", "train", msg + starts[i], lens[i], 0, (int)i + 1);
        CU_ASSERT(line && strlen(line) <= 256);
        json_t *j = json_loads(line, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(j);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "part")), (json_int_t)i + 1);
        mo_buf_puts(&back, jstr(j, "msg"));
        json_decref(j);
        free(line);
    }
    char *joined = mo_buf_steal(&back);
    CU_ASSERT_STRING_EQUAL(joined ? joined : "", msg);
    free(joined);
    free(starts);
    free(lens);
    /* No limit, or a short line: one piece, the whole message. */
    CU_ASSERT_EQUAL(loki_split("info", "train", msg, 0, 0, &starts, &lens, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(lens[0], strlen(msg));
    free(starts);
    free(lens);
    /* A limit below the line's own fields cannot be met. */
    CU_ASSERT_EQUAL(loki_split("info", "train", msg, 0, 20, &starts, &lens, &n), -1);
    free(msg);
}

static void test_loki_batch__static_labels_are_checked(void)
{
    char why[256];
    const char *bad[] = {"job=x",    "9x=y",    "a-b=c",  "a=",     "novalue",
                         "__name=x", "a=1,a=2", "rank=3", "level=x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *l = json_object();
        why[0] = '\0';
        CU_ASSERT_EQUAL(loki_parse_static_labels(l, bad[i], why, sizeof why), -1);
        CU_ASSERT(strncmp(why, "labels: ", 8) == 0);
        json_decref(l);
    }
    mo_buf_t many = {0};
    for (int i = 0; i < 26; i++)
        mo_buf_printf(&many, "%sl%d=v", i ? "," : "", i);
    json_t *l = json_object();
    CU_ASSERT_EQUAL(loki_parse_static_labels(l, many.data, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "30"));
    json_decref(l);
    mo_buf_free(&many);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_loki_batch__body_has_streams_labels_and_string_timestamps),
    MO_TEST(test_loki_batch__timestamps_strictly_increase_per_stream_across_batches),
    MO_TEST(test_loki_batch__size_accounting_equals_body_length),
    MO_TEST(test_loki_batch__line_is_a_json_object_with_valid_utf8),
    MO_TEST(test_loki_batch__split_pieces_fit_and_reassemble),
    MO_TEST(test_loki_batch__static_labels_are_checked),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/loki_batch", tests);
}
