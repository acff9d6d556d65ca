/* test_mlflow_server.c - the mlflow plugin through the real host, against a real MLflow server
 *
 * MLflow's own server (pinned in scripts/requirements-test.txt, in .venv made by
 * scripts/python-env.sh) runs through scripts/services/mlflow.sh with a SQLite backend and
 * --serve-artifacts on a free loopback port, started once for the suite (it takes a few
 * seconds). The test drives the plugin as the runner does (mo_plugins_open, run_start,
 * metrics, artifacts, run_end, close; mo_plugins_flush_dir for a later flush) and reads back
 * through MLflow's REST API (libcurl + jansson) and, once, through MLflow's Python client: the
 * experiment, the run and its tags, params, metric history, artifact bytes, and the model
 * version with its alias and source. Failure cases use a port with nobody listening, and a
 * server that comes back on it. The server is a test dependency: when it cannot start the
 * test fails and says why, it never skips.
 */
#include "plugins/host.h"

#include "core/log.h"
#include "tests/unit.h"

#include <curl/curl.h>
#include <dirent.h>
#include <arpa/inet.h>
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
static int spawn_wait(char *const argv[], const char *out_path)
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

static int srv_script(const char *cmd, const char *dir, const char *port)
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

static void stop_all_servers(void)
{
    for (int i = 0; i < n_srv; i++)
        srv_script("stop", srv_dirs[i], NULL);
    n_srv = 0;
}

/* Start a server named `name` (on `port` when given); its base URL (static), or NULL. */
static const char *srv_start(const char *name, const char *port)
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

static void srv_stop(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/mlflow-%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL(srv_script("stop", dir, NULL), 0);
}

/* The server most tests share, started once. */
static const char *srv_main(void)
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
static const char *dead_port(char *buf, size_t size)
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

/* ---- reading MLflow back --------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} sink_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    char *p = realloc(s->data, s->len + n + 1);
    if (!p)
        return 0;
    memcpy(p + s->len, ptr, n);
    s->len += n;
    p[s->len] = '\0';
    s->data = p;
    return n;
}

static long http(const char *method, const char *url, const char *body, char **out, size_t *len)
{
    CURL *h = curl_easy_init();
    sink_t s = {calloc(1, 1), 0};
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    if (len)
        *len = s.len;
    if (out)
        *out = s.data;
    else
        free(s.data);
    return status;
}

/* GET or POST <srv>/api/2.0/mlflow/<endpoint> -> parsed JSON (NULL unless 200). */
static json_t *api(const char *srv, const char *method, const char *endpoint, const char *body)
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
static json_t *find_run(const char *srv, const char *experiment, const char *id, json_t **root)
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

static const char *kv(const json_t *list, const char *key)
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

static int count_key(const json_t *list, const char *key)
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

static char *read_file(const char *path, size_t *len)
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

/* ---- captured log lines --------------------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 17];
static size_t log_len;

static void capture(const mo_log_record_t *rec, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&log_lock);
    int n = snprintf(log_text + log_len, sizeof log_text - log_len, "%d %s: %s\n", (int)rec->level,
                     rec->component, rec->msg);
    if (n > 0 && log_len + (size_t)n < sizeof log_text)
        log_len += (size_t)n;
    pthread_mutex_unlock(&log_lock);
}

static void log_clear(void)
{
    pthread_mutex_lock(&log_lock);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

static int log_has(const char *needle)
{
    pthread_mutex_lock(&log_lock);
    int found = strstr(log_text, needle) != NULL;
    pthread_mutex_unlock(&log_lock);
    if (!found)
        fprintf(stderr, "\n  no log line has [%s]; the log:\n%s", needle, log_text);
    return found;
}

/* ---- driving the plugin as the runner does ----------------------------------------------------
 */

#define TOKEN "mlflow-test-token-7Hq2"

static const char *make_run_dir(const char *name)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    return dir;
}

static mo_plugins_t *open_plugin(const char *url, const char *experiment, const char *run_dir)
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

static maestro_run_info_t info(const char *run_id, const char *run_dir, const char *lr)
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

static const char *h5_path(const char *run_dir, const char *bytes)
{
    static char path[700];
    snprintf(path, sizeof path, "%s/run.h5", run_dir);
    FILE *f = fopen(path, "wb");
    fputs(bytes, f);
    fclose(f);
    return path;
}

/* A short training: 5 epochs of train_loss, val_loss NaN at the last, the spec uploaded. */
static void train(mo_plugins_t *p, const char *run_dir)
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

