/* prometheus_server_fixtures.h - helpers of tests/plugins/test_prometheus_server.c: a real
 * Pushgateway, reading it back, and the plugin driven as the runner does
 *
 * Each test file is its own executable, so these are static inline in a header. Gateways are
 * Debian's prometheus-pushgateway on a free loopback port (or a given one) through
 * scripts/services/pushgateway.sh (posix_spawn, argv array), stopped by stop_all_gateways;
 * what a gateway holds is read back through GET /api/v1/metrics (JSON, parsed with jansson);
 * the plugin is opened through the real host (mo_plugins_open); Maestro's log lines are
 * captured by a sink.
 */
#ifndef MO_TESTS_PLUGINS_PROMETHEUS_SERVER_FIXTURES_H
#define MO_TESTS_PLUGINS_PROMETHEUS_SERVER_FIXTURES_H

#include "plugins/host.h"

#include "core/log.h"
#include "tests/plugins/log_fixtures.h"
#include "tests/plugins/service_fixtures.h"
#include "tests/unit.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Values that need every escape: quote, backslash, newline, and a slash for the path. */
#define AWKWARD_RUN "we\"ird\\run/1\nx"
#define AWKWARD_NAME "na\"me\\with\nnewline"

/* ---- the gateway ---------------------------------------------------------------------------- */

#define MAX_GW 8
static char gw_dirs[MAX_GW][512];
static int n_gw;

/* Run scripts/services/pushgateway.sh CMD DIR [PORT]; returns its exit status. */
static inline int gw_script(const char *cmd, const char *dir, const char *port)
{
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "test_prometheus_server: MAESTRO_SOURCE_DIR is not set (ctest sets it)\n");
        return -1;
    }
    char script[1024];
    snprintf(script, sizeof script, "%s/scripts/services/pushgateway.sh", src);
    char *argv[] = {"bash", script, (char *)cmd, (char *)dir, (char *)port, NULL};
    /* stdout carries the port; keep it out of the test's output */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "bash", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline void stop_all_gateways(void)
{
    for (int i = 0; i < n_gw; i++)
        gw_script("stop", gw_dirs[i], NULL);
}

/* Start a gateway (on `port` when given) and return its base URL (static buffer), or NULL
 * after reporting why. */
static inline const char *gw_start(const char *name, const char *port)
{
    static char url[128];
    char dir[512];
    snprintf(dir, sizeof dir, "%s/gw-%s", mo_test_tmpdir(), name);
    int known = 0;
    for (int i = 0; i < n_gw; i++)
        known |= !strcmp(gw_dirs[i], dir);
    if (!known && n_gw < MAX_GW)
        snprintf(gw_dirs[n_gw++], sizeof gw_dirs[0], "%s", dir);
    int rc = gw_script("start", dir, port);
    if (rc != 0) {
        if (rc == 4)
            fprintf(stderr,
                    "\ntest_prometheus_server: FAILED: Debian's prometheus-pushgateway is not "
                    "installed; the tests need it (scripts/install-deps.sh)\n");
        else
            fprintf(stderr, "\ntest_prometheus_server: pushgateway.sh start failed (%d)\n", rc);
        return NULL;
    }
    char path[600], p[16] = "";
    snprintf(path, sizeof path, "%s/PORT", dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(p, sizeof p, f)) {
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    p[strcspn(p, "\n")] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%s", p);
    return url;
}

/* The gateway most tests share (each run id is its own group), started once. */
static inline const char *gw_main(void)
{
    static char url[128];
    if (!url[0]) {
        const char *u = gw_start("main", NULL);
        if (u)
            snprintf(url, sizeof url, "%s", u);
    }
    return url[0] ? url : NULL;
}

static inline void gw_stop(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/gw-%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL(gw_script("stop", dir, NULL), 0);
}

/* ---- HTTP reads ----------------------------------------------------------------------------- */

/* method url [body] -> HTTP status, response body in *out (caller frees; may be NULL). */
static inline long http(const char *method, const char *url, const char *body, char **out)
{
    return svc_http(method, url, NULL, NULL, body, body ? strlen(body) : 0, 10L, out, NULL);
}

/* The group with exactly these grouping labels in GET /api/v1/metrics (NULL: none). The
 * returned object belongs to *root (json_decref it). */
static inline json_t *find_group(const char *gw, const char *job, const char *run, const char *rank,
                                 json_t **root)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/api/v1/metrics", gw);
    *root = NULL;
    if (http("GET", url, NULL, &body) != 200) {
        free(body);
        return NULL;
    }
    *root = json_loads(body, 0, NULL);
    free(body);
    json_t *data = json_object_get(*root, "data");
    size_t i;
    json_t *g;
    json_array_foreach(data, i, g)
    {
        json_t *l = json_object_get(g, "labels");
        const char *j = json_string_value(json_object_get(l, "job"));
        const char *r = json_string_value(json_object_get(l, "run"));
        const char *k = json_string_value(json_object_get(l, "rank"));
        if (j && r && k && !strcmp(j, job) && !strcmp(r, run) && !strcmp(k, rank) &&
            json_object_size(l) == 3)
            return g;
    }
    return NULL;
}

