/* kubernetes.c - secrets provider: one key of a Kubernetes Secret, read from the API server
 *
 * `${secret:NAME/KEY}` reaches this plugin as name NAME, key KEY. It sends
 * GET <api>/api/v1/namespaces/<ns>/secrets/<NAME> with the pod's service account token as a
 * bearer, through the host's HTTP service, and base64-decodes `.data[KEY]` of the Secret.
 *
 * Where things come from, each overridable by a config key (cluster.yml secrets.kubernetes):
 *   api_url     https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, else
 *               https://kubernetes.default.svc
 *   token_file  /var/run/secrets/kubernetes.io/serviceaccount/token, re-read before every
 *               request because projected tokens are rotated in place (about hourly)
 *   ca_file     .../serviceaccount/ca.crt (see ca_note below: not yet usable)
 *   namespace   .../serviceaccount/namespace
 *   insecure_http  false; true lets api_url be plain http://, which exists ONLY for tests
 *               against a loopback fake: over http the bearer token crosses the network in
 *               the clear, so it is refused otherwise.
 *
 * 404 (or a Secret without KEY) is MAESTRO_E_NOTFOUND, so the host tries the next provider.
 * 401/403 and anything else is MAESTRO_E_FAILED with one log line naming the reference and the
 * HTTP status. The token and the value are registered with host->register_secret, so neither
 * can reach a log line, and both are wiped from memory when dropped.
 */
#include "maestro_plugin.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define TOKEN_MAX_BYTES (64 * 1024)
#define ATTEMPTS 3

typedef struct {
    const maestro_host_t *host;
    char *api_url; /* without a trailing '/' */
    char *token_file, *ca_file, *ns_file;
    char *namespace_name; /* configured; NULL: read ns_file at each request */
    /* A value found for a caller whose buffer was too small: the host calls again at once
     * with a buffer of the size we asked for, and must get the same value, not a second
     * request that may see a rotated Secret of another length. */
    char *pending_name, *pending_key, *pending;
} k8s_t;

/* A memset the compiler cannot drop as a dead store. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void wipe_free(char *s)
{
    if (s) {
        wipe(s, strlen(s));
        free(s);
    }
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* One log line; the host attributes it to the plugin, so it carries no name prefix. */
static void logf_(k8s_t *k, maestro_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(k8s_t *k, maestro_log_level_t level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    k->host->log(k->host->ctx, level, line);
}

/* One line for init's errbuf; returns `code`. */
static int errorf_(int code, char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int errorf_(int code, char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- names: what the API server accepts, so nothing else ever goes into a URL ---------- */

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label (namespaces). */
static int is_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* RFC 1123 subdomain (Secret names). */
static int is_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-' && s[i] != '.')
            return 0;
    return 1;
}

/* Secret data keys: [-._a-zA-Z0-9]+, not "." and not starting with ".." (apimachinery's
 * IsConfigMapKey; ".." names are the volume layout's own). */
static int is_secret_key(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || !strcmp(s, ".") || !strncmp(s, "..", 2))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && c != '-' && c != '_' && c != '.')
            return 0;
    }
    return 1;
}

/* ---- small helpers ---------------------------------------------------------------------- */

/* Read a whole small file, trailing whitespace dropped (the kubelet writes none, but a
 * hand-made token file often ends in a newline). 0, or an errno value. */
static int read_file_trimmed(const char *path, size_t max, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno;
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return ENOMEM;
    }
    size_t len = fread(buf, 1, max + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || len > max) {
        wipe(buf, len);
        free(buf);
        return failed ? EIO : EFBIG;
    }
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                   buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    *out = buf;
    return 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with padding, as the API server writes Secret data (Go's StdEncoding).
 * Returns a malloc'd NUL-terminated buffer and its length, or NULL when `in` is not base64. */
static char *b64_decode(const char *in, size_t n, size_t *out_len)
{
    if (n % 4)
        return NULL;
    char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = in[i + j];
            if (c == '=' && i + 4 == n && j >= 2) {
                pad++;
                v[j] = 0;
            } else if (pad || (v[j] = b64_value(c)) < 0) {
                wipe(out, o);
                free(out);
                return NULL;
            }
        }
        unsigned triple =
            (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        out[o++] = (char)(triple >> 16 & 0xff);
        if (pad < 2)
            out[o++] = (char)(triple >> 8 & 0xff);
        if (pad < 1)
            out[o++] = (char)(triple & 0xff);
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- init / fini -------------------------------------------------------------------------- */

static const char *cfg(const maestro_host_t *host, const char *key)
{
    const char *v = host->config ? host->config(host->ctx, key) : NULL;
    return v && *v ? v : NULL;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; yes[i]; i++) {
        if (!strcmp(s, yes[i]))
            return *out = 1, 0;
        if (!strcmp(s, no[i]))
            return *out = 0, 0;
    }
    return -1;
}

/* The in-cluster API address; IPv6 hosts need brackets in a URL. */
static char *default_api_url(void)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    char url[512];
    if (host && *host)
        snprintf(url, sizeof url, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
                 port && *port ? port : "443");
    else
        snprintf(url, sizeof url, "https://kubernetes.default.svc");
    return dup_str(url);
}

