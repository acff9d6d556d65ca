/* test_log.c - human and JSON log lines, rank filtering, secret redaction, sinks */
#include "core/log.h"
#include "core/status.h"
#include "tests/unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char captured[8192];

static void capture(mo_log_level_t level, mo_log_format_t fmt, int rank, int all_ranks,
                    void (*body)(void))
{
    memset(captured, 0, sizeof captured); /* a body that logs nothing leaves it empty */
    FILE *f = fmemopen(captured, sizeof captured, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    mo_log_opts_t o = {level, fmt, rank, all_ranks, f};
    mo_log_configure(&o);
    body();
    fclose(f);
    mo_log_opts_t reset = {MO_LOG_INFO, MO_LOG_HUMAN, -1, 0, NULL};
    mo_log_configure(&reset);
}

static void say_hello(void)
{
    mo_log_info("runner", "hello %d", 42);
}

static void say_all_levels(void)
{
    mo_log_debug("io", "d");
    mo_log_info("io", "i");
    mo_log_warn("io", "w");
    mo_log_error("io", "e");
}

static void say_secret(void)
{
    mo_log_info("plugins", "token=hunter2-secret used");
}

static void say_phase(void)
{
    mo_log_phase("materialize", "sort", 0.0);
}

static void test_log__phase_line_at_debug_only(void)
{
    capture(MO_LOG_DEBUG, MO_LOG_HUMAN, 0, 0, say_phase);
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "materialize: phase sort: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, " s, cpu "));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, " MiB, peak "));
    capture(MO_LOG_INFO, MO_LOG_HUMAN, 0, 0, say_phase);
    CU_ASSERT_PTR_NULL(strstr(captured, "phase sort"));
}

static void test_log__human_line_has_level_rank_component(void)
{
    capture(MO_LOG_INFO, MO_LOG_HUMAN, 0, 0, say_hello);
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "info  [0] runner: hello 42\n"));
}

static void test_log__json_line_parses_with_stable_keys(void)
{
    capture(MO_LOG_INFO, MO_LOG_JSON, 3, 1, say_hello);
    json_error_t jerr;
    json_t *o = json_loads(captured, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "level")), "info");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "rank")), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "component")), "runner");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "msg")), "hello 42");
    CU_ASSERT_PTR_NOT_NULL(json_object_get(o, "ts"));
    json_decref(o);
}

static void test_log__level_filter_and_quiet_ranks(void)
{
    capture(MO_LOG_WARN, MO_LOG_HUMAN, 0, 0, say_all_levels);
    CU_ASSERT_PTR_NULL(strstr(captured, "io: i"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "io: w"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "io: e"));
    /* Rank 2 without all_ranks: warnings and errors only. */
    capture(MO_LOG_DEBUG, MO_LOG_HUMAN, 2, 0, say_all_levels);
    CU_ASSERT_PTR_NULL(strstr(captured, "io: d"));
    CU_ASSERT_PTR_NULL(strstr(captured, "io: i"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "io: w"));
    capture(MO_LOG_DEBUG, MO_LOG_HUMAN, 2, 1, say_all_levels);
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "io: d"));
}

