/* mlflow_server_fixtures.h - helpers of tests/plugins/test_mlflow_server.c: a real MLflow
 * server, reading it back, and the plugin driven as the runner does
 *
 * Each test file is its own executable, so these are static inline in a header. Servers run
 * through scripts/services/mlflow.sh (SQLite backend, --serve-artifacts, a free loopback port
 * or a given one) and are stopped by stop_all_servers; MLflow is read back through its REST
 * API (libcurl + jansson); the plugin is opened through the real host (mo_plugins_open) with
 * a token that must never reach a file; Maestro's log lines are captured by a sink.
 */
#ifndef MO_TESTS_PLUGINS_MLFLOW_SERVER_FIXTURES_H
#define MO_TESTS_PLUGINS_MLFLOW_SERVER_FIXTURES_H

#include "plugins/host.h"

#include "core/log.h"
#include "tests/plugins/log_fixtures.h"
#include "tests/plugins/service_fixtures.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- processes ------------------------------------------------------------------------------ */

/* Run argv with stdout into `out_path` (NULL: /dev/null); returns the exit status. */
static inline int spawn_wait(char *const argv[], const char *out_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define MAX_SRV 4
static char srv_dirs[MAX_SRV][512];
static int n_srv;

static inline int srv_script(const char *cmd, const char *dir, const char *port)
{
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "test_mlflow_server: MAESTRO_SOURCE_DIR is not set (ctest sets it)\n");
        return -1;
    }
    char script[1024];
    snprintf(script, sizeof script, "%s/scripts/services/mlflow.sh", src);
    char *argv[] = {"bash", script, (char *)cmd, (char *)dir, (char *)port, NULL};
    return spawn_wait(argv, NULL);
}

static inline void stop_all_servers(void)
{
    for (int i = 0; i < n_srv; i++)
        srv_script("stop", srv_dirs[i], NULL);
    n_srv = 0;
}

