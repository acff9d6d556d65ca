/* mlflow_fixtures.h - the scripted host shared by the tests/plugins/test_mlflow*.c suites
 *
 * Each test file is its own executable, so these are static inline in a header. The plugin's
 * sources are compiled into the test (after the ABI header, which their shared header then
 * skips), so the pure helpers can be called directly, and the whole plugin runs against a host
 * the test plays: config lookups, a clock, an HTTP service that answers like an MLflow 2.12
 * server (or with a scripted 503 / 400 / HTML page / no answer), and a spool kept in memory.
 * Every request is recorded in H.req for the tests to read.
 */
#ifndef MO_TESTS_PLUGINS_MLFLOW_FIXTURES_H
#define MO_TESTS_PLUGINS_MLFLOW_FIXTURES_H

#include "plugins/maestro_plugin.h"

#include "../../plugins/mlflow/artifacts.c"
#include "../../plugins/mlflow/batch.c"
#include "../../plugins/mlflow/client.c"
#include "../../plugins/mlflow/local.c"
#include "../../plugins/mlflow/mlflow.c"
#include "../../plugins/mlflow/nested.c"

#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQ 64
#define MAX_LOG 128
#define MAX_SPOOL 64

typedef struct {
    char method[8];
    char url[512];
    char ctype[64];
    char *body;
    size_t body_len;
    char bearer[64], user[64], password[64];
} request_t;

typedef struct {
    char kind[32];
    char *data;
    size_t len;
} spooled_t;

static struct {
    maestro_kv_t config[16];
    size_t n_config;
    int64_t now;
    /* scripted answers by request index: 0 none, -1 (default) the MLflow-like responder */
    long answers[MAX_REQ];
    const char *answer_body;     /* body for scripted statuses */
    const char *bodies[MAX_REQ]; /* per request, over answer_body */
    int down;                    /* every request gets no answer */
    /* the responder's world */
    int exp_exists, run_exists, pending_polls;
    const char *parent_id; /* runs/search naming it is the parent's: run p0 when parent_exists */
    int parent_exists;
    const char *artifact_uri;
    request_t req[MAX_REQ];
    int n_req;
    char log[MAX_LOG][1100];
    int n_log;
    spooled_t spool[MAX_SPOOL];
    int n_spool;
    int spool_fails;
    char secrets[4][128];
    int n_secrets;
} H;

static inline void h_log(void *ctx, maestro_log_level_t level, const char *message)
{
    (void)ctx;
    if (H.n_log < MAX_LOG)
        snprintf(H.log[H.n_log++], sizeof H.log[0], "%d %s", (int)level, message);
    if (getenv("MO_TEST_VERBOSE"))
        fprintf(stderr, "[mlflow %d] %s\n", (int)level, message);
}

static inline const char *h_config(void *ctx, const char *key)
{
    (void)ctx;
    for (size_t i = 0; i < H.n_config; i++)
        if (!strcmp(H.config[i].key, key))
            return H.config[i].value;
    return NULL;
}

static inline int64_t h_now(void)
{
    return H.now;
}