static void end(mo_plugins_t *p, const char *status, int gates, const char *model_path)
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
static int spooled(const char *run_dir)
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
static int nowhere_in(const char *dir, const char *needle)
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

/* The version the alias points at ({"model_version": ...}), or NULL. */
static json_t *by_alias(const char *srv, const char *model, const char *alias)
{
    char ep[256];
    snprintf(ep, sizeof ep, "registered-models/alias?name=%s&alias=%s", model, alias);
    return api(srv, "GET", ep, NULL);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static char first_run_id[64]; /* MLflow's id of the first registered run */

static void test_mlflow_server__run_read_back(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    const char *dir = make_run_dir("run-main");
    log_clear();
    mo_plugins_t *p = open_plugin(srv, "maestro-test", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-20240101T000000Z-0001", dir, "0.05");
    mo_plugins_run_start(p, &ri);
    train(p, dir);
    end(p, "ok", 1, h5_path(dir, "HDF5 model bytes v1"));
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(spooled(dir), 0);

    json_t *root;
    json_t *run = find_run(srv, "maestro-test", ri.run_id, &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    json_t *rinfo = json_object_get(run, "info"), *data = json_object_get(run, "data");
    const char *run_id = json_string_value(json_object_get(rinfo, "run_id"));
    snprintf(first_run_id, sizeof first_run_id, "%s", run_id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(rinfo, "status")), "FINISHED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(rinfo, "run_name")), "iris");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(rinfo, "start_time")),
                    ri.start_ns / 1000000);
    CU_ASSERT(json_integer_value(json_object_get(rinfo, "end_time")) >= ri.start_ns / 1000000);
    json_t *tags = json_object_get(data, "tags");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.source.name"), "maestro");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.source.type"), "JOB");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.source.git.commit"), "0123456789ab");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.runName"), "iris");
    CU_ASSERT_STRING_EQUAL(kv(tags, "maestro.run_id"), "iris-20240101T000000Z-0001");
    CU_ASSERT_STRING_EQUAL(kv(tags, "maestro.kind"), "train");
    CU_ASSERT_STRING_EQUAL(kv(tags, "maestro.ranks"), "2");

    /* params: each once, MLflow-valid keys, the long value cut with a marker */
    json_t *params = json_object_get(data, "params");
    CU_ASSERT_EQUAL(json_array_size(params), 4);
    CU_ASSERT_STRING_EQUAL(kv(params, "optimizer.lr"), "0.05");
    CU_ASSERT_STRING_EQUAL(kv(params, "model.layers_0_.units"), "64");
    CU_ASSERT_EQUAL(count_key(params, "epochs"), 1);
    const char *note = kv(params, "data.note");
    CU_ASSERT_PTR_NOT_NULL_FATAL(note);
    CU_ASSERT_EQUAL(strlen(note), 6000);
    CU_ASSERT_STRING_EQUAL(note + 6000 - strlen("...[truncated]"), "...[truncated]");

    /* metric history: steps, values, and NaN */
    char ep[512];
    snprintf(ep, sizeof ep, "metrics/get-history?run_id=%s&metric_key=train_loss", run_id);
    json_t *h = api(srv, "GET", ep, NULL);
    json_t *ms = json_object_get(h, "metrics");
    CU_ASSERT_EQUAL_FATAL(json_array_size(ms), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *m = json_array_get(ms, i);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "step")), (json_int_t)i * 10);
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(m, "value")), 1.0 / (i + 1),
                               1e-12);
        CU_ASSERT(json_integer_value(json_object_get(m, "timestamp")) >= ri.start_ns / 1000000);
    }
    json_decref(h);
    snprintf(ep, sizeof ep, "metrics/get-history?run_id=%s&metric_key=val_loss", run_id);
    h = api(srv, "GET", ep, NULL);
    json_t *nan = json_object_get(json_array_get(json_object_get(h, "metrics"), 0), "value");
    CU_ASSERT(json_is_string(nan) && !strcmp(json_string_value(nan), "NaN"));
    json_decref(h);

    /* artifacts: the bytes that were uploaded */
    const char *auri = json_string_value(json_object_get(rinfo, "artifact_uri"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(auri);
    CU_ASSERT_EQUAL(strncmp(auri, "mlflow-artifacts:/", 18), 0);
    char url[1024], *bytes = NULL, path[700];
    size_t n = 0;
    snprintf(url, sizeof url, "%s/api/2.0/mlflow-artifacts/artifacts/%s/spec.yml", srv, auri + 18);
    CU_ASSERT_EQUAL(http("GET", url, NULL, &bytes, &n), 200);
    CU_ASSERT_STRING_EQUAL(bytes, "name: iris\nkind: train\n");
    free(bytes);
    snprintf(url, sizeof url, "%s/api/2.0/mlflow-artifacts/artifacts/%s/model/run.h5", srv,
             auri + 18);
    CU_ASSERT_EQUAL(http("GET", url, NULL, &bytes, &n), 200);
    snprintf(path, sizeof path, "%s/run.h5", dir);
    char *file = read_file(path, NULL);
    CU_ASSERT_STRING_EQUAL(bytes, file);
    free(bytes);
    free(file);

    /* the registered version: alias, source folder, run */
    json_t *mv = by_alias(srv, "iris-model", "champion");
    json_t *v = json_object_get(mv, "model_version");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "version")), "1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "run_id")), run_id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "status")), "READY");
    char source[512];
    snprintf(source, sizeof source, "%s/model", auri);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "source")), source);
    if (getenv("MO_TEST_VERBOSE")) {
        char *s = json_dumps(run, JSON_INDENT(2));
        fprintf(stderr, "\n%s\n", s);
        free(s);
    }
    json_decref(mv);
    json_decref(root);
    CU_ASSERT(log_has("registered model iris-model version 1 in MLflow as @champion"));
    /* the token went in headers only */
    CU_ASSERT(nowhere_in(dir, TOKEN));
    CU_ASSERT_PTR_NULL(strstr(log_text, TOKEN));
}

