/* test_mlflow.c - the mlflow plugin under a scripted host: limits, wire format, failures
 *
 * The plugin's sources are compiled into this test (after the ABI header, which their shared
 * header then skips), so the pure helpers (key sanitising, value truncation, log-batch
 * splitting) are tested directly, and the whole plugin runs against a host the test plays:
 * config lookups, a clock, an HTTP service that answers like an MLflow 2.12 server (or with
 * a scripted 503 / 400 / HTML page / no answer), and a spool kept in memory. That pins down
 * what goes on the wire and how failures are classified, spooled and replayed, without
 * timing. test_mlflow_server.c does the same through the real host against a real server.
 */
#include "plugins/maestro_plugin.h"

#include "../../plugins/mlflow/artifacts.c"
#include "../../plugins/mlflow/batch.c"
#include "../../plugins/mlflow/client.c"
#include "../../plugins/mlflow/local.c"
#include "../../plugins/mlflow/mlflow.c"

#include "tests/unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void h_log(void *ctx, maestro_log_level_t level, const char *message)
{
    (void)ctx;
    if (H.n_log < MAX_LOG)
        snprintf(H.log[H.n_log++], sizeof H.log[0], "%d %s", (int)level, message);
    if (getenv("MO_TEST_VERBOSE"))
        fprintf(stderr, "[mlflow %d] %s\n", (int)level, message);
}

static const char *h_config(void *ctx, const char *key)
{
    (void)ctx;
    for (size_t i = 0; i < H.n_config; i++)
        if (!strcmp(H.config[i].key, key))
            return H.config[i].value;
    return NULL;
}

static int64_t h_now(void)
{
    return H.now;
}

static const char *respond(const request_t *r, long *status)
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

static int h_http(void *ctx, const maestro_http_request_t *req, maestro_http_response_t *resp)
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

static void h_free(void *ctx, maestro_http_response_t *resp)
{
    (void)ctx;
    free(resp->body);
    resp->body = NULL;
}

static int h_spool(void *ctx, const char *kind, const void *data, size_t len)
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

static void h_secret(void *ctx, const char *value)
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

static void clear_requests(void)
{
    for (int i = 0; i < H.n_req; i++)
        free(H.req[i].body);
    H.n_req = 0;
    for (int i = 0; i < MAX_REQ; i++) {
        H.answers[i] = -1;
        H.bodies[i] = NULL;
    }
}

static void reset(void)
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

static void set_config(const char *key, const char *value)
{
    for (size_t i = 0; i < H.n_config; i++)
        if (!strcmp(H.config[i].key, key)) {
            H.config[i].value = value;
            return;
        }
    H.config[H.n_config++] = (maestro_kv_t){key, value};
}

/* A plugin against the fake server: no backoff waits, metrics sent at 1000 or at run end. */
static void *start_plugin(void)
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

static maestro_run_info_t run_info(int rank)
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

static maestro_event_t metric(const char *name, double value, int64_t step)
{
    maestro_event_t e = {
        .kind = MAESTRO_EV_METRIC, .time_ns = H.now, .name = name, .value = value, .step = step};
    return e;
}

/* The request bodies of one endpoint, parsed, in order. */
static json_t *bodies_of(const char *endpoint)
{
    json_t *a = json_array();
    for (int i = 0; i < H.n_req; i++)
        if (strstr(H.req[i].url, endpoint))
            json_array_append_new(a, json_loads(H.req[i].body, 0, NULL));
    return a;
}

static int count_of(const char *endpoint)
{
    int n = 0;
    for (int i = 0; i < H.n_req; i++)
        n += strstr(H.req[i].url, endpoint) != NULL;
    return n;
}

static int logged(const char *text)
{
    for (int i = 0; i < H.n_log; i++)
        if (strstr(H.log[i], text))
            return 1;
    return 0;
}

static const char *tag_value(const json_t *tags, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(tags, i,
                       t) if (!strcmp(json_string_value(json_object_get(t, "key")),
                                      key)) return json_string_value(json_object_get(t, "value"));
    return NULL;
}

/* mo_test_write_file's path buffer is reused by the next call: keep a few of our own */
static const char *write_tmp(const char *name, const char *text)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s", mo_test_write_file(mo_test_tmpdir(), name, text));
    return p;
}

/* ---- pure helpers ------------------------------------------------------------------------- */

