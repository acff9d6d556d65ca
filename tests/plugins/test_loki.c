/* test_loki.c - the loki plugin driven by the host against a strict Loki fake
 *
 * The tests load maestro-loki.so through the host (mo_plugins_open, run_start, log events,
 * run_end, flush_dir) and read back what tests/fakes/loki_fake.py accepted and received (its
 * /test/entries and /test/bodies), one fake process per test, on a free loopback port: labels
 * and tenant, batching, retries and the spool, refusals, long lines, redaction, bad config;
 * and the fake is checked to refuse what Loki refuses. The push bytes themselves are
 * test_loki_batch.c's, the embedded JSON-lines default test_loki_jsonl.c's.
 */
#include "tests/plugins/loki_fixtures.h"

static int is_decimal(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Every stream's timestamps are decimal strings, strictly increasing; every line is the JSON
 * object Grafana's `| json` reads. Returns the number of entries. */
static size_t check_streams(json_t *entries)
{
    size_t total = 0, i, j;
    json_t *s, *v;
    json_array_foreach(json_object_get(entries, "streams"), i, s)
    {
        json_t *labels = json_object_get(s, "stream");
        const char *level = json_string_value(json_object_get(labels, "level"));
        CU_ASSERT_STRING_EQUAL(jstr(labels, "job"), "maestro");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "run_id"), "churn-20250101T000000Z-abcd");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "kind"), "train");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "rank"), "0");
        CU_ASSERT_PTR_NOT_NULL(level);
        long long prev = 0;
        json_array_foreach(json_object_get(s, "values"), j, v)
        {
            const char *ts = json_string_value(json_array_get(v, 0));
            CU_ASSERT(is_decimal(ts));
            long long t = ts ? strtoll(ts, NULL, 10) : 0;
            CU_ASSERT(t > prev);
            prev = t;
            json_t *line = json_loads(json_string_value(json_array_get(v, 1)), 0, NULL);
            CU_ASSERT_PTR_NOT_NULL(line);
            CU_ASSERT_STRING_EQUAL(jstr(line, "level"), level ? level : "?");
            CU_ASSERT_STRING_EQUAL(jstr(line, "component"), "train");
            CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(line, "msg")));
            CU_ASSERT(json_is_integer(json_object_get(line, "rank")));
            json_decref(line);
            total++;
        }
    }
    return total;
}

/* ---- through the host, against the fake ----------------------------------------------------- */

static void test_loki__pushes_gzip_json_with_labels_and_tenant(void)
{
    fake_t f = {0};
    const char *args[] = {"--tenant-required", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "tenant", "team-a");
    cfg_set(&c, "batch_wait", "60"); /* only run end sends */
    cfg_set(&c, "labels", "cluster=ci,env=test");
    const char *run_dir = fresh_dir("labels");
    run_lines(&c, run_dir, 9);

    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 9);
    /* Two streams, info and warn, each with the static labels. */
    CU_ASSERT_EQUAL(json_array_size(json_object_get(entries, "streams")), 2);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(entries, "streams"), i, s)
    {
        json_t *labels = json_object_get(s, "stream");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "cluster"), "ci");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "env"), "test");
        CU_ASSERT_EQUAL(json_object_size(labels), 7);
        CU_ASSERT_STRING_EQUAL(jstr(s, "tenant"), "team-a");
        CU_ASSERT_EQUAL(json_array_size(json_object_get(s, "values")),
                        !strcmp(jstr(labels, "level"), "warn") ? 3 : 6);
    }
    json_decref(entries);

    json_t *bodies = fake_get(&f, "/test/bodies");
    CU_ASSERT_EQUAL(json_array_size(bodies), 1);
    json_t *r = json_array_get(bodies, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "status")), 204);
    CU_ASSERT_STRING_EQUAL(jstr(r, "content_type"), "application/json");
    CU_ASSERT_STRING_EQUAL(jstr(r, "content_encoding"), "gzip");
    CU_ASSERT_STRING_EQUAL(jstr(r, "tenant"), "team-a");
    /* gzip really compressed it: the raw body is smaller than the JSON. */
    CU_ASSERT(json_integer_value(json_object_get(r, "raw_len")) <
              (json_int_t)strlen(jstr(r, "body")));
    json_decref(bodies);
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    fake_stop(&f);
}