static void test_log__registered_secret_never_printed(void)
{
    CU_ASSERT_EQUAL(mo_log_add_secret("hunter2-secret"), 0);
    capture(MO_LOG_INFO, MO_LOG_HUMAN, 0, 0, say_secret);
    CU_ASSERT_PTR_NULL(strstr(captured, "hunter2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "token=*** used"));
    capture(MO_LOG_INFO, MO_LOG_JSON, 0, 0, say_secret);
    CU_ASSERT_PTR_NULL(strstr(captured, "hunter2"));
    char *r = mo_redact("a hunter2-secret b hunter2-secret");
    CU_ASSERT_STRING_EQUAL(r, "a *** b ***");
    free(r);
    mo_log_clear_secrets();
    r = mo_redact("hunter2-secret");
    CU_ASSERT_STRING_EQUAL(r, "hunter2-secret");
    free(r);
}

static void test_log__short_secrets_are_ignored(void)
{
    CU_ASSERT_EQUAL(mo_log_add_secret("ab"), 0);
    CU_ASSERT_EQUAL(mo_log_add_secret(NULL), 0);
    char *r = mo_redact("ab cab");
    CU_ASSERT_STRING_EQUAL(r, "ab cab");
    free(r);
    CU_ASSERT_PTR_NULL(mo_redact(NULL));
}

static int sink_calls;
static char sink_msg[128];

static void sink(const mo_log_record_t *rec, void *ud)
{
    (void)ud;
    sink_calls++;
    snprintf(sink_msg, sizeof sink_msg, "%s", rec->msg);
}

static void test_log__sink_receives_redacted_records(void)
{
    mo_log_add_secret("s3cr3t-value");
    mo_log_set_sink(sink, NULL);
    mo_log_opts_t o = {MO_LOG_INFO, MO_LOG_HUMAN, 1, 0, fopen("/dev/null", "w")};
    mo_log_configure(&o);
    mo_log_info("x", "pw s3cr3t-value");
    mo_log_debug("x", "below level");
    fclose(o.stream);
    mo_log_opts_t reset = {MO_LOG_INFO, MO_LOG_HUMAN, -1, 0, NULL};
    mo_log_configure(&reset);
    mo_log_set_sink(NULL, NULL);
    mo_log_clear_secrets();
    CU_ASSERT_EQUAL(sink_calls, 1);
    CU_ASSERT_STRING_EQUAL(sink_msg, "pw ***");
}

static void test_log__fields_on_every_json_line_redacted_not_on_human_lines(void)
{
    const char *keys[] = {"slurm_job_id", "slurm_nodelist"};
    const char *values[] = {"123", "node[01-02]-hunter2-secret"};
    CU_ASSERT_EQUAL_FATAL(mo_log_set_fields(keys, values, 2), 0);
    mo_log_add_secret("hunter2-secret"); /* registered after the fields: still masked */
    capture(MO_LOG_INFO, MO_LOG_JSON, 0, 0, say_all_levels);
    int lines = 0;
    for (char *line = strtok(captured, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        json_t *o = json_loads(line, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "slurm_job_id")), "123");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "slurm_nodelist")),
                               "node[01-02]-***");
        json_decref(o);
    }
    CU_ASSERT_EQUAL(lines, 3); /* info, warn, error */
    capture(MO_LOG_INFO, MO_LOG_HUMAN, 0, 0, say_hello);
    CU_ASSERT_PTR_NULL(strstr(captured, "slurm"));
    CU_ASSERT_EQUAL(mo_log_set_fields(NULL, NULL, 0), 0);
    capture(MO_LOG_INFO, MO_LOG_JSON, 0, 0, say_hello);
    CU_ASSERT_PTR_NULL(strstr(captured, "slurm"));
    mo_log_clear_secrets();
}

static void test_log__bad_fields_refused(void)
{
    const char *keys[] = {"rank"}, *empty[] = {""}, *values[] = {"1"};
    const char *many[MO_LOG_MAX_FIELDS + 1];
    for (size_t i = 0; i <= MO_LOG_MAX_FIELDS; i++)
        many[i] = "k";
    CU_ASSERT_EQUAL(mo_log_set_fields(keys, values, 1), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_log_set_fields(empty, values, 1), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_log_set_fields(values, empty, 1), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_log_set_fields(NULL, values, 1), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_log_set_fields(many, many, MO_LOG_MAX_FIELDS + 1), MO_EINVAL);
}

static void test_log__parse_level_and_format(void)
{
    mo_log_level_t l;
    mo_log_format_t f;
    CU_ASSERT_EQUAL(mo_log_level_parse("warn", &l), 0);
    CU_ASSERT_EQUAL(l, MO_LOG_WARN);
    CU_ASSERT_EQUAL(mo_log_level_parse("loud", &l), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_log_level_parse(NULL, &l), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_log_format_parse("json", &f), 0);
    CU_ASSERT_EQUAL(f, MO_LOG_JSON);
    CU_ASSERT_EQUAL(mo_log_format_parse("xml", &f), MO_EINVAL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_log__phase_line_at_debug_only),
    MO_TEST(test_log__human_line_has_level_rank_component),
    MO_TEST(test_log__json_line_parses_with_stable_keys),
    MO_TEST(test_log__level_filter_and_quiet_ranks),
    MO_TEST(test_log__registered_secret_never_printed),
    MO_TEST(test_log__short_secrets_are_ignored),
    MO_TEST(test_log__sink_receives_redacted_records),
    MO_TEST(test_log__fields_on_every_json_line_redacted_not_on_human_lines),
    MO_TEST(test_log__bad_fields_refused),
    MO_TEST(test_log__parse_level_and_format),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("core/log", tests);
}
