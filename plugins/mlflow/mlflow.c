/* mlflow.c - the mlflow registry plugin: config, run lifecycle, spool and flush
 *
 * Only rank 0 talks to MLflow; on every other rank each callback is a no-op. With a `url` the
 * run becomes an MLflow run (experiment get-or-create, runs/create with the mlflow.* tags and,
 * for a child run, nested under its parent's run (nested.c), params, metrics through
 * runs/log-batch, artifacts through the mlflow-artifacts proxy, runs/update at the end, and
 * the model registry when the gates pass). Without one, run_end registers the model in a
 * local registry folder (local.c) and nothing else happens.
 *
 * Delivery: a request that still gets no answer (or 408/429/5xx) after a few tries with
 * backoff is handed to host->spool as a self-contained JSON payload naming the Maestro run,
 * and the callback returns MAESTRO_E_RETRY. From then on every request of the run is spooled
 * behind it, so flush() replays them in the run's order; `maestro plugins flush RUN_DIR` can
 * replay them in a fresh process, where runs are found again by their maestro.run_id tag.
 * Any other 4xx is permanent: MLflow's error_code and message are logged and nothing is
 * retried. Credentials come from config or the MLFLOW_TRACKING_* variables and are never
 * logged or spooled.
 */
#include "mlflow_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *mlf_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int64_t mlf_now_ms(mlf_state_t *st)
{
    return st->host->now_ns() / 1000000;
}

void mlf_log(mlf_state_t *st, maestro_log_level_t level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    st->host->log(st->host->ctx, level, line);
}

/* ---- config ------------------------------------------------------------------------------- */

static const char *cfg(mlf_state_t *st, const char *key)
{
    const char *v = st->host->config(st->host->ctx, key);
    return v && *v ? v : NULL;
}

static int cfg_number(mlf_state_t *st, const char *key, double lo, double hi, double *out,
                      char *errbuf, size_t errlen)
{
    const char *v = cfg(st, key);
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi) {
        snprintf(errbuf, errlen, "mlflow: %s must be a number from %g to %g, got \"%s\"", key, lo,
                 hi, v);
        return -1;
    }
    *out = d;
    return 0;
}

/* The local registry folder: config registry_dir, $MAESTRO_REGISTRY_DIR, ~/.maestro/registry. */
static char *default_registry_dir(void)
{
    const char *env = getenv("MAESTRO_REGISTRY_DIR");
    if (env && *env)
        return mlf_strdup(env);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    size_t n = strlen(home) + sizeof "/.maestro/registry";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.maestro/registry", home);
    return p;
}

static void state_free(mlf_state_t *st)
{
    if (!st)
        return;
    char **strs[] = {
        &st->url,           &st->experiment,   &st->token,          &st->username,
        &st->password,      &st->registry_dir, &st->maestro_run_id, &st->run_name,
        &st->job_kind,      &st->run_dir,      &st->git_commit,     &st->maestro_version,
        &st->experiment_id, &st->run_id,       &st->artifact_uri,   &st->model_uploaded,
        &st->parent_run_id};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    json_decref(st->metrics);
    json_decref(st->param_keys);
    free(st);
}

/* Credentials: config first (a ${secret:...} there is resolved by the host), then MLflow's own
 * environment variables, as its Python client reads them. Registered for redaction either way:
 * the host only knows about the ones it resolved. */
static int load_auth(mlf_state_t *st)
{
    const char *token = cfg(st, "token"), *user = cfg(st, "username"), *pass = cfg(st, "password");
    if (!token && !user) {
        token = getenv("MLFLOW_TRACKING_TOKEN");
        if (!token || !*token) {
            token = NULL;
            user = getenv("MLFLOW_TRACKING_USERNAME");
            pass = getenv("MLFLOW_TRACKING_PASSWORD");
            if (!user || !*user)
                user = pass = NULL;
        }
    }
    if (token) {
        st->token = mlf_strdup(token);
        if (!st->token)
            return -1;
        st->host->register_secret(st->host->ctx, st->token);
    } else if (user) {
        st->username = mlf_strdup(user);
        st->password = mlf_strdup(pass ? pass : "");
        if (!st->username || !st->password)
            return -1;
        st->host->register_secret(st->host->ctx, st->password);
    }
    return 0;
}