/* MLflow's Python client reads what the plugin wrote. */
static void test_mlflow_server__python_client_reads_it(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    char py[600], out[600], dl[600];
    snprintf(py, sizeof py, "%s/.venv/bin/python", src);
    snprintf(out, sizeof out, "%s/client.json", mo_test_tmpdir());
    snprintf(dl, sizeof dl, "%s/download", mo_test_tmpdir());
    mkdir(dl, 0700);
    static const char script[] =
        "import json, sys\n"
        "import mlflow\n"
        "from mlflow.tracking import MlflowClient\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "c = MlflowClient()\n"
        "mv = c.get_model_version_by_alias('iris-model', 'champion')\n"
        "run = c.get_run(mv.run_id)\n"
        "hist = c.get_metric_history(mv.run_id, 'train_loss')\n"
        "path = c.download_artifacts(mv.run_id, 'model/run.h5', sys.argv[2])\n"
        "print(json.dumps({'version': mv.version, 'source': mv.source, 'run_id': mv.run_id,\n"
        "  'status': run.info.status, 'params': run.data.params,\n"
        "  'steps': [m.step for m in hist], 'source_name': run.data.tags['mlflow.source.name'],\n"
        "  'model': open(path).read()}))\n";
    char *argv[] = {py, "-c", (char *)script, (char *)srv, dl, NULL};
    CU_ASSERT_EQUAL_FATAL(spawn_wait(argv, out), 0);
    json_t *d = json_load_file(out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "run_id")), first_run_id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "status")), "FINISHED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "source_name")), "maestro");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "model")), "HDF5 model bytes v1");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(d, "params"), "optimizer.lr")), "0.05");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "steps")), 5);
    json_decref(d);
}

static void test_mlflow_server__second_run_moves_the_alias(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    const char *dir = make_run_dir("run-second");
    mo_plugins_t *p = open_plugin(srv, "maestro-test", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-20240101T000000Z-0002", dir, "0.01");
    mo_plugins_run_start(p, &ri);
    train(p, dir);
    end(p, "ok", 1, h5_path(dir, "HDF5 model bytes v2"));
    mo_plugins_close(p);
    json_t *root;
    json_t *run = find_run(srv, "maestro-test", ri.run_id, &root);
    const char *run_id = json_string_value(json_object_get(json_object_get(run, "info"), "run_id"));
    json_t *mv = by_alias(srv, "iris-model", "champion");
    json_t *v = json_object_get(mv, "model_version");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "version")), "2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "run_id")), run_id ? run_id : "");
    json_decref(mv);
    json_decref(root);
    /* version 1 is still there, without the alias */
    json_t *v1 = api(srv, "GET", "model-versions/get?name=iris-model&version=1", NULL);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(v1, "model_version"), "run_id")),
        first_run_id);
    CU_ASSERT_EQUAL(
        json_array_size(json_object_get(json_object_get(v1, "model_version"), "aliases")), 0);
    json_decref(v1);
}

