/* test_host.c - the plugin host: loading and ABI checks, event order, run end, spool and
 * retry, `plugins flush`, secrets, backpressure, the http service, NULL handles
 *
 * Plugins come from the build: the example from $MAESTRO_PLUGIN_TEST_DIR (build/plugins),
 * the test-only ones (tests/plugins/<dir>/<name>.c) from build/tests/plugins.
 */
#include "core/log.h"
#include "core/time.h"
#include "plugins/host.h"
#include "plugins/host_impl.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *plugin_dir(void)
{
    const char *d = getenv("MAESTRO_PLUGIN_TEST_DIR");
    return d && *d ? d : "../plugins"; /* ctest's cwd is build/tests */
}

static const char *test_plugin_dir(void)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/../tests/plugins", plugin_dir());
    return buf;
}

/* MAESTRO_PLUGIN_PATH = the example's folder and the test plugins' folder. */
static void use_test_path(void)
{
    char path[2100];
    snprintf(path, sizeof path, "%s:%s", plugin_dir(), test_plugin_dir());
    setenv("MAESTRO_PLUGIN_PATH", path, 1);
}

/* A fresh folder under the test's tmpdir. */
static const char *fresh_dir(const char *name)
{
    static char buf[4][512];
    static int k;
    char *d = buf[k++ % 4];
    snprintf(d, 512, "%s/%s", mo_test_tmpdir(), name);
    mkdir(d, 0755);
    return d;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static int count_lines(const char *path)
{
    char *s = slurp(path);
    int n = 0;
    for (char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* Line i (0-based) of a JSON-lines file, parsed; NULL when absent or not JSON. */
static json_t *json_line(const char *path, int i)
{
    char *s = slurp(path), *p = s;
    json_t *j = NULL;
    for (int k = 0; p && *p && k < i; k++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        j = json_loads(p, 0, NULL);
    }
    free(s);
    return j;
}

static FILE *log_file;
static char log_path[600];

/* Capture log lines (what a user sees on stderr) into a file. */
static void log_capture(const char *name)
{
    snprintf(log_path, sizeof log_path, "%s/%s.log", mo_test_tmpdir(), name);
    log_file = fopen(log_path, "w");
    mo_log_opts_t o = {MO_LOG_INFO, MO_LOG_HUMAN, 0, 1, log_file};
    mo_log_configure(&o);
}

/* Stop capturing; returns the captured text (caller frees). */
static char *log_release(void)
{
    mo_log_opts_t o = {MO_LOG_INFO, MO_LOG_HUMAN, 0, 1, NULL};
    mo_log_configure(&o);
    fclose(log_file);
    log_file = NULL;
    return slurp(log_path);
}

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, sub)); p += strlen(sub))
        n++;
    return n;
}

static mo_plugins_t *open_one(const char *name, const maestro_kv_t *cfg, size_t n_cfg,
                              const char *run_dir, double end_timeout, mo_error_t *err, int *rc)
{
    mo_plugin_request_t req = {name, cfg, n_cfg};
    mo_plugins_opts_t opts = {0, 1, run_dir, end_timeout};
    mo_plugins_t *p = NULL;
    *rc = mo_plugins_open(&p, &req, 1, &opts, err);
    return p;
}

static maestro_run_info_t run_info(const char *run_dir)
{
    maestro_run_info_t r;
    memset(&r, 0, sizeof r);
    r.run_id = "t-20260101T000000Z-abcd";
    r.run_name = "t";
    r.job_kind = "train";
    r.run_dir = run_dir;
    r.rank = 0;
    r.ranks = 1;
    return r;
}

static maestro_run_end_t run_end_ok(void)
{
    static const char *names[] = {"val_accuracy"};
    static const double values[] = {0.75};
    maestro_run_end_t e;
    memset(&e, 0, sizeof e);
    e.status = "ok";
    e.metric_names = names;
    e.metric_values = values;
    e.n_metrics = 1;
    e.gates_passed = 1;
    return e;
}

/* ---- loading ------------------------------------------------------------------------------ */