static int mlflow_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    *state = NULL;
    if (host->struct_size < sizeof(maestro_host_t)) {
        snprintf(errbuf, errlen, "mlflow: host services table too small (%u < %zu bytes)",
                 (unsigned)host->struct_size, sizeof(maestro_host_t));
        return MAESTRO_E_CONFIG;
    }
    mlf_state_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(errbuf, errlen, "mlflow: out of memory");
        return MAESTRO_E_FAILED;
    }
    st->host = host;
    st->rank = -1;
    st->max_tries = 4;
    st->backoff_s = 0.5;
    st->timeout_s = 0;
    st->artifact_timeout_s = 300;
    st->register_timeout_s = 60;
    st->flush_interval_s = 5;
    st->param_value_max = MLF_MAX_PARAM_VALUE;
    st->batch_bytes_max = MLF_MAX_BATCH_BYTES;

    int rc = MAESTRO_E_CONFIG;
    double tries = st->max_tries, pmax = (double)st->param_value_max,
           bmax = (double)st->batch_bytes_max;
    if (cfg_number(st, "retries", 0, 20, &tries, errbuf, errlen) ||
        cfg_number(st, "backoff_s", 0, 60, &st->backoff_s, errbuf, errlen) ||
        cfg_number(st, "timeout_s", 0, 3600, &st->timeout_s, errbuf, errlen) ||
        cfg_number(st, "artifact_timeout_s", 1, 86400, &st->artifact_timeout_s, errbuf, errlen) ||
        cfg_number(st, "register_timeout_s", 0, 3600, &st->register_timeout_s, errbuf, errlen) ||
        cfg_number(st, "flush_interval_s", 0, 3600, &st->flush_interval_s, errbuf, errlen) ||
        cfg_number(st, "param_value_max", 64, 1000000, &pmax, errbuf, errlen) ||
        cfg_number(st, "batch_bytes_max", 4096, MLF_MAX_BATCH_BYTES, &bmax, errbuf, errlen))
        goto fail;
    if (cfg(st, "retries"))
        tries += 1; /* `retries` counts the tries after the first */
    st->max_tries = (int)tries;
    st->param_value_max = (size_t)pmax;
    st->batch_bytes_max = (size_t)bmax;

    const char *url = cfg(st, "url");
    if (url) {
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
            snprintf(errbuf, errlen,
                     "mlflow: url must be an http:// or https:// tracking server, got \"%s\"", url);
            goto fail;
        }
        st->url = mlf_strdup(url);
        if (!st->url)
            goto oom;
        size_t n = strlen(st->url);
        while (n > 0 && st->url[n - 1] == '/')
            st->url[--n] = '\0';
    }
    st->experiment = mlf_strdup(cfg(st, "experiment") ? cfg(st, "experiment") : "maestro");
    st->registry_dir =
        cfg(st, "registry_dir") ? mlf_strdup(cfg(st, "registry_dir")) : default_registry_dir();
    st->metrics = json_array();
    st->param_keys = json_object();
    if (!st->experiment || !st->metrics || !st->param_keys || load_auth(st))
        goto oom;
    if (cfg(st, "password") && !st->username && !st->token) {
        snprintf(errbuf, errlen, "mlflow: password is set but username is not");
        goto fail;
    }
    *state = st;
    return MAESTRO_OK;
oom:
    snprintf(errbuf, errlen, "mlflow: out of memory");
    rc = MAESTRO_E_FAILED;
fail:
    state_free(st);
    return rc;
}

static void mlflow_fini(void *state)
{
    state_free(state);
}

/* ---- spool -------------------------------------------------------------------------------- */

