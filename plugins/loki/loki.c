/* loki.c - logs plugin: the run's log lines to Grafana Loki's push API, or as JSON lines
 *
 * With `url` set, log events are batched into streams labelled {job="maestro", run_id, kind,
 * rank, level} (+ static `labels`) and POSTed to <url>/loki/api/v1/push as gzip'd JSON
 * (batch.c builds the body). A batch goes out when the next entry would take it past
 * `batch_bytes`, when an event arrives `batch_wait` seconds after the batch's first one, and
 * at run end. The host calls us from its worker thread only, so there is no lock and no timer
 * thread: a quiet run holds at most one batch until its next line or its end.
 *
 * Delivery follows platform-protocols.md section 3: 204 is success; 429, 5xx and no response
 * spool the body (kind "push") and return MAESTRO_E_RETRY, and the host hands it back through
 * flush() later; any other 4xx would fail again, so it is dropped with Loki's error text in a
 * warning. After a retryable failure new batches go straight to the spool for a backoff
 * (1 s doubling to 60 s) instead of each waiting out a dead server's timeout.
 *
 * Ordering caveat of re-sent batches: a spooled batch reaches Loki after newer ones of the same
 * stream may have. Loki >= 2.4 (unordered_writes: true, the default) accepts it as long as it
 * is no more than max_chunk_age/2 (1 h by default) behind the stream's newest entry, and
 * silently drops exact duplicates, so re-sending is safe; older entries get 400 "entry too far
 * behind". With unordered_writes: false (Loki < 2.4 or turned off) anything older than the
 * newest is 400 "entry out of order". The host re-sends spooled batches in spool order and
 * stops at the first that still fails, so only batches pushed directly after a recovery can
 * overtake older spooled ones, by about the host's retry delay (at most 30 s). A 400 on a
 * spooled batch is logged with its entry count (the host keeps the file). Loki also refuses
 * entries older than 7 days (reject_old_samples): `maestro plugins flush` within a week.
 *
 * Config (cluster.yml services.loki, then the spec's options): url, tenant (X-Scope-OrgID),
 * token (bearer) or username + password (basic, as Grafana Cloud wants), batch_bytes (1 MiB of
 * uncompressed JSON), batch_wait (1 s), max_line_bytes (256 KiB, Loki 3.0's max_line_size; 0:
 * none; a longer message is split into lines with "part": 1, 2, ...), timeout (the host's
 * 10 s), backoff (first retry delay, 1 s), labels ("k=v,k=v"), output (embedded default).
 *
 * Without `url` (the embedded default) each event is one JSON object per line, {"ts","level",
 * "component","msg","rank","run_id"}, appended to `output` ("stdout" or a path; default
 * <run_dir>/logs.jsonl, or stdout when the run has no folder): what Promtail scrapes (jsonl.c).
 *
 * Messages arrive redacted by the host; the token/password config values are registered as
 * secrets and never appear in our own log lines.
 */
#include "maestro_plugin.h"

#include "loki_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_PATH "/loki/api/v1/push"
#define NS_PER_S 1000000000LL
#define DEFAULT_BATCH_BYTES (1024 * 1024)
#define DEFAULT_BATCH_WAIT_S 1.0
#define DEFAULT_BACKOFF_S 1.0
/* Loki 3.0's max_line_size default (2.x has none): lines fit either. */
#define DEFAULT_MAX_LINE (256 * 1024)
#define MAX_BACKOFF_NS (60 * NS_PER_S)
#define SERVER_TEXT_MAX 400

typedef struct {
    const maestro_host_t *host;

    /* config */
    char *push_url; /* NULL: embedded default */
    const char *tenant, *token, *user, *password;
    const char *output;
    size_t batch_bytes, max_line;
    int64_t batch_wait_ns, backoff_first_ns;
    double timeout_s;
    json_t *static_labels;

    /* the run */
    char *run_id, *kind;
    loki_batch_t batch;
    int have_batch;
    loki_out_t out; /* embedded: where lines go */
    int out_failed; /* the output could not be opened/written: said once */

    /* delivery */
    int64_t retry_at, backoff_ns; /* no new push before retry_at (host clock) */
    int failing;                  /* retryable failures since the last success */
    unsigned long spooled, lost;  /* batches spooled, entries lost */
} loki_t;

