/* test_kubernetes.c - the kubernetes secrets plugin (plugins/kubernetes/kubernetes.c) through
 * `${secret:NAME/KEY}`, against the strict Secrets API fake (tests/fakes/k8s_fake.py)
 *
 * Values come from the API with the service account token as a bearer and are redacted from
 * then on; a missing Secret or key passes on to the next provider; a refusal (401, 403) names
 * the reference, never the token; plain http is refused by cluster.yml and by the plugin.
 * The fake is started with posix_spawn from $MAESTRO_SOURCE_DIR; the plugin is found through
 * $MAESTRO_PLUGIN_TEST_DIR (else the build's plugin folder, which the host searches anyway).
 */
#include "tests/runner/secrets_fixtures.h"

#include "core/log.h"
#include "core/str.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define K8S_TOKEN "fake-sa-token-3f9c1e"
#define K8S_WRONG_TOKEN "wrong-sa-token-77aa02"
#define K8S_PASS "k8s-pass-\xc3\xbc-9d2e" /* decoded from base64, with a UTF-8 byte */

static pid_t fake_pid = -1;
static int fake_port;
static char token_file[512];
static char long_value[5001];

static void stop_fake(void)
{
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
        fake_pid = -1;
    }
}

/* Start the fake once per process; 0 when it is listening. */
static int start_fake(void)
{
    if (fake_pid > 0)
        return 0;
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    memset(long_value, 'L', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    /* The value of db/password is given base64-encoded (with a trailing newline, which the
     * resolver drops as for files); long/value exercises the host's second call. */
    mo_buf_t b = {0};
    mo_buf_printf(&b,
                  "[{\"metadata\": {\"name\": \"db\", \"namespace\": \"ml\"},"
                  "  \"data\": {\"password\": \"azhzLXBhc3Mtw7wtOWQyZQo=\", \"user\": \"bWw=\"}},"
                  " {\"metadata\": {\"name\": \"long\", \"namespace\": \"ml\"},"
                  "  \"stringData\": {\"value\": \"%s\"}},"
                  " {\"metadata\": {\"name\": \"db\", \"namespace\": \"other\"},"
                  "  \"stringData\": {\"password\": \"other-ns-pass\"}}]",
                  long_value);
    char secrets[700], port_file[700], script[1200];
    snprintf(secrets, sizeof secrets, "%s",
             mo_test_write_file(mo_test_tmpdir(), "k8s.json", b.data));
    mo_buf_free(&b);
    snprintf(port_file, sizeof port_file, "%s/k8s.port", mo_test_tmpdir());
    snprintf(token_file, sizeof token_file, "%s",
             mo_test_write_file(mo_test_tmpdir(), "sa-token", K8S_TOKEN "\n"));
    snprintf(script, sizeof script, "%s/tests/fakes/k8s_fake.py", src);
    char *argv[] = {"python3", script,        secrets,   "--token",
                    K8S_TOKEN, "--port-file", port_file, "--allow-namespace",
                    "ml",      NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&fake_pid, "python3", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "\n  cannot start python3: %s\n", strerror(rc));
        fake_pid = -1;
        return -1;
    }
    atexit(stop_fake);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d", &fake_port) == 1;
            fclose(f);
            if (ok)
                return 0;
        }
        struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    fprintf(stderr, "\n  the Kubernetes fake did not start\n");
    return -1;
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    mo_buf_append(ud, data, size * n);
    return size * n;
}

/* The fake's record of requests (GET /test/requests), parsed. */
static json_t *fake_requests(void)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/test/requests", fake_port);
    mo_buf_t b = {0};
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    json_t *j = rc == CURLE_OK && b.data ? json_loads(b.data, 0, NULL) : NULL;
    mo_buf_free(&b);
    return j;
}

/* A cluster using the fake; `extra` goes inside secrets.kubernetes. */
static mo_cluster_t *k8s_cluster(const char *providers, const char *ns, const char *extra)
{
    char text[4096];
    snprintf(
        text, sizeof text,
        "secrets:\n"
        "  providers: %s\n"
        "  files_dir: \"%s\"\n"
        "  kubernetes: {namespace: %s, api_url: \"http://127.0.0.1:%d\", token_file: \"%s\"%s}\n",
        providers, sub("no-files"), ns, fake_port, token_file, extra);
    return cluster_from(text);
}

