/* host_http.c - the http service plugins get: one exchange through libcurl
 *
 * TLS verification is on unless the plugin's configuration says `tls_verify: false` (the
 * plugin's code cannot turn it off; the host warns at load); a private CA goes in the
 * plugin's `ca_file` config key. Credentials travel only through CURLOPT_XOAUTH2_BEARER /
 * CURLOPT_USERNAME+PASSWORD, so they never appear in a header list, a URL or a log line, and
 * redirects are not followed (a 3xx is the plugin's to read), so they never reach another
 * host. Each plugin keeps one easy handle, reset between calls, which keeps connections alive
 * to its service; a call that finds it busy (a plugin thread of its own) uses a fresh one.
 * Responses are capped so a misbehaving server cannot exhaust memory.
 */
#include "plugins/host_impl.h"

#include "core/build_info.h"
#include "core/str.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DEFAULT_TIMEOUT_S 10.0
#define RESPONSE_MAX ((size_t)64 << 20)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    /* Not thread-safe in libcurl before 7.84, hence once, from mo_plugins_open. Never cleaned
     * up: other parts of the process may use libcurl too. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void mo_plugins_http_global_init(void)
{
    pthread_once(&global_once, global_init);
}

/* gzip (not raw deflate: windowBits 15 + 16) of `data`; malloc'd, NULL on failure. */
static void *gzip_body(const void *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return NULL;
    uLong bound = deflateBound(&zs, (uLong)len) + 32;
    unsigned char *out = malloc(bound);
    if (!out || len > (uInt)-1) {
        free(out);
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)bound;
    int zrc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

typedef struct {
    mo_buf_t body;
    int too_big;
} sink_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    if (s->body.len + n > RESPONSE_MAX) {
        s->too_big = 1;
        return 0; /* makes libcurl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (mo_buf_append(&s->body, ptr, n))
        return 0;
    return n;
}

static const char *config_of(plugin_t *pl, const char *key)
{
    return pl ? pl->services.config(pl, key) : NULL;
}

static int fail(maestro_http_response_t *resp, int rc, const char *msg)
{
    if (resp) {
        resp->status = 0;
        snprintf(resp->error, sizeof resp->error, "%s", msg);
    }
    return rc;
}

int mo_plugins_http_service(void *ctx, const maestro_http_request_t *req,
                            maestro_http_response_t *resp)
{
    plugin_t *pl = ctx;
    CURL *h = NULL;
    int own = 0, locked = 0, rc = MAESTRO_E_RETRY;
    struct curl_slist *headers = NULL;
    void *zbody = NULL;
    sink_t sink = {{0}, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    if (resp)
        memset(resp, 0, sizeof *resp);
    if (!req || !resp || !req->url || !*req->url || (!req->body && req->body_len))
        return fail(resp, MAESTRO_E_FAILED, "bad http request (NULL url, response or body)");

    if (pl && pthread_mutex_trylock(&pl->curl_lock) == 0) {
        locked = 1;
        if (!pl->curl)
            pl->curl = curl_easy_init();
        h = pl->curl;
        if (h)
            curl_easy_reset(h);
    }
    if (!h) {
        h = curl_easy_init();
        own = 1;
    }
    if (!h) {
        rc = fail(resp, MAESTRO_E_RETRY, "cannot create a libcurl handle");
        goto out;
    }

    const char *method = req->method && *req->method ? req->method : "GET";
    double timeout = req->timeout_s > 0 ? req->timeout_s : DEFAULT_TIMEOUT_S;
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* we are on a worker thread */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout * 1000));
    /* On unless the plugin's configuration says tls_verify: false (warned at load, host.c) */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, pl && pl->tls_insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, pl && pl->tls_insecure ? 0L : 2L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_USERAGENT, "maestro/" MAESTRO_VERSION);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl can decode */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    const char *ca = config_of(pl, "ca_file");
    if (ca && *ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);

    for (size_t i = 0; req->headers && i < req->n_headers; i++) {
        const maestro_kv_t *kv = &req->headers[i];
        if (!kv->key || !kv->value || strpbrk(kv->key, ":\r\n") || strpbrk(kv->value, "\r\n")) {
            rc = fail(resp, MAESTRO_E_FAILED, "bad http header (NULL, ':' in name, or newline)");
            goto out;
        }
        mo_buf_t b = {0};
        mo_buf_printf(&b, "%s: %s", kv->key, kv->value);
        char *line = mo_buf_steal(&b);
        struct curl_slist *nl = line ? curl_slist_append(headers, line) : NULL;
        free(line);
        if (!nl) {
            rc = fail(resp, MAESTRO_E_RETRY, "out of memory building headers");
            goto out;
        }
        headers = nl;
    }
    /* A 1 s stall per large POST for servers that ignore Expect: 100-continue. */
    struct curl_slist *nl = curl_slist_append(headers, "Expect:");
    if (nl)
        headers = nl;

    const void *body = req->body;
    size_t body_len = req->body_len;
    if (req->gzip && body_len) {
        size_t zlen = 0;
        zbody = gzip_body(body, body_len, &zlen);
        if (!zbody) {
            rc = fail(resp, MAESTRO_E_RETRY, "cannot gzip the request body");
            goto out;
        }
        body = zbody;
        body_len = zlen;
        nl = curl_slist_append(headers, "Content-Encoding: gzip");
        if (nl)
            headers = nl;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

    if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        /* POSTFIELDS with an explicit size: binary bodies, and "" when there is none */
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }

    if (req->bearer_token && *req->bearer_token) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, req->bearer_token);
    } else if (req->basic_user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, req->basic_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
    }

    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        const char *why = sink.too_big ? "response larger than 64 MiB"
                          : errbuf[0]  ? errbuf
                                       : curl_easy_strerror(cc);
        rc = fail(resp, MAESTRO_E_RETRY, why);
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    mo_buf_puts(&sink.body, ""); /* an empty response is "" (NUL-terminated), not NULL */
    if (sink.body.failed) {
        rc = fail(resp, MAESTRO_E_RETRY, "out of memory reading the response");
        goto out;
    }
    resp->status = status;
    resp->body_len = sink.body.len;
    resp->body = mo_buf_steal(&sink.body);
    rc = MAESTRO_OK;
out:
    if (h && !own) {
        /* Drop pointers into this call's memory before the handle waits for the next call. */
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    }
    if (own && h)
        curl_easy_cleanup(h);
    if (locked)
        pthread_mutex_unlock(&pl->curl_lock);
    curl_slist_free_all(headers);
    free(zbody);
    mo_buf_free(&sink.body);
    return rc;
}

void mo_plugins_http_free(void *ctx, maestro_http_response_t *resp)
{
    (void)ctx;
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

void mo_plugins_http_release(plugin_t *pl)
{
    if (pl->curl)
        curl_easy_cleanup(pl->curl);
    pl->curl = NULL;
}