/* Start a server named `name` (on `port` when given); its base URL (static), or NULL. */
static inline const char *srv_start(const char *name, const char *port)
{
    static char url[128];
    char dir[512], path[600], p[16] = "";
    snprintf(dir, sizeof dir, "%s/mlflow-%s", mo_test_tmpdir(), name);
    int known = 0;
    for (int i = 0; i < n_srv; i++)
        known |= !strcmp(srv_dirs[i], dir);
    if (!known && n_srv < MAX_SRV)
        snprintf(srv_dirs[n_srv++], sizeof srv_dirs[0], "%s", dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = srv_script("start", dir, port);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0) {
        fprintf(stderr,
                "\ntest_mlflow_server: FAILED: scripts/services/mlflow.sh start exited %d "
                "(see %s/server.log; the venv comes from scripts/python-env.sh)\n",
                rc, dir);
        return NULL;
    }
    if (getenv("MO_TEST_VERBOSE"))
        fprintf(stderr, "\n  mlflow server %s up in %.1f s\n", name,
                (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
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

static inline void srv_stop(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/mlflow-%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL(srv_script("stop", dir, NULL), 0);
}

/* The server most tests share, started once. */
static inline const char *srv_main(void)
{
    static char url[128];
    if (!url[0]) {
        const char *u = srv_start("main", NULL);
        if (u)
            snprintf(url, sizeof url, "%s", u);
    }
    return url[0] ? url : NULL;
}

/* A loopback port nobody listens on: the kernel's choice for port 0, released again. */
static inline const char *dead_port(char *buf, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    close(fd);
    snprintf(buf, size, "%u", (unsigned)ntohs(a.sin_port));
    return buf;
}

/* ---- reading MLflow back -------------------------------------------------------------------- */

static inline long http(const char *method, const char *url, const char *body, char **out,
                        size_t *len)
{
    return svc_http(method, url, body ? "application/json" : NULL, NULL, body,
                    body ? strlen(body) : 0, 20L, out, len);
}

/* GET or POST <srv>/api/2.0/mlflow/<endpoint> -> parsed JSON (NULL unless 200). */
static inline json_t *api(const char *srv, const char *method, const char *endpoint,
                          const char *body)
{
    char url[1024], *text = NULL;
    snprintf(url, sizeof url, "%s/api/2.0/mlflow/%s", srv, endpoint);
    long st = http(method, url, body, &text, NULL);
    json_t *j = st == 200 ? json_loads(text, 0, NULL) : NULL;
    if (st != 200)
        fprintf(stderr, "\n  %s %s -> %ld %s\n", method, endpoint, st, text ? text : "");
    free(text);
    return j;
}

/* The run tagged maestro.run_id = id in `experiment` ({"info", "data"}), owned by *root. */
static inline json_t *find_run(const char *srv, const char *experiment, const char *id,
                               json_t **root)
{
    char ep[512], body[512];
    *root = NULL;
    snprintf(ep, sizeof ep, "experiments/get-by-name?experiment_name=%s", experiment);
    json_t *e = api(srv, "GET", ep, NULL);
    const char *eid =
        json_string_value(json_object_get(json_object_get(e, "experiment"), "experiment_id"));
    if (!eid) {
        json_decref(e);
        return NULL;
    }
    snprintf(body, sizeof body,
             "{\"experiment_ids\":[\"%s\"],\"filter\":\"tags.`maestro.run_id` = '%s'\"}", eid, id);
    json_decref(e);
    *root = api(srv, "POST", "runs/search", body);
    json_t *runs = json_object_get(*root, "runs");
    CU_ASSERT_EQUAL(json_array_size(runs), 1); /* exactly one MLflow run per Maestro run */
    return json_array_get(runs, 0);
}

/* Wait (up to timeout_s) until the run tagged maestro.run_id = id shows in `experiment`: a
 * plugin's run_start runs on its host's own thread, and a test that needs that run to exist
 * on the server (a parent before its child) has no other way to know. 1 when it showed. */
static inline int wait_run(const char *srv, const char *experiment, const char *id,
                           double timeout_s)
{
    char url[1024], body[512];
    for (double waited = 0; waited < timeout_s; waited += 0.05) {
        char *text = NULL;
        snprintf(url, sizeof url, "%s/api/2.0/mlflow/experiments/get-by-name?experiment_name=%s",
                 srv, experiment);
        json_t *e = http("GET", url, NULL, &text, NULL) == 200 ? json_loads(text, 0, NULL) : NULL;
        free(text);
        text = NULL;
        const char *eid =
            json_string_value(json_object_get(json_object_get(e, "experiment"), "experiment_id"));
        int found = 0;
        if (eid) {
            snprintf(url, sizeof url, "%s/api/2.0/mlflow/runs/search", srv);
            snprintf(body, sizeof body,
                     "{\"experiment_ids\":[\"%s\"],\"filter\":\"tags.`maestro.run_id` = '%s'\"}",
                     eid, id);
            json_t *r =
                http("POST", url, body, &text, NULL) == 200 ? json_loads(text, 0, NULL) : NULL;
            found = json_array_size(json_object_get(r, "runs")) > 0;
            json_decref(r);
            free(text);
        }
        json_decref(e);
        if (found)
            return 1;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static inline const char *kv(const json_t *list, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "key"));
        if (k && !strcmp(k, key))
            return json_string_value(json_object_get(t, "value"));
    }
    return NULL;
}

static inline int count_key(const json_t *list, const char *key)
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "key"));
        n += k && !strcmp(k, key);
    }
    return n;
}

static inline char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* The version the alias points at ({"model_version": ...}), or NULL. */
static inline json_t *by_alias(const char *srv, const char *model, const char *alias)
{
    char ep[256];
    snprintf(ep, sizeof ep, "registered-models/alias?name=%s&alias=%s", model, alias);
    return api(srv, "GET", ep, NULL);
}

/* ---- driving the plugin as the runner does -------------------------------------------------- */

