/* client.c - HTTP to the MLflow tracking server: retries, error bodies, experiments and runs
 *
 * Every exchange goes through host->http (libcurl in the host, TLS verification on). The
 * retry rule is the Python client's: no answer, 408, 429 and 5xx are tried again with
 * exponential backoff; any other 4xx is final. MLflow answers errors as
 * {"error_code", "message"}, except an unhandled server exception, which is an HTML 500 page:
 * both become one log line. Ids and int64 fields are read whether they come as JSON strings
 * or numbers (proto-JSON servers send strings, 2.12 sends numbers).
 */
#include "mlflow_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void mlf_resp_clear(mlf_resp_t *r)
{
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

char *mlf_urlencode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *mlf_json_idstr(const json_t *v)
{
    char buf[32];
    if (json_is_string(v))
        return mlf_strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return mlf_strdup(buf);
    }
    return NULL;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int retryable(long status)
{
    return status == 0 || status == 408 || status == 429 || status >= 500;
}

/* One line from a body that is not JSON: the HTML <title> when there is one (the server's
 * 500 page), else its first characters with the whitespace folded. */
static void body_snippet(const char *body, size_t len, char *out, size_t size)
{
    const char *t = body ? strstr(body, "<title>") : NULL;
    const char *from = body ? body : "", *to = from + (body ? len : 0);
    if (t) {
        const char *e = strstr(t, "</title>");
        if (e) {
            from = t + 7;
            to = e;
        }
    }
    size_t o = 0;
    int space = 0;
    for (const char *p = from; p < to && o + 4 < size && o < 160; p++) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c) || c < 0x20) {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (!o)
        snprintf(out, size, "(empty body)");
}

/* Fill r from what the host got back. */
static void read_response(mlf_resp_t *r, const char *label, const maestro_http_response_t *hr)
{
    json_error_t jerr;
    r->status = hr->status;
    if (hr->body && hr->body_len)
        r->json = json_loadb(hr->body, hr->body_len, 0, &jerr);
    else if (hr->status >= 200 && hr->status < 300)
        r->json = json_object(); /* an empty 2xx body means {} */
    if (hr->status >= 200 && hr->status < 300) {
        if (!json_is_object(r->json))
            snprintf(r->message, sizeof r->message,
                     "%s: HTTP %ld with a body that is not a JSON object (not an MLflow server?)",
                     label, hr->status);
        return;
    }
    const char *code = json_string_value(json_object_get(r->json, "error_code"));
    const char *msg = json_string_value(json_object_get(r->json, "message"));
    if (code) {
        snprintf(r->error_code, sizeof r->error_code, "%s", code);
        snprintf(r->message, sizeof r->message, "%s: HTTP %ld %s: %.200s", label, hr->status, code,
                 msg ? msg : "");
    } else {
        char snip[200];
        body_snippet(hr->body, hr->body_len, snip, sizeof snip);
        snprintf(r->message, sizeof r->message, "%s: HTTP %ld with a non-JSON body: %s", label,
                 hr->status, snip);
    }
}

mlf_rc_t mlf_request(mlf_state_t *st, const char *label, const char *method, const char *url,
                     const char *ctype, const void *body, size_t len, double timeout_s,
                     mlf_resp_t *r)
{
    maestro_kv_t headers[2] = {{"Accept", "application/json"}, {"Content-Type", ctype}};
    maestro_http_request_t req = {
        .method = method,
        .url = url,
        .headers = headers,
        .n_headers = ctype ? 2 : 1,
        .body = body,
        .body_len = len,
        .timeout_s = timeout_s,
        .bearer_token = st->token,
        .basic_user = st->token ? NULL : st->username,
        .basic_password = st->token ? NULL : st->password,
    };
    int tries = st->in_flush ? 1 : st->max_tries;
    double wait = st->backoff_s;
    for (int i = 0; i < (tries > 0 ? tries : 1); i++) {
        if (i) {
            sleep_s(wait);
            wait *= 2;
        }
        mlf_resp_clear(r);
        maestro_http_response_t hr;
        memset(&hr, 0, sizeof hr);
        int hrc = st->host->http(st->host->ctx, &req, &hr);
        if (hrc != MAESTRO_OK) {
            r->status = 0;
            snprintf(r->message, sizeof r->message, "%s: no answer from %s (%s)", label, st->url,
                     hr.error[0] ? hr.error : "no response");
        } else {
            read_response(r, label, &hr);
        }
        st->host->free_response(st->host->ctx, &hr);
        if (r->status >= 200 && r->status < 300)
            return json_is_object(r->json) ? MLF_OK : MLF_PERM;
        if (!retryable(r->status))
            return MLF_PERM;
    }
    return MLF_RETRY;
}