static void expect_key(const char *in, const char *want, int changed)
{
    char *out = NULL;
    int rc = mlf_sanitize_key(in, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    if (strcmp(out, want))
        fprintf(stderr, "sanitize(\"%s\") = \"%s\", want \"%s\"\n", in, out, want);
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_EQUAL(rc, changed);
    free(out);
}

static void test_mlflow__keys_follow_mlflow_name_rules(void)
{
    expect_key("optimizer.lr", "optimizer.lr", 0);
    expect_key("val/accuracy-top 1", "val/accuracy-top 1", 0);
    expect_key("layers[0].units", "layers_0_.units", 1);
    expect_key("/abs/key", "_abs/key", 1);
    expect_key("a//b", "a/_b", 1);
    expect_key("a/", "a_", 1);
    expect_key("../x", "__/x", 1);
    expect_key("a/./b", "a/_/b", 1);
    expect_key("..x", "_.x", 1);
    expect_key("", "_", 1);
    expect_key("caf\xc3\xa9{x=1}", "caf__x_1_", 1);
    char long_key[400];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    char *out = NULL;
    CU_ASSERT_EQUAL(mlf_sanitize_key(long_key, &out), 1);
    CU_ASSERT_EQUAL(strlen(out), MLF_MAX_KEY_LEN);
    free(out);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void test_mlflow__values_are_cut_at_the_limit_with_a_marker(void)
{
    char *v = malloc(7001 * 2 + 1), *out = NULL;
    memset(v, 'x', 6000);
    v[6000] = '\0';
    CU_ASSERT_EQUAL(mlf_truncate_value(v, 6000, &out), 0);
    CU_ASSERT_STRING_EQUAL(out, v);
    free(out);

    v[6000] = 'y';
    v[6001] = '\0';
    CU_ASSERT_EQUAL(mlf_truncate_value(v, 6000, &out), 1);
    CU_ASSERT_EQUAL(strlen(out), 6000);
    CU_ASSERT_STRING_EQUAL(out + 6000 - strlen(MLF_TRUNC_MARKER), MLF_TRUNC_MARKER);
    CU_ASSERT_EQUAL(strncmp(out, v, 6000 - strlen(MLF_TRUNC_MARKER)), 0);
    free(out);

    /* MLflow counts characters, not bytes: 7000 two-byte characters cut to 6000 characters */
    for (int i = 0; i < 7000; i++)
        memcpy(v + 2 * i, "\xc3\xa9", 2);
    v[14000] = '\0';
    CU_ASSERT_EQUAL(mlf_truncate_value(v, 6000, &out), 1);
    CU_ASSERT_EQUAL(utf8_chars(out), 6000);
    json_t *js = json_string(out); /* jansson refuses strings that are not UTF-8 */
    CU_ASSERT_PTR_NOT_NULL(js);
    json_decref(js);
    free(out);

    /* bytes that are not UTF-8 become U+FFFD, so jansson (and MLflow) accept the value */
    CU_ASSERT_EQUAL(mlf_truncate_value("a\xff"
                                       "b",
                                       6000, &out),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "a\xEF\xBF\xBD"
                                "b");
    free(out);
    free(v);
}

static json_t *metric_entries(size_t n, size_t key_len)
{
    json_t *a = json_array();
    char key[300];
    memset(key, 'm', key_len);
    key[key_len] = '\0';
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:f, s:I, s:I}", "key", key, "value", 0.5 * i,
                                           "timestamp", (json_int_t)1700000000000, "step",
                                           (json_int_t)i));
    return a;
}

static void test_mlflow__batches_split_at_1000_metrics(void)
{
    json_t *m = metric_entries(2500, 10);
    size_t dropped = 9;
    json_t *b = mlf_batch_split(m, "metrics", MLF_MAX_BATCH_METRICS, MLF_MAX_BATCH_BYTES, &dropped);
    CU_ASSERT_EQUAL(dropped, 0);
    CU_ASSERT_EQUAL_FATAL(json_array_size(b), 3);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 0), "metrics")), 1000);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 1), "metrics")), 1000);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 2), "metrics")), 500);
    /* order kept: the last body ends with step 2499 */
    json_t *last = json_object_get(json_array_get(b, 2), "metrics");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(last, 499), "step")), 2499);
    json_decref(b);
    json_decref(m);
}

static void test_mlflow__batches_split_at_about_1_mb(void)
{
    /* 1000 metrics with 250-character keys are ~300 KB: one body. Params of 6000 quotes (each
     * escaped to two bytes) are ~12 KB each: 100 of them exceed 1e6 bytes and must split. */
    json_t *m = metric_entries(1000, 250);
    size_t dropped;
    json_t *b = mlf_batch_split(m, "metrics", 1000, MLF_MAX_BATCH_BYTES, &dropped);
    CU_ASSERT_EQUAL(json_array_size(b), 1);
    json_decref(b);
    json_decref(m);

    char *v = malloc(6001);
    memset(v, '"', 6000);
    v[6000] = '\0';
    json_t *p = json_array();
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        json_array_append_new(p, json_pack("{s:s, s:s}", "key", key, "value", v));
    }
    b = mlf_batch_split(p, "params", MLF_MAX_BATCH_PARAMS, MLF_MAX_BATCH_BYTES, &dropped);
    CU_ASSERT_EQUAL(dropped, 0);
    CU_ASSERT_EQUAL(json_array_size(b), 2);
    size_t i, total = 0;
    json_t *body;
    json_array_foreach(b, i, body)
    {
        /* what actually goes on the wire, run_id included, stays within MLflow's 1e6 bytes */
        json_object_set_new(body, "run_id", json_string("0123456789abcdef0123456789abcdef"));
        char *s = json_dumps(body, JSON_COMPACT);
        CU_ASSERT(strlen(s) <= MLF_MAX_BATCH_BYTES);
        free(s);
        total += json_array_size(json_object_get(body, "params"));
    }
    CU_ASSERT_EQUAL(total, 100);
    json_decref(b);

    /* an entry that cannot fit any body is dropped and counted, not sent to be refused */
    b = mlf_batch_split(p, "params", 100, 4096, &dropped);
    CU_ASSERT_EQUAL(dropped, 100);
    CU_ASSERT_EQUAL(json_array_size(b), 0);
    json_decref(b);
    json_decref(p);
    free(v);
}