json_t *mlf_spool_payload(mlf_state_t *st)
{
    /* url and experiment travel along so `maestro plugins flush` works even where cluster.yml
     * no longer says them; a configured url still wins at replay. Never the credentials. */
    json_t *p = json_pack("{s:i, s:s?, s:s, s:s?}", "v", 1, "url", st->url, "experiment",
                          st->experiment, "maestro_run_id", st->maestro_run_id);
    if (p && st->run_id)
        json_object_set_new(p, "run_id", json_string(st->run_id));
    /* every payload: whichever replays first in a later flush can still make the link */
    if (p && st->parent_run_id)
        json_object_set_new(p, "parent_run_id", json_string(st->parent_run_id));
    return p;
}

int mlf_spool(mlf_state_t *st, const char *kind, json_t *payload)
{
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    int rc = text ? st->host->spool(st->host->ctx, kind, text, strlen(text)) : MAESTRO_E_FAILED;
    free(text);
    if (rc != MAESTRO_OK) {
        mlf_log(st, MAESTRO_LOG_ERROR, "%s: could not be spooled either; it is lost", kind);
        return MAESTRO_E_FAILED;
    }
    st->spooling = 1;
    st->pending++;
    return MAESTRO_E_RETRY;
}

/* ---- run lifecycle ------------------------------------------------------------------------ */

static int add_tag(json_t *tags, const char *key, const char *value)
{
    if (!value || !*value)
        return 0;
    char *v = NULL;
    mlf_truncate_value(value, MLF_MAX_TAG_VALUE, &v);
    json_t *t = v ? json_pack("{s:s, s:s}", "key", key, "value", v) : NULL;
    free(v);
    return t ? json_array_append_new(tags, t) : -1;
}

/* runs/create's body (experiment_id is added once known). */
static json_t *create_body(mlf_state_t *st)
{
    char ranks[24];
    snprintf(ranks, sizeof ranks, "%d", st->ranks);
    const char *user = getenv("USER");
    if (!user || !*user)
        user = getenv("LOGNAME");
    json_t *tags = json_array();
    if (!tags || add_tag(tags, "mlflow.runName", st->run_name) ||
        add_tag(tags, "mlflow.user", user) || add_tag(tags, "mlflow.source.name", "maestro") ||
        add_tag(tags, "mlflow.source.type", "JOB") ||
        add_tag(tags, "mlflow.source.git.commit", st->git_commit) ||
        add_tag(tags, "maestro.run_id", st->maestro_run_id) ||
        add_tag(tags, "maestro.kind", st->job_kind) || add_tag(tags, "maestro.ranks", ranks) ||
        add_tag(tags, "maestro.version", st->maestro_version) ||
        add_tag(tags, "maestro.run_dir", st->run_dir) ||
        add_tag(tags, "maestro.parent_run_id", st->parent_run_id)) {
        json_decref(tags);
        return NULL;
    }
    return json_pack("{s:s, s:I, s:o}", "run_name", st->run_name ? st->run_name : "", "start_time",
                     (json_int_t)st->start_ms, "tags", tags);
}

/* Experiment, then the run (found again by its tag when resumed or replayed), nested under
 * the run tagged maestro.run_id = parent when there is one. */
static mlf_rc_t open_run(mlf_state_t *st, const char *experiment, const char *maestro_run_id,
                         const char *parent, json_t *body)
{
    mlf_rc_t rc = mlf_experiment_resolve(st, experiment);
    if (rc != MLF_OK)
        return rc;
    int resumed = 0;
    st->parent_linked = 0;
    rc = mlf_run_find_or_create(st, maestro_run_id, parent, body, &resumed);
    if (rc != MLF_OK)
        return rc;
    if (resumed) {
        mlf_log(st, MAESTRO_LOG_INFO, "continuing MLflow run %s of experiment %s", st->run_id,
                experiment);
        rc = mlf_run_update(st, "RUNNING", 0);
        /* its runs/create may have found no parent: link now (no answer: run end tries) */
        if (rc == MLF_OK)
            mlf_parent_link(st, parent);
    } else {
        st->parent_linked = mlf_parent_tagged(body);
        mlf_log(st, MAESTRO_LOG_INFO, "MLflow run %s in experiment %s (%s)", st->run_id, experiment,
                st->url);
    }
    return rc;
}

static int dup_field(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? mlf_strdup(src) : NULL;
    return src && !*dst ? -1 : 0;
}

