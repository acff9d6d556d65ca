/* test_prometheus_plugin.c - the prometheus plugin's shared object under a scripted host
 *
 * The test dlopens build/plugins/maestro-prometheus.so and is its host: it answers config
 * lookups, runs a clock it controls, records every HTTP request and answers it from a script
 * (200, 503, 400, no response), and keeps what the plugin spools. That pins down what goes on
 * the wire (method, URL, Content-Type, body), when pushes happen, and how failures are
 * classified, spooled and flushed, exactly and without timing. test_prometheus.c does the same
 * through the real host against a real Pushgateway.
 */
#include "plugins/maestro_plugin.h"

#include "tests/unit.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REQ 32
#define MAX_LOG 64
#define MAX_SPOOL 16

typedef struct {
    char method[8];
    char url[512];
    char content_type[64];
    char *body;
} request_t;

typedef struct {
    char kind[16];
    char *data;
    size_t len;
} spooled_t;

/* the scripted host's whole state; reset by setup() */
static struct {
    const maestro_kv_t *config;
    size_t n_config;
    int64_t now;
    long answers[MAX_REQ]; /* status for request i; 0: no response; unset (-1): 200 */
    const char *answer_body;
    request_t req[MAX_REQ];
    int n_req;
    char log[MAX_LOG][1100];
    int n_log;
    spooled_t spool[MAX_SPOOL];
    int n_spool;
    const char *spool_dir; /* NULL: spooling fails, as without a run folder */
} H;

static const maestro_plugin_t *P;

