/* artifacts.c - files through MLflow's artifact proxy, and the model registry
 *
 * A run's artifact_uri is `mlflow-artifacts:/<P>` when the server runs with --serve-artifacts
 * (the default since 2.0, and how the platform runs it); a file goes up as one
 * PUT <url>/api/2.0/mlflow-artifacts/artifacts/<P>/<name> with the raw bytes. Any other
 * artifact store (s3://, file:) would need that store's own client and credentials, so the
 * plugin says so once and uploads nothing rather than guessing.
 *
 * Registration points model-versions/create at the concrete folder `<artifact_uri>/model`
 * (where run.h5 is uploaded), with the run id. It is made idempotent per (model, run) by
 * looking for the run's version first, so a replayed or retried registration never makes a
 * second version; then it waits (bounded) for READY and sets the alias.
 */
#include "mlflow_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROXY_SCHEME "mlflow-artifacts:"

/* No empty, "." or ".." segment, no leading '/': the name stays inside the run's folder. */
static int artifact_name_ok(const char *name)
{
    if (!*name || *name == '/')
        return 0;
    for (const char *s = name; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        s += n + (e ? 1 : 0);
        if (e && !*s)
            return 0;
    }
    return 1;
}

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && (!strcmp(dot, ".yml") || !strcmp(dot, ".yaml")))
        return "application/x-yaml";
    if (dot && !strcmp(dot, ".json"))
        return "application/json";
    if (dot && (!strcmp(dot, ".txt") || !strcmp(dot, ".log")))
        return "text/plain";
    return "application/octet-stream";
}

/* The <P> of an mlflow-artifacts URI, NULL for any other store. The authority form
 * (mlflow-artifacts://host:port/P) names the server the client should use; we always go
 * through the tracking server we are configured with, which is the one that made the run. */
static const char *proxy_path(const char *uri)
{
    if (!uri || strncmp(uri, PROXY_SCHEME, strlen(PROXY_SCHEME)))
        return NULL;
    const char *p = uri + strlen(PROXY_SCHEME);
    if (p[0] == '/' && p[1] == '/') {
        p = strchr(p + 2, '/');
        if (!p)
            return "";
    }
    while (*p == '/')
        p++;
    return p;
}

/* The run's artifact store is usable: known, and behind the proxy. Says why not, once. */
static mlf_rc_t proxy_ready(mlf_state_t *st)
{
    if (!st->artifact_uri) {
        mlf_rc_t rc = mlf_run_get(st);
        if (rc != MLF_OK)
            return rc;
    }
    if (proxy_path(st->artifact_uri))
        return MLF_OK;
    if (!st->artifacts_refused)
        mlf_log(st, MAESTRO_LOG_ERROR,
                "MLflow run %s stores artifacts at %.200s, not behind the tracking server's "
                "artifact proxy (mlflow-artifacts:); start the server with --serve-artifacts. "
                "No artifact is uploaded and no model registered",
                st->run_id, st->artifact_uri ? st->artifact_uri : "(none)");
    st->artifacts_refused = 1;
    return MLF_PERM;
}

