/* fuzz_service.c - what services answer, as the plugins parse it: each real plugin shared
 * object (plugins/mlflow, kubernetes, loki, prometheus) is loaded and driven through a run
 * (start, a metric, a log line, end with a model to register, a secret lookup, flush of what
 * it spooled) by a host whose every HTTP request gets the input as the answer: its first byte
 * picks the status (200, 201, 400, 404, 409), the rest is the body. Statuses that make
 * plugins retry with a pause (429, 5xx) are left out so each input runs in milliseconds. */
#include "../../plugins/maestro_plugin.h"
#include "tests/fuzz/fuzz.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef MAESTRO_PLUGIN_BUILD_DIR
#define MAESTRO_PLUGIN_BUILD_DIR "build/plugins"
#endif

static const char *const names[] = {"mlflow", "kubernetes", "loki", "prometheus"};
enum { NPLUGINS = 4 };
static const maestro_plugin_t *plugins[NPLUGINS];

static const uint8_t *answer;
static size_t answer_len;
static int status;

/* What a spool call kept, flushed back at the end of the input. */
static char *spooled, *spooled_kind;
static size_t spooled_len;

static void h_log(void *ctx, maestro_log_level_t level, const char *message)
{
    (void)ctx;
    (void)level;
    (void)message;
}

static const char *h_config(void *ctx, const char *key)
{
    (void)ctx;
    size_t n = strlen(key);
    if (!strcmp(key, "url") || !strcmp(key, "api_url") || !strcmp(key, "tracking_uri") ||
        (n > 4 && !strcmp(key + n - 4, "_url")))
        return "http://127.0.0.1:9";
    if (!strcmp(key, "namespace"))
        return "fuzz";
    if (!strcmp(key, "insecure_http"))
        return "true";
    if (!strcmp(key, "retries"))
        return "0";
    if (strstr(key, "backoff") || strstr(key, "interval") || strstr(key, "wait"))
        return "0";
    return NULL;
}

static int64_t h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int h_http(void *ctx, const maestro_http_request_t *req, maestro_http_response_t *resp)
{
    (void)ctx;
    (void)req;
    memset(resp, 0, sizeof *resp);
    resp->status = status;
    resp->body = malloc(answer_len + 1);
    if (!resp->body)
        return MAESTRO_E_FAILED;
    memcpy(resp->body, answer, answer_len);
    resp->body[answer_len] = '\0';
    resp->body_len = answer_len;
    return MAESTRO_OK;
}

static void h_free_response(void *ctx, maestro_http_response_t *resp)
{
    (void)ctx;
    free(resp->body);
    resp->body = NULL;
}

static int h_spool(void *ctx, const char *kind, const void *data, size_t len)
{
    (void)ctx;
    free(spooled);
    free(spooled_kind);
    spooled = malloc(len ? len : 1);
    spooled_kind = strdup(kind);
    if (!spooled || !spooled_kind)
        return MAESTRO_E_FAILED;
    memcpy(spooled, data, len);
    spooled_len = len;
    return MAESTRO_OK;
}

static void h_register_secret(void *ctx, const char *value)
{
    (void)ctx;
    (void)value;
}

static const maestro_host_t host = {
    .version = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_host_t),
    .ctx = NULL,
    .log = h_log,
    .config = h_config,
    .now_ns = h_now,
    .http = h_http,
    .free_response = h_free_response,
    .spool = h_spool,
    .register_secret = h_register_secret,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init(0);
    for (int i = 0; i < NPLUGINS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/maestro-%s.so", MAESTRO_PLUGIN_BUILD_DIR, names[i]);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        plugins[i] = h ? dlsym(h, MAESTRO_PLUGIN_SYMBOL) : NULL;
        if (!plugins[i])
            fprintf(stderr, "fuzz_service: %s not loaded: %s\n", path, dlerror());
    }
    return 0;
}

static void drive(const maestro_plugin_t *p)
{
    void *st = NULL;
    char errbuf[256];
    if (p->init(&st, &host, errbuf, sizeof errbuf) != MAESTRO_OK)
        return;
    static const maestro_kv_t params[] = {{"optimizer.lr", "0.1"}};
    maestro_run_info_t run = {0};
    run.run_id = "fuzz-20261126T000000Z-abcdef";
    run.run_name = "fuzz";
    run.job_kind = "train";
    run.run_dir = "/nonexistent";
    run.spec_text = "kind: train\n";
    run.git_commit = "0";
    run.maestro_version = "0.1.0";
    run.start_ns = h_now();
    run.ranks = 1;
    run.params = params;
    run.n_params = 1;
    if (p->run_start)
        p->run_start(st, &run);
    maestro_event_t ev = {0};
    ev.kind = MAESTRO_EV_METRIC;
    ev.time_ns = h_now();
    ev.name = "loss";
    ev.value = 0.5;
    ev.step = 1;
    if (p->event)
        p->event(st, &ev);
    ev.kind = MAESTRO_EV_LOG;
    ev.level = MAESTRO_LOG_INFO;
    ev.component = "train";
    ev.message = "epoch 1";
    if (p->event)
        p->event(st, &ev);
    ev.kind = MAESTRO_EV_MODEL;
    ev.path = "/nonexistent/run.h5";
    ev.artifact_name = "run.h5";
    if (p->event)
        p->event(st, &ev);
    static const char *const mn[] = {"val_loss"};
    static const double mv[] = {0.25};
    maestro_run_end_t end = {0};
    end.status = "ok";
    end.gates_passed = 1;
    end.end_ns = h_now();
    end.metric_names = mn;
    end.metric_values = mv;
    end.n_metrics = 1;
    end.model_path = "/nonexistent/run.h5";
    end.registry_model = "m";
    end.registry_alias = "production";
    if (p->run_end)
        p->run_end(st, &end);
    if (p->resolve_secret) {
        char buf[64];
        size_t needed = 0;
        p->resolve_secret(st, "ns/name", "key", buf, sizeof buf, &needed);
    }
    if (p->flush && spooled)
        p->flush(st, spooled_kind, spooled, spooled_len);
    if (p->fini)
        p->fini(st);
    free(spooled);
    free(spooled_kind);
    spooled = spooled_kind = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int statuses[] = {200, 201, 400, 404, 409};
    status = statuses[size ? data[0] % 5 : 0];
    answer = size ? data + 1 : data;
    answer_len = size ? size - 1 : 0;
    for (int i = 0; i < NPLUGINS; i++)
        if (plugins[i])
            drive(plugins[i]);
    return 0;
}