static void test_mlflow__params_split_at_100_and_go_once(void)
{
    reset();
    void *st = start_plugin();
    maestro_kv_t params[250];
    char keys[250][16];
    for (int i = 0; i < 250; i++) {
        snprintf(keys[i], sizeof keys[i], "k%03d", i);
        params[i] = (maestro_kv_t){keys[i], "v"};
    }
    maestro_run_info_t run = run_info(0);
    run.params = params;
    run.n_params = 250;
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    json_t *b = bodies_of("runs/log-batch");
    CU_ASSERT_EQUAL_FATAL(json_array_size(b), 3);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 0), "params")), 100);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(b, 2), "params")), 50);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(b, 0), "run_id")),
                           "r1");
    json_decref(b);
    maestro_plugin.fini(st);
}

static void test_mlflow__alias_names(void)
{
    CU_ASSERT(mlf_alias_valid("champion"));
    CU_ASSERT(mlf_alias_valid("prod-2_b"));
    CU_ASSERT(!mlf_alias_valid(""));
    CU_ASSERT(!mlf_alias_valid("latest"));
    CU_ASSERT(!mlf_alias_valid("Latest"));
    CU_ASSERT(!mlf_alias_valid("v3"));
    CU_ASSERT(mlf_alias_valid("v3x"));
    CU_ASSERT(!mlf_alias_valid("has space"));
    CU_ASSERT(!mlf_alias_valid("a.b"));
}

/* ---- the run on the wire ------------------------------------------------------------------ */