static void logf_(loki_t *st, maestro_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(loki_t *st, maestro_log_level_t level, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st->host->log(st->host->ctx, level, msg);
}

static const char *cfg(loki_t *st, const char *key)
{
    const char *v = st->host->config(st->host->ctx, key);
    return v && *v ? v : NULL;
}

/* ---- config --------------------------------------------------------------------------------- */

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_seconds(const char *s, int64_t *out_ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400.0)
        return -1;
    *out_ns = (int64_t)(v * (double)NS_PER_S);
    return 0;
}

static int init_config(loki_t *st, char *errbuf, size_t errlen)
{
    const char *v;
    st->batch_bytes = DEFAULT_BATCH_BYTES;
    st->batch_wait_ns = (int64_t)(DEFAULT_BATCH_WAIT_S * NS_PER_S);
    st->backoff_first_ns = (int64_t)(DEFAULT_BACKOFF_S * NS_PER_S);
    st->max_line = DEFAULT_MAX_LINE;

    if ((v = cfg(st, "url"))) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
            snprintf(errbuf, errlen, "loki: url must start with http:// or https://, got '%s'", v);
            return MAESTRO_E_CONFIG;
        }
        size_t n = strlen(v);
        while (n > 0 && v[n - 1] == '/')
            n--;
        /* Accept the push endpoint itself as well as the base URL. */
        size_t plen = strlen(PUSH_PATH);
        int has_path = n >= plen && !strncmp(v + n - plen, PUSH_PATH, plen);
        size_t size = n + (has_path ? 0 : plen) + 1;
        st->push_url = malloc(size);
        if (!st->push_url) {
            snprintf(errbuf, errlen, "loki: out of memory");
            return MAESTRO_E_FAILED;
        }
        snprintf(st->push_url, size, "%.*s%s", (int)n, v, has_path ? "" : PUSH_PATH);
    }
    st->tenant = cfg(st, "tenant");
    st->token = cfg(st, "token");
    st->user = cfg(st, "username");
    st->password = cfg(st, "password");
    if (!st->user != !st->password) {
        snprintf(errbuf, errlen, "loki: username and password go together (basic auth)");
        return MAESTRO_E_CONFIG;
    }
    if (st->token)
        st->host->register_secret(st->host->ctx, st->token);
    if (st->password)
        st->host->register_secret(st->host->ctx, st->password);
    st->output = cfg(st, "output");

    if ((v = cfg(st, "batch_bytes")) && parse_size(v, &st->batch_bytes)) {
        snprintf(errbuf, errlen, "loki: batch_bytes must be a positive integer, got '%s'", v);
        return MAESTRO_E_CONFIG;
    }
    if ((v = cfg(st, "batch_wait")) && parse_seconds(v, &st->batch_wait_ns)) {
        snprintf(errbuf, errlen, "loki: batch_wait must be seconds >= 0, got '%s'", v);
        return MAESTRO_E_CONFIG;
    }
    if ((v = cfg(st, "backoff")) && parse_seconds(v, &st->backoff_first_ns)) {
        snprintf(errbuf, errlen, "loki: backoff must be seconds >= 0, got '%s'", v);
        return MAESTRO_E_CONFIG;
    }
    if ((v = cfg(st, "max_line_bytes")) && strcmp(v, "0") &&
        (parse_size(v, &st->max_line) || st->max_line < 256)) {
        snprintf(errbuf, errlen, "loki: max_line_bytes must be 0 (no limit) or >= 256, got '%s'",
                 v);
        return MAESTRO_E_CONFIG;
    }
    if (v && !strcmp(v, "0"))
        st->max_line = 0;
    if ((v = cfg(st, "timeout"))) {
        int64_t ns;
        if (parse_seconds(v, &ns) || ns == 0) {
            snprintf(errbuf, errlen, "loki: timeout must be seconds > 0, got '%s'", v);
            return MAESTRO_E_CONFIG;
        }
        st->timeout_s = (double)ns / (double)NS_PER_S;
    }
    st->static_labels = json_object();
    if (!st->static_labels) {
        snprintf(errbuf, errlen, "loki: out of memory");
        return MAESTRO_E_FAILED;
    }
    if ((v = cfg(st, "labels"))) {
        char why[256];
        if (loki_parse_static_labels(st->static_labels, v, why, sizeof why)) {
            snprintf(errbuf, errlen, "loki: %s", why);
            return MAESTRO_E_CONFIG;
        }
    }
    return MAESTRO_OK;
}

/* ---- delivery ------------------------------------------------------------------------------- */