static void h_log(void *ctx, maestro_log_level_t level, const char *message)
{
    (void)ctx;
    if (H.n_log < MAX_LOG)
        snprintf(H.log[H.n_log++], sizeof H.log[0], "%d %s", (int)level, message);
    if (getenv("MO_TEST_VERBOSE"))
        fprintf(stderr, "[plugin %d] %s\n", (int)level, message);
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

static int h_http(void *ctx, const maestro_http_request_t *req, maestro_http_response_t *resp)
{
    (void)ctx;
    memset(resp, 0, sizeof *resp);
    int i = H.n_req;
    CU_ASSERT_FATAL(i < MAX_REQ);
    request_t *r = &H.req[H.n_req++];
    snprintf(r->method, sizeof r->method, "%s", req->method);
    snprintf(r->url, sizeof r->url, "%s", req->url);
    r->content_type[0] = '\0';
    for (size_t k = 0; k < req->n_headers; k++)
        if (!strcmp(req->headers[k].key, "Content-Type"))
            snprintf(r->content_type, sizeof r->content_type, "%s", req->headers[k].value);
    r->body = calloc(1, req->body_len + 1);
    if (req->body_len)
        memcpy(r->body, req->body, req->body_len);
    long status = H.answers[i] < 0 ? 200 : H.answers[i];
    if (status == 0) {
        snprintf(resp->error, sizeof resp->error, "Connection refused");
        return MAESTRO_E_RETRY;
    }
    resp->status = status;
    const char *b = status >= 400 && H.answer_body ? H.answer_body : "";
    resp->body = malloc(strlen(b) + 1);
    memcpy(resp->body, b, strlen(b) + 1);
    resp->body_len = strlen(b);
    return MAESTRO_OK;
}

static void h_free(void *ctx, maestro_http_response_t *resp)
{
    (void)ctx;
    free(resp->body);
    resp->body = NULL;
}

/* Like the real host: kept in memory for the test, and as <seq>-<kind> in spool_dir. */
static int h_spool(void *ctx, const char *kind, const void *data, size_t len)
{
    (void)ctx;
    if (!H.spool_dir || H.n_spool >= MAX_SPOOL)
        return MAESTRO_E_FAILED;
    spooled_t *s = &H.spool[H.n_spool++];
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    s->data = malloc(len + 1);
    memcpy(s->data, data, len);
    s->data[len] = '\0';
    s->len = len;
    char path[1024];
    snprintf(path, sizeof path, "%s/%08d-%s", H.spool_dir, H.n_spool, kind);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(data, 1, len, f);
    fclose(f);
    return MAESTRO_OK;
}

static void h_secret(void *ctx, const char *value)
{
    (void)ctx;
    (void)value;
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

static void reset(void)
{
    for (int i = 0; i < H.n_req; i++)
        free(H.req[i].body);
    for (int i = 0; i < H.n_spool; i++)
        free(H.spool[i].data);
    memset(&H, 0, sizeof H);
    for (int i = 0; i < MAX_REQ; i++)
        H.answers[i] = -1;
    H.now = 1700000000LL * 1000000000LL;
}

static int setup(const maestro_kv_t *config, size_t n)
{
    reset();
    H.config = config;
    H.n_config = n;
    return 0;
}

/* A fresh folder under the test's tmpdir, with spool/prometheus inside as the host makes it. */
static const char *run_dir(const char *name)
{
    static char dir[512];
    char spool[600];
    snprintf(dir, sizeof dir, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    mkdir(spool, 0700);
    snprintf(spool, sizeof spool, "%s/spool/prometheus", dir);
    mkdir(spool, 0700);
    return dir;
}

static maestro_run_info_t run_info(const char *dir, int rank)
{
    maestro_run_info_t r = {
        .run_id = "demo-20240101T000000Z-ab12",
        .run_name = "demo",
        .job_kind = "train",
        .run_dir = dir,
        .git_commit = "abc123",
        .maestro_version = "0.1.0",
        .rank = rank,
        .ranks = 2,
        .start_ns = H.now,
    };
    return r;
}

static int metric(void *st, const char *name, double value)
{
    maestro_event_t ev = {
        .kind = MAESTRO_EV_METRIC, .time_ns = H.now, .name = name, .value = value};
    return P->event(st, &ev);
}

static int end_run(void *st, const char *status, int64_t end_ns)
{
    static const char *const names[] = {"val_accuracy", "train_loss"};
    static const double values[] = {0.9, 0.125};
    maestro_run_end_t e = {.status = status,
                           .end_ns = end_ns,
                           .metric_names = names,
                           .metric_values = values,
                           .n_metrics = 2,
                           .gates_passed = 1};
    return P->run_end(st, &e);
}

static int has(const char *text, const char *needle)
{
    int found = text && strstr(text, needle) != NULL;
    if (!found)
        fprintf(stderr, "\n  missing [%s] in:\n%s\n", needle, text ? text : "(null)");
    return found;
}

static int logged(const char *needle)
{
    for (int i = 0; i < H.n_log; i++)
        if (strstr(H.log[i], needle))
            return 1;
    fprintf(stderr, "\n  no log line has [%s]\n", needle);
    return 0;
}

#define URL "http://127.0.0.1:9/gw"
#define GROUP URL "/metrics/job/maestro/run/demo-20240101T000000Z-ab12/rank/"

static void *start(const maestro_kv_t *cfg, size_t n)
{
    setup(cfg, n);
    void *st = NULL;
    char err[256] = "";
    int rc = P->init(&st, &host, err, sizeof err);
    CU_ASSERT_EQUAL(rc, MAESTRO_OK);
    if (rc)
        fprintf(stderr, "\n  init: %s\n", err);
    return st;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_prometheus_plugin__descriptor(void)
{
    CU_ASSERT_EQUAL(P->abi_major, MAESTRO_PLUGIN_ABI_MAJOR);
    CU_ASSERT_EQUAL(P->struct_size, sizeof(maestro_plugin_t));
    CU_ASSERT_EQUAL(P->type, MAESTRO_PLUGIN_METRICS);
    CU_ASSERT_STRING_EQUAL(P->name, "prometheus");
    CU_ASSERT_PTR_NOT_NULL(P->flush);
    CU_ASSERT_PTR_NULL(P->resolve_secret);
}

static void test_prometheus_plugin__bad_config_names_the_key(void)
{
    static const struct {
        maestro_kv_t kv;
        const char *want;
    } cases[] = {
        {{"url", "ftp://x"}, "url must be http(s)://"},
        {{"url", "http://"}, "url must be http(s)://"},
        {{"url", "http://h/a b"}, "url must be"},
        {{"url", "http://h/?q=1"}, "url must be"},
        {{"job", ""}, "job must not be empty"},
        {{"interval", "0"}, "interval must be a positive number of seconds, got '0'"},
        {{"interval", "5s"}, "got '5s'"},
        {{"interval", "nan"}, "got 'nan'"},
        {{"delete_on_success", "yes"}, "delete_on_success must be true or false, got 'yes'"},
        {{"textfile_dir", "/nonexistent/maestro"}, "textfile_dir '/nonexistent/maestro' is not"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup(&cases[i].kv, 1);
        void *st = (void *)1;
        char err[256] = "";
        CU_ASSERT_EQUAL(P->init(&st, &host, err, sizeof err), MAESTRO_E_CONFIG);
        CU_ASSERT_PTR_NULL(st);
        CU_ASSERT(has(err, cases[i].want));
    }
    setup(NULL, 0);
    void *st = NULL;
    char err[256] = "";
    maestro_host_t partial = host;
    partial.http = NULL;
    CU_ASSERT_EQUAL(P->init(&st, &partial, err, sizeof err), MAESTRO_E_FAILED);
    CU_ASSERT_PTR_NULL(st);
    P->fini(NULL);
}

static void test_prometheus_plugin__pushes_at_start_each_epoch_and_end(void)
{
    maestro_kv_t cfg[] = {{"url", URL "/"}};
    void *st = start(cfg, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 1);
    CU_ASSERT_STRING_EQUAL(H.req[0].method, "PUT");
    CU_ASSERT_STRING_EQUAL(H.req[0].url, GROUP "0");
    CU_ASSERT_STRING_EQUAL(H.req[0].content_type, "text/plain; version=0.0.4");
    CU_ASSERT(has(H.req[0].body, "maestro_run_info{commit=\"abc123\",kind=\"train\",name=\"demo\","
                                 "run_id=\"demo-20240101T000000Z-ab12\",version=\"0.1.0\"} 1\n"));
    CU_ASSERT(has(H.req[0].body, "maestro_run_status{status=\"running\"} 1\n"));
    CU_ASSERT(has(H.req[0].body, "maestro_run_status{status=\"ok\"} 0\n"));
    CU_ASSERT(has(H.req[0].body, "maestro_run_duration_seconds 0\n"));

    /* nothing goes out until the epoch ends */
    H.now += 1500000000; /* 1.5 s */
    CU_ASSERT_EQUAL(metric(st, "train_loss", 0.5), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "val_accuracy", 0.75), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "accuracy", 0.8), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "samples_per_second", 12345.5), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "allreduce_seconds_total", 0.25), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "checkpoint_seconds", 0.125), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "step", 40), MAESTRO_OK);
    maestro_event_t log = {.kind = MAESTRO_EV_LOG, .message = "hello"};
    CU_ASSERT_EQUAL(P->event(st, &log), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    const char *b = H.req[1].body;
    CU_ASSERT(has(b, "# TYPE maestro_train_loss gauge\nmaestro_train_loss 0.5\n"));
    CU_ASSERT(has(b, "maestro_val_metric{name=\"accuracy\"} 0.75\n"));
    CU_ASSERT(has(b, "maestro_train_metric{name=\"accuracy\"} 0.8\n"));
    CU_ASSERT(has(b, "maestro_samples_per_second 12345.5\n"));
    CU_ASSERT(has(b, "# TYPE maestro_allreduce_seconds_total counter\n"
                     "maestro_allreduce_seconds_total 0.25\n"));
    CU_ASSERT(has(b, "maestro_checkpoint_seconds 0.125\n"));
    CU_ASSERT(has(b, "maestro_step 40\n"));
    CU_ASSERT(has(b, "maestro_epoch 1\n"));
    CU_ASSERT(has(b, "maestro_run_duration_seconds 1.5\n"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_gates_passed"));

    CU_ASSERT_EQUAL(end_run(st, "ok", ri.start_ns + 2250000000LL), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 3);
    b = H.req[2].body;
    CU_ASSERT_STRING_EQUAL(H.req[2].method, "PUT");
    CU_ASSERT(has(b, "maestro_run_status{status=\"ok\"} 1\n"));
    CU_ASSERT(has(b, "maestro_run_status{status=\"running\"} 0\n"));
    CU_ASSERT(has(b, "maestro_run_duration_seconds 2.25\n"));
    CU_ASSERT(has(b, "maestro_gates_passed 1\n"));
    /* final metrics replace the last epoch's */
    CU_ASSERT(has(b, "maestro_val_metric{name=\"accuracy\"} 0.9\n"));
    CU_ASSERT(has(b, "maestro_train_loss 0.125\n"));
    /* after the end nothing moves */
    CU_ASSERT_EQUAL(metric(st, "epoch", 2), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 3);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    P->fini(st);
}

static void test_prometheus_plugin__other_ranks_push_their_own_series_only(void)
{
    maestro_kv_t cfg[] = {{"url", URL}, {"job", "team/nightly"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 1);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    /* no "epoch" event on this rank: its series go out when the events' epoch moves on */
    maestro_event_t ev = {.kind = MAESTRO_EV_METRIC, .name = "samples_per_second", .value = 90};
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    ev.epoch = 1;
    ev.value = 100;
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT(has(H.req[1].body, "maestro_samples_per_second 100\n"));
    ev.name = "allreduce_seconds_total";
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    CU_ASSERT_EQUAL(end_run(st, "failed", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 3);
    CU_ASSERT_STRING_EQUAL(H.req[2].url, URL "/metrics/job@base64/dGVhbS9uaWdodGx5/run/"
                                             "demo-20240101T000000Z-ab12/rank/1");
    CU_ASSERT_STRING_EQUAL(H.req[0].body, ""); /* an empty PUT still says the group exists */
    const char *b = H.req[2].body;
    CU_ASSERT(has(b, "maestro_samples_per_second 100\n"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_run_info"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_run_status"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_run_duration_seconds"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_gates_passed"));
    /* the final metrics are run-level too */
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_val_metric"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_train_loss"));
    P->fini(st);
}

static void test_prometheus_plugin__interval_replaces_epoch_pushes(void)
{
    maestro_kv_t cfg[] = {{"url", URL}, {"interval", "10"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    H.now += 9000000000LL;
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    H.now += 1000000000LL;
    CU_ASSERT_EQUAL(metric(st, "train_loss", 0.5), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT(has(H.req[1].body, "maestro_epoch 1\n"));
    CU_ASSERT(has(H.req[1].body, "maestro_run_duration_seconds 10\n"));
    H.now += 1000000000LL;
    CU_ASSERT_EQUAL(metric(st, "epoch", 2), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    P->fini(st);
}

static void test_prometheus_plugin__event_labels_kept_reserved_dropped(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    maestro_kv_t labels[] = {{"rank", "7"},     {"job", "x"},         {"__meta", "x"},
                             {"name", "other"}, {"data-set", "a\"b"}, {"split", "test"}};
    maestro_event_t ev = {
        .kind = MAESTRO_EV_METRIC, .name = "val_f1", .value = 0.5, .labels = labels, .n_labels = 6};
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT(has(H.req[1].body,
                  "maestro_val_metric{data_set=\"a\\\"b\",name=\"f1\",split=\"test\"} 0.5\n"));
    P->fini(st);
}

static void test_prometheus_plugin__5xx_spooled_then_flushed(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    H.spool_dir = run_dir("s5xx");
    H.answers[0] = 503;
    H.answer_body = "busy";
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    CU_ASSERT_STRING_EQUAL(H.spool[0].kind, "push-rank0");
    CU_ASSERT(logged("HTTP 503: busy; spooled for retry"));
    /* the spooled payload carries the body as it was to be sent */
    const char *body = strstr(H.spool[0].data, "\n\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body + 2, H.req[0].body);

    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT_STRING_EQUAL(H.req[1].method, "PUT");
    CU_ASSERT_STRING_EQUAL(H.req[1].url, GROUP "0");
    CU_ASSERT_STRING_EQUAL(H.req[1].body, H.req[0].body);
    /* a second flush of the same payload is stale: no request */
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    P->fini(st);
}

static void test_prometheus_plugin__no_response_spooled_flush_keeps_retrying(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    H.spool_dir = run_dir("srefused");
    H.answers[0] = 0;
    H.answers[1] = 0;
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_RETRY);
    CU_ASSERT(logged("no response (Connection refused); spooled for retry"));
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    /* still away: RETRY, and nothing spooled twice (the host keeps the payload) */
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_spool, 1);
    CU_ASSERT_EQUAL(H.n_req, 2);
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 3);
    /* garbage in the spool is not ours: refused, no request */
    CU_ASSERT_EQUAL(P->flush(st, "push", "hello\n\nworld", 12), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(P->flush(st, "push", NULL, 0), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_req, 3);
    P->fini(st);
}

static void test_prometheus_plugin__4xx_logged_not_spooled(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    H.spool_dir = run_dir("s4xx");
    H.answers[0] = 400;
    H.answer_body = "pushed metrics are invalid or inconsistent with existing metrics:\n"
                    "collected metric \"maestro_epoch\" is not a GAUGE";
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    CU_ASSERT(logged("HTTP 400: pushed metrics are invalid or inconsistent with existing "
                     "metrics: collected metric \"maestro_epoch\" is not a GAUGE; dropped"));
    P->fini(st);
}

static void test_prometheus_plugin__older_spooled_body_never_overwrites_newer(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    const char *dir = run_dir("sstale");
    H.spool_dir = dir;
    char spool_dir[600];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool/prometheus", dir);
    H.spool_dir = spool_dir;
    maestro_run_info_t ri = run_info(dir, 0);
    H.answers[0] = 0; /* the start push fails: spooled */
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_RETRY);
    H.now += 1000;
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK); /* delivered: newer */
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    CU_ASSERT_EQUAL(H.n_req, 2);
    /* in this process: skipped from memory */
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    P->fini(st);

    /* in another process (`maestro plugins flush`): skipped from the record in the spool */
    char rec[700];
    snprintf(rec, sizeof rec, "%s/delivered-rank0", spool_dir);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(rec, &sb), 0);
    spooled_t old = H.spool[0];
    H.spool[0].data = NULL;
    H.n_spool = 0;
    void *st2 = NULL;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(P->init(&st2, &host, err, sizeof err), MAESTRO_OK);
    int n_before = H.n_req;
    CU_ASSERT_EQUAL(P->flush(st2, "push", old.data, old.len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, n_before);
    P->fini(st2);
    free(old.data);
    /* the record is not a payload name the host would pick up (<digits>-<kind>) */
    DIR *d = opendir(spool_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    int tmp = 0;
    while ((e = readdir(d)))
        tmp += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    CU_ASSERT_EQUAL(tmp, 0);
}

static void test_prometheus_plugin__newer_spooled_body_delivered_by_other_process(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    const char *dir = run_dir("snewer");
    char spool_dir[600];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool/prometheus", dir);
    H.spool_dir = spool_dir;
    maestro_run_info_t ri = run_info(dir, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    H.answers[1] = 0;
    H.answers[2] = 503;
    H.now += 1000;
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_E_RETRY);
    H.now += 1000;
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 2);
    P->fini(st);
    /* a later flush with a corrected url delivers both, in order, to the new address */
    maestro_kv_t cfg2[] = {{"url", "http://gw.example:9091"}};
    H.config = cfg2;
    void *st2 = NULL;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(P->init(&st2, &host, err, sizeof err), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->flush(st2, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->flush(st2, "push", H.spool[1].data, H.spool[1].len), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 5);
    CU_ASSERT_STRING_EQUAL(H.req[4].url, "http://gw.example:9091/metrics/job/maestro/run/"
                                         "demo-20240101T000000Z-ab12/rank/0");
    CU_ASSERT(has(H.req[4].body, "maestro_run_status{status=\"ok\"} 1\n"));
    /* replayed out of order, the older one is now stale */
    CU_ASSERT_EQUAL(P->flush(st2, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 5);
    P->fini(st2);
}

static void test_prometheus_plugin__delete_on_success(void)
{
    maestro_kv_t cfg[] = {{"url", URL}, {"delete_on_success", "true"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    H.answers[1] = 202;
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT_STRING_EQUAL(H.req[1].method, "DELETE");
    CU_ASSERT_STRING_EQUAL(H.req[1].url, GROUP "0");
    CU_ASSERT_STRING_EQUAL(H.req[1].body, "");
    P->fini(st);

    /* a run that did not succeed stays visible */
    st = start(cfg, 2);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL(end_run(st, "gate_failed", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT_STRING_EQUAL(H.req[1].method, "PUT");
    CU_ASSERT(has(H.req[1].body, "maestro_run_status{status=\"gate_failed\"} 1\n"));
    P->fini(st);

    /* a DELETE that cannot be sent is spooled as such */
    st = start(cfg, 2);
    H.spool_dir = run_dir("sdelete");
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    H.answers[1] = 0;
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    CU_ASSERT_STRING_EQUAL(H.spool[0].kind, "delete-rank0");
    CU_ASSERT_EQUAL(P->flush(st, "delete", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_STRING_EQUAL(H.req[2].method, "DELETE");
    P->fini(st);
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

static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_prometheus_plugin__textfile_without_url(void)
{
    void *st = start(NULL, 0);
    const char *dir = run_dir("textfile");
    maestro_run_info_t ri = run_info(dir, 1);
    ri.run_id = "odd/run id";
    char path[700];
    snprintf(path, sizeof path, "%s/maestro_odd_run_id_rank1.prom", dir);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    char *t = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, ""); /* rank 1 has nothing yet */
    free(t);
    CU_ASSERT_EQUAL(metric(st, "samples_per_second", 50), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "epoch", 3), MAESTRO_OK);
    t = slurp(path);
    CU_ASSERT(has(t, "# HELP maestro_samples_per_second "));
    CU_ASSERT(has(t, "# TYPE maestro_samples_per_second gauge\n"
                     "maestro_samples_per_second{rank=\"1\",run=\"odd/run id\"} 50\n"));
    CU_ASSERT(has(t, "maestro_epoch{rank=\"1\",run=\"odd/run id\"} 3\n"));
    free(t);
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_tmp(dir), 0);
    CU_ASSERT_EQUAL(H.n_req, 0);
    P->fini(st);
}

static void test_prometheus_plugin__textfile_dir_and_delete(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/collector", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    maestro_kv_t cfg[] = {{"textfile_dir", dir}, {"delete_on_success", "true"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    char path[700];
    snprintf(path, sizeof path, "%s/maestro_demo-20240101T000000Z-ab12_rank0.prom", dir);
    char *t = slurp(path);
    CU_ASSERT(has(t, "maestro_run_status{rank=\"0\",run=\"demo-20240101T000000Z-ab12\","
                     "status=\"running\"} 1\n"));
    free(t);
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    struct stat sb;
    CU_ASSERT_NOT_EQUAL(stat(path, &sb), 0);
    P->fini(st);

    /* failed: the file stays, with the final status */
    st = start(cfg, 2);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL(end_run(st, "failed", 0), MAESTRO_OK);
    t = slurp(path);
    CU_ASSERT(has(t, "status=\"failed\"} 1\n"));
    free(t);
    CU_ASSERT_EQUAL(count_tmp(dir), 0);
    P->fini(st);
}

static void test_prometheus_plugin__callbacks_before_run_start_do_nothing(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->event(st, NULL), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->run_start(st, NULL), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_req, 0);
    P->fini(st);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_prometheus_plugin__descriptor),
    MO_TEST(test_prometheus_plugin__bad_config_names_the_key),
    MO_TEST(test_prometheus_plugin__pushes_at_start_each_epoch_and_end),
    MO_TEST(test_prometheus_plugin__other_ranks_push_their_own_series_only),
    MO_TEST(test_prometheus_plugin__interval_replaces_epoch_pushes),
    MO_TEST(test_prometheus_plugin__event_labels_kept_reserved_dropped),
    MO_TEST(test_prometheus_plugin__5xx_spooled_then_flushed),
    MO_TEST(test_prometheus_plugin__no_response_spooled_flush_keeps_retrying),
    MO_TEST(test_prometheus_plugin__4xx_logged_not_spooled),
    MO_TEST(test_prometheus_plugin__older_spooled_body_never_overwrites_newer),
    MO_TEST(test_prometheus_plugin__newer_spooled_body_delivered_by_other_process),
    MO_TEST(test_prometheus_plugin__delete_on_success),
    MO_TEST(test_prometheus_plugin__textfile_without_url),
    MO_TEST(test_prometheus_plugin__textfile_dir_and_delete),
    MO_TEST(test_prometheus_plugin__callbacks_before_run_start_do_nothing),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    /* the build's plugin folder: ctest sets MAESTRO_PLUGIN_TEST_DIR; by hand, from build/tests */
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/maestro-prometheus.so", dir ? dir : "../plugins");
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "test_prometheus_plugin: cannot load %s: %s\n", path, dlerror());
        return 1;
    }
    P = dlsym(dl, MAESTRO_PLUGIN_SYMBOL);
    if (!P) {
        fprintf(stderr, "test_prometheus_plugin: %s has no %s\n", path, MAESTRO_PLUGIN_SYMBOL);
        return 1;
    }
    int rc = mo_test_main("plugins/prometheus_plugin", tests);
    reset();
    /* no dlclose: LeakSanitizer reports through the plugin's symbols */
    return rc;
}
