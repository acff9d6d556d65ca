/* test_host.c - the plugin host's lifecycle (host.c): open and init, requests, dispatch to
 * the worker, run end draining, callback errors, run info reaching plugins, NULL handles
 */
#include "core/time.h"
#include "plugins/host.h"
#include "tests/plugins/host_fixtures.h"
#include "tests/unit.h"

#include <stdlib.h>
#include <string.h>

/* ---- open and init ------------------------------------------------------------------------ */

static void test_host__init_failure_is_an_error_naming_the_plugin(void)
{
    use_test_path();
    mo_error_t err = {0};
    int rc;
    maestro_kv_t cfg[] = {{"rc", "config-at-init"}};
    CU_ASSERT_PTR_NULL(open_one("probe", cfg, 1, NULL, 0, &err, &rc));
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "plugin probe: init failed: rc: config-at-init asked for it");
    maestro_kv_t mode[] = {{"mode", "xml"}};
    CU_ASSERT_PTR_NULL(open_one("example", mode, 1, NULL, 0, &err, &rc));
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mode must be \"jsonl\", got \"xml\""));
}

static void test_host__plugin_requested_twice_refused(void)
{
    use_test_path();
    mo_plugin_request_t req[] = {{"probe", NULL, 0}, {"probe", NULL, 0}};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_open(&p, req, 2, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "probe is requested twice"));
}

/* ---- dispatch and run end ----------------------------------------------------------------- */

static void test_host__run_end_drains_a_slow_plugin(void)
{
    use_test_path();
    const char *run = fresh_dir("drain");
    char path[600];
    snprintf(path, sizeof path, "%s/events.jsonl", run);
    maestro_kv_t slow[] = {{"sleep_ms", "5"}};
    maestro_kv_t ex[] = {{"path", "/nonexistent/overridden"}, {"path", path}}; /* last wins */
    mo_plugin_request_t req[] = {{"probe", slow, 1}, {"example", ex, 2}};
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
    mo_plugins_t *p = open_one("probe", cfg, 1, NULL, 0, NULL, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    for (int i = 0; i < 10; i++)
        mo_plugins_metric(p, "m", i, i, 0, NULL, 0);
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end); /* probe has no run_end: NULL callbacks are skipped */
    mo_plugins_close(p);
    char *log = log_release();
    CU_ASSERT_EQUAL(count_substr(log, "plugins: probe: event: failed"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "the run goes on"));
    free(log);
}

/* ---- run labels --------------------------------------------------------------------------- */

/* The run labels (the Slurm job) go after a metric's own labels to metrics plugins only, an own
 * label of the same name wins, values are redacted; a registry plugin (MLflow folds labels
 * into metric keys) gets the event as emitted. */