/* Loki's error text on one line, cut to a readable length. */
static void server_text(const maestro_http_response_t *resp, char *out, size_t size)
{
    const char *s = resp->status ? resp->body : resp->error;
    size_t o = 0;
    for (; s && *s && o + 1 < size && o < SERVER_TEXT_MAX; s++)
        out[o++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    if (!o)
        snprintf(out, size, "%s", resp->status ? "(empty body)" : "no response");
}

/* Entries in a push body, for messages about what was lost. */
static size_t count_entries(const char *body, size_t len)
{
    size_t n = 0;
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *streams = json_object_get(root, "streams");
    size_t i;
    json_t *s;
    json_array_foreach(streams, i, s) n += json_array_size(json_object_get(s, "values"));
    json_decref(root);
    return n;
}

enum { SENT, RETRYABLE, PERMANENT };

/* One POST of a JSON body. *text gets a message for RETRYABLE / PERMANENT. */
static int post(loki_t *st, const char *body, size_t len, char *text, size_t textlen)
{
    maestro_kv_t headers[2] = {{"Content-Type", "application/json"}};
    size_t n_headers = 1;
    if (st->tenant)
        headers[n_headers++] = (maestro_kv_t){"X-Scope-OrgID", st->tenant};
    maestro_http_request_t req = {
        .method = "POST",
        .url = st->push_url,
        .headers = headers,
        .n_headers = n_headers,
        .body = body,
        .body_len = len,
        .gzip = 1,
        .timeout_s = st->timeout_s,
        .bearer_token = st->token,
        .basic_user = st->user,
        .basic_password = st->password,
    };
    maestro_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    int rc = st->host->http(st->host->ctx, &req, &resp);
    int out;
    char detail[SERVER_TEXT_MAX + 8];
    server_text(&resp, detail, sizeof detail);
    if (rc != MAESTRO_OK || resp.status == 0) {
        snprintf(text, textlen, "no response (%s)", detail);
        out = RETRYABLE;
    } else if (resp.status >= 200 && resp.status < 300) {
        out = SENT;
    } else if (resp.status == 429 || resp.status >= 500) {
        snprintf(text, textlen, "HTTP %ld: %s", resp.status, detail);
        out = RETRYABLE;
    } else {
        snprintf(text, textlen, "HTTP %ld: %s", resp.status, detail);
        out = PERMANENT;
    }
    st->host->free_response(st->host->ctx, &resp);
    return out;
}

static void note_success(loki_t *st)
{
    if (st->failing)
        logf_(st, MAESTRO_LOG_INFO, "loki: %s reachable again after %d failed attempts",
              st->push_url, st->failing);
    st->failing = 0;
    st->backoff_ns = 0;
    st->retry_at = 0;
}

static void note_retryable(loki_t *st, const char *text)
{
    st->backoff_ns = st->backoff_ns ? st->backoff_ns * 2 : st->backoff_first_ns;
    if (st->backoff_ns > MAX_BACKOFF_NS)
        st->backoff_ns = MAX_BACKOFF_NS;
    st->retry_at = st->host->now_ns() + st->backoff_ns;
    /* One warning per outage, not one per batch. */
    if (st->failing++ == 0)
        logf_(st, MAESTRO_LOG_WARN,
              "loki: push to %s failed: %s; spooling log batches, retrying in %.1f s", st->push_url,
              text, (double)st->backoff_ns / (double)NS_PER_S);
}

static int spool(loki_t *st, const char *body, size_t len, size_t entries)
{
    if (st->host->spool(st->host->ctx, "push", body, len) != MAESTRO_OK) {
        st->lost += entries;
        logf_(st, MAESTRO_LOG_WARN, "loki: could not spool a batch of %zu log entries: lost",
              entries);
        return MAESTRO_E_FAILED;
    }
    st->spooled++;
    return MAESTRO_E_RETRY;
}

/* Send a fresh body; spool it when Loki cannot take it now. `final`: the run is ending, try
 * once even during a backoff. */
static int deliver(loki_t *st, const char *body, size_t len, size_t entries, int final)
{
    char text[SERVER_TEXT_MAX + 64];
    if (!final && st->host->now_ns() < st->retry_at)
        return spool(st, body, len, entries);
    switch (post(st, body, len, text, sizeof text)) {
    case SENT:
        note_success(st);
        return MAESTRO_OK;
    case RETRYABLE:
        note_retryable(st, text);
        return spool(st, body, len, entries);
    default:
        st->lost += entries;
        logf_(st, MAESTRO_LOG_WARN, "loki: %s rejected a batch of %zu log entries: %s",
              st->push_url, entries, text);
        return MAESTRO_E_FAILED;
    }
}

static int send_batch(loki_t *st, int final)
{
    size_t len, entries;
    char *body = loki_batch_take(&st->batch, &len, &entries);
    if (!body) {
        if (entries == 0)
            return MAESTRO_OK;
        logf_(st, MAESTRO_LOG_WARN, "loki: out of memory building a batch of %zu entries", entries);
        return MAESTRO_E_FAILED;
    }
    int rc = deliver(st, body, len, entries, final);
    free(body);
    return rc;
}

/* Keep the first failure of several: RETRY says more than OK, FAILED more than RETRY. */
static int worse(int a, int b)
{
    if (a == MAESTRO_E_FAILED || b == MAESTRO_E_FAILED)
        return MAESTRO_E_FAILED;
    return a != MAESTRO_OK ? a : b;
}

/* ---- the batch of the run ------------------------------------------------------------------- */

static int ensure_batch(loki_t *st)
{
    if (st->have_batch)
        return 0;
    /* Events before run_start should not happen; label them anyway rather than drop them. */
    if (loki_batch_init(&st->batch, st->run_id ? st->run_id : "unknown",
                        st->kind ? st->kind : "unknown", st->static_labels))
        return -1;
    st->have_batch = 1;
    return 0;
}

static int push_event(loki_t *st, const maestro_event_t *ev, int level)
{
    const char *msg = ev->message ? ev->message : "";
    const char *lname = loki_level_names[level];
    int64_t ts = ev->time_ns > 0 ? ev->time_ns : st->host->now_ns();
    size_t *starts, *lens, n;
    int rc = MAESTRO_OK;
    if (ensure_batch(st) ||
        loki_split(lname, ev->component, msg, ev->rank, st->max_line, &starts, &lens, &n)) {
        st->lost++;
        logf_(st, MAESTRO_LOG_WARN,
              "loki: a log line was dropped (out of memory, or a component name longer than "
              "max_line_bytes)");
        return MAESTRO_E_FAILED;
    }
    for (size_t i = 0; i < n; i++) {
        char *line = loki_line(lname, ev->component, msg + starts[i], lens[i], ev->rank,
                               n > 1 ? (int)i + 1 : 0);
        if (!line) {
            st->lost++;
            rc = worse(rc, MAESTRO_E_FAILED);
            continue;
        }
        size_t cost = loki_batch_cost(&st->batch, ev->rank, level, ts, line);
        if (st->batch.entries > 0 && st->batch.bytes + cost > st->batch_bytes)
            rc = worse(rc, send_batch(st, 0));
        int64_t now = st->host->now_ns();
        if (loki_batch_add(&st->batch, ev->rank, level, ts, line, now, NULL)) {
            st->lost++;
            rc = worse(rc, MAESTRO_E_FAILED);
        }
        free(line);
    }
    free(starts);
    free(lens);
    /* A single entry may be bigger than batch_bytes: it goes alone. */
    if (st->batch.entries > 0 && (st->batch.bytes >= st->batch_bytes ||
                                  st->host->now_ns() - st->batch.first_at >= st->batch_wait_ns))
        rc = worse(rc, send_batch(st, 0));
    return rc;
}

/* ---- the embedded default: JSON lines (jsonl.c) ------------------------------------------- */

static int open_output(loki_t *st, const char *run_dir)
{
    char path[4096];
    const char *target = st->output;
    if (!target && run_dir) {
        snprintf(path, sizeof path, "%s/logs.jsonl", run_dir);
        target = path;
    }
    if (loki_out_open(&st->out, target)) {
        st->out_failed = 1;
        logf_(st, MAESTRO_LOG_WARN, "loki: cannot open %s: %s; log lines will not be written",
              target, strerror(errno));
        return MAESTRO_E_FAILED;
    }
    return MAESTRO_OK;
}

static int write_event(loki_t *st, const maestro_event_t *ev, int level)
{
    if (st->out.fd < 0 && !st->out_failed)
        open_output(st, NULL);
    if (st->out.fd < 0)
        return MAESTRO_E_FAILED;
    int64_t ns = ev->time_ns > 0 ? ev->time_ns : st->host->now_ns();
    if (loki_out_write(&st->out, ns, loki_level_names[level], ev->component, ev->message, ev->rank,
                       st->run_id)) {
        /* Said once: a full disk would otherwise add a warning per log line. */
        if (!st->out_failed)
            logf_(st, MAESTRO_LOG_WARN, "loki: cannot write log lines: %s", strerror(errno));
        st->out_failed = 1;
        return MAESTRO_E_FAILED;
    }
    return MAESTRO_OK;
}

/* ---- callbacks ------------------------------------------------------------------------------ */

static void loki_fini(void *state);

static int loki_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    *state = NULL;
    loki_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(errbuf, errlen, "loki: out of memory");
        return MAESTRO_E_FAILED;
    }
    st->host = host;
    st->out.fd = -1;
    int rc = init_config(st, errbuf, errlen);
    if (rc != MAESTRO_OK) {
        loki_fini(st);
        return rc;
    }
    *state = st;
    return MAESTRO_OK;
}

