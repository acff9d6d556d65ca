/* example.c - a metrics plugin that writes every event as one JSON line to a file
 *
 * The template for writing a Maestro plugin (docs/plugins.md walks through it). It includes
 * only maestro_plugin.h and the C library, so it builds out of tree with
 *
 *     cc -shared -fPIC -I<maestro>/plugins example.c -o maestro-example.so
 *
 * Config keys (cluster.yml services.example, then the spec's plugin options):
 *   path            the JSON-lines file (default <run_dir>/example-events.jsonl)
 *   mode            must be "jsonl"; anything else fails init with MAESTRO_E_CONFIG, which is
 *                   how a plugin reports bad configuration before the run starts
 *   fail_if_exists  while this file exists, writing "fails": the line is spooled and the
 *                   callback returns MAESTRO_E_RETRY (a stand-in for a service that is down;
 *                   the tests use it)
 *
 * What it shows: state made in init and freed in fini; run_start/event/run_end on the host's
 * one plugin thread (no locks needed here); spooling what cannot be delivered, with payloads
 * that carry everything needed to deliver them (flush may run in a later process, `maestro
 * plugins flush`, where no run_start came); keeping order by spooling new lines too while
 * older ones wait in the spool. JSON is written by hand because this plugin links nothing;
 * a plugin of the tree should use jansson.
 */
#include "maestro_plugin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const maestro_host_t *host;
    char path[4096];           /* where lines go; "" until known */
    char fail_if_exists[4096]; /* "" when not configured */
    long counts[5];            /* per maestro_event_kind_t */
    long waiting;              /* lines this process spooled and flush has not delivered */
} example_t;

/* ---- a tiny JSON writer (valid JSON: strings escaped, non-finite numbers as null) ---------- */

typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} jbuf_t;

