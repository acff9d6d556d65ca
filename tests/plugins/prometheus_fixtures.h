/* prometheus_fixtures.h - the scripted host shared by tests/plugins/test_prometheus_plugin.c
 * and test_prometheus_deliver.c
 *
 * Each test file is its own executable, so these are static inline in a header. The test
 * dlopens build/plugins/maestro-prometheus.so (prom_test_main) and is its host: it answers
 * config lookups, runs a clock it controls, records every HTTP request in H.req and answers it
 * from a script (200, 503, 400, no response), and keeps what the plugin spools (in memory, and
 * as <seq>-<kind> files in H.spool_dir like the real host).
 */
#ifndef MO_TESTS_PLUGINS_PROMETHEUS_FIXTURES_H
#define MO_TESTS_PLUGINS_PROMETHEUS_FIXTURES_H

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
    double timeout_s;
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

static inline void h_log(void *ctx, maestro_log_level_t level, const char *message)
{
    (void)ctx;
    if (H.n_log < MAX_LOG)
        snprintf(H.log[H.n_log++], sizeof H.log[0], "%d %s", (int)level, message);
    if (getenv("MO_TEST_VERBOSE"))
        fprintf(stderr, "[plugin %d] %s\n", (int)level, message);
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
    r->timeout_s = req->timeout_s;
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

static inline void h_free(void *ctx, maestro_http_response_t *resp)
{
    (void)ctx;
    free(resp->body);
    resp->body = NULL;
}

/* Like the real host: kept in memory for the test, and as <seq>-<kind> in spool_dir. */
static inline int h_spool(void *ctx, const char *kind, const void *data, size_t len)
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

static inline void h_secret(void *ctx, const char *value)
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

static inline void reset(void)
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

static inline int setup(const maestro_kv_t *config, size_t n)
{
    reset();
    H.config = config;
    H.n_config = n;
    return 0;
}

/* A fresh folder under the test's tmpdir, with spool/prometheus inside as the host makes it. */
static inline const char *run_dir(const char *name)
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

static inline maestro_run_info_t run_info(const char *dir, int rank)
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

static inline int metric(void *st, const char *name, double value)
{
    maestro_event_t ev = {
        .kind = MAESTRO_EV_METRIC, .time_ns = H.now, .name = name, .value = value};
    return P->event(st, &ev);
}

static inline int end_run(void *st, const char *status, int64_t end_ns)
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

static inline int has(const char *text, const char *needle)
{
    int found = text && strstr(text, needle) != NULL;
    if (!found)
        fprintf(stderr, "\n  missing [%s] in:\n%s\n", needle, text ? text : "(null)");
    return found;
}

static inline int logged(const char *needle)
{
    for (int i = 0; i < H.n_log; i++)
        if (strstr(H.log[i], needle))
            return 1;
    fprintf(stderr, "\n  no log line has [%s]\n", needle);
    return 0;
}

#define URL "http://127.0.0.1:9/gw"
#define GROUP URL "/metrics/job/maestro/run/demo-20240101T000000Z-ab12/rank/"

static inline void *start(const maestro_kv_t *cfg, size_t n)
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

/* Load the plugin from the build's plugin folder (ctest sets MAESTRO_PLUGIN_TEST_DIR; by hand,
 * from build/tests) into P, then run the suite. */
static inline int prom_test_main(const char *suite, CU_TestInfo *tests)
{
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/maestro-prometheus.so", dir ? dir : "../plugins");
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "%s: cannot load %s: %s\n", suite, path, dlerror());
        return 1;
    }
    P = dlsym(dl, MAESTRO_PLUGIN_SYMBOL);
    if (!P) {
        fprintf(stderr, "%s: %s has no %s\n", suite, path, MAESTRO_PLUGIN_SYMBOL);
        return 1;
    }
    int rc = mo_test_main(suite, tests);
    reset();
    /* no dlclose: LeakSanitizer reports through the plugin's symbols */
    return rc;
}

#endif