mlf_rc_t mlf_call(mlf_state_t *st, const char *method, const char *endpoint, const json_t *body,
                  const char *query, mlf_resp_t *r)
{
    size_t n = strlen(st->url) + strlen(endpoint) + (query ? strlen(query) : 0) + 32;
    char *url = malloc(n);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    mlf_rc_t rc = MLF_PERM;
    memset(r, 0, sizeof *r);
    if (!url || (body && !text)) {
        snprintf(r->message, sizeof r->message, "%s: out of memory", endpoint);
        goto out;
    }
    snprintf(url, n, "%s/api/2.0/mlflow/%s%s%s", st->url, endpoint, query ? "?" : "",
             query ? query : "");
    rc = mlf_request(st, endpoint, method, url, text ? "application/json" : NULL, text,
                     text ? strlen(text) : 0, st->timeout_s, r);
out:
    free(url);
    free(text);
    return rc;
}

/* ---- experiments -------------------------------------------------------------------------- */

/* get-by-name: MLF_OK with the id, MLF_PERM + r->status 404 when there is none. */
static mlf_rc_t experiment_get(mlf_state_t *st, const char *name, mlf_resp_t *r)
{
    char *enc = mlf_urlencode(name, 0);
    size_t n = enc ? strlen(enc) + 32 : 0;
    char *q = enc ? malloc(n) : NULL;
    if (!q) {
        free(enc);
        return MLF_PERM;
    }
    snprintf(q, n, "experiment_name=%s", enc);
    mlf_rc_t rc = mlf_call(st, "GET", "experiments/get-by-name", NULL, q, r);
    free(enc);
    free(q);
    if (rc != MLF_OK)
        return rc;
    json_t *exp = json_object_get(r->json, "experiment");
    const char *stage = json_string_value(json_object_get(exp, "lifecycle_stage"));
    char *id = mlf_json_idstr(json_object_get(exp, "experiment_id"));
    if (!id) {
        snprintf(r->message, sizeof r->message,
                 "experiments/get-by-name: the answer has no experiment_id");
        return MLF_PERM;
    }
    if (stage && !strcmp(stage, "deleted")) {
        free(id);
        snprintf(r->message, sizeof r->message,
                 "experiment \"%.100s\" is deleted in MLflow; restore it or set another "
                 "experiment name",
                 name);
        r->status = 400;
        return MLF_PERM;
    }
    free(st->experiment_id);
    st->experiment_id = id;
    return MLF_OK;
}

mlf_rc_t mlf_experiment_resolve(mlf_state_t *st, const char *name)
{
    mlf_resp_t r = {0};
    mlf_rc_t rc = experiment_get(st, name, &r);
    if (rc == MLF_PERM && r.status == 404 && !strcmp(r.error_code, "RESOURCE_DOES_NOT_EXIST")) {
        json_t *body = json_pack("{s:s}", "name", name);
        mlf_resp_clear(&r);
        rc = body ? mlf_call(st, "POST", "experiments/create", body, NULL, &r) : MLF_PERM;
        json_decref(body);
        if (rc == MLF_OK) {
            char *id = mlf_json_idstr(json_object_get(r.json, "experiment_id"));
            if (id) {
                free(st->experiment_id);
                st->experiment_id = id;
                mlf_log(st, MAESTRO_LOG_INFO, "created MLflow experiment %s (id %s)", name, id);
            } else {
                rc = MLF_PERM;
                snprintf(r.message, sizeof r.message,
                         "experiments/create: the answer has no experiment_id");
            }
        } else if (rc == MLF_PERM && !strcmp(r.error_code, "RESOURCE_ALREADY_EXISTS")) {
            /* another run created it between our get and create */
            mlf_resp_clear(&r);
            rc = experiment_get(st, name, &r);
        }
    }
    if (rc == MLF_PERM)
        mlf_log(st, MAESTRO_LOG_ERROR, "%s", r.message);
    else if (rc == MLF_RETRY)
        mlf_log(st, MAESTRO_LOG_WARN, "%s", r.message);
    mlf_resp_clear(&r);
    return rc;
}