static void expect_load_error(const char *name, int code, const char *const *needles)
{
    use_test_path();
    mo_error_t err = {0};
    int rc;
    mo_plugins_t *p = open_one(name, NULL, 0, NULL, 0, &err, &rc);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NULL(p);
    for (const char *const *n = needles; *n; n++) {
        if (!strstr(err.msg, *n))
            fprintf(stderr, "\n  message \"%s\" lacks \"%s\"\n", err.msg, *n);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, *n));
    }
}

static void test_host__abi_major_mismatch_names_file_and_both_numbers(void)
{
    const char *n[] = {"maestro-abi2.so:", "plugin ABI 2.0", "this Maestro speaks 1.0", NULL};
    expect_load_error("abi2", MO_EPLUGIN, n);
}

static void test_host__short_descriptor_refused_with_both_numbers(void)
{
    const char *n[] = {"maestro-short.so:", "plugin ABI 1.0 needs at least",
                       "this Maestro speaks 1.0", NULL};
    expect_load_error("short", MO_EPLUGIN, n);
}

static void test_host__missing_symbol_names_file_and_symbol(void)
{
    const char *n[] = {"maestro-nosym.so:", "no symbol maestro_plugin", NULL};
    expect_load_error("nosym", MO_EPLUGIN, n);
}

static void test_host__descriptor_without_init_refused(void)
{
    const char *n[] = {"maestro-noinit.so:", "no init callback", NULL};
    expect_load_error("noinit", MO_EPLUGIN, n);
}

static void test_host__not_found_lists_search_path(void)
{
    const char *n[] = {"plugin \"nonesuch\" not found", "maestro-nonesuch.so", test_plugin_dir(),
                       NULL};
    expect_load_error("nonesuch", MO_ENOTFOUND, n);
}

static void test_host__name_with_slash_refused(void)
{
    const char *n[] = {"MAESTRO_PLUGIN_PATH", NULL};
    expect_load_error("../plugins/example", MO_EINVAL, n);
    const char *m[] = {"empty", NULL};
    expect_load_error("", MO_EINVAL, m);
}

static void test_host__search_path_skips_empty_entries_never_cwd(void)
{
    char buf[4096];
    setenv("MAESTRO_PLUGIN_PATH", ":/opt/a::/opt/b:", 1);
    const char *s = mo_plugins_search_path(buf, sizeof buf);
    CU_ASSERT_EQUAL(strncmp(s, "/opt/a:/opt/b:", 14), 0);
    CU_ASSERT_PTR_NULL(strstr(s, "::"));
    CU_ASSERT_NOT_EQUAL(s[strlen(s) - 1], ':');
    unsetenv("MAESTRO_PLUGIN_PATH");
    s = mo_plugins_search_path(buf, sizeof buf);
    CU_ASSERT_NOT_EQUAL(s[0], ':');
    CU_ASSERT_PTR_NULL(strstr(s, "/opt/a"));
    CU_ASSERT_STRING_EQUAL(mo_plugins_search_path(NULL, 0), "");
}

static void test_host__init_failure_is_an_error_naming_the_plugin(void)
{
    use_test_path();
    mo_error_t err = {0};
    int rc;
    maestro_kv_t cfg[] = {{"rc", "config-at-init"}};
    CU_ASSERT_PTR_NULL(open_one("stub", cfg, 1, NULL, 0, &err, &rc));
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "plugin stub: init failed: rc: config-at-init asked for it");
    maestro_kv_t mode[] = {{"mode", "xml"}};
    CU_ASSERT_PTR_NULL(open_one("example", mode, 1, NULL, 0, &err, &rc));
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mode must be \"jsonl\", got \"xml\""));
}

static void test_host__plugin_requested_twice_refused(void)
{
    use_test_path();
    mo_plugin_request_t req[] = {{"stub", NULL, 0}, {"stub", NULL, 0}};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_open(&p, req, 2, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "stub is requested twice"));
}