static void test_host__run_labels_reach_metrics_plugins_only(void)
{
    use_test_path();
    const char *run = fresh_dir("labels");
    char jsonl[600], rec[600];
    snprintf(jsonl, sizeof jsonl, "%s/events.jsonl", run);
    snprintf(rec, sizeof rec, "%s/labelrec.txt", run);
    CU_ASSERT_EQUAL_FATAL(mo_log_add_secret("hunter2-secret"), 0);
    maestro_kv_t ex[] = {{"path", jsonl}}, lr[] = {{"record", rec}};
    mo_plugin_request_t req[] = {{"example", ex, 1}, {"labelrec", lr, 1}};
    maestro_kv_t labels[] = {{"slurm_job_id", "123"},
                             {"slurm_nodelist", "node[01-02]"},
                             {"rank", "run-level"},
                             {"tag", "x-hunter2-secret"}};
    mo_plugins_opts_t opts = {0, 1, run, 0};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, req, 2, &opts, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_plugins_set_labels(p, labels, 4, &err), 0);
    labels[0].value = "changed"; /* copied */
    maestro_kv_t own[] = {{"rank", "1"}};
    mo_plugins_metric(p, "samples_per_second", 10, 1, 0, own, 1);
    mo_plugins_metric(p, "train_loss", 0.5, 1, 0, NULL, 0);
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end);
    mo_plugins_close(p);
    mo_log_clear_secrets();

    json_t *j = json_line(jsonl, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    char *got = json_dumps(json_object_get(j, "labels"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    CU_ASSERT_STRING_EQUAL(got, "{\"rank\":\"1\",\"slurm_job_id\":\"123\",\"slurm_nodelist\":"
                                "\"node[01-02]\",\"tag\":\"x-***\"}");
    free(got);
    json_decref(j);
    j = json_line(jsonl, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    got = json_dumps(json_object_get(j, "labels"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    CU_ASSERT_STRING_EQUAL(got, "{\"slurm_job_id\":\"123\",\"slurm_nodelist\":\"node[01-02]\","
                                "\"rank\":\"run-level\",\"tag\":\"x-***\"}");
    free(got);
    json_decref(j);
    got = slurp(rec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "samples_per_second rank=1\ntrain_loss\n");
    free(got);
}

static void test_host__run_label_without_a_name_or_value_refused(void)
{
    maestro_kv_t noname[] = {{"", "1"}}, novalue[] = {{"a", NULL}};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, NULL, 0, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_plugins_set_labels(p, noname, 1, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_plugins_set_labels: label 0 has no name");
    CU_ASSERT_EQUAL(mo_plugins_set_labels(p, novalue, 1, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_plugins_set_labels: label 0 has no value");
    CU_ASSERT_EQUAL(mo_plugins_set_labels(p, NULL, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_plugins_set_labels(NULL, noname, 1, &err), 0); /* no plugins */
    mo_plugins_close(p);
}

/* ---- run info (ABI 1.1) ------------------------------------------------------------------- */

/* parent_run_id reaches the plugin as given, deep-copied: the caller's strings are gone by the
 * time the worker hands the queued run_start over. A plugin built against 1.0 still loads and
 * gets its run_start. */
static void test_host__run_start_passes_parent_run_id(void)
{
    use_test_path();
    const char *run = fresh_dir("parent");
    char rec[600], rec10[600];
    snprintf(rec, sizeof rec, "%s/probe.txt", run);
    snprintf(rec10, sizeof rec10, "%s/probe10.txt", run);
    maestro_kv_t slow[] = {{"sleep_ms", "100"}, {"record", rec}};
    maestro_kv_t old[] = {{"record", rec10}};
    mo_plugin_request_t req[] = {{"probe", slow, 2}, {"probe10", old, 1}};
    mo_plugins_opts_t opts = {0, 1, run, 0};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, req, 2, &opts, &err), 0);

    /* the worker sleeps in this event while both run_starts wait in the queue */
    mo_plugins_metric(p, "m", 1, 0, 0, NULL, 0);
    char parent[64], child_id[64];
    snprintf(parent, sizeof parent, "sweep-20260101T000000Z-0a0a");
    snprintf(child_id, sizeof child_id, "trial-20260101T000001Z-1b1b");
    maestro_run_info_t child = run_info(run);
    child.run_id = child_id;
    child.parent_run_id = parent;
    mo_plugins_run_start(p, &child);
    memset(parent, 'x', sizeof parent - 1); /* the caller reuses its buffers at once */
    memset(child_id, 'y', sizeof child_id - 1);
    maestro_run_info_t top = run_info(run); /* parent_run_id NULL: a top-level run */
    mo_plugins_run_start(p, &top);
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end);
    mo_plugins_close(p);

    char *got = slurp(rec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got,
                           "run_start trial-20260101T000001Z-1b1b sweep-20260101T000000Z-0a0a\n"
                           "run_start t-20260101T000000Z-abcd -\n");
    free(got);
    got = slurp(rec10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "run_start trial-20260101T000001Z-1b1b 1\n"
                                "run_start t-20260101T000000Z-abcd 1\n");
    free(got);
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

static CU_TestInfo tests[] = {
    MO_TEST(test_host__init_failure_is_an_error_naming_the_plugin),
    MO_TEST(test_host__plugin_requested_twice_refused),
    MO_TEST(test_host__run_end_drains_a_slow_plugin),
    MO_TEST(test_host__callback_error_is_one_warning_not_a_failure),
    MO_TEST(test_host__run_labels_reach_metrics_plugins_only),
    MO_TEST(test_host__run_label_without_a_name_or_value_refused),
    MO_TEST(test_host__run_start_passes_parent_run_id),
    MO_TEST(test_host__null_handle_accepted_everywhere),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/host", tests);
}