/* ---- runs --------------------------------------------------------------------------------- */

static int take_run_info(mlf_state_t *st, const json_t *info)
{
    char *id = mlf_json_idstr(json_object_get(info, "run_id"));
    if (!id)
        id = mlf_json_idstr(json_object_get(info, "run_uuid"));
    const char *uri = json_string_value(json_object_get(info, "artifact_uri"));
    if (!id)
        return -1;
    free(st->run_id);
    free(st->artifact_uri);
    st->run_id = id;
    st->artifact_uri = uri ? mlf_strdup(uri) : NULL;
    return 0;
}

/* runs/search in st->experiment_id for the run tagged maestro.run_id = id: MLF_OK and *info
 * (inside r->json) when found, MLF_OK and *info NULL when not. */
static mlf_rc_t search_tagged(mlf_state_t *st, const char *maestro_run_id, mlf_resp_t *r,
                              const json_t **info)
{
    *info = NULL;
    /* The filter language has no escapes we can rely on; Maestro run ids never hold quotes. */
    if (strpbrk(maestro_run_id, "'\"`\\"))
        return MLF_OK;
    char filter[512];
    snprintf(filter, sizeof filter, "tags.`maestro.run_id` = '%s'", maestro_run_id);
    json_t *body = json_pack("{s:[s], s:s, s:i, s:s}", "experiment_ids", st->experiment_id,
                             "filter", filter, "max_results", 1, "run_view_type", "ACTIVE_ONLY");
    mlf_rc_t rc = body ? mlf_call(st, "POST", "runs/search", body, NULL, r) : MLF_PERM;
    json_decref(body);
    if (rc == MLF_OK) {
        json_t *runs = json_object_get(r->json, "runs");
        if (json_array_size(runs) > 0)
            *info = json_object_get(json_array_get(runs, 0), "info");
    } else if (rc == MLF_RETRY) {
        mlf_log(st, MAESTRO_LOG_WARN, "%s", r->message);
    } else {
        /* a server without search still gets a run: create one (duplicates are the cost) */
        mlf_log(st, MAESTRO_LOG_DEBUG, "%s", r->message);
        rc = MLF_OK;
    }
    return rc;
}

/* The run of this experiment tagged maestro.run_id = id: MLF_OK and st->run_id when found,
 * MLF_OK and no run_id when not. */
static mlf_rc_t run_search(mlf_state_t *st, const char *maestro_run_id)
{
    mlf_resp_t r = {0};
    const json_t *info = NULL;
    mlf_rc_t rc = search_tagged(st, maestro_run_id, &r, &info);
    if (info)
        take_run_info(st, info);
    mlf_resp_clear(&r);
    return rc;
}

mlf_rc_t mlf_run_lookup(mlf_state_t *st, const char *maestro_run_id, char **mlflow_run_id)
{
    *mlflow_run_id = NULL;
    mlf_resp_t r = {0};
    const json_t *info = NULL;
    mlf_rc_t rc = search_tagged(st, maestro_run_id, &r, &info);
    if (info) {
        *mlflow_run_id = mlf_json_idstr(json_object_get(info, "run_id"));
        if (!*mlflow_run_id)
            *mlflow_run_id = mlf_json_idstr(json_object_get(info, "run_uuid"));
    }
    mlf_resp_clear(&r);
    return rc;
}

mlf_rc_t mlf_run_find_or_create(mlf_state_t *st, const char *maestro_run_id,
                                const char *parent_run_id, json_t *create_body, int *resumed)
{
    *resumed = 0;
    free(st->run_id);
    st->run_id = NULL;
    mlf_rc_t rc = maestro_run_id ? run_search(st, maestro_run_id) : MLF_OK;
    if (rc != MLF_OK)
        return rc;
    if (st->run_id) {
        *resumed = 1;
        return MLF_OK;
    }
    /* Only a run about to be created needs its parent now: a resumed one is linked after. */
    rc = mlf_parent_tag(st, parent_run_id, create_body);
    if (rc != MLF_OK)
        return rc;
    json_object_set_new(create_body, "experiment_id", json_string(st->experiment_id));
    mlf_resp_t r = {0};
    rc = mlf_call(st, "POST", "runs/create", create_body, NULL, &r);
    if (rc == MLF_OK &&
        take_run_info(st, json_object_get(json_object_get(r.json, "run"), "info"))) {
        snprintf(r.message, sizeof r.message, "runs/create: the answer has no run_id");
        rc = MLF_PERM;
    }
    if (rc != MLF_OK)
        mlf_log(st, rc == MLF_PERM ? MAESTRO_LOG_ERROR : MAESTRO_LOG_WARN, "%s", r.message);
    mlf_resp_clear(&r);
    return rc;
}

