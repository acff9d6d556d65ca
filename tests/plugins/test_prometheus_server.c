/* test_prometheus_server.c - the prometheus plugin through the real host, against a real
 * Pushgateway
 *
 * Each test starts Debian's prometheus-pushgateway on a free loopback port through
 * scripts/services/pushgateway.sh (posix_spawn, argv array), drives the plugin the way the
 * runner does (mo_plugins_open, run_start, metrics, run_end, close; mo_plugins_flush_dir for a
 * later flush) and reads back what the gateway holds: GET /api/v1/metrics (JSON, parsed with
 * jansson) for groups, labels and values, GET /metrics for the exposition Prometheus scrapes.
 * The gateway is a test dependency installed by scripts/install-deps.sh: when it is missing
 * the test fails and says so, it never skips. The helpers are in prometheus_server_fixtures.h.
 */
#include "tests/plugins/prometheus_server_fixtures.h"

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_prometheus_server__run_read_back_from_gateway(void)
{
    const char *gw = gw_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    maestro_kv_t cfg[] = {{"url", gw}};
    const char *dir = make_run_dir("run-main");
    mo_plugins_t *p = open_plugin(cfg, 1, dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info(AWKWARD_RUN, dir, 0);
    mo_plugins_run_start(p, &ri);
    /* visible as running before the first epoch ends */
    CU_ASSERT(wait_series(gw, AWKWARD_RUN, "0", "maestro_run_info", "1"));
    epoch(p, 1, 0.5, 0.75);
    CU_ASSERT(wait_series(gw, AWKWARD_RUN, "0", "maestro_epoch", "1"));
    epoch(p, 2, 0.25, 0.8);
    CU_ASSERT(wait_series(gw, AWKWARD_RUN, "0", "maestro_epoch", "2"));
    end(p, &ri, "ok", 12.5);
    mo_plugins_close(p);

    json_t *root;
    json_t *g = find_group(gw, "maestro", AWKWARD_RUN, "0", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(json_is_true(json_object_get(g, "last_push_successful")), 1);
    const char *v;
    CU_ASSERT_PTR_NOT_NULL(v = series(g, "maestro_run_status", "status", "ok"));
    CU_ASSERT_STRING_EQUAL(v ? v : "", "1");
    CU_ASSERT_PTR_NOT_NULL(v = series(g, "maestro_run_status", "status", "running"));
    CU_ASSERT_STRING_EQUAL(v ? v : "", "0");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_run_duration_seconds", NULL, NULL), "12.5");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_gates_passed", NULL, NULL), "1");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_train_loss", NULL, NULL), "0.0625");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_val_metric", "name", "accuracy"), "0.875");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_train_metric", "name", "accuracy"), "0.81");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_epoch", NULL, NULL), "2");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_step", NULL, NULL), "20");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_samples_per_second", NULL, NULL), "2001");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_allreduce_seconds_total", NULL, NULL), "0.5");
    CU_ASSERT_STRING_EQUAL(family_type(g, "maestro_allreduce_seconds_total"), "COUNTER");
    CU_ASSERT_STRING_EQUAL(family_type(g, "maestro_run_status"), "GAUGE");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_checkpoint_seconds", NULL, NULL), "0.125");
    /* the awkward values arrive intact, in the path (@base64) and in the body (escaped) */
    json_t *m =
        json_array_get(json_object_get(json_object_get(g, "maestro_run_info"), "metrics"), 0);
    json_t *l = json_object_get(m, "labels");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "run")), AWKWARD_RUN);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "run_id")), AWKWARD_RUN);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "name")), AWKWARD_NAME);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "kind")), "train");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "commit")), "0123456789ab");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "job")), "maestro");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "rank")), "0");
    json_decref(root);

    /* what Prometheus scrapes: escaped exactly once */
    char url[256], *text = NULL;
    snprintf(url, sizeof url, "%s/metrics", gw);
    CU_ASSERT_EQUAL(http("GET", url, NULL, &text), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "maestro_run_status{instance=\"\",job=\"maestro\","
                                        "rank=\"0\",run=\"we\\\"ird\\\\run/1\\nx\","
                                        "status=\"ok\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE maestro_allreduce_seconds_total counter\n"));
    if (getenv("MO_TEST_VERBOSE"))
        fprintf(stderr, "\n%s", text);
    free(text);
    CU_ASSERT_EQUAL(spooled(dir), 0);
}