static void test_host__list_reads_descriptors_without_init(void)
{
    use_test_path();
    json_t *list = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_list(&list, NULL), 0);
    int seen_example = 0, seen_abi2 = 0, seen_secrets = 0, seen_nosym = 0;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *status = json_string_value(json_object_get(o, "status"));
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *abi = json_string_value(json_object_get(o, "abi"));
        const char *file = json_string_value(json_object_get(o, "file"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(status);
        CU_ASSERT_PTR_NOT_NULL(file);
        if (!strcmp(name, "example") && !strcmp(status, "ok")) {
            seen_example = !strcmp(type, "metrics") && !strcmp(abi, "1.0") &&
                           !strcmp(json_string_value(json_object_get(o, "version")), "1.0");
        } else if (!strcmp(name, "abi2")) {
            seen_abi2 = strstr(status, "plugin ABI 2.0") && !strcmp(abi, "2.0");
        } else if (!strcmp(name, "secrets_a")) {
            seen_secrets = !strcmp(type, "secrets") && !strcmp(status, "ok");
        } else if (!strcmp(name, "nosym")) {
            seen_nosym = strstr(status, "no symbol") != NULL;
        }
    }
    CU_ASSERT(seen_example);
    CU_ASSERT(seen_abi2);
    CU_ASSERT(seen_secrets);
    CU_ASSERT(seen_nosym);
    json_decref(list);
    CU_ASSERT_EQUAL(mo_plugins_list(NULL, NULL), MO_EINVAL);
}

/* ---- events ------------------------------------------------------------------------------- */

static void test_host__example_events_arrive_in_order(void)
{
    use_test_path();
    const char *run = fresh_dir("order");
    char path[600];
    snprintf(path, sizeof path, "%s/example-events.jsonl", run); /* the default path */
    mo_error_t err = {0};
    int rc;
    mo_plugins_t *p = open_one("example", NULL, 0, run, 0, &err, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    maestro_run_info_t info = run_info(run);
    mo_plugins_run_start(p, &info);
    maestro_kv_t labels[] = {{"rank", "0"}, {"quote", "a\"b"}};
    for (int i = 0; i < 200; i++)
        mo_plugins_metric(p, "train_loss", i * 0.5, i, i / 50, labels, 2);
    mo_plugins_log(p, MAESTRO_LOG_INFO, "train", "epoch 3 done");
    mo_plugins_artifact(p, "/x/run.h5", "model/run.h5");
    mo_plugins_model(p, "/x/run.h5", "run.h5");
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end);
    /* run end drained: everything is in the file before close */
    CU_ASSERT_EQUAL(count_lines(path), 1 + 200 + 3 + 1);
    mo_plugins_close(p);

    json_t *j = json_line(path, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")), "run_start");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "run_id")), info.run_id);
    json_decref(j);
    int in_order = 1;
    for (int i = 0; i < 200; i++) {
        j = json_line(path, 1 + i);
        in_order &=
            j && json_number_value(json_object_get(j, "value")) == i * 0.5 &&
            json_integer_value(json_object_get(j, "step")) == i &&
            !strcmp(json_string_value(json_object_get(json_object_get(j, "labels"), "quote")),
                    "a\"b");
        json_decref(j);
    }
    CU_ASSERT(in_order);
    j = json_line(path, 201);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")), "epoch 3 done");
    json_decref(j);
    j = json_line(path, 203);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")), "model");
    json_decref(j);
    j = json_line(path, 204);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")), "run_end");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "events")), 203);
    CU_ASSERT_EQUAL(
        json_number_value(json_object_get(json_object_get(j, "metrics"), "val_accuracy")), 0.75);
    json_decref(j);
}

static void test_host__run_end_drains_a_slow_plugin(void)
{
    use_test_path();
    const char *run = fresh_dir("drain");
    char path[600];
    snprintf(path, sizeof path, "%s/events.jsonl", run);
    maestro_kv_t slow[] = {{"sleep_ms", "5"}};
    maestro_kv_t ex[] = {{"path", "/nonexistent/overridden"}, {"path", path}}; /* last wins */
    mo_plugin_request_t req[] = {{"stub", slow, 1}, {"example", ex, 2}};
    mo_plugins_opts_t opts = {0, 1, run, 0};
    mo_plugins_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, req, 2, &opts, NULL), 0);
    double t0 = mo_time_mono();
    for (int i = 0; i < 60; i++)
        mo_plugins_metric(p, "m", i, i, 0, NULL, 0);
    CU_ASSERT(mo_time_mono() - t0 < 0.2); /* the producer does not wait for 60 x 5 ms */
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end);
    CU_ASSERT_EQUAL(count_lines(path), 61);
    mo_plugins_close(p);
}

