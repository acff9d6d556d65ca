/* batch.c - MLflow's names and limits: keys, values, params once, metrics through log-batch
 *
 * MLflow checks every log-batch request against fixed limits (mlflow/utils/validation.py):
 * at most 1000 metrics, 100 params, 1000 entities in all, and a raw JSON body of at most
 * 1e6 bytes; keys match ^[/\w.\- ]*$, are at most 250 long and must be their own normalised
 * path; param values are at most 6000 characters on 2.8+ servers. One bad entity rejects the
 * whole request, so everything is made valid here before it is sent: keys are sanitised,
 * values truncated with a visible marker, and requests split by counting the exact compact
 * JSON each entry adds. Params are write-once in MLflow (a changed value is a 400), so each
 * key goes once per run. Strict JSON has no NaN or Infinity: those values go as the strings
 * MLflow's protobuf JSON parser accepts.
 */
#include "mlflow_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room left in a body for {"run_id":"...","metrics":[]} around the entries. */
#define BODY_OVERHEAD 256

int mlf_worse(int a, int b)
{
    if (a == MAESTRO_E_FAILED || b == MAESTRO_E_FAILED)
        return MAESTRO_E_FAILED;
    return a != MAESTRO_OK ? a : b;
}

/* Length of the valid UTF-8 sequence at p, 0 when the byte there starts none. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        unsigned lo = p[0] == 0xE0 ? 0xA0 : 0x80, hi = p[0] == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        unsigned lo = p[0] == 0xF0 ? 0x90 : 0x80, hi = p[0] == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

static int key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '/' || c == '.' || c == '-' || c == ' ';
}

int mlf_sanitize_key(const char *name, char **out)
{
    size_t n = strlen(name);
    char *k = malloc(n + 2);
    *out = NULL;
    if (!k)
        return -1;
    /* Characters: anything outside the set (a non-ASCII letter included: one '_' per code
     * point, so the length stays close) becomes '_'. */
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o < MLF_MAX_KEY_LEN;) {
        size_t l = utf8_len(p);
        k[o++] = key_char(*p) ? (char)*p : '_';
        p += l ? l : 1;
    }
    k[o] = '\0';
    /* Path rules: posixpath.normpath(key) must be key, so no empty, "." or ".." segment (no
     * leading, trailing or doubled '/'), and it must not start with "..". */
    for (size_t i = 0; i < o; i++)
        if (k[i] == '/' && (i == 0 || i == o - 1 || k[i - 1] == '/'))
            k[i] = '_';
    for (size_t s = 0; s < o;) {
        size_t e = s;
        while (e < o && k[e] != '/')
            e++;
        if ((e - s == 1 && k[s] == '.') || (e - s == 2 && k[s] == '.' && k[s + 1] == '.'))
            for (size_t i = s; i < e; i++)
                k[i] = '_';
        s = e + 1;
    }
    if (o >= 2 && k[0] == '.' && k[1] == '.')
        k[0] = '_';
    if (o == 0)
        k[o++] = '_', k[o] = '\0';
    *out = k;
    return strcmp(k, name) != 0;
}

int mlf_truncate_value(const char *value, size_t max_chars, char **out)
{
    static const char repl[] = "\xEF\xBF\xBD"; /* U+FFFD for bytes that are not UTF-8 */
    size_t n = strlen(value), mlen = strlen(MLF_TRUNC_MARKER);
    size_t keep = max_chars > mlen ? max_chars - mlen : max_chars;
    char *v = malloc(3 * n + mlen + 1);
    *out = NULL;
    if (!v)
        return -1;
    size_t o = 0, chars = 0, cut_o = 0;
    for (const unsigned char *p = (const unsigned char *)value; *p;) {
        if (chars == keep)
            cut_o = o; /* where the marker goes if the value turns out too long */
        size_t l = utf8_len(p);
        if (l) {
            memcpy(v + o, p, l);
            o += l;
            p += l;
        } else {
            memcpy(v + o, repl, 3);
            o += 3;
            p++;
        }
        chars++;
    }
    int cut = chars > max_chars;
    if (cut) {
        o = cut_o;
        if (keep < max_chars) {
            memcpy(v + o, MLF_TRUNC_MARKER, mlen);
            o += mlen;
        }
    }
    v[o] = '\0';
    *out = v;
    return cut;
}

/* Compact JSON size of one entry plus its comma. */
static size_t entry_bytes(const json_t *e)
{
    char *s = json_dumps(e, JSON_COMPACT);
    size_t n = s ? strlen(s) + 1 : 0;
    free(s);
    return n;
}