static void test_loki__batches_by_size_and_by_time(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_bytes", "2000");
    cfg_set(&c, "batch_wait", "60");
    run_lines(&c, fresh_dir("size"), 100);
    size_t pushes = fake_pushes(&f, 204);
    CU_ASSERT(pushes >= 5 && pushes < 50);
    CU_ASSERT_EQUAL(fake_pushes(&f, 0), pushes);
    json_t *bodies = fake_get(&f, "/test/bodies");
    size_t i;
    json_t *r;
    json_array_foreach(bodies, i, r)
    {
        CU_ASSERT(strlen(jstr(r, "body")) <= 2000);
    }
    json_decref(bodies);
    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 100);
    json_decref(entries);

    /* batch_wait 0: every event finds its batch due. */
    fake_config(&f, "{}");
    char url[128];
    snprintf(url, sizeof url, "%s/test/reset", f.base);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, "", 0, NULL), 204);
    config_t c2 = {0};
    cfg_url(&c2, &f);
    cfg_set(&c2, "batch_wait", "0");
    run_lines(&c2, fresh_dir("wait"), 5);
    CU_ASSERT_EQUAL(fake_pushes(&f, 204), 5);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 5);
    fake_stop(&f);
}

static void test_loki__ordered_loki_accepts_every_batch(void)
{
    fake_t f = {0};
    const char *args[] = {"--ordered", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_bytes", "600");
    run_lines(&c, fresh_dir("ordered"), 60);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 0);
    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 60);
    json_decref(entries);
    fake_stop(&f);
}

static void test_loki__503_then_recovery_delivers_spool_in_the_run(void)
{
    fake_t f = {0};
    const char *args[] = {"--fail-first", "1", "--status-429", "1", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_wait", "0");
    cfg_set(&c, "backoff", "0");
    const char *run_dir = fresh_dir("recover");
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 12);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_pushes(&f, 503), 1);
    CU_ASSERT_EQUAL(fake_pushes(&f, 429), 1);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 12); /* nothing lost */
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    CU_ASSERT_EQUAL(count_files(spool), 0); /* delivered within the run */
    CU_ASSERT(log_has("503"));
    json_t *entries = fake_get(&f, "/test/entries");
    check_streams(entries);
    json_decref(entries);
    fake_stop(&f);
}

static void test_loki__down_for_the_run_then_flush_dir_delivers_all(void)
{
    fake_t f = {0};
    const char *args[] = {"--fail-first", "1000", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_bytes", "500");
    const char *run_dir = fresh_dir("down");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 30);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 0);
    int spooled = count_files(spool);
    CU_ASSERT(spooled >= 2);
    CU_ASSERT(log_has("loki"));

    fake_config(&f, "{\"fail_next\": 0}");
    mo_plugin_request_t req = {"loki", c.kv, c.n};
    int delivered = -1, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, spooled);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 30);
    json_decref(entries);
    fake_stop(&f);
}

static void test_loki__refused_connection_spools_and_flush_delivers_later(void)
{
    int port = closed_port();
    config_t c = {0};
    snprintf(c.url, sizeof c.url, "http://127.0.0.1:%d", port);
    cfg_set(&c, "url", c.url);
    cfg_set(&c, "batch_wait", "0");
    const char *run_dir = fresh_dir("refused");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 6);
    release_log(lf);
    CU_ASSERT(count_files(spool) >= 1);
    CU_ASSERT(log_has("spooling"));

    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, port, NULL), 0);
    mo_plugin_request_t req = {"loki", c.kv, c.n};
    int delivered = 0, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 6);
    fake_stop(&f);
}

static void test_loki__timeout_spools_and_resend_makes_no_duplicates(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    fake_config(&f, "{\"delay_s\": 1.5}");
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "timeout", "0.3");
    cfg_set(&c, "batch_wait", "60");
    const char *run_dir = fresh_dir("timeout");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 4);
    release_log(lf);
    CU_ASSERT(count_files(spool) >= 1);
    fake_config(&f, "{\"delay_s\": 0}");
    mo_plugin_request_t req = {"loki", c.kv, c.n};
    int delivered = 0, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(left, 0);
    /* The fake stored the first try before its delay; the re-send is an exact duplicate. */
    CU_ASSERT_EQUAL(fake_entry_count(&f), 4);
    fake_stop(&f);
}

static void test_loki__400_is_a_warning_with_lokis_text_and_not_spooled(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    fake_config(&f, "{\"max_line_size\": 20}");
    config_t c = {0};
    cfg_url(&c, &f);
    const char *run_dir = fresh_dir("rejected");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 3);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 1);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    CU_ASSERT(log_has("rejected a batch of 3 log entries"));
    CU_ASSERT(log_has("max line size (20) exceeded"));
    fake_stop(&f);
}