static void test_host__callback_error_is_one_warning_not_a_failure(void)
{
    use_test_path();
    log_capture("failing");
    maestro_kv_t cfg[] = {{"rc", "failed"}};
    int rc;
    mo_plugins_t *p = open_one("stub", cfg, 1, NULL, 0, NULL, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    for (int i = 0; i < 10; i++)
        mo_plugins_metric(p, "m", i, i, 0, NULL, 0);
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end); /* stub has no run_end: NULL callbacks are skipped */
    mo_plugins_close(p);
    char *log = log_release();
    CU_ASSERT_EQUAL(count_substr(log, "plugins: stub: event: failed"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "the run goes on"));
    free(log);
}

static void test_host__producer_never_blocks_past_the_bound(void)
{
    use_test_path();
    log_capture("stuck");
    maestro_kv_t cfg[] = {{"sleep_ms", "300"}};
    int rc;
    mo_plugins_t *p = open_one("stub", cfg, 1, NULL, 0.3, NULL, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    double worst = 0, t0 = mo_time_mono();
    for (int i = 0; i < 6000; i++) {
        double t = mo_time_mono();
        mo_plugins_metric(p, "m", i, i, 0, NULL, 0);
        double dt = mo_time_mono() - t;
        worst = dt > worst ? dt : worst;
    }
    double total = mo_time_mono() - t0;
    /* The bound is ~5 ms once per overflow; the slack is for sanitizer builds. */
    CU_ASSERT(worst < 0.1);
    CU_ASSERT(total < 3.0);
    maestro_run_end_t end = run_end_ok();
    double t1 = mo_time_mono();
    mo_plugins_run_end(p, &end); /* gives up after end_timeout_s, not 4096 x 300 ms */
    mo_plugins_close(p);
    CU_ASSERT(mo_time_mono() - t1 < 3.0);
    char *log = log_release();
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "queued events not delivered"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "dropped"));
    free(log);
}

/* ---- spool, retry, flush ------------------------------------------------------------------ */

static int wait_lines(const char *path, int n, double seconds)
{
    double until = mo_time_mono() + seconds;
    while (count_lines(path) < n && mo_time_mono() < until)
        usleep(20000);
    return count_lines(path);
}

static void test_host__retry_spools_then_delivers_in_run(void)
{
    use_test_path();
    const char *run = fresh_dir("retry");
    char path[600], flag[600], spool[600];
    snprintf(path, sizeof path, "%s/events.jsonl", run);
    snprintf(flag, sizeof flag, "%s/service-down", run);
    snprintf(spool, sizeof spool, "%s/spool/example", run);
    fclose(fopen(flag, "w"));
    maestro_kv_t cfg[] = {{"path", path}, {"fail_if_exists", flag}};
    log_capture("retry");
    int rc;
    mo_plugins_t *p = open_one("example", cfg, 2, run, 0, NULL, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    maestro_run_info_t info = run_info(run);
    mo_plugins_run_start(p, &info);
    for (int i = 0; i < 3; i++)
        mo_plugins_metric(p, "m", i, i, 0, NULL, 0);
    /* Let the worker spool them, then check the files: <8 digits>-line, in order. */
    double until = mo_time_mono() + 5;
    while (mo_plugins_spool_count(spool) < 4 && mo_time_mono() < until)
        usleep(10000);
    CU_ASSERT_EQUAL(mo_plugins_spool_count(spool), 4);
    char first[700];
    snprintf(first, sizeof first, "%s/00000001-line", spool);
    char *payload = slurp(first);
    CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
    CU_ASSERT_EQUAL(strncmp(payload, path, strlen(path)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(payload, "\"run_start\""));
    free(payload);
    CU_ASSERT_EQUAL(count_lines(path), 0);

    unlink(flag); /* the service comes back: the worker's retry (1 s backoff) delivers */
    CU_ASSERT_EQUAL(wait_lines(path, 4, 10), 4);
    CU_ASSERT_EQUAL(mo_plugins_spool_count(spool), 0);
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end);
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(count_lines(path), 5);
    json_t *j = json_line(path, 3);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "step")), 2); /* order kept */
    json_decref(j);
    char *log = log_release();
    CU_ASSERT_EQUAL(count_substr(log, "example: run_start: service unavailable"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "delivered 4 spooled payloads"));
    free(log);
}