json_t *mlf_batch_split(const json_t *entries, const char *field, size_t max_count,
                        size_t max_bytes, size_t *dropped)
{
    json_t *bodies = json_array(), *chunk = NULL;
    size_t budget = max_bytes > 2 * BODY_OVERHEAD ? max_bytes - BODY_OVERHEAD : max_bytes / 2;
    size_t used = 0, i;
    json_t *e;
    *dropped = 0;
    if (!bodies)
        return NULL;
    json_array_foreach(entries, i, e)
    {
        size_t len = entry_bytes(e);
        if (len == 0 || len > budget) {
            (*dropped)++;
            continue;
        }
        if (chunk && (json_array_size(chunk) >= max_count || used + len > budget)) {
            json_array_append_new(bodies, json_pack("{s:o}", field, chunk));
            chunk = NULL;
        }
        if (!chunk) {
            chunk = json_array();
            used = 0;
            if (!chunk)
                break;
        }
        json_array_append(chunk, e);
        used += len;
    }
    if (chunk)
        json_array_append_new(bodies, json_pack("{s:o}", field, chunk));
    return bodies;
}

static size_t body_entries(const json_t *body, const char *field)
{
    return json_array_size(json_object_get(body, field));
}

int mlf_log_batch(mlf_state_t *st, json_t *body)
{
    if (!body)
        return MAESTRO_E_FAILED;
    if (st->disabled) {
        json_decref(body);
        return MAESTRO_E_FAILED;
    }
    if (st->spooling || !st->run_id) {
        json_t *p = mlf_spool_payload(st);
        if (p)
            json_object_set_new(p, "body", body);
        else
            json_decref(body);
        return mlf_spool(st, "runs-log-batch", p);
    }
    json_object_set_new(body, "run_id", json_string(st->run_id));
    mlf_resp_t r = {0};
    mlf_rc_t rc = mlf_call(st, "POST", "runs/log-batch", body, NULL, &r);
    int out = MAESTRO_OK;
    if (rc == MLF_RETRY) {
        mlf_log(st, MAESTRO_LOG_WARN, "%s; spooled", r.message);
        json_object_del(body, "run_id");
        json_t *p = mlf_spool_payload(st);
        if (p)
            json_object_set(p, "body", body);
        out = mlf_spool(st, "runs-log-batch", p);
    } else if (rc == MLF_PERM) {
        mlf_log(st, MAESTRO_LOG_WARN, "%s (%zu metrics, %zu params not logged)", r.message,
                body_entries(body, "metrics"), body_entries(body, "params"));
        out = MAESTRO_E_FAILED;
    }
    mlf_resp_clear(&r);
    json_decref(body);
    return out;
}

int mlf_log_batch_replay(mlf_state_t *st, const json_t *payload)
{
    json_t *body = json_deep_copy(json_object_get(payload, "body"));
    if (!json_is_object(body)) {
        json_decref(body);
        return MAESTRO_E_FAILED;
    }
    mlf_rc_t rc = mlf_run_locate(st, payload);
    mlf_resp_t r = {0};
    if (rc == MLF_OK) {
        json_object_set_new(body, "run_id", json_string(st->run_id));
        rc = mlf_call(st, "POST", "runs/log-batch", body, NULL, &r);
        if (rc == MLF_PERM)
            mlf_log(st, MAESTRO_LOG_WARN, "%s (%zu metrics, %zu params not logged)", r.message,
                    body_entries(body, "metrics"), body_entries(body, "params"));
    }
    mlf_resp_clear(&r);
    json_decref(body);
    return rc == MLF_OK ? MAESTRO_OK : rc == MLF_RETRY ? MAESTRO_E_RETRY : MAESTRO_E_FAILED;
}

/* ---- params ------------------------------------------------------------------------------- */