static mlf_rc_t put_file(mlf_state_t *st, const char *path, const char *name)
{
    mlf_resp_t r = {0};
    mlf_rc_t rc = MLF_PERM;
    void *data = NULL;
    struct stat sb;
    char *pp = mlf_urlencode(proxy_path(st->artifact_uri), 1), *np = mlf_urlencode(name, 1);
    char *url = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        mlf_log(st, MAESTRO_LOG_WARN, "artifact %s: cannot read %s: %s", name, path,
                fd < 0 ? strerror(errno) : "not a regular file");
        goto out;
    }
    if (sb.st_size > 0) {
        /* mapped, not copied: run.h5 may be large */
        data = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            data = NULL;
            mlf_log(st, MAESTRO_LOG_WARN, "artifact %s: cannot map %s: %s", name, path,
                    strerror(errno));
            goto out;
        }
    }
    size_t n = strlen(st->url) + (pp ? strlen(pp) : 0) + (np ? strlen(np) : 0) + 64;
    if (!pp || !np || !(url = malloc(n)))
        goto out;
    snprintf(url, n, "%s/api/2.0/mlflow-artifacts/artifacts/%s/%s", st->url, pp, np);
    rc = mlf_request(st, "artifact upload", "PUT", url, content_type(name), data,
                     (size_t)sb.st_size, st->artifact_timeout_s, &r);
    if (rc == MLF_OK)
        mlf_log(st, MAESTRO_LOG_DEBUG, "uploaded %s (%lld bytes) to MLflow run %s", name,
                (long long)sb.st_size, st->run_id);
    else
        mlf_log(st, MAESTRO_LOG_WARN, "%s (%s)%s", r.message, name,
                rc == MLF_RETRY && !st->in_flush ? "; spooled" : "");
out:
    if (data)
        munmap(data, (size_t)sb.st_size);
    if (fd >= 0)
        close(fd);
    mlf_resp_clear(&r);
    free(pp);
    free(np);
    free(url);
    return rc;
}

int mlf_artifact_upload(mlf_state_t *st, const char *path, const char *name)
{
    if (st->disabled || st->artifacts_refused)
        return MAESTRO_E_FAILED;
    if (!artifact_name_ok(name)) {
        mlf_log(st, MAESTRO_LOG_WARN,
                "artifact name \"%s\" would leave the run's folder; not uploaded", name);
        return MAESTRO_E_FAILED;
    }
    mlf_rc_t rc = MLF_RETRY;
    if (!st->spooling && st->run_id) {
        rc = proxy_ready(st);
        if (rc == MLF_OK)
            rc = put_file(st, path, name);
    }
    if (rc == MLF_OK)
        return MAESTRO_OK;
    if (rc == MLF_PERM)
        return MAESTRO_E_FAILED;
    /* Spooled by path: a later `plugins flush` may run from another folder. */
    char abs[PATH_MAX];
    json_t *p = mlf_spool_payload(st);
    if (p)
        json_object_update_new(
            p, json_pack("{s:s, s:s}", "path", realpath(path, abs) ? abs : path, "name", name));
    return mlf_spool(st, "artifact", p);
}

int mlf_artifact_replay(mlf_state_t *st, const json_t *payload)
{
    const char *path = json_string_value(json_object_get(payload, "path"));
    const char *name = json_string_value(json_object_get(payload, "name"));
    if (!path || !name || !artifact_name_ok(name))
        return MAESTRO_E_FAILED;
    mlf_rc_t rc = mlf_run_locate(st, payload);
    if (rc == MLF_OK)
        rc = proxy_ready(st);
    if (rc == MLF_OK)
        rc = put_file(st, path, name);
    return rc == MLF_OK ? MAESTRO_OK : rc == MLF_RETRY ? MAESTRO_E_RETRY : MAESTRO_E_FAILED;
}

/* ---- model registry ----------------------------------------------------------------------- */