static int n_versions(const char *srv)
{
    json_t *s = api(srv, "GET", "model-versions/search?filter=name%3D%27iris-model%27", NULL);
    int n = (int)json_array_size(json_object_get(s, "model_versions"));
    json_decref(s);
    return n;
}

static void test_mlflow_server__failed_runs_register_nothing(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    int before = n_versions(srv);
    const char *cases[][3] = {
        {"failed", "FAILED", "1"}, {"gate_failed", "FAILED", "0"}, {"preempted", "KILLED", "1"}};
    for (int k = 0; k < 3; k++) {
        char name[64], id[64];
        snprintf(name, sizeof name, "run-%s", cases[k][0]);
        snprintf(id, sizeof id, "iris-%s-0003", cases[k][0]);
        const char *dir = make_run_dir(name);
        mo_plugins_t *p = open_plugin(srv, "maestro-test", dir);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        maestro_run_info_t ri = info(id, dir, "0.05");
        mo_plugins_run_start(p, &ri);
        train(p, dir);
        end(p, cases[k][0], cases[k][2][0] == '1', h5_path(dir, "bad model"));
        mo_plugins_close(p);
        json_t *root;
        json_t *run = find_run(srv, "maestro-test", id, &root);
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(json_object_get(run, "info"), "status")),
            cases[k][1]);
        json_decref(root);
    }
    CU_ASSERT_EQUAL(n_versions(srv), before);
    json_t *mv = by_alias(srv, "iris-model", "champion");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(mv, "model_version"), "version")), "2");
    json_decref(mv);
}

static void test_mlflow_server__param_change_is_a_permanent_warning(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    /* a preempted run, resumed with another learning rate: MLflow params are write-once */
    const char *dir = make_run_dir("run-resume");
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", dir);
    mo_plugins_t *p = open_plugin(srv, "maestro-test", run_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-resume-0004", run_dir, "0.05");
    mo_plugins_run_start(p, &ri);
    end(p, "preempted", 1, NULL);
    mo_plugins_close(p);

    log_clear();
    p = open_plugin(srv, "maestro-test", run_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ri = info("iris-resume-0004", run_dir, "0.5");
    mo_plugins_run_start(p, &ri);
    train(p, run_dir);
    end(p, "ok", 1, NULL);
    mo_plugins_close(p);
    CU_ASSERT(log_has("runs/log-batch: HTTP 400 INVALID_PARAMETER_VALUE: Changing param values "
                      "is not allowed"));
    CU_ASSERT(log_has("not logged"));
    CU_ASSERT(log_has("continuing MLflow run"));
    CU_ASSERT_EQUAL(spooled(run_dir), 0); /* a 4xx is never retried */

    json_t *root;
    json_t *run = find_run(srv, "maestro-test", "iris-resume-0004", &root);
    json_t *data = json_object_get(run, "data");
    CU_ASSERT_STRING_EQUAL(kv(json_object_get(data, "params"), "optimizer.lr"), "0.05");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(run, "info"), "status")), "FINISHED");
    CU_ASSERT_EQUAL(count_key(json_object_get(data, "metrics"), "train_loss"), 1);
    json_decref(root);
}