static int loki_run_start(void *state, const maestro_run_info_t *run)
{
    loki_t *st = state;
    free(st->run_id);
    free(st->kind);
    st->run_id = strdup(run->run_id ? run->run_id : "unknown");
    st->kind = strdup(run->job_kind ? run->job_kind : "unknown");
    if (!st->run_id || !st->kind)
        return MAESTRO_E_FAILED;
    if (st->have_batch) {
        /* Anything that came before run_start goes out under its old labels. */
        send_batch(st, 0);
        loki_batch_free(&st->batch);
        st->have_batch = 0;
    }
    if (!st->push_url) {
        loki_out_close(&st->out);
        st->out_failed = 0;
        return open_output(st, run->run_dir);
    }
    return ensure_batch(st) ? MAESTRO_E_FAILED : MAESTRO_OK;
}

static int loki_event(void *state, const maestro_event_t *ev)
{
    loki_t *st = state;
    if (ev->kind != MAESTRO_EV_LOG)
        return MAESTRO_OK;
    int level = (int)ev->level;
    if (level < MAESTRO_LOG_DEBUG || level > MAESTRO_LOG_ERROR)
        level = MAESTRO_LOG_INFO;
    return st->push_url ? push_event(st, ev, level) : write_event(st, ev, level);
}

static int loki_run_end(void *state, const maestro_run_end_t *end)
{
    (void)end;
    loki_t *st = state;
    if (!st->push_url) {
        loki_out_close(&st->out);
        return MAESTRO_OK;
    }
    int rc = st->have_batch ? send_batch(st, 1) : MAESTRO_OK;
    if (st->spooled || st->lost)
        logf_(st, MAESTRO_LOG_INFO,
              "loki: %lu batches were spooled during the run, %lu entries "
              "lost",
              st->spooled, st->lost);
    return rc;
}