int mlf_alias_valid(const char *alias)
{
    size_t n = strlen(alias);
    if (n == 0 || n > 255)
        return 0;
    for (const char *p = alias; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    /* reserved by MLflow: "latest" and v<digits> (they name versions) */
    if (n == 6 && !strncasecmp(alias, "latest", 6))
        return 0;
    if ((alias[0] == 'v' || alias[0] == 'V') && n > 1 && strspn(alias + 1, "0123456789") == n - 1)
        return 0;
    return 1;
}

static void log_fail(mlf_state_t *st, mlf_rc_t rc, const mlf_resp_t *r)
{
    if (rc != MLF_OK)
        mlf_log(st, rc == MLF_PERM ? MAESTRO_LOG_ERROR : MAESTRO_LOG_WARN, "%s", r->message);
}

static char *query2(const char *k1, const char *v1, const char *k2, const char *v2)
{
    char *e1 = mlf_urlencode(v1, 0), *e2 = mlf_urlencode(v2, 0), *q = NULL;
    if (e1 && e2) {
        size_t n = strlen(k1) + strlen(e1) + strlen(k2) + strlen(e2) + 4;
        q = malloc(n);
        if (q)
            snprintf(q, n, "%s=%s&%s=%s", k1, e1, k2, e2);
    }
    free(e1);
    free(e2);
    return q;
}

/* The version of `model` this run already registered, if any (*version stays NULL if none). */
static mlf_rc_t find_version(mlf_state_t *st, const char *model, char **version)
{
    *version = NULL;
    if (strpbrk(model, "'\\") || strpbrk(st->run_id, "'\\"))
        return MLF_OK;
    char filter[600];
    snprintf(filter, sizeof filter, "name='%.300s' and run_id='%.200s'", model, st->run_id);
    char *q = query2("filter", filter, "max_results", "1");
    mlf_resp_t r = {0};
    mlf_rc_t rc = q ? mlf_call(st, "GET", "model-versions/search", NULL, q, &r) : MLF_PERM;
    free(q);
    if (rc == MLF_OK) {
        json_t *mv = json_array_get(json_object_get(r.json, "model_versions"), 0);
        *version = mlf_json_idstr(json_object_get(mv, "version"));
    } else if (rc == MLF_PERM) {
        rc = MLF_OK; /* no search on this server: register without the check */
    }
    log_fail(st, rc, &r);
    mlf_resp_clear(&r);
    return rc;
}

static mlf_rc_t create_version(mlf_state_t *st, const char *model, char **version)
{
    mlf_resp_t r = {0};
    json_t *body = json_pack("{s:s}", "name", model);
    mlf_rc_t rc =
        body ? mlf_call(st, "POST", "registered-models/create", body, NULL, &r) : MLF_PERM;
    json_decref(body);
    if (rc == MLF_PERM && !strcmp(r.error_code, "RESOURCE_ALREADY_EXISTS"))
        rc = MLF_OK;
    if (rc != MLF_OK)
        goto out;
    size_t n = strlen(st->artifact_uri) + sizeof "/model";
    char *source = malloc(n);
    if (!source) {
        rc = MLF_PERM;
        goto out;
    }
    snprintf(source, n, "%s/model", st->artifact_uri);
    body = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "name", model, "source", source, "run_id",
                     st->run_id, "tags", "key", "maestro.run_id", "value",
                     st->maestro_run_id ? st->maestro_run_id : "");
    free(source);
    mlf_resp_clear(&r);
    rc = body ? mlf_call(st, "POST", "model-versions/create", body, NULL, &r) : MLF_PERM;
    json_decref(body);
    if (rc == MLF_OK) {
        *version =
            mlf_json_idstr(json_object_get(json_object_get(r.json, "model_version"), "version"));
        if (!*version) {
            snprintf(r.message, sizeof r.message,
                     "model-versions/create: the answer has no version");
            rc = MLF_PERM;
        }
    }
out:
    log_fail(st, rc, &r);
    mlf_resp_clear(&r);
    return rc;
}

