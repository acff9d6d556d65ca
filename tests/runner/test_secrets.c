/* test_secrets.c - `${secret:NAME/KEY}`: env names, the secret volume layout and its rotation,
 * the kubernetes plugin against the strict Secrets API fake (tests/fakes/k8s_fake.py), and
 * redaction of every value resolved.
 *
 * The fake is started with posix_spawn from $MAESTRO_SOURCE_DIR; the plugin is found through
 * $MAESTRO_PLUGIN_TEST_DIR (else the build's plugin folder, which the host searches anyway).
 */
#include "runner/secrets.h"

#include "core/log.h"
#include "core/str.h"
#include "tests/unit.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

#define ASSERT_HAS(s, part)                                                                        \
    do {                                                                                           \
        CU_ASSERT_PTR_NOT_NULL(strstr(s, part));                                                   \
        if (!strstr(s, part))                                                                      \
            fprintf(stderr, "\n  '%s' lacks '%s'\n", s, part);                                     \
    } while (0)

static char dir_buf[512];

static const char *sub(const char *name)
{
    snprintf(dir_buf, sizeof dir_buf, "%s/%s", mo_test_tmpdir(), name);
    return dir_buf;
}

/* A cluster from YAML text written to tmpdir/cluster.yml. */
static mo_cluster_t *cluster_from(const char *text)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "cluster.yml", text);
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    int rc = mo_cluster_load(&c, path, &err);
    if (rc)
        fprintf(stderr, "\n  cluster: %s\n  for: %s\n", err.msg, text);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return c;
}

/* Resolve `ref` with `c` and no plugin host; the value (caller frees) or NULL with *rc set. */
static char *resolve(const mo_cluster_t *c, mo_plugins_t *p, const char *ref, int *rc,
                     mo_error_t *err)
{
    mo_secrets_ctx_t ctx = {c, p};
    char *out = (char *)0x1;
    *rc = mo_secrets_resolve_ctx(&out, "secret", ref, &ctx, err);
    if (*rc)
        CU_ASSERT_PTR_NULL(out);
    return *rc ? NULL : out;
}

static void expect_value(const mo_cluster_t *c, mo_plugins_t *p, const char *ref, const char *want)
{
    int rc;
    mo_error_t err = {0};
    char *v = resolve(c, p, ref, &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  %s: %s\n", ref, err.msg);
    if (v) {
        CU_ASSERT_STRING_EQUAL(v, want);
        if (strcmp(v, want))
            fprintf(stderr, "\n  %s: got %zu bytes, want %zu\n", ref, strlen(v), strlen(want));
    }
    free(v);
}

static void mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0700);
            *p = '/';
        }
    mkdir(buf, 0700);
}

/* ---- references and env ------------------------------------------------------------------- */