static inline const char *respond(const request_t *r, long *status)
{
    static char buf[1024];
    const char *u = r->url;
    *status = 200;
    if (strstr(u, "experiments/get-by-name")) {
        if (H.exp_exists)
            return "{\"experiment\":{\"experiment_id\":\"7\",\"name\":\"maestro\","
                   "\"lifecycle_stage\":\"active\"}}";
        *status = 404;
        return "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"Could not find "
               "experiment\"}";
    }
    if (strstr(u, "experiments/create")) {
        H.exp_exists = 1;
        return "{\"experiment_id\":\"7\"}";
    }
    if (strstr(u, "runs/search") && H.parent_id && r->body && strstr(r->body, H.parent_id))
        return H.parent_exists ? "{\"runs\":[{\"info\":{\"run_id\":\"p0\",\"experiment_id\":"
                                 "\"7\",\"status\":\"RUNNING\"}}]}"
                               : "{}";
    if (strstr(u, "runs/search") || strstr(u, "runs/get") || strstr(u, "runs/create")) {
        if (strstr(u, "runs/search") && !H.run_exists)
            return "{}";
        H.run_exists = 1;
        snprintf(buf, sizeof buf,
                 "{\"%s\":%s{\"info\":{\"run_id\":\"r1\",\"experiment_id\":\"7\",\"status\":"
                 "\"RUNNING\",\"artifact_uri\":\"%s\"}}%s}",
                 strstr(u, "runs/search") ? "runs" : "run", strstr(u, "runs/search") ? "[" : "",
                 H.artifact_uri, strstr(u, "runs/search") ? "]" : "");
        return buf;
    }
    if (strstr(u, "model-versions/search"))
        return "{}";
    if (strstr(u, "model-versions/create"))
        return "{\"model_version\":{\"name\":\"iris\",\"version\":\"3\",\"status\":"
               "\"PENDING_REGISTRATION\"}}";
    if (strstr(u, "model-versions/get")) {
        if (H.pending_polls > 0) {
            H.pending_polls--;
            return "{\"model_version\":{\"version\":\"3\",\"status\":\"PENDING_REGISTRATION\"}}";
        }
        return "{\"model_version\":{\"version\":\"3\",\"status\":\"READY\"}}";
    }
    if (strstr(u, "registered-models/create"))
        return "{\"registered_model\":{\"name\":\"iris\"}}";
    return "{}"; /* log-batch, update, alias, artifact PUT */
}

static inline int h_http(void *ctx, const maestro_http_request_t *req,
                         maestro_http_response_t *resp)
{
    (void)ctx;
    memset(resp, 0, sizeof *resp);
    int i = H.n_req;
    CU_ASSERT_FATAL(i < MAX_REQ);
    request_t *r = &H.req[H.n_req++];
    snprintf(r->method, sizeof r->method, "%s", req->method);
    snprintf(r->url, sizeof r->url, "%s", req->url);
    for (size_t k = 0; k < req->n_headers; k++)
        if (!strcmp(req->headers[k].key, "Content-Type"))
            snprintf(r->ctype, sizeof r->ctype, "%s", req->headers[k].value);
    snprintf(r->bearer, sizeof r->bearer, "%s", req->bearer_token ? req->bearer_token : "");
    snprintf(r->user, sizeof r->user, "%s", req->basic_user ? req->basic_user : "");
    snprintf(r->password, sizeof r->password, "%s", req->basic_password ? req->basic_password : "");
    r->body = calloc(1, req->body_len + 1);
    r->body_len = req->body_len;
    if (req->body_len)
        memcpy(r->body, req->body, req->body_len);
    long status = H.answers[i];
    const char *b;
    if (H.down || status == 0) {
        snprintf(resp->error, sizeof resp->error, "Connection refused");
        return MAESTRO_E_RETRY;
    }
    if (status < 0)
        b = respond(r, &status);
    else
        b = H.bodies[i] ? H.bodies[i] : H.answer_body ? H.answer_body : "";
    resp->status = status;
    resp->body = strdup(b);
    resp->body_len = strlen(b);
    return MAESTRO_OK;
}

static inline void h_free(void *ctx, maestro_http_response_t *resp)
{
    (void)ctx;
    free(resp->body);
    resp->body = NULL;
}

static inline int h_spool(void *ctx, const char *kind, const void *data, size_t len)
{
    (void)ctx;
    if (H.spool_fails || H.n_spool >= MAX_SPOOL)
        return MAESTRO_E_FAILED;
    spooled_t *s = &H.spool[H.n_spool++];
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    s->data = malloc(len + 1);
    memcpy(s->data, data, len);
    s->data[len] = '\0';
    s->len = len;
    return MAESTRO_OK;
}

static inline void h_secret(void *ctx, const char *value)
{
    (void)ctx;
    if (H.n_secrets < 4)
        snprintf(H.secrets[H.n_secrets++], sizeof H.secrets[0], "%s", value);
}

