/* test_secrets.c - `${secret:NAME/KEY}`: references, env names, the secret volume layout and
 * its rotation, and cluster.yml's secrets.kubernetes section (runner/secrets.c)
 *
 * The kubernetes provider, through its plugin against the Secrets API fake, is
 * tests/plugins/test_kubernetes.c's.
 */
#include "tests/runner/secrets_fixtures.h"

#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ---- cluster.yml: secrets.kubernetes ------------------------------------------------------ */

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
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("runner/secrets", tests);
}
