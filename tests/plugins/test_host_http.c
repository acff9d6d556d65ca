/* test_host_http.c - the http service plugins get (host_http.c), against a one-shot loopback
 * server in a thread: gzip body, bearer header (sent, never logged), status and body read
 * back, no response
 */
#include "plugins/host.h"
#include "plugins/host_impl.h"
#include "tests/plugins/host_fixtures.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

/* ---- loopback server ---------------------------------------------------------------------- */

typedef struct {
    int fd;
    char request[65536];
    size_t len;
} server_t;

/* Accept one connection, read the request (headers + Content-Length bytes), answer 201. */
static void *serve_one(void *arg)
{
    server_t *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t want = 0;
    for (;;) {
        ssize_t n = recv(c, s->request + s->len, sizeof s->request - 1 - s->len, 0);
        if (n <= 0)
            break;
        s->len += (size_t)n;
        s->request[s->len] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (end && !want) {
            char *cl = strstr(s->request, "Content-Length: ");
            want = (size_t)(end + 4 - s->request) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
        }
        if (want && s->len >= want)
            break;
    }
    const char *answer = "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                         "hello";
    if (send(c, answer, strlen(answer), 0) < 0)
        perror("send");
    close(c);
    return NULL;
}

/* ---- http service ------------------------------------------------------------------------- */

static void test_host_http__sends_gzip_and_bearer_and_reads_response(void)
{
    server_t *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {0};
    socklen_t alen = sizeof addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_EQUAL_FATAL(bind(s->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    CU_ASSERT_EQUAL_FATAL(listen(s->fd, 1), 0);
    getsockname(s->fd, (struct sockaddr *)&addr, &alen);
    pthread_t th;
    pthread_create(&th, NULL, serve_one, s);

    mo_plugins_http_global_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/push", ntohs(addr.sin_port));
    const char *body = "{\"streams\":[{\"values\":[[\"1\",\"line\"]]}]}";
    maestro_kv_t hdr[] = {{"Content-Type", "application/json"}};
    maestro_http_request_t req = {"POST", url, hdr,           1,    body, strlen(body),
                                  1,      5.0, "tok-xyz-987", NULL, NULL};
    maestro_http_response_t resp;
    log_capture_at("http", MO_LOG_DEBUG);
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, &req, &resp), MAESTRO_OK);
    pthread_join(th, NULL);
    close(s->fd);
    char *log = log_release();
    CU_ASSERT_PTR_NULL(strstr(log ? log : "", "tok-xyz-987")); /* the bearer is never logged */
    free(log);
    CU_ASSERT_EQUAL(resp.status, 201);
    CU_ASSERT_STRING_EQUAL(resp.body ? resp.body : "", "hello");
    CU_ASSERT_EQUAL(resp.body_len, 5);
    mo_plugins_http_free(NULL, &resp);
    CU_ASSERT_PTR_NULL(resp.body);

    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "POST /push HTTP/1.1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "Authorization: Bearer tok-xyz-987\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "Content-Encoding: gzip\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->request, "Content-Type: application/json\r\n"));
    /* the body on the wire is gzip of ours */
    char *start = strstr(s->request, "\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(start);
    start += 4;
    size_t zlen = s->len - (size_t)(start - s->request);
    char plain[256] = "";
    z_stream zs = {0};
    inflateInit2(&zs, 15 + 16);
    zs.next_in = (Bytef *)start;
    zs.avail_in = (uInt)zlen;
    zs.next_out = (Bytef *)plain;
    zs.avail_out = sizeof plain - 1;
    CU_ASSERT_EQUAL(inflate(&zs, Z_FINISH), Z_STREAM_END);
    inflateEnd(&zs);
    CU_ASSERT_STRING_EQUAL(plain, body);
    free(s);
}

static void test_host_http__no_response_is_status_0_with_text(void)
{
    mo_plugins_http_global_init();
    /* A port nothing listens on: bind one, then close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    socklen_t alen = sizeof addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&addr, sizeof addr);
    getsockname(fd, (struct sockaddr *)&addr, &alen);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(addr.sin_port));
    maestro_http_request_t req = {0};
    req.url = url;
    req.timeout_s = 2;
    maestro_http_response_t resp;
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, &req, &resp), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(resp.status, 0);
    CU_ASSERT_NOT_EQUAL(resp.error[0], '\0');
    CU_ASSERT_PTR_NULL(resp.body);
    req.url = NULL;
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, &req, &resp), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(mo_plugins_http_service(NULL, NULL, &resp), MAESTRO_E_FAILED);
    mo_plugins_http_free(NULL, NULL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_host_http__sends_gzip_and_bearer_and_reads_response),
    MO_TEST(test_host_http__no_response_is_status_0_with_text),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/host_http", tests);
}