static const maestro_host_t host = {
    .version = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_host_t),
    .log = h_log,
    .config = h_config,
    .now_ns = h_now,
    .http = h_http,
    .free_response = h_free,
    .spool = h_spool,
    .register_secret = h_secret,
};

static inline void clear_requests(void)
{
    for (int i = 0; i < H.n_req; i++)
        free(H.req[i].body);
    H.n_req = 0;
    for (int i = 0; i < MAX_REQ; i++) {
        H.answers[i] = -1;
        H.bodies[i] = NULL;
    }
}

static inline void reset(void)
{
    clear_requests();
    for (int i = 0; i < H.n_spool; i++)
        free(H.spool[i].data);
    memset(&H, 0, sizeof H);
    for (int i = 0; i < MAX_REQ; i++)
        H.answers[i] = -1;
    H.now = 1700000000LL * 1000000000LL;
    H.artifact_uri = "mlflow-artifacts:/7/r1/artifacts";
    unsetenv("MLFLOW_TRACKING_TOKEN");
    unsetenv("MLFLOW_TRACKING_USERNAME");
    unsetenv("MLFLOW_TRACKING_PASSWORD");
}

static inline void set_config(const char *key, const char *value)
{
    for (size_t i = 0; i < H.n_config; i++)
        if (!strcmp(H.config[i].key, key)) {
            H.config[i].value = value;
            return;
        }
    H.config[H.n_config++] = (maestro_kv_t){key, value};
}

/* A plugin against the fake server: no backoff waits, metrics sent at 1000 or at run end. */
static inline void *start_plugin(void)
{
    void *st = NULL;
    char err[256] = "";
    set_config("url", "http://mlflow.test:5000/");
    set_config("backoff_s", "0");
    set_config("flush_interval_s", "3600");
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, err, sizeof err), MAESTRO_OK);
    return st;
}

static const maestro_kv_t run_params[] = {
    {"optimizer.lr", "0.05"},
    {"model.layers[0].units", "64"},
    {"model.layers_0_.units", "128"}, /* sanitises to the same key as the one above */
    {"data.path", "/data/iris.h5"},
};

static inline maestro_run_info_t run_info(int rank)
{
    maestro_run_info_t r = {
        .run_id = "iris-20240101T000000Z-ab12",
        .run_name = "iris",
        .job_kind = "train",
        .run_dir = mo_test_tmpdir(),
        .spec_text = "name: iris\n",
        .git_commit = "abc123def456",
        .maestro_version = "0.1.0",
        .rank = rank,
        .ranks = 2,
        .start_ns = H.now,
        .params = run_params,
        .n_params = sizeof run_params / sizeof *run_params,
    };
    return r;
}

static inline maestro_event_t metric(const char *name, double value, int64_t step)
{
    maestro_event_t e = {
        .kind = MAESTRO_EV_METRIC, .time_ns = H.now, .name = name, .value = value, .step = step};
    return e;
}

/* The request bodies of one endpoint, parsed, in order. */
static inline json_t *bodies_of(const char *endpoint)
{
    json_t *a = json_array();
    for (int i = 0; i < H.n_req; i++)
        if (strstr(H.req[i].url, endpoint))
            json_array_append_new(a, json_loads(H.req[i].body, 0, NULL));
    return a;
}

static inline int count_of(const char *endpoint)
{
    int n = 0;
    for (int i = 0; i < H.n_req; i++)
        n += strstr(H.req[i].url, endpoint) != NULL;
    return n;
}

static inline int logged(const char *text)
{
    for (int i = 0; i < H.n_log; i++)
        if (strstr(H.log[i], text))
            return 1;
    return 0;
}

static inline const char *tag_value(const json_t *tags, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(tags, i,
                       t) if (!strcmp(json_string_value(json_object_get(t, "key")),
                                      key)) return json_string_value(json_object_get(t, "value"));
    return NULL;
}

/* mo_test_write_file's path buffer is reused by the next call: keep a few of our own */
static inline const char *write_tmp(const char *name, const char *text)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s", mo_test_write_file(mo_test_tmpdir(), name, text));
    return p;
}

#endif