static void test_host__run_end_reports_spool_and_flush_dir_delivers(void)
{
    use_test_path();
    const char *run = fresh_dir("leftover");
    char path[600], flag[600], spool[600], want[1400];
    snprintf(path, sizeof path, "%s/events.jsonl", run);
    snprintf(flag, sizeof flag, "%s/service-down", run);
    snprintf(spool, sizeof spool, "%s/spool/example", run);
    fclose(fopen(flag, "w"));
    maestro_kv_t cfg[] = {{"path", path}, {"fail_if_exists", flag}};
    log_capture("leftover");
    int rc;
    mo_plugins_t *p = open_one("example", cfg, 2, run, 0, NULL, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    maestro_run_info_t info = run_info(run);
    mo_plugins_run_start(p, &info);
    for (int i = 0; i < 3; i++)
        mo_plugins_metric(p, "m", i, i, 0, NULL, 0);
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end);
    mo_plugins_close(p);
    char *log = log_release();
    snprintf(want, sizeof want,
             "example: 5 payloads left in %s; deliver later with `maestro plugins flush %s`", spool,
             run);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    free(log);
    CU_ASSERT_EQUAL(mo_plugins_spool_count(spool), 5);

    /* Still down: nothing delivered, nothing lost. */
    mo_plugin_request_t req[] = {{"example", cfg, 2}};
    int delivered = -1, left = -1;
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run, req, 1, &delivered, &left, NULL), 0);
    CU_ASSERT_EQUAL(delivered, 0);
    CU_ASSERT_EQUAL(left, 5);

    /* Back: everything delivered in order, spool emptied. No request: empty config works,
     * since each payload names its destination. */
    unlink(flag);
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run, NULL, 0, &delivered, &left, NULL), 0);
    CU_ASSERT_EQUAL(delivered, 5);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(mo_plugins_spool_count(spool), 0);
    CU_ASSERT_EQUAL(count_lines(path), 5);
    json_t *first = json_line(path, 0), *last = json_line(path, 4);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "event")), "run_start");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(last, "event")), "run_end");
    json_decref(first);
    json_decref(last);
}

static void test_host__ranks_sharing_a_spool_lose_nothing(void)
{
    use_test_path();
    const char *run = fresh_dir("ranks");
    char path[600], flag[600], spool[600];
    snprintf(path, sizeof path, "%s/events.jsonl", run);
    snprintf(flag, sizeof flag, "%s/service-down", run);
    snprintf(spool, sizeof spool, "%s/spool/example", run);
    fclose(fopen(flag, "w"));
    maestro_kv_t cfg[] = {{"path", path}, {"fail_if_exists", flag}};
    mo_plugin_request_t req = {"example", cfg, 2};
    mo_plugins_t *rank[2] = {NULL, NULL};
    log_capture("ranks");
    for (int r = 0; r < 2; r++) {
        mo_plugins_opts_t opts = {r, 2, run, 0};
        CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&rank[r], &req, 1, &opts, NULL), 0);
    }
    /* Both workers spool the same kind into the same folder at the same time. */
    for (int i = 0; i < 100; i++)
        for (int r = 0; r < 2; r++)
            mo_plugins_metric(rank[r], "m", i, i, 0, NULL, 0);
    maestro_run_end_t end = run_end_ok();
    for (int r = 0; r < 2; r++)
        mo_plugins_run_end(rank[r], &end);
    for (int r = 0; r < 2; r++)
        mo_plugins_close(rank[r]);
    char *log = log_release();
    CU_ASSERT_EQUAL(count_substr(log, "example: 101 payloads left in"), 2); /* each its own */
    free(log);
    CU_ASSERT_EQUAL(mo_plugins_spool_count(spool), 202);
    unlink(flag);
    int delivered = 0, left = 0;
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run, &req, 1, &delivered, &left, NULL), 0);
    CU_ASSERT_EQUAL(delivered, 202);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(count_lines(path), 202);
}

