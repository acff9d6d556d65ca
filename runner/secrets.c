/* secrets.c - `${secret:NAME/KEY}`: the env and files providers, and the kubernetes plugin
 *
 * A reference is parsed and checked once, before any provider sees it, so no provider can be
 * handed a name that walks out of files_dir or into a URL. Providers are tried in cluster.yml
 * order; "not here" passes on to the next, anything else (an unreadable file, the API refusing
 * the token) stops with an error, because silently falling back past a broken provider could
 * pick up a stale value. The not-found message lists where it looked (variable names,
 * folders, the namespace) and never a value.
 */
#include "runner/secrets.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SECRET_MAX_BYTES (1 << 20)
/* A rotation removes the old timestamped folder right after swapping `..data`; a read that
 * resolved the old link a moment before can then miss the file. Trying again sees the new one. */
#define ROTATION_TRIES 3

typedef struct {
    const char *ref; /* as written: "db/password" or "db" */
    char name[256];
    const char *key; /* into name[], NULL for the single-part form */
} ref_t;

/* Letters, digits, '-', '_', '.'; the callers add their rule for a leading '.'. */
static int valid_chars(const char *s)
{
    if (!*s || strlen(s) > 253)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return 0;
    return 1;
}

static int parse_ref(ref_t *r, const char *ref, mo_error_t *err)
{
    r->ref = ref;
    r->key = NULL;
    const char *slash = strchr(ref, '/');
    if (slash && (strchr(slash + 1, '/') || slash == ref || !slash[1]))
        return mo_errorf(err, MO_EINVAL, "secret reference \"%s\" must be NAME or NAME/KEY", ref);
    size_t n = slash ? (size_t)(slash - ref) : strlen(ref);
    if (n >= sizeof r->name)
        return mo_errorf(err, MO_EINVAL, "secret name in \"%s\" is longer than 253 characters",
                         ref);
    memcpy(r->name, ref, n);
    r->name[n] = '\0';
    if (!valid_chars(r->name) || r->name[0] == '.')
        return mo_errorf(err, MO_EINVAL,
                         "secret name \"%s\" must be letters, digits, '-', '_' or '.'", r->name);
    if (slash) {
        r->key = slash + 1;
        /* Keys may start with one '.' (".dockerconfigjson"); ".." is the volume's own. */
        if (!valid_chars(r->key) || !strcmp(r->key, ".") || mo_str_startswith(r->key, ".."))
            return mo_errorf(err, MO_EINVAL,
                             "secret key \"%s\" must be letters, digits, '-', '_' or '.', not "
                             "starting with \"..\"",
                             r->key);
    }
    return 0;
}

/* ---- env ---------------------------------------------------------------------------------- */

static void env_var(char *var, size_t size, const ref_t *r)
{
    size_t n = (size_t)snprintf(var, size, "MAESTRO_SECRET_%s%s%s", r->name, r->key ? "_" : "",
                                r->key ? r->key : "");
    for (size_t i = 15; i < n && i < size; i++)
        var[i] = (var[i] == '-' || var[i] == '.' || var[i] == '/')
                     ? '_'
                     : (char)toupper((unsigned char)var[i]);
}

static char *from_env(const char *var)
{
    const char *v = getenv(var);
    return v ? mo_strdup(v) : NULL;
}

/* ---- files -------------------------------------------------------------------------------- */

static void drop_trailing_newlines(char *v)
{
    size_t len = strlen(v);
    while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
        v[--len] = '\0';
}

/* 0 and *out = NULL when the file is not there; an error when it is there but unusable. */
static int read_file(char **out, const char *path, const char *ref, mo_error_t *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR
                   ? 0
                   : mo_errorf(err, MO_EIO, "secret '%s': cannot read %s: %s", ref, path,
                               strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mo_errorf(err, MO_EIO, "secret '%s': %s is not a regular file", ref, path);
    }
    mo_buf_t b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= SECRET_MAX_BYTES)
        mo_buf_append(&b, chunk, got);
    int failed = ferror(f);
    fclose(f);
    if (failed || b.len > SECRET_MAX_BYTES) {
        if (b.data)
            memset(b.data, 0, b.len);
        mo_buf_free(&b);
        return failed
                   ? mo_errorf(err, MO_EIO, "secret '%s': cannot read %s", ref, path)
                   : mo_errorf(err, MO_EINVAL, "secret '%s': %s is larger than 1 MiB", ref, path);
    }
    char *v = mo_buf_steal(&b);
    if (!v)
        return mo_errorf(err, MO_ENOMEM, "out of memory reading secret '%s'", ref);
    drop_trailing_newlines(v);
    *out = v;
    return 0;
}

/* <dir>/<name> for NAME; for NAME/KEY the volume layout <dir>/<name>/<key>, where the
 * kubelet's <key> is a link to ..data/<key> and ..data a link to a timestamped folder. Going
 * through ..data ourselves covers keys whose top-level link is not made yet, and the open()
 * pins one folder: a swap after it cannot change the bytes read. */
static int from_files(char **out, const char *dir, const ref_t *r, mo_error_t *err)
{
    char path[4096];
    if (!r->key) {
        snprintf(path, sizeof path, "%s/%s", dir, r->name);
        return read_file(out, path, r->ref, err);
    }
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/..data", dir, r->name);
    if (lstat(path, &st) != 0) {
        snprintf(path, sizeof path, "%s/%s/%s", dir, r->name, r->key);
        return read_file(out, path, r->ref, err);
    }
    snprintf(path, sizeof path, "%s/%s/..data/%s", dir, r->name, r->key);
    int rc = 0;
    for (int i = 0; i < ROTATION_TRIES && !rc && !*out; i++)
        rc = read_file(out, path, r->ref, err);
    return rc;
}