static void test_mlflow__run_on_the_wire(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);

    /* experiment get (404) -> create, search by tag (none) -> create the run */
    CU_ASSERT_STRING_EQUAL(H.req[0].method, "GET");
    CU_ASSERT_STRING_EQUAL(H.req[0].url, "http://mlflow.test:5000/api/2.0/mlflow/experiments/"
                                         "get-by-name?experiment_name=maestro");
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[1].url, "/api/2.0/mlflow/experiments/create"));
    CU_ASSERT_STRING_EQUAL(H.req[1].ctype, "application/json");
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[2].url, "runs/search"));
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[2].body, "tags.`maestro.run_id` = "
                                                 "'iris-20240101T000000Z-ab12'"));
    json_t *create = json_loads(H.req[3].body, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[3].url, "runs/create"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(create, "experiment_id")), "7");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(create, "run_name")), "iris");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(create, "start_time")), 1700000000000LL);
    json_t *tags = json_object_get(create, "tags");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.runName"), "iris");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.source.name"), "maestro");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.source.type"), "JOB");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.source.git.commit"), "abc123def456");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.run_id"), "iris-20240101T000000Z-ab12");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.kind"), "train");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.ranks"), "2");
    json_decref(create);

    /* params: sanitised keys, each once (the clashing key keeps the first value) */
    json_t *pb = bodies_of("runs/log-batch");
    CU_ASSERT_EQUAL_FATAL(json_array_size(pb), 1);
    json_t *params = json_object_get(json_array_get(pb, 0), "params");
    CU_ASSERT_EQUAL(json_array_size(params), 3);
    CU_ASSERT_STRING_EQUAL(tag_value(params, "model.layers_0_.units"), "64");
    CU_ASSERT_STRING_EQUAL(tag_value(params, "optimizer.lr"), "0.05");
    CU_ASSERT(logged("already holds another value"));
    json_decref(pb);

    /* 2500 metrics -> log-batch of 1000, 1000 (while running) and 500 (at run end) */
    clear_requests();
    for (int i = 0; i < 2497; i++) {
        maestro_event_t e = metric("train_loss", 1.0 / (i + 1), i);
        CU_ASSERT_EQUAL(maestro_plugin.event(st, &e), MAESTRO_OK);
    }
    maestro_event_t specials[3] = {metric("val_loss", NAN, 1), metric("val_loss", INFINITY, 2),
                                   metric("val_loss", -INFINITY, 3)};
    for (int i = 0; i < 3; i++)
        maestro_plugin.event(st, &specials[i]);
    maestro_kv_t lbl = {"rank", "1"};
    maestro_event_t labelled = metric("samples_per_second", 1234.5, 10);
    labelled.labels = &lbl;
    labelled.n_labels = 1;
    maestro_plugin.event(st, &labelled);
    CU_ASSERT_EQUAL(count_of("runs/log-batch"), 2);

    const char *h5 = write_tmp("run.h5", "HDF5 bytes");
    const char *spec = write_tmp("spec.yml", "name: iris\n");
    maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = "spec.yml"};
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_OK);
    request_t *put = &H.req[H.n_req - 1];
    CU_ASSERT_STRING_EQUAL(put->method, "PUT");
    CU_ASSERT_STRING_EQUAL(put->url, "http://mlflow.test:5000/api/2.0/mlflow-artifacts/artifacts/"
                                     "7/r1/artifacts/spec.yml");
    CU_ASSERT_STRING_EQUAL(put->body, "name: iris\n");

    const char *names[] = {"val_accuracy"};
    double values[] = {0.97};
    maestro_run_end_t end = {.status = "ok",
                             .end_ns = H.now + 5000000000LL,
                             .metric_names = names,
                             .metric_values = values,
                             .n_metrics = 1,
                             .gates_passed = 1,
                             .model_path = h5,
                             .registry_model = "iris",
                             .registry_alias = "champion"};
    H.pending_polls = 2;
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_OK);

    json_t *mb = bodies_of("runs/log-batch");
    CU_ASSERT_EQUAL_FATAL(json_array_size(mb), 3);
    json_t *m0 = json_object_get(json_array_get(mb, 0), "metrics");
    json_t *m2 = json_object_get(json_array_get(mb, 2), "metrics");
    CU_ASSERT_EQUAL(json_array_size(m0), 1000);
    CU_ASSERT_EQUAL(json_array_size(m2), 501);
    json_t *first = json_array_get(m0, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "key")), "train_loss");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(first, "value")), 1.0, 1e-12);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "timestamp")), 1700000000000LL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "step")), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 497), "value")),
                           "NaN");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 498), "value")),
                           "Infinity");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 499), "value")),
                           "-Infinity");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 500), "key")),
                           "samples_per_second/rank_1");
    json_decref(mb);

    /* the model under model/, then registered with that folder as source, then the alias */
    int put_model = -1, create_v = -1, alias = -1, update = -1;
    for (int i = 0; i < H.n_req; i++) {
        if (strstr(H.req[i].url, "artifacts/7/r1/artifacts/model/run.h5"))
            put_model = i;
        if (strstr(H.req[i].url, "model-versions/create"))
            create_v = i;
        if (strstr(H.req[i].url, "registered-models/alias"))
            alias = i;
        if (strstr(H.req[i].url, "runs/update"))
            update = i;
    }
    if (!(put_model >= 0 && create_v > put_model && alias > create_v && update > alias))
        for (int i = 0; i < H.n_req; i++)
            fprintf(stderr, "  request %d: %s %s\n", i, H.req[i].method, H.req[i].url);
    CU_ASSERT(put_model >= 0 && create_v > put_model && alias > create_v && update > alias);
    CU_ASSERT_EQUAL(count_of("model-versions/get"), 3); /* PENDING, PENDING, READY */
    CU_ASSERT_EQUAL(count_of("registered-models/create"), 1);
    json_t *cv = json_loads(H.req[create_v].body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(cv, "source")),
                           "mlflow-artifacts:/7/r1/artifacts/model");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(cv, "run_id")), "r1");
    json_decref(cv);
    json_t *al = json_loads(H.req[alias].body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(al, "version")), "3");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(al, "alias")), "champion");
    json_decref(al);
    json_t *up = json_loads(H.req[update].body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(up, "status")), "FINISHED");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(up, "end_time")), 1700000005000LL);
    json_decref(up);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    maestro_plugin.fini(st);
}

static void test_mlflow__other_ranks_are_silent(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(1);
    maestro_plugin.run_start(st, &run);
    maestro_event_t e = metric("train_loss", 1, 1);
    maestro_plugin.event(st, &e);
    maestro_run_end_t end = {.status = "ok", .gates_passed = 1};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 0);
    maestro_plugin.fini(st);
}

static void end_with(void *st, const char *status, int gates_passed)
{
    const char *h5 = write_tmp("run.h5", "HDF5 bytes");
    maestro_run_end_t end = {.status = status,
                             .gates_passed = gates_passed,
                             .model_path = h5,
                             .registry_model = "iris",
                             .registry_alias = "champion"};
    maestro_plugin.run_end(st, &end);
}