static mo_plugins_t *open_plugins(const mo_cluster_t *c)
{
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    if (dir && *dir)
        setenv("MAESTRO_PLUGIN_PATH", dir, 1);
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    int rc = mo_secrets_open_plugins(&p, c, &err);
    if (rc)
        fprintf(stderr, "\n  open plugins: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(p);
    return p;
}

static void test_kubernetes__value_from_the_api(void)
{
    CU_ASSERT_EQUAL_FATAL(start_fake(), 0);
    mo_log_clear_secrets();
    mo_cluster_t *c = k8s_cluster("[env, files, kubernetes]", "ml", ", insecure_http: true");
    mo_plugins_t *p = open_plugins(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char *before = mo_redact("pw=" K8S_PASS ";");
    CU_ASSERT_STRING_EQUAL(before, "pw=" K8S_PASS ";");
    free(before);
    expect_value(c, p, "db/password", K8S_PASS);
    expect_value(c, p, "db/user", "ml");
    expect_value(c, p, "long/value", long_value);
    /* Resolved values are masked from then on, wherever they would be printed. */
    char *after = mo_redact("pw=" K8S_PASS ";");
    CU_ASSERT_STRING_EQUAL(after, "pw=***;");
    free(after);
    /* The request: the real path, the token as a bearer, JSON asked for. */
    json_t *reqs = fake_requests();
    CU_ASSERT_PTR_NOT_NULL_FATAL(reqs);
    CU_ASSERT(json_array_size(reqs) >= 3);
    json_t *first = json_array_get(reqs, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "method")), "GET");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "path")),
                           "/api/v1/namespaces/ml/secrets/db");
    json_t *h = json_object_get(first, "headers");
    const char *auth = json_string_value(json_object_get(h, "Authorization"));
    CU_ASSERT_PTR_NOT_NULL(auth);
    if (auth)
        CU_ASSERT_STRING_EQUAL(auth, "Bearer " K8S_TOKEN);
    const char *accept = json_string_value(json_object_get(h, "Accept"));
    CU_ASSERT(accept && strstr(accept, "application/json"));
    json_decref(reqs);
    /* The single-part form does not go to the API (a Secret read needs a key). */
    int rc;
    mo_error_t err = {0};
    CU_ASSERT_PTR_NULL(resolve(c, p, "db", &rc, &err));
    CU_ASSERT_EQUAL(rc, MO_ENOTFOUND);
    char want[2048];
    snprintf(want, sizeof want,
             "secret 'db' not found (looked in: env MAESTRO_SECRET_DB, files in %s, kubernetes "
             "(needs NAME/KEY))",
             sub("no-files"));
    ASSERT_MSG(err, want);
    mo_plugins_close(p);
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