/* The run's parent (ABI 1.1): a host of minor 0 has no such field in its struct. */
static const char *parent_of(mlf_state_t *st, const maestro_run_info_t *run)
{
    const char *parent = st->host->version >= 1 ? run->parent_run_id : NULL;
    if (!parent || !*parent)
        return NULL;
    if (run->run_id && !strcmp(parent, run->run_id)) {
        mlf_log(st, MAESTRO_LOG_WARN, "run %s names itself as its parent; taken as top-level",
                parent);
        return NULL;
    }
    return parent;
}

static int mlflow_run_start(void *state, const maestro_run_info_t *run)
{
    mlf_state_t *st = state;
    st->rank = run->rank;
    st->ranks = run->ranks;
    st->active = run->rank == 0;
    if (!st->active)
        return MAESTRO_OK;
    free(st->run_id);
    free(st->artifact_uri);
    free(st->model_uploaded);
    st->run_id = st->artifact_uri = st->model_uploaded = NULL;
    st->disabled = st->artifacts_refused = st->parent_linked = 0;
    st->spooling = 0; /* one host per run: nothing spooled before belongs to this run */
    st->pending = 0;
    json_object_clear(st->param_keys);
    json_array_clear(st->metrics);
    st->metrics_bytes = 0;
    st->start_ms = run->start_ns ? run->start_ns / 1000000 : mlf_now_ms(st);
    st->last_send_ns = st->host->now_ns();
    if (dup_field(&st->maestro_run_id, run->run_id) || dup_field(&st->run_name, run->run_name) ||
        dup_field(&st->job_kind, run->job_kind) || dup_field(&st->run_dir, run->run_dir) ||
        dup_field(&st->git_commit, run->git_commit) ||
        dup_field(&st->maestro_version, run->maestro_version) ||
        dup_field(&st->parent_run_id, parent_of(st, run))) {
        st->active = 0;
        return MAESTRO_E_FAILED;
    }
    if (!st->url)
        return MAESTRO_OK; /* embedded default: only run_end does anything */

    json_t *body = create_body(st);
    if (!body)
        return MAESTRO_E_FAILED;
    int rc = MAESTRO_OK;
    mlf_rc_t r = open_run(st, st->experiment, st->maestro_run_id, st->parent_run_id, body);
    if (r == MLF_RETRY && !st->run_id) {
        json_t *p = mlf_spool_payload(st);
        if (p)
            json_object_set(p, "create", body);
        rc = mlf_spool(st, "runs-create", p);
        if (rc == MAESTRO_E_RETRY)
            mlf_log(st, MAESTRO_LOG_WARN,
                    "MLflow at %s did not answer; the run is spooled and sent when it does",
                    st->url);
    } else if (r == MLF_PERM) {
        st->disabled = 1;
        rc = MAESTRO_E_FAILED;
    }
    json_decref(body);
    if (rc == MAESTRO_E_FAILED)
        return rc;
    int prc = mlf_params_send(st, run->params, run->n_params);
    return rc != MAESTRO_OK ? rc : prc;
}

static int mlflow_event(void *state, const maestro_event_t *ev)
{
    mlf_state_t *st = state;
    if (!st->active || !st->url || st->disabled)
        return MAESTRO_OK;
    switch (ev->kind) {
    case MAESTRO_EV_METRIC:
        return mlf_metric_add(st, ev);
    case MAESTRO_EV_ARTIFACT:
    case MAESTRO_EV_MODEL: {
        if (!ev->path)
            return MAESTRO_OK;
        const char *base = strrchr(ev->path, '/') ? strrchr(ev->path, '/') + 1 : ev->path;
        const char *name = ev->artifact_name && *ev->artifact_name ? ev->artifact_name : base;
        if (ev->kind == MAESTRO_EV_ARTIFACT)
            return mlf_artifact_upload(st, ev->path, name);
        /* A model goes under model/, the folder model-versions/create points at. */
        char mname[1024];
        snprintf(mname, sizeof mname, "model/%s", name);
        int rc = mlf_artifact_upload(st, ev->path, mname);
        if (rc != MAESTRO_E_FAILED)
            dup_field(&st->model_uploaded, ev->path);
        return rc;
    }
    default:
        return MAESTRO_OK; /* logs go to the logs plugins */
    }
}