static int loki_flush(void *state, const char *kind, const void *data, size_t len)
{
    loki_t *st = state;
    char text[SERVER_TEXT_MAX + 64];
    if (!kind || strcmp(kind, "push")) {
        logf_(st, MAESTRO_LOG_WARN, "loki: unknown spooled payload kind '%s'",
              kind ? kind : "(null)");
        return MAESTRO_E_FAILED;
    }
    if (!st->push_url) {
        logf_(st, MAESTRO_LOG_WARN, "loki: spooled batches need services.loki.url to be sent");
        return MAESTRO_E_RETRY;
    }
    /* No backoff check here: the host schedules flushes with a backoff of its own. */
    switch (post(st, data, len, text, sizeof text)) {
    case SENT:
        note_success(st);
        return MAESTRO_OK;
    case RETRYABLE:
        note_retryable(st, text);
        return MAESTRO_E_RETRY;
    default:
        logf_(st, MAESTRO_LOG_WARN, "loki: %s rejected a spooled batch of %zu log entries: %s",
              st->push_url, count_entries(data, len), text);
        return MAESTRO_E_FAILED;
    }
}

static void loki_fini(void *state)
{
    loki_t *st = state;
    if (!st)
        return;
    /* A run that never reached run_end still gets its last lines out (or spooled). */
    if (st->have_batch && st->push_url && st->batch.entries > 0)
        send_batch(st, 1);
    loki_out_close(&st->out);
    if (st->have_batch)
        loki_batch_free(&st->batch);
    json_decref(st->static_labels);
    free(st->push_url);
    free(st->run_id);
    free(st->kind);
    free(st);
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_LOGS,
    .name = "loki",
    .version = "1.0.0",
    .description = "log lines to Grafana Loki (push API, gzip JSON), or JSON lines for Promtail",
    .init = loki_init,
    .fini = loki_fini,
    .run_start = loki_run_start,
    .event = loki_event,
    .run_end = loki_run_end,
    .flush = loki_flush,
};