#define TOKEN "mlflow-test-token-7Hq2"

static inline const char *make_run_dir(const char *name)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    return dir;
}

static inline mo_plugins_t *open_plugin(const char *url, const char *experiment,
                                        const char *run_dir)
{
    maestro_kv_t cfg[] = {{"url", url},
                          {"experiment", experiment},
                          {"token", TOKEN},
                          {"backoff_s", "0.05"},
                          {"flush_interval_s", "0.2"}};
    mo_plugin_request_t req = {"mlflow", cfg, 5};
    mo_plugins_opts_t opts = {0, 2, run_dir, 60};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    int rc = mo_plugins_open(&p, &req, 1, &opts, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  mo_plugins_open: %s\n", err.msg);
    return p;
}

static char long_value[7001];

static inline maestro_run_info_t info(const char *run_id, const char *run_dir, const char *lr)
{
    static maestro_kv_t params[4];
    params[0] = (maestro_kv_t){"optimizer.lr", lr};
    params[1] = (maestro_kv_t){"model.layers[0].units", "64"};
    params[2] = (maestro_kv_t){"data.note", long_value};
    params[3] = (maestro_kv_t){"epochs", "5"};
    maestro_run_info_t r = {.run_id = run_id,
                            .run_name = "iris",
                            .job_kind = "train",
                            .run_dir = run_dir,
                            .spec_text = "name: iris\n",
                            .git_commit = "0123456789ab",
                            .maestro_version = "0.1.0",
                            .rank = 0,
                            .ranks = 2,
                            .params = params,
                            .n_params = 4};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.start_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return r;
}

static inline const char *h5_path(const char *run_dir, const char *bytes)
{
    static char path[700];
    snprintf(path, sizeof path, "%s/run.h5", run_dir);
    FILE *f = fopen(path, "wb");
    fputs(bytes, f);
    fclose(f);
    return path;
}

/* A short training: 5 epochs of train_loss, val_loss NaN at the last, the spec uploaded. */
static inline void train(mo_plugins_t *p, const char *run_dir)
{
    for (int e = 0; e < 5; e++)
        mo_plugins_metric(p, "train_loss", 1.0 / (e + 1), e * 10, e, NULL, 0);
    mo_plugins_metric(p, "val_loss", NAN, 40, 4, NULL, 0);
    char spec[700];
    snprintf(spec, sizeof spec, "%s/spec.yml", run_dir);
    FILE *f = fopen(spec, "w");
    fputs("name: iris\nkind: train\n", f);
    fclose(f);
    mo_plugins_artifact(p, spec, "spec.yml");
}

static inline void end(mo_plugins_t *p, const char *status, int gates, const char *model_path)
{
    static const char *const names[] = {"val_accuracy"};
    static const double values[] = {0.96};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    maestro_run_end_t e = {.status = status,
                           .end_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec,
                           .metric_names = names,
                           .metric_values = values,
                           .n_metrics = 1,
                           .gates_passed = gates,
                           .model_path = model_path,
                           .registry_model = "iris-model",
                           .registry_alias = "champion"};
    mo_plugins_run_end(p, &e);
}

/* Payload files in run_dir/spool/mlflow. */
static inline int spooled(const char *run_dir)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/spool/mlflow", run_dir);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] >= '0' && e->d_name[0] <= '9' && strchr(e->d_name, '-');
    if (d)
        closedir(d);
    return n;
}

/* 1 when `needle` appears in no file under dir (recursively). */
static inline int nowhere_in(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int clean = 1;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb))
            continue;
        if (S_ISDIR(sb.st_mode)) {
            clean &= nowhere_in(path, needle);
        } else {
            char *text = read_file(path, NULL);
            if (text && strstr(text, needle)) {
                fprintf(stderr, "\n  %s holds [%s]\n", path, needle);
                clean = 0;
            }
            free(text);
        }
    }
    if (d)
        closedir(d);
    return clean;
}

#endif