static void test_kubernetes__not_found_passes_on(void)
{
    CU_ASSERT_EQUAL_FATAL(start_fake(), 0);
    mo_cluster_t *c = k8s_cluster("[env, files, kubernetes]", "ml", ", insecure_http: true");
    mo_plugins_t *p = open_plugins(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int rc;
    mo_error_t err = {0};
    /* No such Secret (404), and a Secret without that key. */
    const char *refs[] = {"nope/password", "db/missing-key"};
    const char *vars[] = {"MAESTRO_SECRET_NOPE_PASSWORD", "MAESTRO_SECRET_DB_MISSING_KEY"};
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_PTR_NULL(resolve(c, p, refs[i], &rc, &err));
        CU_ASSERT_EQUAL(rc, MO_ENOTFOUND);
        char want[2048];
        snprintf(want, sizeof want,
                 "secret '%s' not found (looked in: env %s, files in %s, kubernetes namespace ml)",
                 refs[i], vars[i], sub("no-files"));
        ASSERT_MSG(err, want);
    }
    mo_plugins_close(p);
    mo_cluster_destroy(c);
    /* Kubernetes first: its 404 passes on to env. */
    c = k8s_cluster("[kubernetes, env]", "ml", ", insecure_http: true");
    p = open_plugins(c);
    setenv("MAESTRO_SECRET_NOPE_PASSWORD", "env-after-404", 1);
    expect_value(c, p, "nope/password", "env-after-404");
    unsetenv("MAESTRO_SECRET_NOPE_PASSWORD");
    /* Without the plugin host the provider says so. */
    CU_ASSERT_PTR_NULL(resolve(c, NULL, "nope/password", &rc, &err));
    ASSERT_MSG(err, "secret 'nope/password' not found (looked in: kubernetes (plugin not loaded), "
                    "env MAESTRO_SECRET_NOPE_PASSWORD)");
    mo_plugins_close(p);
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

/* Error lines the plugin logs (through the host): resolve_secret has no error buffer, so the
 * HTTP status reaches the user as the log line just above the error. */
static mo_buf_t logged;

static void keep_errors(const mo_log_record_t *rec, void *ud)
{
    (void)ud;
    if (rec->level >= MO_LOG_ERROR)
        mo_buf_printf(&logged, "%s\n", rec->msg);
}

static void test_kubernetes__refusals_name_the_reference_not_the_token(void)
{
    mo_buf_free(&logged);
    mo_log_set_sink(keep_errors, NULL);
    CU_ASSERT_EQUAL_FATAL(start_fake(), 0);
    mo_cluster_t *c = k8s_cluster("[kubernetes, env]", "ml", ", insecure_http: true");
    mo_plugins_t *p = open_plugins(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    /* The plugin re-reads the token file for every request (projected tokens rotate). */
    mo_test_write_file(mo_test_tmpdir(), "sa-token", K8S_WRONG_TOKEN "\n");
    setenv("MAESTRO_SECRET_DB_PASSWORD", "env-must-not-be-used", 1);
    int rc;
    mo_error_t err = {0};
    CU_ASSERT_PTR_NULL(resolve(c, p, "db/password", &rc, &err));
    CU_ASSERT(rc != 0 && rc != MO_ENOTFOUND);
    ASSERT_HAS(err.msg, "secret 'db/password'");
    CU_ASSERT_PTR_NULL(strstr(err.msg, K8S_WRONG_TOKEN));
    CU_ASSERT_PTR_NULL(strstr(err.msg, K8S_TOKEN));
    CU_ASSERT_PTR_NOT_NULL_FATAL(logged.data);
    ASSERT_HAS(logged.data, "secret 'db/password': the API server answered 401 Unauthorized");
    CU_ASSERT_PTR_NULL(strstr(logged.data, K8S_WRONG_TOKEN));
    CU_ASSERT_PTR_NULL(strstr(logged.data, K8S_TOKEN));
    mo_buf_free(&logged);
    /* The fake saw exactly the token in the file. */
    json_t *reqs = fake_requests();
    json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
    const char *auth =
        json_string_value(json_object_get(json_object_get(last, "headers"), "Authorization"));
    CU_ASSERT(auth && !strcmp(auth, "Bearer " K8S_WRONG_TOKEN));
    json_decref(reqs);
    mo_test_write_file(mo_test_tmpdir(), "sa-token", K8S_TOKEN "\n");
    mo_plugins_close(p);
    mo_cluster_destroy(c);
    /* A namespace the service account may not read: 403. */
    c = k8s_cluster("[kubernetes]", "other", ", insecure_http: true");
    p = open_plugins(c);
    CU_ASSERT_PTR_NULL(resolve(c, p, "db/password", &rc, &err));
    CU_ASSERT(rc != 0 && rc != MO_ENOTFOUND);
    ASSERT_HAS(err.msg, "secret 'db/password'");
    CU_ASSERT_PTR_NULL(strstr(err.msg, "other-ns-pass"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, K8S_TOKEN));
    CU_ASSERT_PTR_NOT_NULL_FATAL(logged.data);
    ASSERT_HAS(logged.data, "secret 'db/password': the API server answered 403 Forbidden for "
                            "namespace other");
    CU_ASSERT_PTR_NULL(strstr(logged.data, K8S_TOKEN));
    mo_log_set_sink(NULL, NULL);
    mo_buf_free(&logged);
    unsetenv("MAESTRO_SECRET_DB_PASSWORD");
    mo_plugins_close(p);
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

static void test_kubernetes__refuses_plain_http(void)
{
    CU_ASSERT_EQUAL_FATAL(start_fake(), 0);
    /* cluster.yml says so with the position... */
    char text[1200], want[1400];
    snprintf(text, sizeof text,
             "secrets:\n"
             "  providers: [kubernetes]\n"
             "  kubernetes: {api_url: \"http://127.0.0.1:%d\"}\n",
             fake_port);
    const char *path = mo_test_write_file(mo_test_tmpdir(), "http.yml", text);
    mo_cluster_t *c = (mo_cluster_t *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cluster_load(&c, path, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    snprintf(want, sizeof want,
             "%s:3:25: secrets.kubernetes.api_url is plain http, which would send the service "
             "account token in the clear: use https (insecure_http: true exists only for tests "
             "against a local fake)",
             path);
    ASSERT_MSG(err, want);
    /* ...and the plugin itself refuses, whoever configures it. */
    c = k8s_cluster("[kubernetes]", "ml", ", insecure_http: true");
    mo_cluster_t *unsafe = c;
    unsafe->secrets_kubernetes.insecure_http = 0;
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    if (dir && *dir)
        setenv("MAESTRO_PLUGIN_PATH", dir, 1);
    mo_plugins_t *p = (mo_plugins_t *)0x1;
    CU_ASSERT_NOT_EQUAL(mo_secrets_open_plugins(&p, c, &err), 0);
    CU_ASSERT_PTR_NULL(p);
    ASSERT_HAS(err.msg, "plain http");
    ASSERT_HAS(err.msg, "insecure_http");
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

static CU_TestInfo tests[] = {
    MO_TEST(test_kubernetes__value_from_the_api),
    MO_TEST(test_kubernetes__not_found_passes_on),
    MO_TEST(test_kubernetes__refusals_name_the_reference_not_the_token),
    MO_TEST(test_kubernetes__refuses_plain_http),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/kubernetes", tests);
}