static void test_prometheus_server__other_rank_has_its_own_group(void)
{
    const char *gw = gw_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    maestro_kv_t cfg[] = {{"url", gw}};
    const char *dir = make_run_dir("run-rank1");
    mo_plugins_t *p = open_plugin(cfg, 1, dir, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("rank1-run", dir, 1);
    mo_plugins_run_start(p, &ri);
    mo_plugins_metric(p, "samples_per_second", 321, 1, 1, NULL, 0);
    mo_plugins_metric(p, "allreduce_seconds_total", 1.5, 1, 1, NULL, 0);
    mo_plugins_metric(p, "epoch", 1, 1, 1, NULL, 0);
    end(p, &ri, "ok", 3);
    mo_plugins_close(p);
    json_t *root;
    json_t *g = find_group(gw, "maestro", "rank1-run", "1", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_samples_per_second", NULL, NULL), "321");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_allreduce_seconds_total", NULL, NULL), "1.5");
    /* run-level series only in rank 0's group */
    CU_ASSERT_PTR_NULL(json_object_get(g, "maestro_run_status"));
    CU_ASSERT_PTR_NULL(json_object_get(g, "maestro_run_info"));
    json_decref(root);
    CU_ASSERT_PTR_NULL(find_group(gw, "maestro", "rank1-run", "0", &root));
    json_decref(root);
}

