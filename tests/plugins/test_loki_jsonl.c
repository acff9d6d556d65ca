/* test_loki_jsonl.c - the loki plugin's embedded default: JSON lines for Promtail
 * (plugins/loki/jsonl.c)
 *
 * jsonl.c (with batch.c, whose UTF-8 cleaning it uses) is compiled into this test directly, so
 * one line's bytes and the RFC 3339 nanosecond time are checked exactly; then the plugin with
 * no url, loaded through the host, writes logs.jsonl (or the `output` file) in the run folder.
 */
#include "plugins/loki/batch.c"
#include "plugins/loki/jsonl.c"

#include "tests/plugins/loki_fixtures.h"

static void test_loki_jsonl__embedded_line_is_exact_json_with_ns_time(void)
{
    char *line = loki_jsonl_line(1700000000123456789LL, "warn", "io", "disk \"slow\"", 2, "r1");
    CU_ASSERT_STRING_EQUAL(line ? line : "",
                           "{\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"level\":\"warn\","
                           "\"component\":\"io\",\"msg\":\"disk \\\"slow\\\"\",\"rank\":2,"
                           "\"run_id\":\"r1\"}");
    free(line);
    char ts[48];
    loki_rfc3339_ns(ts, sizeof ts, 5); /* 5 ns after the epoch */
    CU_ASSERT_STRING_EQUAL(ts, "1970-01-01T00:00:00.000000005Z");
    loki_out_t o;
    CU_ASSERT_EQUAL(loki_out_open(&o, "/nonexistent-dir/x.jsonl"), -1);
    CU_ASSERT_EQUAL(loki_out_write(&o, 1, "info", "c", "m", 0, "r"), -1);
}

static void test_loki_jsonl__embedded_default_writes_json_lines(void)
{
    config_t c = {0};
    const char *run_dir = fresh_dir("embedded");
    run_lines(&c, run_dir, 4);
    char path[600];
    snprintf(path, sizeof path, "%s/logs.jsonl", run_dir);
    char *text = read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        const char *ts = json_string_value(json_object_get(j, "ts"));
        CU_ASSERT(ts && strlen(ts) == 30 && ts[10] == 'T' && ts[29] == 'Z');
        CU_ASSERT_STRING_EQUAL(jstr(j, "level"), n % 3 == 2 ? "warn" : "info");
        CU_ASSERT_STRING_EQUAL(jstr(j, "component"), "train");
        char expect[32];
        snprintf(expect, sizeof expect, "line %d", n);
        CU_ASSERT_STRING_EQUAL(jstr(j, "msg"), expect);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "rank")), 0);
        CU_ASSERT_STRING_EQUAL(jstr(j, "run_id"), "churn-20250101T000000Z-abcd");
        json_decref(j);
        n++;
    }
    CU_ASSERT_EQUAL(n, 4);
    free(text);

    /* `output` names another file; appending keeps what was there. */
    config_t c2 = {0};
    char other[600];
    snprintf(other, sizeof other, "%s/promtail.jsonl", run_dir);
    mo_test_write_file(run_dir, "promtail.jsonl", "{\"old\":1}\n");
    cfg_set(&c2, "output", other);
    run_lines(&c2, run_dir, 2);
    text = read_file(other);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "{\"old\":1}\n{\"ts\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"msg\":\"line 1\""));
    free(text);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_loki_jsonl__embedded_line_is_exact_json_with_ns_time),
    MO_TEST(test_loki_jsonl__embedded_default_writes_json_lines),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/loki_jsonl", tests);
}