static void test_secrets__env_maps_name_and_key(void)
{
    mo_cluster_t *c = cluster_from("secrets: {providers: [env]}\n");
    setenv("MAESTRO_SECRET_DB_PASSWORD", "env-db-pass", 1);
    setenv("MAESTRO_SECRET_API_V2_TOKEN_X", "env-api-token", 1);
    setenv("MAESTRO_SECRET_REGISTRY__DOCKERCONFIGJSON", "{\"auths\":{}}", 1);
    expect_value(c, NULL, "db/password", "env-db-pass");
    /* '.', '-' become '_', letters upper case; the '/' between name and key too. */
    expect_value(c, NULL, "api.v2/token-x", "env-api-token");
    expect_value(c, NULL, "registry/.dockerconfigjson", "{\"auths\":{}}");
    /* The single-part form keeps its old variable, which db-password shares with db/password. */
    expect_value(c, NULL, "db-password", "env-db-pass");
    int rc;
    mo_error_t err = {0};
    CU_ASSERT_PTR_NULL(resolve(c, NULL, "db/user", &rc, &err));
    CU_ASSERT_EQUAL(rc, MO_ENOTFOUND);
    ASSERT_MSG(err, "secret 'db/user' not found (looked in: env MAESTRO_SECRET_DB_USER)");
    unsetenv("MAESTRO_SECRET_DB_PASSWORD");
    unsetenv("MAESTRO_SECRET_API_V2_TOKEN_X");
    unsetenv("MAESTRO_SECRET_REGISTRY__DOCKERCONFIGJSON");
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

static void test_secrets__bad_references_are_refused_before_any_provider(void)
{
    mo_cluster_t *c = cluster_from("secrets: {providers: [env, files]}\n");
    static const struct {
        const char *ref, *msg;
    } bad[] = {
        {"a/b/c", "secret reference \"a/b/c\" must be NAME or NAME/KEY"},
        {"/x", "secret reference \"/x\" must be NAME or NAME/KEY"},
        {"x/", "secret reference \"x/\" must be NAME or NAME/KEY"},
        {"../x", "secret name \"..\" must be letters, digits, '-', '_' or '.'"},
        {".hidden/x", "secret name \".hidden\" must be letters, digits, '-', '_' or '.'"},
        {"db/..data", "secret key \"..data\" must be letters, digits, '-', '_' or '.', not "
                      "starting with \"..\""},
        {"db/.", "secret key \".\" must be letters, digits, '-', '_' or '.', not starting with "
                 "\"..\""},
        {"db/pa ss", "secret key \"pa ss\" must be letters, digits, '-', '_' or '.', not "
                     "starting with \"..\""},
        {"", "secret name \"\" must be letters, digits, '-', '_' or '.'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        mo_error_t err = {0};
        CU_ASSERT_PTR_NULL(resolve(c, NULL, bad[i].ref, &rc, &err));
        CU_ASSERT_EQUAL(rc, MO_EINVAL);
        ASSERT_MSG(err, bad[i].msg);
    }
    /* Bad arguments: error codes, no crash. */
    char *out = (char *)0x1;
    mo_secrets_ctx_t ctx = {c, NULL};
    CU_ASSERT_EQUAL(mo_secrets_resolve_ctx(NULL, "secret", "a/b", &ctx, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_secrets_resolve_ctx(&out, NULL, "a/b", &ctx, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_secrets_resolve_ctx(&out, "secret", NULL, &ctx, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_secrets_resolve_ctx(&out, "vault", "a/b", &ctx, NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_secrets_resolve_ctx(&out, "secret", "a/b", NULL, &err), MO_ENOTFOUND);
    ASSERT_MSG(err, "secret 'a/b' not found (looked in: no providers)");
    CU_ASSERT_EQUAL(mo_secrets_open_plugins(NULL, c, NULL), MO_EINVAL);
    mo_plugins_t *p = (mo_plugins_t *)0x1;
    CU_ASSERT_EQUAL(mo_secrets_open_plugins(&p, NULL, NULL), 0);
    CU_ASSERT_PTR_NULL(p);
    /* No kubernetes provider: nothing to load. */
    p = (mo_plugins_t *)0x1;
    CU_ASSERT_EQUAL(mo_secrets_open_plugins(&p, c, NULL), 0);
    CU_ASSERT_PTR_NULL(p);
    mo_cluster_destroy(c);
}

/* ---- files: the secret volume layout ------------------------------------------------------ */

static void test_secrets__files_plain_layout(void)
{
    char root[512], text[2048];
    snprintf(root, sizeof root, "%s", sub("plain"));
    mkdir_p(root);
    snprintf(text, sizeof text, "secrets: {providers: [files], files_dir: \"%s\"}\n", root);
    mo_cluster_t *c = cluster_from(text);
    char d[1024];
    snprintf(d, sizeof d, "%s/db", root);
    mkdir_p(d);
    mo_test_write_file(d, "password", "file-db-pass\n");
    mo_test_write_file(root, "legacy", "legacy-pass\r\n");
    expect_value(c, NULL, "db/password", "file-db-pass");
    expect_value(c, NULL, "legacy", "legacy-pass");
    int rc;
    mo_error_t err = {0};
    /* A single-part file is not a Secret folder: legacy/x is simply not there. */
    CU_ASSERT_PTR_NULL(resolve(c, NULL, "legacy/x", &rc, &err));
    CU_ASSERT_EQUAL(rc, MO_ENOTFOUND);
    char want[2048];
    snprintf(want, sizeof want, "secret 'legacy/x' not found (looked in: files in %s)", root);
    ASSERT_MSG(err, want);
    /* A folder where a value should be is an error, not a silent miss. */
    snprintf(d, sizeof d, "%s/db/dir-key", root);
    mkdir_p(d);
    CU_ASSERT_PTR_NULL(resolve(c, NULL, "db/dir-key", &rc, &err));
    CU_ASSERT_EQUAL(rc, MO_EIO);
    ASSERT_HAS(err.msg, "is not a regular file");
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

/* <root>/<name>/<ts> with `key` = `value`, made the way the kubelet does before a swap. */
static void write_ts_dir(const char *secret_dir, const char *ts, const char *key, const char *value)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/%s", secret_dir, ts);
    mkdir_p(d);
    mo_test_write_file(d, key, value);
}

/* The kubelet's atomic swap: ..data_tmp -> ts, then rename over ..data. */
static int swap_data_link(const char *secret_dir, const char *ts)
{
    char tmp[4096], data[4096];
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", secret_dir);
    snprintf(data, sizeof data, "%s/..data", secret_dir);
    unlink(tmp);
    if (symlink(ts, tmp) != 0)
        return -1;
    return rename(tmp, data);
}

static void test_secrets__files_read_through_data_link(void)
{
    char root[512], text[2048], s[1024], link[2048];
    snprintf(root, sizeof root, "%s", sub("volume"));
    snprintf(s, sizeof s, "%s/db", root);
    mkdir_p(s);
    snprintf(text, sizeof text, "secrets: {providers: [files], files_dir: \"%s\"}\n", root);
    mo_cluster_t *c = cluster_from(text);
    write_ts_dir(s, "..2024_01_01_00_00_00.1", "password", "vol-pass-1\n");
    write_ts_dir(s, "..2024_01_01_00_00_00.1", "fresh", "vol-fresh-1");
    write_ts_dir(s, "..2024_01_01_00_00_00.1", "stale", "vol-current-1");
    CU_ASSERT_EQUAL_FATAL(swap_data_link(s, "..2024_01_01_00_00_00.1"), 0);
    snprintf(link, sizeof link, "%s/password", s);
    CU_ASSERT_EQUAL(symlink("..data/password", link), 0);
    /* A leftover top-level file that the kubelet's links would replace: ..data wins. */
    mo_test_write_file(s, "stale", "vol-old-0");
    expect_value(c, NULL, "db/password", "vol-pass-1");
    /* A key whose top-level link is not made yet is there already through ..data. */
    expect_value(c, NULL, "db/fresh", "vol-fresh-1");
    expect_value(c, NULL, "db/stale", "vol-current-1");
    /* After a rotation the new folder is read. */
    write_ts_dir(s, "..2024_01_02_00_00_00.2", "password", "vol-pass-2\n");
    CU_ASSERT_EQUAL(swap_data_link(s, "..2024_01_02_00_00_00.2"), 0);
    expect_value(c, NULL, "db/password", "vol-pass-2");
    int rc;
    mo_error_t err = {0};
    CU_ASSERT_PTR_NULL(resolve(c, NULL, "db/fresh", &rc, &err));
    CU_ASSERT_EQUAL(rc, MO_ENOTFOUND);
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

/* Rotation under a reader: values big enough to need many reads, every rotation writes a new
 * folder, swaps ..data and removes the old folder, as the kubelet's AtomicWriter does. */
#define ROT_BYTES (64 * 1024)
#define ROT_SWAPS 150

typedef struct {
    char dir[1024];
    atomic_int done;
    int failures;
} rotator_t;

static void *rotate(void *arg)
{
    rotator_t *r = arg;
    char *value = malloc(ROT_BYTES + 1);
    char prev[64] = "";
    for (int i = 0; value && i < ROT_SWAPS; i++) {
        char ts[64], d[2048], f[4096];
        snprintf(ts, sizeof ts, "..ts_%04d", i);
        memset(value, i % 2 ? 'B' : 'A', ROT_BYTES);
        value[ROT_BYTES] = '\0';
        write_ts_dir(r->dir, ts, "blob", value);
        if (swap_data_link(r->dir, ts) != 0)
            r->failures++;
        if (prev[0]) {
            snprintf(d, sizeof d, "%s/%s", r->dir, prev);
            snprintf(f, sizeof f, "%s/blob", d);
            if (unlink(f) != 0 || rmdir(d) != 0)
                r->failures++;
        }
        snprintf(prev, sizeof prev, "%s", ts);
        struct timespec pause = {0, 500 * 1000};
        nanosleep(&pause, NULL);
    }
    free(value);
    r->done = 1;
    return NULL;
}

static void test_secrets__files_rotation_is_never_seen_half_done(void)
{
    rotator_t r = {.failures = 0};
    atomic_init(&r.done, 0);
    char root[512], text[2048];
    snprintf(root, sizeof root, "%s", sub("rotating"));
    snprintf(r.dir, sizeof r.dir, "%s/big", root);
    mkdir_p(r.dir);
    snprintf(text, sizeof text, "secrets: {providers: [files], files_dir: \"%s\"}\n", root);
    mo_cluster_t *c = cluster_from(text);
    char *first = malloc(ROT_BYTES + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    memset(first, 'B', ROT_BYTES);
    first[ROT_BYTES] = '\0';
    write_ts_dir(r.dir, "..ts_first", "blob", first);
    free(first);
    CU_ASSERT_EQUAL_FATAL(swap_data_link(r.dir, "..ts_first"), 0);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, rotate, &r), 0);
    int reads = 0, mixed = 0, missing = 0, seen_a = 0, seen_b = 0;
    while (!r.done || reads < 50) {
        int rc;
        mo_error_t err = {0};
        char *v = resolve(c, NULL, "big/blob", &rc, &err);
        reads++;
        if (!v) {
            missing++;
            fprintf(stderr, "\n  read %d: %s\n", reads, err.msg);
            continue;
        }
        size_t n = strlen(v);
        int same = n == ROT_BYTES;
        for (size_t i = 1; same && i < n; i++)
            same = v[i] == v[0];
        mixed += !same;
        seen_a += v[0] == 'A';
        seen_b += v[0] == 'B';
        free(v);
    }
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(r.failures, 0);
    CU_ASSERT_EQUAL(mixed, 0);
    CU_ASSERT_EQUAL(missing, 0);
    /* The reads did overlap the rotations (both generations were seen). */
    CU_ASSERT(seen_a > 0 && seen_b > 0);
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

/* ---- kubernetes through the plugin, against the fake --------------------------------------- */

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

static void test_secrets__kubernetes_value_from_the_api(void)
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

static void test_secrets__kubernetes_not_found_passes_on(void)
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

static void test_secrets__kubernetes_refusals_name_the_reference_not_the_token(void)
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

static void test_secrets__kubernetes_refuses_plain_http(void)
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

static void test_secrets__cluster_kubernetes_section(void)
{
    mo_cluster_t *c = cluster_from("secrets:\n"
                                   "  providers: [files, kubernetes]\n"
                                   "  kubernetes:\n"
                                   "    namespace: ml-prod\n"
                                   "    api_url: https://10.0.0.1:6443\n"
                                   "    token_file: /t/token\n"
                                   "    ca_file: /t/ca.crt\n");
    CU_ASSERT_STRING_EQUAL(c->secrets_kubernetes.namespace_name, "ml-prod");
    CU_ASSERT_STRING_EQUAL(c->secrets_kubernetes.api_url, "https://10.0.0.1:6443");
    CU_ASSERT_STRING_EQUAL(c->secrets_kubernetes.token_file, "/t/token");
    CU_ASSERT_STRING_EQUAL(c->secrets_kubernetes.ca_file, "/t/ca.crt");
    CU_ASSERT_EQUAL(c->secrets_kubernetes.insecure_http, 0);
    mo_cluster_destroy(c);
    /* Absent: the plugin's in-cluster defaults. */
    c = cluster_from("secrets: {providers: [kubernetes]}\n");
    CU_ASSERT_PTR_NULL(c->secrets_kubernetes.namespace_name);
    CU_ASSERT_PTR_NULL(c->secrets_kubernetes.api_url);
    CU_ASSERT_PTR_NULL(c->secrets_kubernetes.token_file);
    mo_cluster_destroy(c);
    static const struct {
        const char *text, *rest;
    } bad[] = {
        {"secrets:\n  kubernetes: {namespace: ML}\n",
         "2:27: secrets.kubernetes.namespace must be a DNS label (lower case letters, digits, "
         "'-'), got \"ML\""},
        {"secrets:\n  kubernetes: {api_url: ftp://x}\n",
         "2:25: secrets.kubernetes.api_url must be an http(s) URL, got \"ftp://x\""},
        {"secrets:\n  kubernetes: {insecure_http: maybe}\n",
         "2:31: secrets.kubernetes.insecure_http must be true or false"},
        {"secrets:\n  kubernetes: {tokenfile: /t}\n", "2:16: unknown key 'tokenfile'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = mo_test_write_file(mo_test_tmpdir(), "bad.yml", bad[i].text);
        char want[2048];
        snprintf(want, sizeof want, "%s:%s", path, bad[i].rest);
        mo_cluster_t *b = (mo_cluster_t *)0x1;
        mo_error_t err = {0};
        CU_ASSERT_EQUAL(mo_cluster_load(&b, path, &err), MO_EINVAL);
        CU_ASSERT_PTR_NULL(b);
        ASSERT_HAS(err.msg, want);
    }
}

static CU_TestInfo tests[] = {
    MO_TEST(test_secrets__env_maps_name_and_key),
    MO_TEST(test_secrets__bad_references_are_refused_before_any_provider),
    MO_TEST(test_secrets__files_plain_layout),
    MO_TEST(test_secrets__files_read_through_data_link),
    MO_TEST(test_secrets__files_rotation_is_never_seen_half_done),
    MO_TEST(test_secrets__cluster_kubernetes_section),
    MO_TEST(test_secrets__kubernetes_value_from_the_api),
    MO_TEST(test_secrets__kubernetes_not_found_passes_on),
    MO_TEST(test_secrets__kubernetes_refusals_name_the_reference_not_the_token),
    MO_TEST(test_secrets__kubernetes_refuses_plain_http),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("runner/secrets", tests);
}