static void test_loki__missing_tenant_is_401_not_retried(void)
{
    fake_t f = {0};
    const char *args[] = {"--tenant-required", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    const char *run_dir = fresh_dir("notenant");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 2);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_pushes(&f, 401), 1);
    CU_ASSERT_EQUAL(fake_pushes(&f, 0), 1);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    CU_ASSERT(log_has("no org id"));
    fake_stop(&f);
}

static void test_loki__long_messages_are_split_under_max_line_bytes(void)
{
    fake_t f = {0};
    const char *args[] = {"--max-line-size", "300", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "max_line_bytes", "300");
    mo_error_t err = {0};
    const char *run_dir = fresh_dir("split");
    mo_plugins_t *p = open_loki(&c, run_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    start_run(p, run_dir);
    char msg[2001];
    for (int i = 0; i < 2000; i++)
        msg[i] = (char)('a' + i % 26);
    msg[2000] = '\0';
    mo_plugins_log(p, MAESTRO_LOG_INFO, "train", msg);
    end_run(p);
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 0);
    json_t *entries = fake_get(&f, "/test/entries");
    json_t *values =
        json_object_get(json_array_get(json_object_get(entries, "streams"), 0), "values");
    CU_ASSERT(json_array_size(values) >= 7);
    mo_buf_t back = {0};
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *line = json_string_value(json_array_get(v, 1));
        CU_ASSERT(line && strlen(line) <= 300);
        json_t *j = json_loads(line, 0, NULL);
        mo_buf_puts(&back, jstr(j, "msg"));
        json_decref(j);
    }
    CU_ASSERT_STRING_EQUAL(back.data ? back.data : "", msg);
    mo_buf_free(&back);
    json_decref(entries);

    /* By default lines stay within Loki 3.0's max_line_size (256 KiB). */
    char url[128];
    snprintf(url, sizeof url, "%s/test/reset", f.base);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, "", 0, NULL), 204);
    fake_config(&f, "{\"max_line_size\": 262144}");
    config_t c2 = {0};
    cfg_url(&c2, &f);
    p = open_loki(&c2, run_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    start_run(p, run_dir);
    char *big = malloc(300001);
    memset(big, 'x', 300000);
    big[300000] = '\0';
    mo_plugins_log(p, MAESTRO_LOG_INFO, "train", big);
    free(big);
    end_run(p);
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 0);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 2);
    fake_stop(&f);
}

static void forward_to_plugins(const mo_log_record_t *rec, void *ud)
{
    mo_plugins_log(ud, (maestro_log_level_t)rec->level, rec->component, rec->msg);
}

static void test_loki__secret_never_reaches_the_wire(void)
{
    const char *secret = "s3cr3t-T0KEN-value";
    mo_log_add_secret(secret);
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    mo_error_t err = {0};
    const char *run_dir = fresh_dir("redact");
    mo_plugins_t *p = open_loki(&c, run_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    start_run(p, run_dir);
    /* The runner's path: mo_log redacts, then its sink feeds the host. */
    FILE *lf = capture_log();
    mo_log_set_sink(forward_to_plugins, p);
    mo_log_info("train", "connecting with token %s", secret);
    mo_log_set_sink(NULL, NULL);
    release_log(lf);
    end_run(p);
    mo_plugins_close(p);
    char url[128], *raw = NULL;
    snprintf(url, sizeof url, "%s/test/bodies", f.base);
    CU_ASSERT_EQUAL(http("GET", url, NULL, NULL, NULL, 0, &raw), 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "connecting with token"));
    CU_ASSERT_PTR_NULL(strstr(raw, secret));
    free(raw);
    mo_log_clear_secrets();
    fake_stop(&f);
}

static void test_loki__bad_config_is_refused_naming_the_key(void)
{
    struct {
        const char *key, *value, *expect;
    } cases[] = {
        {"url", "ftp://loki:3100", "url"},
        {"batch_bytes", "lots", "batch_bytes"},
        {"batch_bytes", "0", "batch_bytes"},
        {"batch_wait", "-1", "batch_wait"},
        {"labels", "job=other", "labels"},
        {"max_line_bytes", "10", "max_line_bytes"},
        {"timeout", "0", "timeout"},
        {"username", "u", "password"},
        {"max_line_bytes", "-5", "max_line_bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        config_t c = {0};
        cfg_set(&c, cases[i].key, cases[i].value);
        mo_error_t err = {0};
        mo_plugins_t *p = open_loki(&c, NULL, &err);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_NOT_EQUAL(err.code, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].expect));
        mo_plugins_close(p);
    }
}

