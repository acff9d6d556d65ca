/* service_fixtures.h - what the tests against real services and fakes share: one HTTP client
 * for reading back what a service received (log capture: log_fixtures.h)
 *
 * Header-only (static inline): every test file is its own executable.
 */
#ifndef MO_TESTS_PLUGINS_SERVICE_FIXTURES_H
#define MO_TESTS_PLUGINS_SERVICE_FIXTURES_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len;
} svc_sink_t;

static inline size_t svc_on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    svc_sink_t *s = ud;
    size_t n = size * nmemb;
    char *p = realloc(s->data, s->len + n + 1);
    if (!p)
        return 0;
    memcpy(p + s->len, ptr, n);
    s->len += n;
    p[s->len] = '\0';
    s->data = p;
    return n;
}

/* One exchange: `ctype` NULL sends no Content-Type at all (curl's default removed), `encoding`
 * NULL no Content-Encoding. The response body goes to *out (NUL-terminated, caller frees;
 * out may be NULL) and its length to *out_len (may be NULL). Returns the HTTP status, 0 when
 * no response came. */
static inline long svc_http(const char *method, const char *url, const char *ctype,
                            const char *encoding, const void *body, size_t body_len, long timeout_s,
                            char **out, size_t *out_len)
{
    CURL *h = curl_easy_init();
    svc_sink_t s = {calloc(1, 1), 0};
    struct curl_slist *hdrs = NULL;
    char line[256];
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, line);
    } else if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type:"); /* none at all */
    }
    if (encoding) {
        snprintf(line, sizeof line, "Content-Encoding: %s", encoding);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, svc_on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (out_len)
        *out_len = s.len;
    if (out)
        *out = s.data;
    else
        free(s.data);
    return status;
}

#endif