mlf_rc_t mlf_run_get(mlf_state_t *st)
{
    char *enc = mlf_urlencode(st->run_id, 0);
    char q[256];
    if (!enc)
        return MLF_PERM;
    snprintf(q, sizeof q, "run_id=%s", enc);
    free(enc);
    mlf_resp_t r = {0};
    mlf_rc_t rc = mlf_call(st, "GET", "runs/get", NULL, q, &r);
    if (rc == MLF_OK &&
        take_run_info(st, json_object_get(json_object_get(r.json, "run"), "info"))) {
        snprintf(r.message, sizeof r.message, "runs/get: the answer has no run_id");
        rc = MLF_PERM;
    }
    if (rc != MLF_OK)
        mlf_log(st, rc == MLF_PERM ? MAESTRO_LOG_ERROR : MAESTRO_LOG_WARN, "%s", r.message);
    mlf_resp_clear(&r);
    return rc;
}

mlf_rc_t mlf_run_locate(mlf_state_t *st, const json_t *payload)
{
    if (st->disabled)
        return MLF_PERM; /* its runs/create failed for good: nothing can go to this run */
    if (st->run_id)
        return MLF_OK;
    const char *rid = json_string_value(json_object_get(payload, "run_id"));
    if (rid) {
        st->run_id = mlf_strdup(rid);
        return st->run_id ? MLF_OK : MLF_PERM;
    }
    const char *exp = json_string_value(json_object_get(payload, "experiment"));
    const char *mid = json_string_value(json_object_get(payload, "maestro_run_id"));
    if (!exp || !mid)
        return MLF_PERM;
    mlf_resp_t r = {0};
    mlf_rc_t rc = experiment_get(st, exp, &r);
    if (rc == MLF_OK)
        rc = run_search(st, mid);
    if (rc == MLF_OK && !st->run_id) {
        /* its runs/create may still be waiting in the spool: keep this one until then */
        mlf_log(st, MAESTRO_LOG_WARN, "no MLflow run tagged maestro.run_id=%s yet", mid);
        rc = MLF_RETRY;
    } else if (rc == MLF_PERM && r.status == 404) {
        rc = MLF_RETRY; /* the experiment too comes with the spooled runs/create */
    } else if (rc != MLF_OK) {
        mlf_log(st, MAESTRO_LOG_WARN, "%s", r.message);
    }
    mlf_resp_clear(&r);
    return rc;
}

mlf_rc_t mlf_run_update(mlf_state_t *st, const char *status, int64_t end_ms)
{
    json_t *body = json_pack("{s:s, s:s}", "run_id", st->run_id, "status", status);
    if (body && end_ms > 0)
        json_object_set_new(body, "end_time", json_integer((json_int_t)end_ms));
    mlf_resp_t r = {0};
    mlf_rc_t rc = body ? mlf_call(st, "POST", "runs/update", body, NULL, &r) : MLF_PERM;
    json_decref(body);
    if (rc != MLF_OK)
        mlf_log(st, rc == MLF_PERM ? MAESTRO_LOG_ERROR : MAESTRO_LOG_WARN, "%s", r.message);
    mlf_resp_clear(&r);
    return rc;
}

mlf_rc_t mlf_run_set_tag(mlf_state_t *st, const char *key, const char *value)
{
    json_t *body = json_pack("{s:s, s:s, s:s}", "run_id", st->run_id, "key", key, "value", value);
    mlf_resp_t r = {0};
    mlf_rc_t rc = body ? mlf_call(st, "POST", "runs/set-tag", body, NULL, &r) : MLF_PERM;
    json_decref(body);
    if (rc != MLF_OK)
        mlf_log(st, rc == MLF_PERM ? MAESTRO_LOG_ERROR : MAESTRO_LOG_WARN, "%s", r.message);
    mlf_resp_clear(&r);
    return rc;
}
