/* test_host_spool.c - the spool (host_spool.c): retries that spool then deliver in the run,
 * the run end report, `plugins flush` (flush_dir), ranks sharing a spool, spool file names
 */
#include "core/time.h"
#include "plugins/host.h"
#include "plugins/host_impl.h"
#include "tests/plugins/host_fixtures.h"
#include "tests/unit.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- retry and run end -------------------------------------------------------------------- */

static int wait_lines(const char *path, int n, double seconds)
{
    double until = mo_time_mono() + seconds;
    while (count_lines(path) < n && mo_time_mono() < until)
        usleep(20000);
    return count_lines(path);
}

static void test_host_spool__retry_spools_then_delivers_in_run(void)
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
    /* the metrics queued behind the spool while it was down did not count as "works again":
     * that is said once, after the spool was delivered */
    CU_ASSERT_EQUAL(count_substr(log, "works again"), 1);
    const char *back = strstr(log, "works again"), *dl = strstr(log, "delivered 4 spooled");
    CU_ASSERT(back && dl && back > dl);
    free(log);
}

static void test_host_spool__run_end_reports_spool_and_flush_dir_delivers(void)
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

/* ---- flush -------------------------------------------------------------------------------- */

static void test_host_spool__ranks_sharing_a_spool_lose_nothing(void)
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

static void test_host_spool__flush_dir_bad_and_unknown(void)
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

/* ---- spool service ------------------------------------------------------------------------ */

static void test_host_spool__spool_names_files_by_seq_and_refuses_bad_kinds(void)
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

static CU_TestInfo tests[] = {
    MO_TEST(test_host_spool__retry_spools_then_delivers_in_run),
    MO_TEST(test_host_spool__run_end_reports_spool_and_flush_dir_delivers),
    MO_TEST(test_host_spool__ranks_sharing_a_spool_lose_nothing),
    MO_TEST(test_host_spool__flush_dir_bad_and_unknown),
    MO_TEST(test_host_spool__spool_names_files_by_seq_and_refuses_bad_kinds),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/host_spool", tests);
}