static void jb_raw(jbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void jb_lit(jbuf_t *b, const char *s)
{
    jb_raw(b, s, strlen(s));
}

static void jb_fmt(jbuf_t *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        jb_raw(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void jb_str(jbuf_t *b, const char *s)
{
    jb_lit(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            jb_raw(b, e, 2);
        } else if (*p < 0x20) {
            jb_fmt(b, "\\u%04x", *p);
        } else {
            jb_raw(b, (const char *)p, 1);
        }
    }
    jb_lit(b, "\"");
}

static void jb_key(jbuf_t *b, const char *key)
{
    jb_lit(b, b->len > 1 ? "," : "");
    jb_str(b, key);
    jb_lit(b, ":");
}

static void jb_num(jbuf_t *b, double v)
{
    if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
        jb_lit(b, "null"); /* NaN and infinities are not JSON */
    else
        jb_fmt(b, "%.17g", v);
}

/* ---- delivery ----------------------------------------------------------------------------- */

static int file_exists(const char *path)
{
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (f)
        fclose(f);
    return f != NULL;
}

/* Append one line to `path`; 0 on success. */
static int append_line(const example_t *st, const char *path, const char *line, size_t len)
{
    if (!path[0] || file_exists(st->fail_if_exists))
        return -1;
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    int ok = fwrite(line, 1, len, f) == len && fputc('\n', f) != EOF;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Write the line, or spool "<path>\n<line>" and say MAESTRO_E_RETRY. */
static int deliver(example_t *st, jbuf_t *b)
{
    int rc = MAESTRO_OK;
    if (b->failed) {
        rc = MAESTRO_E_FAILED;
        goto out;
    }
    /* While older lines wait in the spool, newer ones queue behind them (order matters). */
    if (st->waiting == 0 && append_line(st, st->path, b->s, b->len) == 0)
        goto out;
    jbuf_t payload = {0};
    jb_lit(&payload, st->path);
    jb_lit(&payload, "\n");
    jb_raw(&payload, b->s, b->len);
    if (payload.failed ||
        st->host->spool(st->host->ctx, "line", payload.s, payload.len) != MAESTRO_OK) {
        rc = MAESTRO_E_FAILED; /* the host already said why */
    } else {
        st->waiting++;
        rc = MAESTRO_E_RETRY;
    }
    free(payload.s);
out:
    free(b->s);
    return rc;
}

/* ---- callbacks ---------------------------------------------------------------------------- */

static int copy_config(const maestro_host_t *host, const char *key, char *dst, size_t size)
{
    const char *v = host->config(host->ctx, key);
    if (!v)
        return 0;
    if (strlen(v) >= size)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int example_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    const char *mode = host->config(host->ctx, "mode");
    if (mode && strcmp(mode, "jsonl") != 0) {
        snprintf(errbuf, errlen, "mode must be \"jsonl\", got \"%s\"", mode);
        return MAESTRO_E_CONFIG;
    }
    example_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return MAESTRO_E_FAILED;
    }
    st->host = host; /* valid until fini */
    if (copy_config(host, "path", st->path, sizeof st->path) ||
        copy_config(host, "fail_if_exists", st->fail_if_exists, sizeof st->fail_if_exists)) {
        snprintf(errbuf, errlen, "path or fail_if_exists is longer than %zu bytes",
                 sizeof st->path - 1);
        free(st);
        return MAESTRO_E_CONFIG;
    }
    *state = st;
    return MAESTRO_OK;
}

static void example_fini(void *state)
{
    example_t *st = state;
    char msg[160];
    snprintf(msg, sizeof msg, "%ld metrics, %ld logs, %ld artifacts, %ld models",
             st->counts[MAESTRO_EV_METRIC], st->counts[MAESTRO_EV_LOG],
             st->counts[MAESTRO_EV_ARTIFACT], st->counts[MAESTRO_EV_MODEL]);
    st->host->log(st->host->ctx, MAESTRO_LOG_DEBUG, msg);
    free(st);
}

static int example_run_start(void *state, const maestro_run_info_t *run)
{
    example_t *st = state;
    if (!st->path[0] && run->run_dir)
        snprintf(st->path, sizeof st->path, "%s/example-events.jsonl", run->run_dir);
    jbuf_t b = {0};
    jb_lit(&b, "{");
    jb_key(&b, "event");
    jb_str(&b, "run_start");
    jb_key(&b, "run_id");
    jb_str(&b, run->run_id);
    jb_key(&b, "kind");
    jb_str(&b, run->job_kind);
    jb_key(&b, "rank");
    jb_fmt(&b, "%d", run->rank);
    jb_key(&b, "ranks");
    jb_fmt(&b, "%d", run->ranks);
    jb_lit(&b, "}");
    return deliver(st, &b);
}

static const char *kind_name(maestro_event_kind_t k)
{
    switch (k) {
    case MAESTRO_EV_METRIC:
        return "metric";
    case MAESTRO_EV_LOG:
        return "log";
    case MAESTRO_EV_ARTIFACT:
        return "artifact";
    case MAESTRO_EV_MODEL:
        return "model";
    }
    return "unknown";
}

static int example_event(void *state, const maestro_event_t *ev)
{
    example_t *st = state;
    if (ev->kind >= MAESTRO_EV_METRIC && ev->kind <= MAESTRO_EV_MODEL)
        st->counts[ev->kind]++;
    jbuf_t b = {0};
    jb_lit(&b, "{");
    jb_key(&b, "event");
    jb_str(&b, kind_name(ev->kind));
    jb_key(&b, "time_ns");
    jb_fmt(&b, "%lld", (long long)ev->time_ns);
    jb_key(&b, "rank");
    jb_fmt(&b, "%d", ev->rank);
    if (ev->kind == MAESTRO_EV_METRIC) {
        jb_key(&b, "name");
        jb_str(&b, ev->name);
        jb_key(&b, "value");
        jb_num(&b, ev->value);
        jb_key(&b, "step");
        jb_fmt(&b, "%lld", (long long)ev->step);
        jb_key(&b, "epoch");
        jb_fmt(&b, "%lld", (long long)ev->epoch);
        jb_key(&b, "labels");
        jb_lit(&b, "{");
        for (size_t i = 0; i < ev->n_labels; i++) {
            jb_lit(&b, i ? "," : "");
            jb_str(&b, ev->labels[i].key);
            jb_lit(&b, ":");
            jb_str(&b, ev->labels[i].value);
        }
        jb_lit(&b, "}");
    } else if (ev->kind == MAESTRO_EV_LOG) {
        static const char *levels[] = {"debug", "info", "warn", "error"};
        jb_key(&b, "level");
        jb_str(&b, ev->level <= MAESTRO_LOG_ERROR ? levels[ev->level] : "error");
        jb_key(&b, "component");
        jb_str(&b, ev->component);
        jb_key(&b, "message");
        jb_str(&b, ev->message);
    } else {
        jb_key(&b, "path");
        jb_str(&b, ev->path);
        jb_key(&b, "name");
        jb_str(&b, ev->artifact_name);
    }
    jb_lit(&b, "}");
    return deliver(st, &b);
}

static int example_run_end(void *state, const maestro_run_end_t *end)
{
    example_t *st = state;
    jbuf_t b = {0};
    jb_lit(&b, "{");
    jb_key(&b, "event");
    jb_str(&b, "run_end");
    jb_key(&b, "status");
    jb_str(&b, end->status);
    jb_key(&b, "exit_code");
    jb_fmt(&b, "%d", end->exit_code);
    jb_key(&b, "metrics");
    jb_lit(&b, "{");
    for (size_t i = 0; i < end->n_metrics; i++) {
        jb_lit(&b, i ? "," : "");
        jb_str(&b, end->metric_names[i]);
        jb_lit(&b, ":");
        jb_num(&b, end->metric_values[i]);
    }
    jb_lit(&b, "}");
    jb_key(&b, "events");
    jb_fmt(&b, "%ld", st->counts[1] + st->counts[2] + st->counts[3] + st->counts[4]);
    jb_lit(&b, "}");
    return deliver(st, &b);
}

/* A spooled "<path>\n<line>": append the line to the path it was meant for. */
static int example_flush(void *state, const char *kind, const void *data, size_t len)
{
    example_t *st = state;
    const char *nl = memchr(data, '\n', len);
    if (strcmp(kind, "line") != 0 || !nl || (size_t)(nl - (const char *)data) >= sizeof st->path)
        return MAESTRO_E_FAILED; /* not ours: never deliverable, the host keeps it */
    char path[sizeof st->path];
    memcpy(path, data, (size_t)(nl - (const char *)data));
    path[nl - (const char *)data] = '\0';
    const char *line = nl + 1;
    if (append_line(st, path, line, len - (size_t)(line - (const char *)data)) != 0)
        return MAESTRO_E_RETRY;
    if (st->waiting > 0)
        st->waiting--;
    return MAESTRO_OK;
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_METRICS,
    .name = "example",
    .version = "1.0",
    .description = "every event as a JSON line in a file (the plugin template)",
    .init = example_init,
    .fini = example_fini,
    .run_start = example_run_start,
    .event = example_event,
    .run_end = example_run_end,
    .flush = example_flush,
};