static void test_mlflow_server__down_spooled_then_flushed(void)
{
    char port[16], url[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dead_port(port, sizeof port));
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);

    log_clear();
    const char *dir = make_run_dir("run-down");
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", dir);
    mo_plugins_t *p = open_plugin(url, "maestro-late", run_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-down-0005", run_dir, "0.05");
    mo_plugins_run_start(p, &ri);
    train(p, run_dir);
    end(p, "ok", 1, h5_path(run_dir, "HDF5 spooled model"));
    mo_plugins_close(p); /* returns: the run is not held up by the missing server */
    CU_ASSERT(log_has("did not answer; the run is spooled"));
    CU_ASSERT(log_has("request(s) spooled; `maestro plugins flush"));
    int waiting = spooled(run_dir);
    CU_ASSERT(waiting >= 6);
    char spool[700];
    snprintf(spool, sizeof spool, "%s/spool", run_dir);
    CU_ASSERT(nowhere_in(spool, TOKEN));

    /* the server comes back; `maestro plugins flush RUN_DIR` delivers, in order */
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv_start("late", port));
    maestro_kv_t cfg[] = {{"url", url}, {"token", TOKEN}};
    mo_plugin_request_t req = {"mlflow", cfg, 2};
    int delivered = -1, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, waiting);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(spooled(run_dir), 0);

    json_t *root;
    json_t *run = find_run(url, "maestro-late", "iris-down-0005", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    json_t *data = json_object_get(run, "data");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(run, "info"), "status")), "FINISHED");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(data, "params")), 4);
    CU_ASSERT_EQUAL(count_key(json_object_get(data, "metrics"), "train_loss"), 1);
    json_t *mv = by_alias(url, "iris-model", "champion");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(mv, "model_version"), "version")), "1");
    json_decref(mv);
    const char *auri =
        json_string_value(json_object_get(json_object_get(run, "info"), "artifact_uri"));
    char aurl[1024], *bytes = NULL;
    snprintf(aurl, sizeof aurl, "%s/api/2.0/mlflow-artifacts/artifacts/%s/model/run.h5", url,
             auri ? auri + 18 : "");
    CU_ASSERT_EQUAL(http("GET", aurl, NULL, &bytes, NULL), 200);
    CU_ASSERT_STRING_EQUAL(bytes, "HDF5 spooled model");
    free(bytes);
    json_decref(root);

    /* a second flush finds nothing left: nothing is sent twice */
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, 0);
    CU_ASSERT_EQUAL(n_versions(url), 1);
}

static void test_mlflow_server__comes_back_during_the_run(void)
{
    /* the "late" server from the previous test goes away, and returns while the run goes on */
    char dir_late[512], port[16] = "", path[600];
    snprintf(dir_late, sizeof dir_late, "%s/mlflow-late/PORT", mo_test_tmpdir());
    char *p_text = read_file(dir_late, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p_text);
    snprintf(port, sizeof port, "%.*s", (int)strcspn(p_text, "\n"), p_text);
    free(p_text);
    srv_stop("late");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);

    const char *dir = make_run_dir("run-back");
    snprintf(path, sizeof path, "%s", dir);
    mo_plugins_t *p = open_plugin(url, "maestro-late", path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-back-0006", path, "0.05");
    mo_plugins_run_start(p, &ri);
    mo_plugins_metric(p, "train_loss", 0.5, 0, 0, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv_start("late", port));
    train(p, path);
    end(p, "ok", 1, h5_path(path, "HDF5 model, same run"));
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(spooled(path), 0); /* delivered within the run: nothing left */

    json_t *root;
    json_t *run = find_run(url, "maestro-late", "iris-back-0006", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(run, "info"), "status")), "FINISHED");
    char ep[512];
    snprintf(ep, sizeof ep, "metrics/get-history?run_id=%s&metric_key=train_loss",
             json_string_value(json_object_get(json_object_get(run, "info"), "run_id")));
    json_t *h = api(url, "GET", ep, NULL);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(h, "metrics")), 6);
    json_decref(h);
    json_decref(root);
    json_t *mv = by_alias(url, "iris-model", "champion");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(mv, "model_version"), "version")), "2");
    json_decref(mv);
}

static void test_mlflow_server__bad_config_fails_open(void)
{
    maestro_kv_t cfg[] = {{"url", "ftp://mlflow.example"}};
    mo_plugin_request_t req = {"mlflow", cfg, 1};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_NOT_EQUAL(mo_plugins_open(&p, &req, 1, NULL, &err), 0);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "url must be an http:// or https:// tracking server"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow_server__run_read_back),
    MO_TEST(test_mlflow_server__python_client_reads_it),
    MO_TEST(test_mlflow_server__second_run_moves_the_alias),
    MO_TEST(test_mlflow_server__failed_runs_register_nothing),
    MO_TEST(test_mlflow_server__param_change_is_a_permanent_warning),
    MO_TEST(test_mlflow_server__down_spooled_then_flushed),
    MO_TEST(test_mlflow_server__comes_back_during_the_run),
    MO_TEST(test_mlflow_server__bad_config_fails_open),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    if (dir)
        setenv("MAESTRO_PLUGIN_PATH", dir, 1);
    memset(long_value, 'n', sizeof long_value - 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    mo_log_set_sink(capture, NULL);
    mo_test_tmpdir(); /* first, so that its removal at exit runs after the servers stop */
    atexit(stop_all_servers);
    int rc = mo_test_main("plugins/mlflow_server", tests);
    stop_all_servers();
    mo_log_set_sink(NULL, NULL);
    curl_global_cleanup();
    return rc;
}