static void test_prometheus_server__delete_on_success_removes_the_group(void)
{
    const char *gw = gw_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    maestro_kv_t cfg[] = {{"url", gw}, {"delete_on_success", "true"}, {"job", "nightly/a"}};
    const char *dir = make_run_dir("run-delete");
    mo_plugins_t *p = open_plugin(cfg, 3, dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("del-run", dir, 0);
    mo_plugins_run_start(p, &ri);
    epoch(p, 1, 0.5, 0.5);
    json_t *root = NULL;
    int seen = 0;
    for (int i = 0; i < 200 && !seen; i++) {
        json_decref(root);
        seen = find_group(gw, "nightly/a", "del-run", "0", &root) != NULL;
        if (!seen)
            sleep_ms(50);
    }
    json_decref(root);
    CU_ASSERT(seen);
    end(p, &ri, "ok", 1);
    mo_plugins_close(p);
    /* DELETE answers 202 (queued): give the gateway a moment */
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        gone = find_group(gw, "nightly/a", "del-run", "0", &root) == NULL;
        json_decref(root);
        if (!gone)
            sleep_ms(50);
    }
    CU_ASSERT(gone);

    /* a failed run stays for the alert to see */
    dir = make_run_dir("run-delete-failed");
    p = open_plugin(cfg, 3, dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ri = info("del-run-failed", dir, 0);
    mo_plugins_run_start(p, &ri);
    end(p, &ri, "failed", 1);
    mo_plugins_close(p);
    json_t *g = find_group(gw, "nightly/a", "del-run-failed", "0", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_run_status", "status", "failed"), "1");
    json_decref(root);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_prometheus_server__textfile_mode_parses_back(void)
{
    const char *dir = make_run_dir("run-textfile");
    mo_plugins_t *p = open_plugin(NULL, 0, dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info(AWKWARD_RUN, dir, 0);
    mo_plugins_run_start(p, &ri);
    epoch(p, 1, 0.5, 0.75);
    end(p, &ri, "gate_failed", 4);
    mo_plugins_close(p);

    char path[700];
    snprintf(path, sizeof path, "%s/maestro_we_ird_run_1_x_rank0.prom", dir);
    char *text = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "maestro_run_status{rank=\"0\",run=\"we\\\"ird\\\\run/1"
                                        "\\nx\",status=\"gate_failed\"} 1\n"));
    /* nothing but the file: no temp file left, nothing spooled */
    DIR *d = opendir(dir);
    struct dirent *e;
    int tmp = 0;
    while (d && (e = readdir(d)))
        tmp += strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    CU_ASSERT_EQUAL(tmp, 0);
    CU_ASSERT_EQUAL(spooled(dir), 0);

    /* a real parser reads it back: the gateway takes the file as it is (no timestamps, valid
     * escaping, families contiguous) and shows the values */
    const char *gw = gw_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    char url[256], *answer = NULL;
    snprintf(url, sizeof url, "%s/metrics/job/textfile_check", gw);
    long st = http("PUT", url, text, &answer);
    CU_ASSERT_EQUAL(st, 200);
    if (st != 200)
        fprintf(stderr, "\n  gateway: %ld %s\n", st, answer ? answer : "");
    free(answer);
    json_t *root;
    snprintf(url, sizeof url, "%s/api/v1/metrics", gw);
    char *body = NULL;
    CU_ASSERT_EQUAL(http("GET", url, NULL, &body), 200);
    root = json_loads(body, 0, NULL);
    free(body);
    json_t *g = NULL, *x;
    size_t i;
    json_array_foreach(json_object_get(root, "data"), i, x)
    {
        const char *j = json_string_value(json_object_get(json_object_get(x, "labels"), "job"));
        if (j && !strcmp(j, "textfile_check"))
            g = x;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_run_status", "status", "gate_failed"), "1");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_val_metric", "run", AWKWARD_RUN), "0.875");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_run_duration_seconds", NULL, NULL), "4");
    json_decref(root);
    free(text);
}

static void test_prometheus_server__gateway_down_spooled_then_flushed(void)
{
    /* a port that was free a moment ago and has nobody listening now */
    const char *gw = gw_start("later", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    char url[128];
    snprintf(url, sizeof url, "%s", gw);
    const char *port = strrchr(url, ':') + 1;
    gw_stop("later");

    log_clear();
    maestro_kv_t cfg[] = {{"url", url}};
    const char *dir = make_run_dir("run-down");
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", dir);
    mo_plugins_t *p = open_plugin(cfg, 1, run_dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("down-run", run_dir, 0);
    mo_plugins_run_start(p, &ri);
    epoch(p, 1, 0.5, 0.75);
    end(p, &ri, "ok", 2);
    mo_plugins_close(p); /* returns: the run is not held up by the missing gateway */
    CU_ASSERT(log_has("plugin:prometheus: PUT "));
    CU_ASSERT(log_has("no response ("));
    int waiting = spooled(run_dir);
    CU_ASSERT(waiting >= 1);

    /* the gateway comes back; `maestro plugins flush RUN_DIR` delivers */
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw_start("later", port));
    mo_plugin_request_t req = {"prometheus", cfg, 1};
    int delivered = -1, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, waiting);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(spooled(run_dir), 0);
    json_t *root;
    json_t *g = find_group(url, "maestro", "down-run", "0", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    /* the newest state won: replayed in order, the end push last */
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_run_status", "status", "ok"), "1");
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_train_loss", NULL, NULL), "0.0625");
    json_decref(root);
}

/* Wait up to 10 s for the spool of run_dir to hold n payloads. */
static int wait_spooled(const char *run_dir, int n)
{
    for (int i = 0; i < 200; i++) {
        if (spooled(run_dir) == n)
            return 1;
        sleep_ms(50);
    }
    fprintf(stderr, "\n  %d payloads spooled, expected %d\n", spooled(run_dir), n);
    return 0;
}

static void test_prometheus_server__ranks_spool_side_by_side_nothing_lost(void)
{
    const char *gw = gw_start("ranks", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    char url[128];
    snprintf(url, sizeof url, "%s", gw);
    const char *port = strrchr(url, ':') + 1;
    gw_stop("ranks");

    /* two ranks of one run share the spool folder; each host numbers its payloads on its own
     * after one scan, so they pick the same numbers: the names must still differ */
    maestro_kv_t cfg[] = {{"url", url}};
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", make_run_dir("run-ranks"));
    mo_plugins_t *r0 = open_plugin(cfg, 1, run_dir, 0);
    mo_plugins_t *r1 = open_plugin(cfg, 1, run_dir, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    maestro_run_info_t i0 = info("ranks-run", run_dir, 0), i1 = info("ranks-run", run_dir, 1);
    mo_plugins_run_start(r0, &i0);
    CU_ASSERT(wait_spooled(run_dir, 1));
    mo_plugins_run_start(r1, &i1);
    CU_ASSERT(wait_spooled(run_dir, 2));
    mo_plugins_metric(r0, "epoch", 1, 10, 0, NULL, 0);
    CU_ASSERT(wait_spooled(run_dir, 3));
    mo_plugins_metric(r1, "samples_per_second", 77, 20, 1, NULL, 0);
    CU_ASSERT(wait_spooled(run_dir, 4));
    end(r0, &i0, "ok", 5);
    end(r1, &i1, "ok", 5);
    mo_plugins_close(r0);
    mo_plugins_close(r1);
    CU_ASSERT_EQUAL(spooled(run_dir), 6);

    CU_ASSERT_PTR_NOT_NULL_FATAL(gw_start("ranks", port));
    mo_plugin_request_t req = {"prometheus", cfg, 1};
    int delivered = -1, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, 6);
    CU_ASSERT_EQUAL(left, 0);
    json_t *root;
    json_t *g = find_group(url, "maestro", "ranks-run", "0", &root);
    CU_ASSERT_PTR_NOT_NULL(g);
    if (g)
        CU_ASSERT_STRING_EQUAL(series(g, "maestro_run_status", "status", "ok"), "1");
    json_decref(root);
    g = find_group(url, "maestro", "ranks-run", "1", &root);
    CU_ASSERT_PTR_NOT_NULL(g);
    if (g)
        CU_ASSERT_STRING_EQUAL(series(g, "maestro_samples_per_second", NULL, NULL), "77");
    json_decref(root);
}

static void test_prometheus_server__4xx_is_a_warning_not_spooled(void)
{
    const char *gw = gw_start("conflict", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    char url[256];
    snprintf(url, sizeof url, "%s/metrics/job/someone_else", gw);
    /* another job pushed maestro_epoch as a counter: the gateway refuses our gauge with 400 */
    CU_ASSERT_EQUAL(http("PUT", url, "# TYPE maestro_epoch counter\nmaestro_epoch 1\n", NULL), 200);
    log_clear();
    maestro_kv_t cfg[] = {{"url", gw}};
    const char *dir = make_run_dir("run-4xx");
    mo_plugins_t *p = open_plugin(cfg, 1, dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("conflict-run", dir, 0);
    mo_plugins_run_start(p, &ri);
    epoch(p, 1, 0.5, 0.75);
    end(p, &ri, "ok", 1);
    mo_plugins_close(p);
    CU_ASSERT(log_has("HTTP 400: pushed metrics are invalid or inconsistent with existing "
                      "metrics"));
    CU_ASSERT(log_has("; dropped (not retried)"));
    CU_ASSERT_EQUAL(spooled(dir), 0);
    json_t *root;
    json_t *g = find_group(gw, "maestro", "conflict-run", "0", &root);
    /* the start push (no epoch yet) went in; the epoch and end pushes were refused */
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NULL(json_object_get(g, "maestro_epoch"));
    CU_ASSERT_STRING_EQUAL(series(g, "maestro_run_status", "status", "running"), "1");
    json_decref(root);

    /* a wrong path prefix in the url: 404, also permanent */
    log_clear();
    char bad[256];
    snprintf(bad, sizeof bad, "%s/not-a-gateway-path", gw);
    maestro_kv_t cfg2[] = {{"url", bad}};
    dir = make_run_dir("run-404");
    p = open_plugin(cfg2, 1, dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ri = info("bad-path-run", dir, 0);
    mo_plugins_run_start(p, &ri);
    end(p, &ri, "ok", 1);
    mo_plugins_close(p);
    CU_ASSERT(log_has("HTTP 404"));
    CU_ASSERT_EQUAL(spooled(dir), 0);
}

static void test_prometheus_server__bad_config_fails_open(void)
{
    maestro_kv_t cfg[] = {{"interval", "soon"}};
    mo_plugin_request_t req = {"prometheus", cfg, 1};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_open(&p, &req, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "interval must be a positive number of seconds, got "
                                           "'soon'"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_prometheus_server__run_read_back_from_gateway),
    MO_TEST(test_prometheus_server__other_rank_has_its_own_group),
    MO_TEST(test_prometheus_server__delete_on_success_removes_the_group),
    MO_TEST(test_prometheus_server__textfile_mode_parses_back),
    MO_TEST(test_prometheus_server__gateway_down_spooled_then_flushed),
    MO_TEST(test_prometheus_server__ranks_spool_side_by_side_nothing_lost),
    MO_TEST(test_prometheus_server__4xx_is_a_warning_not_spooled),
    MO_TEST(test_prometheus_server__bad_config_fails_open),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    if (dir)
        setenv("MAESTRO_PLUGIN_PATH", dir, 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    mo_log_set_sink(capture, NULL);
    mo_test_tmpdir(); /* first, so that its removal at exit runs after the gateways stop */
    atexit(stop_all_gateways);
    int rc = mo_test_main("plugins/prometheus_server", tests);
    stop_all_gateways();
    n_gw = 0;
    mo_log_set_sink(NULL, NULL);
    curl_global_cleanup();
    return rc;
}