static const char *mlflow_status(const char *status)
{
    if (status && !strcmp(status, "ok"))
        return "FINISHED";
    if (status && !strcmp(status, "preempted"))
        return "KILLED";
    return "FAILED"; /* failed, gate_failed, anything unknown */
}

static int mlflow_run_end(void *state, const maestro_run_end_t *end)
{
    mlf_state_t *st = state;
    if (!st->active)
        return MAESTRO_OK;
    st->active = 0;
    int ok = end->status && !strcmp(end->status, "ok") && end->gates_passed;
    int want_register = ok && end->registry_model && *end->registry_model;
    if (want_register && !end->model_path) {
        mlf_log(st, MAESTRO_LOG_WARN,
                "registry.model is %s but the run made no model; nothing registered",
                end->registry_model);
        want_register = 0;
    }
    if (!st->url)
        return want_register ? mlf_local_register(st, end) : MAESTRO_OK;
    if (st->disabled)
        return MAESTRO_E_FAILED;

    int rc = mlf_metrics_flush(st);
    if (want_register) {
        int urc = MAESTRO_OK;
        if (!st->model_uploaded || strcmp(st->model_uploaded, end->model_path)) {
            const char *slash = strrchr(end->model_path, '/');
            char mname[1024];
            snprintf(mname, sizeof mname, "model/%s", slash ? slash + 1 : end->model_path);
            urc = mlf_artifact_upload(st, end->model_path, mname);
        }
        rc = mlf_worse(rc, urc);
        if (urc != MAESTRO_E_FAILED)
            rc = mlf_worse(rc, mlf_register(st, end->registry_model, end->registry_alias));
    }

    const char *status = mlflow_status(end->status);
    int64_t end_ms = end->end_ns ? end->end_ns / 1000000 : mlf_now_ms(st);
    int urc;
    if (st->spooling || !st->run_id) {
        json_t *p = mlf_spool_payload(st);
        if (p)
            json_object_update_new(
                p, json_pack("{s:s, s:I}", "status", status, "end_time", (json_int_t)end_ms));
        urc = mlf_spool(st, "runs-update", p);
    } else {
        /* best effort: unlinked, the run still names its parent in maestro.parent_run_id */
        mlf_parent_link(st, st->parent_run_id);
        mlf_rc_t r = mlf_run_update(st, status, end_ms);
        urc = r == MLF_OK ? MAESTRO_OK : MAESTRO_E_FAILED;
        if (r == MLF_RETRY) {
            json_t *p = mlf_spool_payload(st);
            if (p)
                json_object_update_new(
                    p, json_pack("{s:s, s:I}", "status", status, "end_time", (json_int_t)end_ms));
            urc = mlf_spool(st, "runs-update", p);
        }
    }
    rc = mlf_worse(rc, urc);
    if (rc == MAESTRO_E_RETRY)
        mlf_log(st, MAESTRO_LOG_WARN,
                "MLflow run %s: %ld request(s) spooled; `maestro plugins flush %s` sends them",
                st->maestro_run_id ? st->maestro_run_id : "?", st->pending,
                st->run_dir ? st->run_dir : "RUN_DIR");
    return rc;
}

/* ---- flush: replay one spooled payload ---------------------------------------------------- */

static int replay_create(mlf_state_t *st, const json_t *p)
{
    const char *exp = json_string_value(json_object_get(p, "experiment"));
    const char *mid = json_string_value(json_object_get(p, "maestro_run_id"));
    json_t *body = json_object_get(p, "create");
    if (!exp || !mid || !json_is_object(body))
        return MAESTRO_E_FAILED;
    json_t *copy = json_deep_copy(body);
    free(st->run_id);
    free(st->artifact_uri);
    st->run_id = st->artifact_uri = NULL;
    const char *parent = json_string_value(json_object_get(p, "parent_run_id"));
    mlf_rc_t r = copy ? open_run(st, exp, mid, parent, copy) : MLF_PERM;
    json_decref(copy);
    if (r == MLF_PERM)
        st->disabled = 1;
    return r == MLF_OK ? MAESTRO_OK : r == MLF_RETRY ? MAESTRO_E_RETRY : MAESTRO_E_FAILED;
}