/* The value (as the gateway writes it) of `family` in group g whose labels include
 * label=value (label NULL: the family's only series); NULL when there is none. */
static inline const char *series(json_t *g, const char *family, const char *label,
                                 const char *value)
{
    json_t *fam = json_object_get(g, family);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(fam, "metrics"), i, m)
    {
        const char *v =
            json_string_value(json_object_get(json_object_get(m, "labels"), label ? label : "job"));
        if (!label || (v && !strcmp(v, value)))
            return json_string_value(json_object_get(m, "value"));
    }
    return NULL;
}

static inline const char *family_type(json_t *g, const char *family)
{
    return json_string_value(json_object_get(json_object_get(g, family), "type"));
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait up to 10 s for `family` to appear in the group (pushes are asynchronous). */
static inline int wait_series(const char *gw, const char *run, const char *rank, const char *family,
                              const char *want)
{
    for (int i = 0; i < 200; i++) {
        json_t *root;
        json_t *g = find_group(gw, "maestro", run, rank, &root);
        const char *v = g ? series(g, family, NULL, NULL) : NULL;
        int ok = v && (!want || !strcmp(v, want));
        json_decref(root);
        if (ok)
            return 1;
        sleep_ms(50);
    }
    fprintf(stderr, "\n  %s=%s never appeared in run %s rank %s\n", family, want ? want : "*", run,
            rank);
    return 0;
}

/* ---- driving the plugin as the runner does -------------------------------------------------- */

static inline const char *make_run_dir(const char *name)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    return dir;
}

static inline mo_plugins_t *open_plugin(const maestro_kv_t *cfg, size_t n, const char *run_dir,
                                        int rank)
{
    mo_plugin_request_t req = {"prometheus", cfg, n};
    mo_plugins_opts_t opts = {rank, 2, run_dir, 20};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    int rc = mo_plugins_open(&p, &req, 1, &opts, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  mo_plugins_open: %s\n", err.msg);
    return p;
}

static inline maestro_run_info_t info(const char *run_id, const char *run_dir, int rank)
{
    maestro_run_info_t r = {.run_id = run_id,
                            .run_name = AWKWARD_NAME,
                            .job_kind = "train",
                            .run_dir = run_dir,
                            .git_commit = "0123456789ab",
                            .maestro_version = "0.1.0",
                            .rank = rank,
                            .ranks = 2};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.start_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return r;
}

static inline void epoch(mo_plugins_t *p, int e, double loss, double acc)
{
    mo_plugins_metric(p, "train_loss", loss, e * 10, e, NULL, 0);
    mo_plugins_metric(p, "val_accuracy", acc, e * 10, e, NULL, 0);
    mo_plugins_metric(p, "accuracy", acc + 0.01, e * 10, e, NULL, 0);
    mo_plugins_metric(p, "samples_per_second", 1000.5 * e, e * 10, e, NULL, 0);
    mo_plugins_metric(p, "allreduce_seconds_total", 0.25 * e, e * 10, e, NULL, 0);
    mo_plugins_metric(p, "checkpoint_seconds", 0.125, e * 10, e, NULL, 0);
    mo_plugins_metric(p, "step", e * 10, e * 10, e, NULL, 0);
    mo_plugins_metric(p, "epoch", e, e * 10, e, NULL, 0);
}

static inline void end(mo_plugins_t *p, const maestro_run_info_t *ri, const char *status,
                       double secs)
{
    static const char *const names[] = {"val_accuracy", "train_loss"};
    static const double values[] = {0.875, 0.0625};
    maestro_run_end_t e = {.status = status,
                           .exit_code = 0,
                           .end_ns = ri->start_ns + (int64_t)(secs * 1e9),
                           .metric_names = names,
                           .metric_values = values,
                           .n_metrics = 2,
                           .gates_passed = 1};
    mo_plugins_run_end(p, &e);
}

/* Payload files (<digits>-<kind>) in run_dir/spool/prometheus. */
static inline int spooled(const char *run_dir)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/spool/prometheus", run_dir);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] >= '0' && e->d_name[0] <= '9' && strchr(e->d_name, '-');
    if (d)
        closedir(d);
    return n;
}

#endif