static void k8s_fini(void *state)
{
    k8s_t *k = state;
    if (!k)
        return;
    free(k->api_url);
    free(k->token_file);
    free(k->ca_file);
    free(k->ns_file);
    free(k->namespace_name);
    free(k->pending_name);
    free(k->pending_key);
    wipe_free(k->pending);
    free(k);
}

static int k8s_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    *state = NULL;
    if (!host || host->struct_size < sizeof(maestro_host_t) || !host->http || !host->log)
        return errorf_(MAESTRO_E_FAILED, errbuf, errlen,
                       "the host lacks the HTTP and log services");
    const char *url = cfg(host, "api_url"), *ns = cfg(host, "namespace");
    const char *insecure_s = cfg(host, "insecure_http");
    int insecure = 0;
    if (insecure_s && parse_bool(insecure_s, &insecure))
        return errorf_(MAESTRO_E_CONFIG, errbuf, errlen,
                       "insecure_http must be true or false, got \"%s\"", insecure_s);
    if (url && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return errorf_(MAESTRO_E_CONFIG, errbuf, errlen,
                       "api_url must be an https:// URL, got \"%s\"", url);
    if (url && !strncmp(url, "http://", 7) && !insecure)
        return errorf_(MAESTRO_E_CONFIG, errbuf, errlen,
                       "api_url %s is plain http, which would send the service "
                       "account token in the clear; use https (insecure_http: true exists only "
                       "for tests against a local fake)",
                       url);
    if (ns && !is_dns_label(ns))
        return errorf_(MAESTRO_E_CONFIG, errbuf, errlen,
                       "namespace must be a DNS label (lower case letters, digits, "
                       "'-'), got \"%s\"",
                       ns);
    k8s_t *k = calloc(1, sizeof *k);
    if (!k)
        return errorf_(MAESTRO_E_FAILED, errbuf, errlen, "out of memory");
    k->host = host;
    k->api_url = url ? dup_str(url) : default_api_url();
    k->token_file = dup_str(cfg(host, "token_file") ? cfg(host, "token_file") : SA_DIR "/token");
    k->ca_file = dup_str(cfg(host, "ca_file") ? cfg(host, "ca_file") : SA_DIR "/ca.crt");
    k->ns_file = dup_str(SA_DIR "/namespace");
    k->namespace_name = ns ? dup_str(ns) : NULL;
    if (!k->api_url || !k->token_file || !k->ca_file || !k->ns_file || (ns && !k->namespace_name)) {
        k8s_fini(k);
        return errorf_(MAESTRO_E_FAILED, errbuf, errlen, "out of memory");
    }
    size_t n = strlen(k->api_url);
    while (n > 8 && k->api_url[n - 1] == '/')
        k->api_url[--n] = '\0';
    /* ca_note: ABI 1.0's HTTP service verifies TLS against the system trust store only and
     * takes no CA file, so the cluster CA cannot be pinned yet. Say so rather than pretend. */
    FILE *ca = strncmp(k->api_url, "https://", 8) ? NULL : fopen(k->ca_file, "rb");
    if (ca) {
        fclose(ca);
        logf_(k, MAESTRO_LOG_DEBUG,
              "%s is not passed to TLS verification (the host's HTTP service takes "
              "no CA file); the API server's certificate must chain to the system trust store",
              k->ca_file);
    }
    *state = k;
    return MAESTRO_OK;
}

/* ---- resolve ------------------------------------------------------------------------------ */

/* The Status object's reason ("Unauthorized", "Forbidden"), for the log line; never the
 * whole body, which could echo anything. */