static void test_host__flush_dir_bad_and_unknown(void)
{
    use_test_path();
    int delivered = -1, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(NULL, NULL, 0, &delivered, &left, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_plugins_flush_dir("/nonexistent/run", NULL, 0, NULL, NULL, &err),
                    MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/run"));
    const char *run = fresh_dir("nospool");
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run, NULL, 0, &delivered, &left, NULL), 0);
    CU_ASSERT_EQUAL(delivered + left, 0);

    /* A spool of a plugin that is not installed: its payload stays and is counted. */
    char d[700];
    snprintf(d, sizeof d, "%s/spool", run);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/spool/nonesuch", run);
    mkdir(d, 0755);
    mo_test_write_file(d, "00000001-batch", "x");
    mo_test_write_file(d, "00000002-batch.tmp.99", "half"); /* a crashed write: ignored */
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run, NULL, 0, &delivered, &left, &err), MO_ENOTFOUND);
    CU_ASSERT_EQUAL(delivered, 0);
    CU_ASSERT_EQUAL(left, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nonesuch"));
}

static void test_host__spool_names_files_by_seq_and_refuses_bad_kinds(void)
{
    const char *run = fresh_dir("spoolsvc");
    char dir[700], path[800];
    snprintf(dir, sizeof dir, "%s/spool/t", run);
    plugin_t pl;
    memset(&pl, 0, sizeof pl);
    pl.name = (char *)"t";
    pl.spool_dir = dir;
    pthread_mutex_init(&pl.spool_lock, NULL);
    log_capture("spoolsvc");
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "batch", "abc", 3), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/00000001-batch", dir);
    char *got = slurp(path);
    CU_ASSERT_STRING_EQUAL(got ? got : "", "abc");
    free(got);
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "empty", NULL, 0), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/00000002-empty", dir);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    /* kinds are file name parts: no '/', no '.', not empty, not too long */
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "../x", "a", 1), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "a.b", "a", 1), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "", "a", 1), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "abcdefghijklmnopqrstuvwxyz0123456", "a", 1),
                    MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "x", NULL, 1), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_spool_service(NULL, "x", "a", 1), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_spool_count(dir), 2);
    /* a later process continues after the highest seq already there */
    mo_test_write_file(dir, "00000041-batch", "old");
    pl.next_seq = 0;
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "batch", "new", 3), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/00000042-batch", dir);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    /* no run folder: nothing can be spooled */
    pl.spool_dir = NULL;
    CU_ASSERT_EQUAL(mo_plugins_spool_service(&pl, "batch", "a", 1), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(pl.n_own, 3); /* what this process spooled, for its in-run retries */
    for (size_t i = 0; i < pl.n_own; i++)
        free(pl.own[i]);
    free(pl.own);
    pthread_mutex_destroy(&pl.spool_lock);
    char *log = log_release();
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "spool kind \"../x\" refused"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "t: nothing spooled: this run has no run folder"));
    free(log);
}

/* ---- secrets ------------------------------------------------------------------------------ */

static void test_host__resolve_secret_in_order_with_buffer_protocol(void)
{
    use_test_path();
    char long_value[700];
    memset(long_value, 'v', sizeof long_value - 1); /* longer than the host's first buffer */
    long_value[sizeof long_value - 1] = '\0';
    long_value[0] = 'L';
    maestro_kv_t a[] = {{"db/password", long_value}};
    maestro_kv_t b[] = {{"db/password", "from-b-never"}, {"api/token", "tok-b-12345"}};
    mo_plugin_request_t req[] = {{"secrets_a", a, 1}, {"secrets_b", b, 2}};
    mo_plugins_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, req, 2, NULL, NULL), 0);
    char *v = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "db", "password", &v, &err), 0);
    CU_ASSERT_STRING_EQUAL(v, long_value);
    free(v);
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "api", "token", &v, &err), 0);
    CU_ASSERT_STRING_EQUAL(v, "tok-b-12345");
    free(v);
    char *masked = mo_redact("Authorization: tok-b-12345");
    CU_ASSERT_STRING_EQUAL(masked, "Authorization: ***");
    free(masked);
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "missing", "key", &v, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "secret missing/key: not found"));
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "db", NULL, &v, &err), MO_EINVAL);
    /* events to plugins with no event callback are fine */
    mo_plugins_metric(p, "m", 1, 1, 0, NULL, 0);
    mo_plugins_close(p);
}