int mlf_params_send(mlf_state_t *st, const maestro_kv_t *params, size_t n)
{
    json_t *entries = json_array();
    size_t renamed = 0, cut = 0, dup = 0;
    int rc = MAESTRO_OK;
    if (!entries)
        return MAESTRO_E_FAILED;
    for (size_t i = 0; i < n; i++) {
        if (!params[i].key)
            continue;
        char *key = NULL, *value = NULL;
        int kc = mlf_sanitize_key(params[i].key, &key);
        int vc =
            mlf_truncate_value(params[i].value ? params[i].value : "", st->param_value_max, &value);
        if (kc < 0 || vc < 0) {
            free(key);
            free(value);
            rc = MAESTRO_E_FAILED;
            break;
        }
        const char *seen = json_string_value(json_object_get(st->param_keys, key));
        if (seen) {
            /* Two spec keys that sanitise alike: MLflow keeps the first value for good. */
            if (strcmp(seen, value)) {
                dup++;
                mlf_log(st, MAESTRO_LOG_WARN,
                        "param %s (from spec key %s) already holds another value; kept the "
                        "first",
                        key, params[i].key);
            }
        } else {
            renamed += kc;
            cut += vc;
            if (kc)
                mlf_log(st, MAESTRO_LOG_DEBUG, "spec key %s is logged as param %s", params[i].key,
                        key);
            json_object_set_new(st->param_keys, key, json_string(value));
            json_array_append_new(entries, json_pack("{s:s, s:s}", "key", key, "value", value));
        }
        free(key);
        free(value);
    }
    if (renamed || cut)
        mlf_log(st, MAESTRO_LOG_INFO,
                "params: %zu key(s) renamed to MLflow's name rules, %zu value(s) cut at %zu "
                "characters",
                renamed, cut, st->param_value_max);
    size_t dropped = 0;
    json_t *bodies =
        mlf_batch_split(entries, "params", MLF_MAX_BATCH_PARAMS, st->batch_bytes_max, &dropped);
    json_decref(entries);
    size_t i;
    json_t *b;
    json_array_foreach(bodies, i, b) rc = mlf_worse(rc, mlf_log_batch(st, json_incref(b)));
    json_decref(bodies);
    return bodies ? rc : MAESTRO_E_FAILED;
}

/* ---- metrics ------------------------------------------------------------------------------ */

/* "name" or "name/label_value/..." for labelled series (a rank, a validation metric name). */
static char *metric_key(const maestro_event_t *ev)
{
    size_t n = strlen(ev->name) + 1;
    for (size_t i = 0; i < ev->n_labels; i++)
        n += strlen(ev->labels[i].key ? ev->labels[i].key : "") +
             strlen(ev->labels[i].value ? ev->labels[i].value : "") + 2;
    char *raw = malloc(n), *key = NULL;
    if (!raw)
        return NULL;
    size_t o = (size_t)snprintf(raw, n, "%s", ev->name);
    for (size_t i = 0; i < ev->n_labels && o < n; i++)
        o += (size_t)snprintf(raw + o, n - o, "/%s_%s", ev->labels[i].key ? ev->labels[i].key : "",
                              ev->labels[i].value ? ev->labels[i].value : "");
    mlf_sanitize_key(raw, &key);
    free(raw);
    return key;
}

static json_t *metric_value(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

int mlf_metric_add(mlf_state_t *st, const maestro_event_t *ev)
{
    if (!ev->name)
        return MAESTRO_OK;
    char *key = metric_key(ev);
    int64_t ts = ev->time_ns ? ev->time_ns / 1000000 : mlf_now_ms(st);
    json_t *e =
        key ? json_pack("{s:s, s:o, s:I, s:I}", "key", key, "value", metric_value(ev->value),
                        "timestamp", (json_int_t)ts, "step", (json_int_t)ev->step)
            : NULL;
    free(key);
    if (!e)
        return MAESTRO_E_FAILED;
    int rc = MAESTRO_OK;
    size_t len = entry_bytes(e);
    if (json_array_size(st->metrics) >= MLF_MAX_BATCH_METRICS ||
        st->metrics_bytes + len + BODY_OVERHEAD > st->batch_bytes_max)
        rc = mlf_metrics_flush(st);
    json_array_append_new(st->metrics, e);
    st->metrics_bytes += len;
    if ((double)(st->host->now_ns() - st->last_send_ns) >= st->flush_interval_s * 1e9)
        rc = mlf_worse(rc, mlf_metrics_flush(st));
    return rc;
}

int mlf_metrics_flush(mlf_state_t *st)
{
    st->last_send_ns = st->host->now_ns();
    if (json_array_size(st->metrics) == 0)
        return MAESTRO_OK;
    size_t dropped = 0;
    json_t *bodies = mlf_batch_split(st->metrics, "metrics", MLF_MAX_BATCH_METRICS,
                                     st->batch_bytes_max, &dropped);
    json_array_clear(st->metrics);
    st->metrics_bytes = 0;
    if (!bodies)
        return MAESTRO_E_FAILED;
    int rc = MAESTRO_OK;
    size_t i;
    json_t *b;
    json_array_foreach(bodies, i, b) rc = mlf_worse(rc, mlf_log_batch(st, json_incref(b)));
    json_decref(bodies);
    return rc;
}