static void status_reason(const maestro_http_response_t *r, char *buf, size_t size)
{
    buf[0] = '\0';
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *reason = j ? json_string_value(json_object_get(j, "reason")) : NULL;
    if (reason && strlen(reason) < 64) {
        int ok = 1;
        for (const char *p = reason; *p; p++)
            ok &= (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
        if (ok)
            snprintf(buf, size, " %s", reason);
    }
    json_decref(j);
}

/* One GET with retries on no answer, 429 and 5xx (the API server briefly unavailable).
 * MAESTRO_OK with *resp filled (any status), or MAESTRO_E_FAILED after logging. */
static int get_secret(k8s_t *k, const char *ref, const char *url, const char *token,
                      maestro_http_response_t *resp)
{
    const maestro_kv_t headers[] = {{"Accept", "application/json"}};
    maestro_http_request_t req = {
        .method = "GET", .url = url, .headers = headers, .n_headers = 1, .bearer_token = token};
    double backoff = 0.25;
    for (int attempt = 1;; attempt++) {
        memset(resp, 0, sizeof *resp);
        int rc = k->host->http(k->host->ctx, &req, resp);
        int transient =
            rc != MAESTRO_OK || resp->status == 0 || resp->status == 429 || resp->status >= 500;
        if (!transient)
            return MAESTRO_OK;
        if (attempt == ATTEMPTS) {
            if (rc == MAESTRO_OK && resp->status)
                return MAESTRO_OK; /* the caller reports the status */
            logf_(k, MAESTRO_LOG_ERROR,
                  "secret '%s': no answer from the API server %s after %d tries: %s", ref,
                  k->api_url, ATTEMPTS, resp->error[0] ? resp->error : "no response");
            k->host->free_response(k->host->ctx, resp);
            return MAESTRO_E_FAILED;
        }
        k->host->free_response(k->host->ctx, resp);
        sleep_s(backoff);
        backoff *= 2;
    }
}

/* data[key] of the Secret in `body`, decoded: MAESTRO_OK and *value, MAESTRO_E_NOTFOUND when
 * the Secret has no such key, MAESTRO_E_FAILED (logged) when the body is not a Secret. */
static int decode_value(k8s_t *k, const char *ref, const char *key,
                        const maestro_http_response_t *r, char **value)
{
    *value = NULL;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
    const char *kind = j ? json_string_value(json_object_get(j, "kind")) : NULL;
    json_t *data = j ? json_object_get(j, "data") : NULL;
    int rc = MAESTRO_E_FAILED;
    if (!kind || strcmp(kind, "Secret") != 0 || (data && !json_is_object(data))) {
        logf_(k, MAESTRO_LOG_ERROR, "secret '%s': the API server's answer is not a Secret object",
              ref);
        goto out;
    }
    json_t *v = data ? json_object_get(data, key) : NULL;
    if (!v) {
        rc = MAESTRO_E_NOTFOUND;
        goto out;
    }
    size_t len = 0;
    const char *enc = json_string_value(v);
    char *dec = enc ? b64_decode(enc, json_string_length(v), &len) : NULL;
    if (!dec) {
        logf_(k, MAESTRO_LOG_ERROR, "secret '%s': data.%s is not base64", ref, key);
        goto out;
    }
    if (strlen(dec) != len) {
        /* A ${secret:} value is text spliced into YAML; a NUL would silently cut it. */
        logf_(k, MAESTRO_LOG_ERROR,
              "secret '%s': the value holds NUL bytes (binary data cannot be used in "
              "a spec)",
              ref);
        wipe(dec, len);
        free(dec);
        goto out;
    }
    *value = dec;
    rc = MAESTRO_OK;
out:
    /* The parsed body holds every key's encoded value; jansson frees without wiping. */
    if (data && json_is_object(data)) {
        const char *k_;
        json_t *v_;
        json_object_foreach(data, k_, v_)
        {
            if (json_is_string(v_))
                wipe((char *)json_string_value(v_), json_string_length(v_));
        }
    }
    json_decref(j);
    return rc;
}

/* The value of name/key from the API: MAESTRO_OK, _E_NOTFOUND or _E_FAILED (logged). */
static int fetch(k8s_t *k, const char *name, const char *key, char **value)
{
    char ref[600];
    snprintf(ref, sizeof ref, "%s/%s", name, key);
    char *ns = NULL, *token = NULL, *url = NULL;
    maestro_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    int have_resp = 0, rc = MAESTRO_E_FAILED, e;
    if (k->namespace_name) {
        ns = dup_str(k->namespace_name);
    } else if ((e = read_file_trimmed(k->ns_file, 253, &ns)) != 0 || !is_dns_label(ns)) {
        logf_(k, MAESTRO_LOG_ERROR,
              "secret '%s': no namespace (set secrets.kubernetes.namespace, or run "
              "in a pod where %s exists): %s",
              ref, k->ns_file, e ? strerror(e) : "not a DNS label");
        goto out;
    }
    if ((e = read_file_trimmed(k->token_file, TOKEN_MAX_BYTES, &token)) != 0 || !token[0]) {
        logf_(k, MAESTRO_LOG_ERROR, "secret '%s': cannot read the service account token %s: %s",
              ref, k->token_file, e ? strerror(e) : "empty file");
        goto out;
    }
    /* The host masks registered values in every line, so even a stray echo of the token by
     * a proxy's error text cannot reach a log. */
    if (k->host->register_secret)
        k->host->register_secret(k->host->ctx, token);
    size_t ulen = strlen(k->api_url) + strlen(ns) + strlen(name) + 64;
    url = malloc(ulen);
    if (!url || !ns)
        goto out;
    snprintf(url, ulen, "%s/api/v1/namespaces/%s/secrets/%s", k->api_url, ns, name);
    if ((rc = get_secret(k, ref, url, token, &resp)) != MAESTRO_OK)
        goto out;
    have_resp = 1;
    char reason[80];
    switch (resp.status) {
    case 200:
        rc = decode_value(k, ref, key, &resp, value);
        if (rc == MAESTRO_E_NOTFOUND)
            logf_(k, MAESTRO_LOG_DEBUG, "secret '%s' in namespace %s has no key '%s'", name, ns,
                  key);
        break;
    case 404:
        rc = MAESTRO_E_NOTFOUND;
        logf_(k, MAESTRO_LOG_DEBUG, "no secret '%s' in namespace %s", name, ns);
        break;
    default:
        status_reason(&resp, reason, sizeof reason);
        logf_(k, MAESTRO_LOG_ERROR, "secret '%s': the API server answered %ld%s for namespace %s%s",
              ref, resp.status, reason, ns,
              resp.status == 401   ? " (the service account token was refused)"
              : resp.status == 403 ? " (the service account may not get this secret: check its "
                                     "Role)"
                                   : "");
        rc = MAESTRO_E_FAILED;
        break;
    }
out:
    if (have_resp) {
        if (resp.body)
            wipe(resp.body, resp.body_len);
        k->host->free_response(k->host->ctx, &resp);
    }
    wipe_free(token);
    free(ns);
    free(url);
    return rc;
}

static void drop_pending(k8s_t *k)
{
    free(k->pending_name);
    free(k->pending_key);
    wipe_free(k->pending);
    k->pending_name = k->pending_key = k->pending = NULL;
}

static int k8s_resolve_secret(void *state, const char *name, const char *key, char *buf,
                              size_t buflen, size_t *needed)
{
    k8s_t *k = state;
    if (!k || !name || !key || !needed)
        return MAESTRO_E_FAILED;
    /* A name or key the API server would never accept cannot exist there. */
    if (!is_dns_subdomain(name) || !is_secret_key(key)) {
        drop_pending(k);
        return MAESTRO_E_NOTFOUND;
    }
    char *value = NULL;
    int rc;
    if (k->pending && !strcmp(k->pending_name, name) && !strcmp(k->pending_key, key)) {
        value = k->pending;
        k->pending = NULL;
        rc = MAESTRO_OK;
    } else {
        rc = fetch(k, name, key, &value);
    }
    drop_pending(k);
    if (rc != MAESTRO_OK)
        return rc;
    if (k->host->register_secret)
        k->host->register_secret(k->host->ctx, value);
    size_t len = strlen(value);
    *needed = len + 1;
    if (!buf || buflen < len + 1) {
        k->pending_name = dup_str(name);
        k->pending_key = dup_str(key);
        k->pending = value;
        if (!k->pending_name || !k->pending_key) {
            drop_pending(k);
            return MAESTRO_E_FAILED;
        }
        return MAESTRO_E_RETRY;
    }
    memcpy(buf, value, len + 1);
    wipe_free(value);
    return MAESTRO_OK;
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_SECRETS,
    .name = "kubernetes",
    .version = "1.0.0",
    .description = "Kubernetes Secrets API (GET /api/v1/namespaces/<ns>/secrets/<name>)",
    .init = k8s_init,
    .fini = k8s_fini,
    .resolve_secret = k8s_resolve_secret,
};