static void test_host__unavailable_provider_is_skipped_then_reported(void)
{
    use_test_path();
    maestro_kv_t a[] = {{"unavailable", "1"}};
    maestro_kv_t b[] = {{"api/token", "tok-b-67890"}};
    mo_plugin_request_t req[] = {{"secrets_a", a, 1}, {"secrets_b", b, 1}};
    mo_plugins_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, req, 2, NULL, NULL), 0);
    char *v = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "api", "token", &v, &err), 0);
    CU_ASSERT_STRING_EQUAL(v, "tok-b-67890");
    free(v);
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "db", "password", &v, &err), MO_ESERVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "secrets_a"));
    mo_plugins_close(p);
}

/* ---- NULL handles ------------------------------------------------------------------------- */

static void test_host__null_handle_accepted_everywhere(void)
{
    maestro_run_info_t info = run_info("/tmp");
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_start(NULL, &info);
    mo_plugins_metric(NULL, "m", 1, 1, 1, NULL, 0);
    mo_plugins_log(NULL, MAESTRO_LOG_WARN, "c", "m");
    mo_plugins_artifact(NULL, "/x", "x");
    mo_plugins_model(NULL, "/x", "x");
    mo_plugins_run_end(NULL, &end);
    mo_plugins_close(NULL);
    char *v = (char *)"untouched";
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(NULL, "a", "b", &v, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_EQUAL(mo_plugins_open(NULL, NULL, 0, NULL, &err), MO_EINVAL);

    /* No plugins at all: a valid handle that swallows everything. */
    mo_plugins_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, NULL, 0, NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(p);
    mo_plugins_run_start(p, &info);
    mo_plugins_metric(p, "m", 1, 1, 1, NULL, 0);
    mo_plugins_run_start(p, NULL);
    mo_plugins_metric(p, NULL, 1, 1, 1, NULL, 0);
    mo_plugins_run_end(p, NULL);
    mo_plugins_run_end(p, &end);
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "a", "b", &v, NULL), MO_ENOTFOUND);
    mo_plugins_close(p);
}

/* ---- http service ------------------------------------------------------------------------- */

typedef struct {
    int fd;
    char request[65536];
    size_t len;
} server_t;

/* Accept one connection, read the request (headers + Content-Length bytes), answer 201. */
static void *serve_one(void *arg)
{
    server_t *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t want = 0;
    for (;;) {
        ssize_t n = recv(c, s->request + s->len, sizeof s->request - 1 - s->len, 0);
        if (n <= 0)
            break;
        s->len += (size_t)n;
        s->request[s->len] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (end && !want) {
            char *cl = strstr(s->request, "Content-Length: ");
            want = (size_t)(end + 4 - s->request) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
        }
        if (want && s->len >= want)
            break;
    }
    const char *answer = "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                         "hello";
    if (send(c, answer, strlen(answer), 0) < 0)
        perror("send");
    close(c);
    return NULL;
}