static void test_mlflow__failed_runs_register_nothing(void)
{
    const char *statuses[][2] = {
        {"failed", "FAILED"}, {"gate_failed", "FAILED"}, {"preempted", "KILLED"}};
    for (int k = 0; k < 3; k++) {
        reset();
        void *st = start_plugin();
        maestro_run_info_t run = run_info(0);
        maestro_plugin.run_start(st, &run);
        end_with(st, statuses[k][0], k == 1 ? 0 : 1);
        CU_ASSERT_EQUAL(count_of("model-versions"), 0);
        CU_ASSERT_EQUAL(count_of("registered-models"), 0);
        json_t *up = bodies_of("runs/update");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "status")),
                               statuses[k][1]);
        json_decref(up);
        maestro_plugin.fini(st);
    }
}

/* ---- failures ----------------------------------------------------------------------------- */

static void test_mlflow__5xx_is_retried_then_works(void)
{
    reset();
    void *st = start_plugin();
    H.answers[0] = 503;
    H.answers[1] = 502;
    H.answer_body = "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":\"busy\"}";
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("experiments/get-by-name"), 3);
    CU_ASSERT_EQUAL(count_of("runs/create"), 1);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    maestro_plugin.fini(st);
}

static void test_mlflow__4xx_is_final_and_says_mlflows_error(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    clear_requests();
    maestro_event_t e = metric("loss", 1, 1);
    maestro_plugin.event(st, &e);
    H.answers[0] = 400;
    H.answer_body = "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"Changing "
                    "param values is not allowed.\"}";
    CU_ASSERT_EQUAL(mlf_metrics_flush(st), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_req, 1); /* not retried */
    CU_ASSERT_EQUAL(H.n_spool, 0);
    CU_ASSERT(logged("runs/log-batch: HTTP 400 INVALID_PARAMETER_VALUE: Changing param values "
                     "is not allowed."));
    maestro_plugin.fini(st);
}

static void test_mlflow__html_error_pages_are_read(void)
{
    reset();
    void *st = start_plugin();
    for (int i = 0; i < 4; i++)
        H.answers[i] = 500;
    H.answer_body = "<!doctype html>\n<html><head><title>500 Internal Server Error</title></head>"
                    "<body><h1>Internal Server Error</h1></body></html>";
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_req, 4); /* max_tries */
    CU_ASSERT(logged("HTTP 500 with a non-JSON body: 500 Internal Server Error"));
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 2);
    CU_ASSERT_STRING_EQUAL(H.spool[0].kind, "runs-create");
    CU_ASSERT_STRING_EQUAL(H.spool[1].kind, "runs-log-batch");
    maestro_plugin.fini(st);
}

static void test_mlflow__experiment_create_race(void)
{
    reset();
    void *st = start_plugin();
    H.exp_exists = 1; /* what the third request sees: the other run's experiment */
    H.answers[0] = 404;
    H.bodies[0] = "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"no\"}";
    H.answers[1] = 400;
    H.bodies[1] = "{\"error_code\":\"RESOURCE_ALREADY_EXISTS\",\"message\":\"exists\"}";
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[1].url, "experiments/create"));
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[2].url, "experiments/get-by-name"));
    json_t *create = bodies_of("runs/create");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(create, 0), "experiment_id")), "7");
    json_decref(create);
    maestro_plugin.fini(st);
}

static void test_mlflow__resumed_run_is_continued(void)
{
    reset();
    void *st = start_plugin();
    H.exp_exists = 1;
    H.run_exists = 1; /* runs/search finds the run tagged with this maestro.run_id */
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("runs/create"), 0);
    json_t *up = bodies_of("runs/update");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "status")),
                           "RUNNING");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "run_id")),
                           "r1");
    json_decref(up);
    maestro_plugin.fini(st);
}

/* Replay everything spooled so far through flush(), as the host does; returns how many were
 * delivered and leaves the undelivered ones. */
static int flush_all(void *st)
{
    int ok = 0, n = H.n_spool;
    spooled_t copy[MAX_SPOOL];
    memcpy(copy, H.spool, sizeof copy);
    H.n_spool = 0;
    for (int i = 0; i < n; i++) {
        int rc = maestro_plugin.flush(st, copy[i].kind, copy[i].data, copy[i].len);
        if (rc == MAESTRO_OK) {
            ok++;
            free(copy[i].data);
        } else {
            H.spool[H.n_spool++] = copy[i]; /* kept, in order */
        }
    }
    return ok;
}

static void run_while_down(void *st)
{
    H.down = 1;
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_req, 4); /* one call tried 4 times; the rest goes straight to the spool */
    maestro_event_t e = metric("train_loss", 0.25, 7);
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &e), MAESTRO_OK); /* buffered */
    const char *spec = write_tmp("spec.yml", "name: iris\n");
    maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = "spec.yml"};
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_E_RETRY);
    end_with(st, "ok", 1);
    CU_ASSERT_EQUAL(H.n_req, 4);
    const char *kinds[] = {"runs-create", "runs-log-batch", "artifact",   "runs-log-batch",
                           "artifact",    "register",       "runs-update"};
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 7);
    for (int i = 0; i < 7; i++)
        CU_ASSERT_STRING_EQUAL(H.spool[i].kind, kinds[i]);
    CU_ASSERT(logged("did not answer; the run is spooled"));
}