/* ---- kubernetes --------------------------------------------------------------------------- */

static int from_kubernetes(char **out, mo_plugins_t *p, const ref_t *r, mo_error_t *err)
{
    mo_error_t perr = {0};
    int rc = mo_plugins_resolve_secret(p, r->name, r->key, out, &perr);
    if (rc == MO_ENOTFOUND) {
        free(*out);
        *out = NULL;
        return 0;
    }
    if (rc) {
        /* The plugin registered the token for redaction; mask it here too should a message
         * ever echo it. */
        char *msg = mo_redact(perr.msg);
        /* The host may already start with the reference; say it once. */
        char prefix[300];
        snprintf(prefix, sizeof prefix, "secret %s/%s: ", r->name, r->key);
        const char *why = msg ? msg : "the kubernetes provider failed";
        if (mo_str_startswith(why, prefix))
            why += strlen(prefix);
        rc = mo_errorf(err, rc, "secret '%s': %s", r->ref, why);
        free(msg);
        return rc;
    }
    if (*out)
        drop_trailing_newlines(*out);
    return 0;
}

/* ---- the resolver ------------------------------------------------------------------------- */

int mo_secrets_resolve_ctx(char **out, const char *scheme, const char *name, void *ud,
                           mo_error_t *err)
{
    const mo_secrets_ctx_t *ctx = ud;
    const mo_cluster_t *c = ctx ? ctx->cluster : NULL;
    if (!out || !scheme || !name)
        return mo_errorf(err, MO_EINVAL, "mo_secrets_resolve: NULL argument");
    *out = NULL;
    if (strcmp(scheme, "secret") != 0)
        return mo_errorf(err, MO_EINVAL, "unknown reference ${%s:...} (known: env, secret)",
                         scheme);
    ref_t r;
    int rc = parse_ref(&r, name, err);
    if (rc)
        return rc;
    mo_buf_t looked = {0};
    char var[600];
    for (size_t i = 0; c && i < c->n_providers && !*out && !rc; i++) {
        const char *sep = looked.len ? ", " : "";
        switch (c->providers[i]) {
        case MO_SECRETS_ENV:
            env_var(var, sizeof var, &r);
            *out = from_env(var);
            mo_buf_printf(&looked, "%senv %s", sep, var);
            break;
        case MO_SECRETS_FILES:
            rc = from_files(out, c->secrets_files_dir, &r, err);
            mo_buf_printf(&looked, "%sfiles in %s", sep, c->secrets_files_dir);
            break;
        case MO_SECRETS_KUBERNETES:
            if (!r.key)
                mo_buf_printf(&looked, "%skubernetes (needs NAME/KEY)", sep);
            else if (!ctx->plugins)
                mo_buf_printf(&looked, "%skubernetes (plugin not loaded)", sep);
            else if (!(rc = from_kubernetes(out, ctx->plugins, &r, err)))
                mo_buf_printf(&looked, "%skubernetes namespace %s", sep,
                              c->secrets_kubernetes.namespace_name
                                  ? c->secrets_kubernetes.namespace_name
                                  : "of the service account");
            break;
        }
    }
    if (!rc && !*out)
        rc = mo_errorf(err, MO_ENOTFOUND, "secret '%s' not found (looked in: %s)", name,
                       looked.data ? looked.data : "no providers");
    if (!rc && mo_log_add_secret(*out))
        rc = mo_errorf(err, MO_ENOMEM, "too many secrets to redact");
    if (rc && *out) {
        memset(*out, 0, strlen(*out));
        free(*out);
        *out = NULL;
    }
    mo_buf_free(&looked);
    return rc;
}

int mo_secrets_resolve(char **out, const char *scheme, const char *name, void *ud, mo_error_t *err)
{
    mo_secrets_ctx_t ctx = {ud, NULL};
    return mo_secrets_resolve_ctx(out, scheme, name, &ctx, err);
}

int mo_secrets_open_plugins(mo_plugins_t **out, const mo_cluster_t *c, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_secrets_open_plugins: NULL out");
    *out = NULL;
    int want = 0;
    for (size_t i = 0; c && i < c->n_providers; i++)
        want |= c->providers[i] == MO_SECRETS_KUBERNETES;
    if (!want)
        return 0;
    /* Only what cluster.yml sets: the plugin's own defaults are the in-cluster ones. */
    const mo_secrets_k8s_t *k = &c->secrets_kubernetes;
    maestro_kv_t kv[6];
    size_t n = 0;
    if (k->namespace_name)
        kv[n++] = (maestro_kv_t){"namespace", k->namespace_name};
    if (k->api_url)
        kv[n++] = (maestro_kv_t){"api_url", k->api_url};
    if (k->token_file)
        kv[n++] = (maestro_kv_t){"token_file", k->token_file};
    if (k->ca_file)
        kv[n++] = (maestro_kv_t){"ca_file", k->ca_file};
    kv[n++] = (maestro_kv_t){"insecure_http", k->insecure_http ? "true" : "false"};
    if (k->tls_no_verify)
        kv[n++] = (maestro_kv_t){"tls_verify", "false"};
    mo_plugin_request_t req = {"kubernetes", kv, n};
    mo_plugins_opts_t opts = {.rank = 0, .ranks = 1, .run_dir = NULL, .end_timeout_s = 0};
    return mo_plugins_open(out, &req, 1, &opts, err);
}