static int replay_update(mlf_state_t *st, const json_t *p)
{
    const char *status = json_string_value(json_object_get(p, "status"));
    json_int_t end_ms = json_integer_value(json_object_get(p, "end_time"));
    if (!status)
        return MAESTRO_E_FAILED;
    mlf_rc_t r = mlf_run_locate(st, p);
    /* The run's last payload: the parent's own spool may have been flushed since its runs/create
     * found no parent. The lookup needs the experiment, which locate skips when the payload
     * names the run. */
    const char *parent = json_string_value(json_object_get(p, "parent_run_id"));
    const char *exp = json_string_value(json_object_get(p, "experiment"));
    if (r == MLF_OK && parent && !st->parent_linked && exp &&
        (st->experiment_id || mlf_experiment_resolve(st, exp) == MLF_OK))
        mlf_parent_link(st, parent);
    if (r == MLF_OK)
        r = mlf_run_update(st, status, end_ms);
    return r == MLF_OK ? MAESTRO_OK : r == MLF_RETRY ? MAESTRO_E_RETRY : MAESTRO_E_FAILED;
}

static int mlflow_flush(void *state, const char *kind, const void *data, size_t len)
{
    mlf_state_t *st = state;
    json_error_t jerr;
    json_t *p = json_loadb(data, len, 0, &jerr);
    if (!json_is_object(p)) {
        mlf_log(st, MAESTRO_LOG_ERROR, "spooled %s is not a payload of this plugin (%s)", kind,
                jerr.text);
        json_decref(p);
        return MAESTRO_E_FAILED;
    }
    if (!st->url) {
        const char *u = json_string_value(json_object_get(p, "url"));
        if (!u) {
            mlf_log(st, MAESTRO_LOG_ERROR, "spooled %s names no MLflow url and none is set", kind);
            json_decref(p);
            return MAESTRO_E_FAILED;
        }
        st->url = mlf_strdup(u);
    }
    const char *mid = json_string_value(json_object_get(p, "maestro_run_id"));
    if (mid && (!st->maestro_run_id || strcmp(mid, st->maestro_run_id))) {
        /* another run than the one in hand (a fresh `plugins flush` process) */
        dup_field(&st->maestro_run_id, mid);
        free(st->run_id);
        free(st->artifact_uri);
        st->run_id = st->artifact_uri = NULL;
        st->disabled = 0;
        st->parent_linked = 0;
    }
    st->in_flush = 1;
    int rc;
    if (!strcmp(kind, "runs-create"))
        rc = replay_create(st, p);
    else if (!strcmp(kind, "runs-log-batch"))
        rc = mlf_log_batch_replay(st, p);
    else if (!strcmp(kind, "artifact"))
        rc = mlf_artifact_replay(st, p);
    else if (!strcmp(kind, "register"))
        rc = mlf_register_replay(st, p);
    else if (!strcmp(kind, "runs-update"))
        rc = replay_update(st, p);
    else {
        mlf_log(st, MAESTRO_LOG_ERROR, "spooled payload of unknown kind %s", kind);
        rc = MAESTRO_E_FAILED;
    }
    st->in_flush = 0;
    json_decref(p);
    if (rc != MAESTRO_E_RETRY && st->pending > 0 && --st->pending == 0 && st->run_id)
        st->spooling = 0; /* everything before now is delivered: send directly again */
    return rc;
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_REGISTRY,
    .name = "mlflow",
    .version = "1.0",
    .description = "MLflow tracking and model registry (REST API 2.0); local registry folder "
                   "when no url is set",
    .init = mlflow_init,
    .fini = mlflow_fini,
    .run_start = mlflow_run_start,
    .event = mlflow_event,
    .run_end = mlflow_run_end,
    .flush = mlflow_flush,
};