/* Poll model-versions/get until READY, for at most register_timeout_s. */
static mlf_rc_t wait_ready(mlf_state_t *st, const char *model, const char *version)
{
    char *q = query2("name", model, "version", version);
    int64_t deadline = st->host->now_ns() + (int64_t)(st->register_timeout_s * 1e9);
    mlf_rc_t rc = q ? MLF_OK : MLF_PERM;
    mlf_resp_t r = {0};
    while (rc == MLF_OK) {
        mlf_resp_clear(&r);
        rc = mlf_call(st, "GET", "model-versions/get", NULL, q, &r);
        if (rc != MLF_OK)
            break;
        json_t *mv = json_object_get(r.json, "model_version");
        const char *status = json_string_value(json_object_get(mv, "status"));
        if (!status || !strcmp(status, "READY"))
            break; /* servers before statuses existed are ready at once */
        if (!strcmp(status, "FAILED_REGISTRATION")) {
            const char *why = json_string_value(json_object_get(mv, "status_message"));
            snprintf(r.message, sizeof r.message, "model %s version %s failed to register: %s",
                     model, version, why ? why : "(no message)");
            rc = MLF_PERM;
            break;
        }
        if (st->host->now_ns() > deadline) {
            snprintf(r.message, sizeof r.message,
                     "model %s version %s still %s after %g s; alias not set", model, version,
                     status, st->register_timeout_s);
            rc = MLF_PERM;
            break;
        }
        struct timespec ts = {0, 250000000};
        nanosleep(&ts, NULL);
    }
    log_fail(st, rc, &r);
    mlf_resp_clear(&r);
    free(q);
    return rc;
}

static mlf_rc_t set_alias(mlf_state_t *st, const char *model, const char *alias,
                          const char *version)
{
    mlf_resp_t r = {0};
    json_t *body = json_pack("{s:s, s:s, s:s}", "name", model, "alias", alias, "version", version);
    mlf_rc_t rc = body ? mlf_call(st, "POST", "registered-models/alias", body, NULL, &r) : MLF_PERM;
    json_decref(body);
    log_fail(st, rc, &r);
    mlf_resp_clear(&r);
    return rc;
}

static mlf_rc_t register_now(mlf_state_t *st, const char *model, const char *alias)
{
    char *version = NULL;
    mlf_rc_t rc = proxy_ready(st);
    if (rc == MLF_OK)
        rc = find_version(st, model, &version);
    if (rc == MLF_OK && !version)
        rc = create_version(st, model, &version);
    if (rc == MLF_OK)
        rc = wait_ready(st, model, version);
    if (rc == MLF_OK && alias && *alias) {
        if (mlf_alias_valid(alias))
            rc = set_alias(st, model, alias, version);
        else
            mlf_log(st, MAESTRO_LOG_WARN,
                    "registry alias \"%s\" is not one MLflow accepts (letters, digits, _ and -; "
                    "not \"latest\" or v<number>); version %s registered without it",
                    alias, version);
    }
    if (rc == MLF_OK)
        mlf_log(st, MAESTRO_LOG_INFO, "registered model %s version %s in MLflow%s%s", model,
                version, alias && *alias && mlf_alias_valid(alias) ? " as @" : "",
                alias && *alias && mlf_alias_valid(alias) ? alias : "");
    free(version);
    return rc;
}

int mlf_register(mlf_state_t *st, const char *model, const char *alias)
{
    if (st->disabled || st->artifacts_refused)
        return MAESTRO_E_FAILED;
    mlf_rc_t rc = MLF_RETRY;
    if (!st->spooling && st->run_id)
        rc = register_now(st, model, alias);
    if (rc == MLF_OK)
        return MAESTRO_OK;
    if (rc == MLF_PERM)
        return MAESTRO_E_FAILED;
    json_t *p = mlf_spool_payload(st);
    if (p)
        json_object_update_new(p, json_pack("{s:s, s:s?}", "model", model, "alias", alias));
    return mlf_spool(st, "register", p);
}

int mlf_register_replay(mlf_state_t *st, const json_t *payload)
{
    const char *model = json_string_value(json_object_get(payload, "model"));
    const char *alias = json_string_value(json_object_get(payload, "alias"));
    if (!model)
        return MAESTRO_E_FAILED;
    mlf_rc_t rc = mlf_run_locate(st, payload);
    if (rc == MLF_OK)
        rc = register_now(st, model, alias);
    return rc == MLF_OK ? MAESTRO_OK : rc == MLF_RETRY ? MAESTRO_E_RETRY : MAESTRO_E_FAILED;
}
