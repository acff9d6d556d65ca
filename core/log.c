/* log.c - log records, human and JSON lines, secret redaction */
#include "core/log.h"

#include "core/alloc.h"
#include "core/status.h"
#include "core/str.h"
#include "core/time.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_SECRETS 64

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static mo_log_opts_t log_opts = {MO_LOG_INFO, MO_LOG_HUMAN, -1, 0, NULL};
static char *secrets[MAX_SECRETS];
static size_t n_secrets;
static mo_log_sink_fn sink_fn;
static void *sink_ud;
static char *field_keys[MO_LOG_MAX_FIELDS], *field_values[MO_LOG_MAX_FIELDS];
static size_t n_fields;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void mo_log_configure(const mo_log_opts_t *opts)
{
    pthread_mutex_lock(&log_lock);
    log_opts = *opts;
    pthread_mutex_unlock(&log_lock);
}

void mo_log_set_rank(int rank)
{
    pthread_mutex_lock(&log_lock);
    log_opts.rank = rank;
    pthread_mutex_unlock(&log_lock);
}

int mo_log_level_parse(const char *s, mo_log_level_t *out)
{
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, level_names[i])) {
            *out = (mo_log_level_t)i;
            return 0;
        }
    return MO_EINVAL;
}

int mo_log_format_parse(const char *s, mo_log_format_t *out)
{
    if (s && !strcmp(s, "human")) {
        *out = MO_LOG_HUMAN;
        return 0;
    }
    if (s && !strcmp(s, "json")) {
        *out = MO_LOG_JSON;
        return 0;
    }
    return MO_EINVAL;
}

int mo_log_add_secret(const char *value)
{
    if (!value || strlen(value) < 4)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++)
        if (!strcmp(secrets[i], value))
            goto out;
    if (n_secrets == MAX_SECRETS) {
        rc = MO_ENOMEM;
        goto out;
    }
    secrets[n_secrets] = mo_strdup(value);
    if (!secrets[n_secrets])
        rc = MO_ENOMEM;
    else
        n_secrets++;
out:
    pthread_mutex_unlock(&log_lock);
    return rc;
}

void mo_log_clear_secrets(void)
{
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    n_secrets = 0;
    pthread_mutex_unlock(&log_lock);
}

/* Caller holds log_lock. */
static char *redact_locked(const char *s)
{
    mo_buf_t b = {0};
    const char *p = s;
    while (*p) {
        size_t best_len = 0;
        for (size_t i = 0; i < n_secrets; i++) {
            size_t len = strlen(secrets[i]);
            if (len > best_len && !strncmp(p, secrets[i], len))
                best_len = len;
        }
        if (best_len) {
            mo_buf_puts(&b, "***");
            p += best_len;
        } else {
            mo_buf_append(&b, p, 1);
            p++;
        }
    }
    return mo_buf_steal(&b);
}

char *mo_redact(const char *s)
{
    if (!s)
        return NULL;
    pthread_mutex_lock(&log_lock);
    char *r = redact_locked(s);
    pthread_mutex_unlock(&log_lock);
    return r;
}

/* Caller holds log_lock. */
static void clear_fields_locked(void)
{
    for (size_t i = 0; i < n_fields; i++) {
        free(field_keys[i]);
        free(field_values[i]);
    }
    n_fields = 0;
}