static void test_mlflow__server_down_spools_in_order_and_flush_delivers(void)
{
    reset();
    set_config("token", "tok-SECRET-1234");
    void *st = start_plugin();
    run_while_down(st);
    for (int i = 0; i < H.n_spool; i++)
        CU_ASSERT_PTR_NULL(strstr(H.spool[i].data, "SECRET")); /* never the credentials */

    /* still down: the first payload stays, nothing is lost */
    clear_requests();
    CU_ASSERT_EQUAL(maestro_plugin.flush(st, H.spool[0].kind, H.spool[0].data, H.spool[0].len),
                    MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_req, 1); /* flush tries once: the host retries later */

    H.down = 0;
    clear_requests();
    CU_ASSERT_EQUAL(flush_all(st), 7);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    CU_ASSERT_EQUAL(count_of("runs/create"), 1);
    CU_ASSERT_EQUAL(count_of("runs/log-batch"), 2);
    CU_ASSERT_EQUAL(count_of("mlflow-artifacts/artifacts/7/r1/artifacts/spec.yml"), 1);
    CU_ASSERT_EQUAL(count_of("mlflow-artifacts/artifacts/7/r1/artifacts/model/run.h5"), 1);
    CU_ASSERT_EQUAL(count_of("registered-models/alias"), 1);
    json_t *up = bodies_of("runs/update");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "status")),
                           "FINISHED");
    json_decref(up);
    json_t *lb = bodies_of("runs/log-batch");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(lb, 1), "run_id")),
                           "r1");
    json_decref(lb);
    for (int i = 0; i < H.n_req; i++)
        CU_ASSERT_STRING_EQUAL(H.req[i].bearer, "tok-SECRET-1234");

    /* everything delivered: the plugin sends directly again */
    clear_requests();
    CU_ASSERT_EQUAL(st ? ((mlf_state_t *)st)->spooling : -1, 0);
    maestro_plugin.fini(st);
}

static void test_mlflow__flush_in_a_fresh_process_finds_the_run(void)
{
    reset();
    void *st = start_plugin();
    run_while_down(st);
    maestro_plugin.fini(st);

    /* `maestro plugins flush RUN_DIR`: a new instance, no run_start, no url in its config */
    H.down = 0;
    clear_requests();
    H.n_config = 0;
    set_config("backoff_s", "0");
    char err[256];
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, err, sizeof err), MAESTRO_OK);
    spooled_t first = H.spool[0];
    /* drop the runs-create: the run was made by someone (an earlier flush) already */
    memmove(H.spool, H.spool + 1, (size_t)(H.n_spool - 1) * sizeof *H.spool);
    H.n_spool--;
    H.exp_exists = 1;
    H.run_exists = 1;
    CU_ASSERT_EQUAL(flush_all(st), 6);
    CU_ASSERT_EQUAL(count_of("runs/search"), 1); /* looked up once by its maestro.run_id tag */
    CU_ASSERT_EQUAL(count_of("runs/create"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[0].url, "http://mlflow.test:5000/api/2.0/"));
    free(first.data);
    maestro_plugin.fini(st);
}

static void test_mlflow__spool_failure_is_said(void)
{
    reset();
    void *st = start_plugin();
    H.down = 1;
    H.spool_fails = 1; /* a run with no run folder */
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_E_FAILED);
    CU_ASSERT(logged("could not be spooled either; it is lost"));
    maestro_plugin.fini(st);
}

static void test_mlflow__other_artifact_stores_are_refused(void)
{
    reset();
    void *st = start_plugin();
    H.artifact_uri = "s3://bucket/7/r1/artifacts";
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    const char *spec = write_tmp("spec.yml", "name: iris\n");
    maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = "spec.yml"};
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_E_FAILED);
    CU_ASSERT(logged("stores artifacts at s3://bucket/7/r1/artifacts, not behind the tracking "
                     "server's artifact proxy"));
    int said = 0;
    for (int i = 0; i < H.n_log; i++)
        said += strstr(H.log[i], "artifact proxy") != NULL;
    CU_ASSERT_EQUAL(said, 1);
    end_with(st, "ok", 1);
    for (int i = 0; i < H.n_req; i++)
        CU_ASSERT_STRING_NOT_EQUAL(H.req[i].method, "PUT");
    CU_ASSERT_EQUAL(count_of("model-versions"), 0);
    CU_ASSERT_EQUAL(count_of("runs/update"), 1);
    maestro_plugin.fini(st);
}