/* ---- the fake is strict --------------------------------------------------------------------- */

static void test_loki__fake_rejects_what_loki_rejects(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    char url[128], now[32], later[32], old[32], body[512];
    snprintf(url, sizeof url, "%s/loki/api/v1/push", f.base);
    int64_t t = mo_time_unix_ns();
    snprintf(now, sizeof now, "%lld", (long long)t);
    snprintf(later, sizeof later, "%lld", (long long)(t + 9));
    snprintf(old, sizeof old, "%lld", (long long)(t - 2LL * 3600 * 1000000000LL));

    struct {
        const char *ctype, *fmt;
        long status;
    } cases[] = {
        {"application/json",
         "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"ok\"]]}]}", 204},
        {"application/json; charset=utf-8",
         "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"ok2\"]]}]}", 204},
        /* a number, not a string of nanoseconds */
        {"application/json", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[%s,\"x\"]]}]}",
         400},
        {"application/json",
         "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s.5\",\"x\"]]}]}", 400},
        {"application/json", "{\"streams\":[{\"stream\":{},\"values\":[[\"%s\",\"x\"]]}]}", 400},
        {"application/json",
         "{\"streams\":[{\"stream\":{\"9a\":\"b\"},\"values\":[[\"%s\",\"x\"]]}]}", 400},
        {"application/json", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[\"%s\"]}]}", 400},
        {"application/json", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"x\"",
         400},
        {"text/plain", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"x\"]]}]}",
         400},
        {NULL, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"x\"]]}]}", 400},
        {"application/x-protobuf", "%s", 415},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(body, sizeof body, cases[i].fmt, now);
        char *resp = NULL;
        long st = http("POST", url, cases[i].ctype, NULL, body, strlen(body), &resp);
        if (st != cases[i].status)
            fprintf(stderr, "case %zu: %ld %s\n", i, st, resp);
        CU_ASSERT_EQUAL(st, cases[i].status);
        free(resp);
    }
    /* An empty body, a wrong encoding, a wrong method. */
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, "", 0, NULL), 400);
    snprintf(body, sizeof body, "{\"streams\":[]}");
    CU_ASSERT_EQUAL(http("POST", url, "application/json", "br", body, strlen(body), NULL), 400);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", "gzip", body, strlen(body), NULL), 400);
    CU_ASSERT_EQUAL(http("GET", url, NULL, NULL, NULL, 0, NULL), 405);

    /* Two hours behind the newest entry of {a="b"}: too far behind even with unordered writes;
     * the good entry of the same request is stored and the answer is still 400. */
    char *resp = NULL;
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"late\"],[\"%s\","
             "\"fine\"]]}]}",
             old, later);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, body, strlen(body), &resp), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "entry too far behind"));
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "total ignored: 1 out of 2"));
    free(resp);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 3);

    /* With unordered writes off, one nanosecond back is already out of order. */
    fake_config(&f, "{\"ordered\": true}");
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"back\"]]}]}", now);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, body, strlen(body), &resp), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "entry out of order"));
    free(resp);

    /* Tenant required: 401 "no org id". */
    fake_config(&f, "{\"tenant_required\": true}");
    snprintf(body, sizeof body, "{\"streams\":[]}");
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, body, strlen(body), &resp), 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "no org id"));
    free(resp);
    fake_stop(&f);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_loki__pushes_gzip_json_with_labels_and_tenant),
    MO_TEST(test_loki__batches_by_size_and_by_time),
    MO_TEST(test_loki__ordered_loki_accepts_every_batch),
    MO_TEST(test_loki__503_then_recovery_delivers_spool_in_the_run),
    MO_TEST(test_loki__down_for_the_run_then_flush_dir_delivers_all),
    MO_TEST(test_loki__refused_connection_spools_and_flush_delivers_later),
    MO_TEST(test_loki__timeout_spools_and_resend_makes_no_duplicates),
    MO_TEST(test_loki__400_is_a_warning_with_lokis_text_and_not_spooled),
    MO_TEST(test_loki__missing_tenant_is_401_not_retried),
    MO_TEST(test_loki__long_messages_are_split_under_max_line_bytes),
    MO_TEST(test_loki__secret_never_reaches_the_wire),
    MO_TEST(test_loki__bad_config_is_refused_naming_the_key),
    MO_TEST(test_loki__fake_rejects_what_loki_rejects),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = mo_test_main("plugins/loki", tests);
    curl_global_cleanup();
    return rc;
}