static void test_host__http_sends_gzip_and_bearer_and_reads_response(void)
{
    server_t *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {0};
    socklen_t alen = sizeof addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_EQUAL_FATAL(bind(s->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    CU_ASSERT_EQUAL_FATAL(listen(s->fd, 1), 0);
    getsockname(s->fd, (struct sockaddr *)&addr, &alen);
    pthread_t th;
    pthread_create(&th, NULL, serve_one, s);

    mo_plugins_http_global_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/push", ntohs(addr.sin_port));
    const char *body = "{\"streams\":[{\"values\":[[\"1\",\"line\"]]}]}";
    maestro_kv_t hdr[] = {{"Content-Type", "application/json"}};
    maestro_http_request_t req = {"POST", url, hdr,           1,    body, strlen(body),
                                  1,      5.0, "tok-xyz-987", NULL, NULL};
    maestro_http_response_t resp;
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, &req, &resp), MAESTRO_OK);
    pthread_join(th, NULL);
    close(s->fd);
    CU_ASSERT_EQUAL(resp.status, 201);
    CU_ASSERT_STRING_EQUAL(resp.body ? resp.body : "", "hello");
    CU_ASSERT_EQUAL(resp.body_len, 5);
    mo_plugins_http_free(NULL, &resp);
    CU_ASSERT_PTR_NULL(resp.body);

    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "POST /push HTTP/1.1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "Authorization: Bearer tok-xyz-987\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "Content-Encoding: gzip\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "Content-Type: application/json\r\n"));
    /* the body on the wire is gzip of ours */
    char *start = strstr(s->request, "\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(start);
    start += 4;
    size_t zlen = s->len - (size_t)(start - s->request);
    char plain[256] = "";
    z_stream zs = {0};
    inflateInit2(&zs, 15 + 16);
    zs.next_in = (Bytef *)start;
    zs.avail_in = (uInt)zlen;
    zs.next_out = (Bytef *)plain;
    zs.avail_out = sizeof plain - 1;
    CU_ASSERT_EQUAL(inflate(&zs, Z_FINISH), Z_STREAM_END);
    inflateEnd(&zs);
    CU_ASSERT_STRING_EQUAL(plain, body);
    free(s);
}

static void test_host__http_no_response_is_status_0_with_text(void)
{
    mo_plugins_http_global_init();
    /* A port nothing listens on: bind one, then close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    socklen_t alen = sizeof addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&addr, sizeof addr);
    getsockname(fd, (struct sockaddr *)&addr, &alen);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(addr.sin_port));
    maestro_http_request_t req = {0};
    req.url = url;
    req.timeout_s = 2;
    maestro_http_response_t resp;
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, &req, &resp), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(resp.status, 0);
    CU_ASSERT_NOT_EQUAL(resp.error[0], '\0');
    CU_ASSERT_PTR_NULL(resp.body);
    req.url = NULL;
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, &req, &resp), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, NULL, &resp), MAESTRO_E_FAILED);
    mo_plugins_http_free(NULL, NULL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_host__abi_major_mismatch_names_file_and_both_numbers),
    MO_TEST(test_host__short_descriptor_refused_with_both_numbers),
    MO_TEST(test_host__missing_symbol_names_file_and_symbol),
    MO_TEST(test_host__descriptor_without_init_refused),
    MO_TEST(test_host__not_found_lists_search_path),
    MO_TEST(test_host__name_with_slash_refused),
    MO_TEST(test_host__search_path_skips_empty_entries_never_cwd),
    MO_TEST(test_host__init_failure_is_an_error_naming_the_plugin),
    MO_TEST(test_host__plugin_requested_twice_refused),
    MO_TEST(test_host__list_reads_descriptors_without_init),
    MO_TEST(test_host__example_events_arrive_in_order),
    MO_TEST(test_host__run_end_drains_a_slow_plugin),
    MO_TEST(test_host__callback_error_is_one_warning_not_a_failure),
    MO_TEST(test_host__producer_never_blocks_past_the_bound),
    MO_TEST(test_host__retry_spools_then_delivers_in_run),
    MO_TEST(test_host__run_end_reports_spool_and_flush_dir_delivers),
    MO_TEST(test_host__ranks_sharing_a_spool_lose_nothing),
    MO_TEST(test_host__flush_dir_bad_and_unknown),
    MO_TEST(test_host__spool_names_files_by_seq_and_refuses_bad_kinds),
    MO_TEST(test_host__resolve_secret_in_order_with_buffer_protocol),
    MO_TEST(test_host__unavailable_provider_is_skipped_then_reported),
    MO_TEST(test_host__null_handle_accepted_everywhere),
    MO_TEST(test_host__http_sends_gzip_and_bearer_and_reads_response),
    MO_TEST(test_host__http_no_response_is_status_0_with_text),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/host", tests);
}