static void test_mlflow__bad_artifact_names_stay_in_the_run(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    const char *spec = write_tmp("spec.yml", "x");
    const char *bad[] = {"../escape", "/abs", "a//b", "a/..", ""};
    for (int i = 0; i < 5; i++) {
        maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = bad[i]};
        int rc = maestro_plugin.event(st, &art);
        CU_ASSERT(bad[i][0] ? rc == MAESTRO_E_FAILED : rc == MAESTRO_OK); /* "" -> file name */
    }
    CU_ASSERT_EQUAL(count_of("artifacts/7/r1/artifacts/spec.yml"), 1);
    maestro_plugin.fini(st);
}

static void test_mlflow__credentials(void)
{
    reset();
    setenv("MLFLOW_TRACKING_TOKEN", "env-token-5678", 1);
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    CU_ASSERT_STRING_EQUAL(H.req[0].bearer, "env-token-5678");
    CU_ASSERT_STRING_EQUAL(H.secrets[0], "env-token-5678");
    CU_ASSERT(!logged("env-token-5678"));
    maestro_plugin.fini(st);

    reset();
    set_config("username", "alice");
    set_config("password", "pw-secret-99");
    st = start_plugin();
    maestro_plugin.run_start(st, &run);
    CU_ASSERT_STRING_EQUAL(H.req[0].bearer, "");
    CU_ASSERT_STRING_EQUAL(H.req[0].user, "alice");
    CU_ASSERT_STRING_EQUAL(H.req[0].password, "pw-secret-99");
    CU_ASSERT_STRING_EQUAL(H.secrets[0], "pw-secret-99");
    maestro_plugin.fini(st);

    reset();
    setenv("MLFLOW_TRACKING_USERNAME", "bob", 1);
    setenv("MLFLOW_TRACKING_PASSWORD", "env-pw-0000", 1);
    st = start_plugin();
    maestro_plugin.run_start(st, &run);
    CU_ASSERT_STRING_EQUAL(H.req[0].user, "bob");
    CU_ASSERT_STRING_EQUAL(H.req[0].password, "env-pw-0000");
    maestro_plugin.fini(st);
    reset();
}

static void expect_config_error(const char *key, const char *value, const char *msg)
{
    reset();
    set_config(key, value);
    void *st = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(maestro_plugin.init(&st, &host, err, sizeof err), MAESTRO_E_CONFIG);
    CU_ASSERT_PTR_NULL(st);
    if (!strstr(err, msg))
        fprintf(stderr, "init error: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, msg));
}

static void test_mlflow__bad_config_is_refused_at_init(void)
{
    expect_config_error("url", "file:///tmp/mlruns", "url must be an http:// or https://");
    expect_config_error("retries", "many", "retries must be a number from 0 to 20");
    expect_config_error("timeout_s", "-1", "timeout_s must be a number");
    expect_config_error("param_value_max", "5", "param_value_max must be a number from 64");
    expect_config_error("password", "pw", "password is set but username is not");
}

/* ---- the local registry (no url) ----------------------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void *local_plugin(const char *dir)
{
    void *st = NULL;
    char err[256];
    reset();
    set_config("registry_dir", dir);
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, err, sizeof err), MAESTRO_OK);
    return st;
}

static int local_run(const char *dir, const char *status, int gates, const char *model,
                     const char *alias, const char *bytes)
{
    void *st = local_plugin(dir);
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    maestro_event_t e = metric("train_loss", 0.5, 1);
    maestro_plugin.event(st, &e);
    const char *h5 = write_tmp("model.h5", bytes);
    const char *names[] = {"val_accuracy", "val_loss"};
    double values[] = {0.97, NAN};
    maestro_run_end_t end = {.status = status,
                             .gates_passed = gates,
                             .model_path = h5,
                             .metric_names = names,
                             .metric_values = values,
                             .n_metrics = 2,
                             .registry_model = model,
                             .registry_alias = alias};
    int rc = maestro_plugin.run_end(st, &end);
    CU_ASSERT_EQUAL(H.n_req, 0); /* nothing on the network */
    maestro_plugin.fini(st);
    return rc;
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void test_mlflow__local_registry_versions_and_aliases(void)
{
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/registry", mo_test_tmpdir());
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "champion", "first model"), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/iris/versions/1/run.h5", dir);
    char *text = read_text(path);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "first model");
    free(text);
    snprintf(path, sizeof path, "%s/iris/versions/1/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(meta, "version")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "run_id")),
                           "iris-20240101T000000Z-ab12");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "run_name")), "iris");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "created")),
                           "2023-11-14T22:13:20Z");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "source_run_dir")),
                           mo_test_tmpdir());
    json_t *fm = json_object_get(meta, "final_metrics");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(fm, "val_accuracy")), 0.97, 1e-12);
    CU_ASSERT(json_is_null(json_object_get(fm, "val_loss")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(meta, "artifact_bytes")), 11);
    json_decref(meta);

    /* a second run: version 2, and the alias moves to it */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "champion", "second model"), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/iris/aliases.json", dir);
    json_t *aliases = json_load_file(path, 0, NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(aliases, "champion")), 2);
    json_decref(aliases);
    /* another alias keeps the first */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "staging", "third"), MAESTRO_OK);
    aliases = json_load_file(path, 0, NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(aliases, "champion")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(aliases, "staging")), 3);
    json_decref(aliases);

    /* failed, gate-failed and preempted runs register nothing */
    CU_ASSERT_EQUAL(local_run(dir, "failed", 1, "iris", "champion", "x"), MAESTRO_OK);
    CU_ASSERT_EQUAL(local_run(dir, "gate_failed", 0, "iris", "champion", "x"), MAESTRO_OK);
    CU_ASSERT_EQUAL(local_run(dir, "ok", 0, "iris", "champion", "x"), MAESTRO_OK);
    CU_ASSERT_EQUAL(local_run(dir, "preempted", 1, "iris", "champion", "x"), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/iris/versions", dir);
    CU_ASSERT_EQUAL(count_entries(path), 3); /* 1, 2, 3 and no temp folder */
    snprintf(path, sizeof path, "%s/iris", dir);
    CU_ASSERT_EQUAL(count_entries(path), 3); /* versions, aliases.json, .lock: no temp files */

    /* a model name that cannot be a folder is refused, nothing written */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "../evil", NULL, "x"), MAESTRO_E_FAILED);
    CU_ASSERT(logged("cannot be a folder name"));
    CU_ASSERT_EQUAL(count_entries(dir), 1);
    /* an invalid alias registers the version without it */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "latest", "x"), MAESTRO_OK);
    CU_ASSERT(logged("registering without it"));
    snprintf(path, sizeof path, "%s/iris/aliases.json", dir);
    aliases = json_load_file(path, 0, NULL);
    CU_ASSERT_PTR_NULL(json_object_get(aliases, "latest"));
    json_decref(aliases);
}