int mo_log_set_fields(const char *const *keys, const char *const *values, size_t n)
{
    static const char *const reserved[] = {"ts", "level", "rank", "component", "msg"};
    if (n > MO_LOG_MAX_FIELDS || (n && (!keys || !values)))
        return MO_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || !*keys[i] || !values[i] || !*values[i])
            return MO_EINVAL;
        for (size_t k = 0; k < sizeof reserved / sizeof *reserved; k++)
            if (!strcmp(keys[i], reserved[k]))
                return MO_EINVAL;
    }
    int rc = 0;
    pthread_mutex_lock(&log_lock);
    clear_fields_locked();
    for (size_t i = 0; i < n; i++) {
        field_keys[i] = mo_strdup(keys[i]);
        field_values[i] = mo_strdup(values[i]);
        n_fields = i + 1; /* before the check: a half-copied pair is freed by the clear */
        if (!field_keys[i] || !field_values[i]) {
            clear_fields_locked();
            rc = MO_ENOMEM;
            break;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return rc;
}

void mo_log_set_sink(mo_log_sink_fn fn, void *ud)
{
    pthread_mutex_lock(&log_lock);
    sink_fn = fn;
    sink_ud = ud;
    pthread_mutex_unlock(&log_lock);
}

static void print_json(FILE *f, const mo_log_record_t *rec)
{
    char ts[40];
    mo_time_iso8601(ts, sizeof ts, rec->unix_ns);
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(level_names[rec->level]));
    if (rec->rank >= 0)
        json_object_set_new(o, "rank", json_integer(rec->rank));
    for (size_t i = 0; i < rec->n_fields; i++) {
        json_t *v = json_string(rec->field_values[i]); /* NULL for invalid UTF-8: left out */
        if (v)
            json_object_set_new(o, rec->field_keys[i], v);
    }
    json_object_set_new(o, "component", json_string(rec->component));
    /* Messages are printf output; invalid UTF-8 would make json_string fail. */
    json_t *m = json_string(rec->msg);
    json_object_set_new(o, "msg", m ? m : json_string("(message was not valid UTF-8)"));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) {
        fprintf(f, "%s\n", line);
        free(line);
    }
    json_decref(o);
}

static void print_human(FILE *f, const mo_log_record_t *rec)
{
    char ts[40];
    mo_time_iso8601(ts, sizeof ts, rec->unix_ns);
    if (rec->rank >= 0)
        fprintf(f, "%s %-5s [%d] %s: %s\n", ts + 11, level_names[rec->level], rec->rank,
                rec->component, rec->msg);
    else
        fprintf(f, "%s %-5s %s: %s\n", ts + 11, level_names[rec->level], rec->component, rec->msg);
}

void mo_log(mo_log_level_t level, const char *component, const char *fmt, ...)
{
    char raw[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_lock);
    int printable = level >= log_opts.level &&
                    (level >= MO_LOG_WARN || log_opts.all_ranks || log_opts.rank <= 0);
    if (!printable && !sink_fn)
        goto out;
    char *msg = redact_locked(raw);
    /* Secrets may be registered after the fields were set: redact them per record too. */
    char *values[MO_LOG_MAX_FIELDS];
    size_t nf = 0;
    for (; nf < n_fields; nf++)
        if (!(values[nf] = redact_locked(field_values[nf])))
            break;
    mo_log_record_t rec = {mo_time_unix_ns(),
                           level,
                           log_opts.rank,
                           component ? component : "maestro",
                           msg ? msg : "(log line dropped: out of memory)",
                           (const char *const *)field_keys,
                           (const char *const *)values,
                           nf};
    if (printable) {
        FILE *f = log_opts.stream ? log_opts.stream : stderr;
        if (log_opts.format == MO_LOG_JSON)
            print_json(f, &rec);
        else
            print_human(f, &rec);
        fflush(f);
    }
    if (sink_fn && level >= log_opts.level)
        sink_fn(&rec, sink_ud);
    free(msg);
    for (size_t i = 0; i < nf; i++)
        free(values[i]);
out:
    pthread_mutex_unlock(&log_lock);
}

void mo_log_phase(const char *component, const char *phase, double t0)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    long rss = 0;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            rss = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    mo_log_debug(component, "phase %s: %.3f s, cpu %.3f s, rss %.1f MiB, peak %.1f MiB", phase,
                 mo_time_mono() - t0, cpu, (double)rss / 1024.0, (double)ru.ru_maxrss / 1024.0);
}