static void test_mlflow__local_registry_failures_are_clean(void)
{
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/registry-bad", mo_test_tmpdir());
    void *st = local_plugin(dir);
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    maestro_run_end_t end = {.status = "ok",
                             .gates_passed = 1,
                             .model_path = "/nonexistent/run.h5",
                             .registry_model = "iris"};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_E_FAILED);
    CU_ASSERT(logged("/nonexistent/run.h5"));
    maestro_plugin.fini(st);
    snprintf(path, sizeof path, "%s/iris/versions", dir);
    CU_ASSERT_EQUAL(count_entries(path), 0); /* the half-made version was removed */

    /* a damaged aliases.json is not silently replaced */
    snprintf(path, sizeof path, "%s/iris", dir);
    mo_test_write_file(path, "aliases.json", "{not json");
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "champion", "m"), MAESTRO_E_FAILED);
    snprintf(path, sizeof path, "%s/iris/aliases.json", dir);
    char *text = read_text(path);
    CU_ASSERT_STRING_EQUAL(text, "{not json");
    free(text);

    /* a run with no model but a registry entry says so */
    st = local_plugin(dir);
    maestro_plugin.run_start(st, &run);
    maestro_run_end_t none = {.status = "ok", .gates_passed = 1, .registry_model = "iris"};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &none), MAESTRO_OK);
    CU_ASSERT(logged("the run made no model; nothing registered"));
    maestro_plugin.fini(st);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow__keys_follow_mlflow_name_rules),
    MO_TEST(test_mlflow__values_are_cut_at_the_limit_with_a_marker),
    MO_TEST(test_mlflow__batches_split_at_1000_metrics),
    MO_TEST(test_mlflow__batches_split_at_about_1_mb),
    MO_TEST(test_mlflow__params_split_at_100_and_go_once),
    MO_TEST(test_mlflow__alias_names),
    MO_TEST(test_mlflow__run_on_the_wire),
    MO_TEST(test_mlflow__other_ranks_are_silent),
    MO_TEST(test_mlflow__failed_runs_register_nothing),
    MO_TEST(test_mlflow__5xx_is_retried_then_works),
    MO_TEST(test_mlflow__4xx_is_final_and_says_mlflows_error),
    MO_TEST(test_mlflow__html_error_pages_are_read),
    MO_TEST(test_mlflow__experiment_create_race),
    MO_TEST(test_mlflow__resumed_run_is_continued),
    MO_TEST(test_mlflow__server_down_spools_in_order_and_flush_delivers),
    MO_TEST(test_mlflow__flush_in_a_fresh_process_finds_the_run),
    MO_TEST(test_mlflow__spool_failure_is_said),
    MO_TEST(test_mlflow__other_artifact_stores_are_refused),
    MO_TEST(test_mlflow__bad_artifact_names_stay_in_the_run),
    MO_TEST(test_mlflow__credentials),
    MO_TEST(test_mlflow__bad_config_is_refused_at_init),
    MO_TEST(test_mlflow__local_registry_versions_and_aliases),
    MO_TEST(test_mlflow__local_registry_failures_are_clean),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = mo_test_main("plugins/mlflow", tests);
    reset();
    return rc;
}
