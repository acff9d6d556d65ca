/* loki_fixtures.h - helpers shared by the tests/plugins/test_loki*.c suites
 *
 * Each test file is its own executable, so these are static inline in a header: files under
 * the test's tmpdir, HTTP with libcurl, tests/fakes/loki_fake.py (one process per test on a
 * free loopback port; what it accepted and received is read back from its /test/entries and
 * /test/bodies), and the host (mo_plugins_open, run_start, log events, run_end) with Maestro's
 * own log captured in a file.
 */
#ifndef MO_TESTS_PLUGINS_LOKI_FIXTURES_H
#define MO_TESTS_PLUGINS_LOKI_FIXTURES_H

#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "plugins/host.h"
#include "tests/plugins/service_fixtures.h"
#include "tests/unit.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- files ---------------------------------------------------------------------------------- */

static inline char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    mo_buf_t b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        mo_buf_append(&b, chunk, n);
    fclose(f);
    mo_buf_puts(&b, "");
    return mo_buf_steal(&b);
}

static inline int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* A fresh folder under the test's tmpdir. */
static inline const char *fresh_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    mkdir(path, 0755);
    return path;
}

/* ---- http to the fake ----------------------------------------------------------------------- */

/* One request with libcurl; returns the status (0: no response), *body malloc'd if asked. */
static inline long http(const char *method, const char *url, const char *ctype,
                        const char *encoding, const char *body, size_t len, char **out)
{
    /* A POST always carries a body (possibly empty): the fake checks what Loki checks. */
    int post = !strcmp(method, "POST");
    return svc_http(method, url, ctype, encoding, post ? (body ? body : "") : NULL, post ? len : 0,
                    10L, out, NULL);
}

/* ---- the fake ------------------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    char base[64]; /* http://127.0.0.1:<port> */
} fake_t;

/* Start tests/fakes/loki_fake.py with extra args (NULL-terminated); port 0 picks one. */
static inline int fake_start(fake_t *f, int port, const char *const *args)
{
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    char script[1024], port_file[512], port_text[16];
    snprintf(script, sizeof script, "%s/tests/fakes/loki_fake.py", src ? src : "..");
    snprintf(port_file, sizeof port_file, "%s/fake-port-%ld", mo_test_tmpdir(),
             (long)mo_time_unix_ns());
    snprintf(port_text, sizeof port_text, "%d", port);
    const char *argv[32] = {"python3", script, "--port", port_text, "--port-file", port_file};
    size_t n = 6;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&f->pid, "python3", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot start python3: %s\n", strerror(rc));
        return -1;
    }
    for (int i = 0; i < 200; i++) {
        char *text = read_file(port_file);
        if (text && *text) {
            f->port = (int)strtol(text, NULL, 10);
            free(text);
            snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
            return 0;
        }
        free(text);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "the Loki fake did not start\n");
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
    return -1;
}

static inline void fake_stop(fake_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = 0;
}

static inline json_t *fake_get(const fake_t *f, const char *path)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s%s", f->base, path);
    json_t *j = NULL;
    if (http("GET", url, NULL, NULL, NULL, 0, &body) == 200)
        j = json_loads(body, 0, NULL);
    free(body);
    return j;
}

static inline void fake_config(const fake_t *f, const char *json)
{
    char url[256];
    snprintf(url, sizeof url, "%s/test/config", f->base);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, json, strlen(json), NULL), 204);
}

/* Entries the fake stored, over all streams. */
static inline size_t fake_entry_count(const fake_t *f)
{
    json_t *e = fake_get(f, "/test/entries");
    size_t n = 0, i;
    json_t *s;
    json_array_foreach(json_object_get(e, "streams"), i, s) n +=
        json_array_size(json_object_get(s, "values"));
    json_decref(e);
    return n;
}

/* Pushes the fake received with this status (0: any). */
static inline size_t fake_pushes(const fake_t *f, long status)
{
    json_t *b = fake_get(f, "/test/bodies");
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(b, i, r)
    {
        if (!status || json_integer_value(json_object_get(r, "status")) == status)
            n++;
    }
    json_decref(b);
    return n;
}

/* A port nothing listens on (bound, then released). */
static inline int closed_port(void)
{
    fake_t f = {0};
    if (fake_start(&f, 0, NULL))
        return 1;
    int port = f.port;
    fake_stop(&f);
    return port;
}

/* ---- the host ------------------------------------------------------------------------------- */

static inline void use_plugin_dir(void)
{
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    char buf[4096];
    /* ctest runs the unit tests in <build>/tests; the plugins are in <build>/plugins. */
    if (!dir && realpath("../plugins", buf))
        dir = buf;
    if (dir)
        setenv("MAESTRO_PLUGIN_PATH", dir, 1);
}

typedef struct {
    maestro_kv_t kv[16];
    size_t n;
    char url[128];
} config_t;

static inline void cfg_set(config_t *c, const char *key, const char *value)
{
    c->kv[c->n++] = (maestro_kv_t){key, value};
}

static inline void cfg_url(config_t *c, const fake_t *f)
{
    snprintf(c->url, sizeof c->url, "%s", f->base);
    cfg_set(c, "url", c->url);
}

static inline const char *log_path(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/maestro.log", mo_test_tmpdir());
    return path;
}

/* Capture Maestro's own log (the plugin's warnings) in a file the test can read. */
static inline FILE *capture_log(void)
{
    FILE *f = fopen(log_path(), "w");
    mo_log_opts_t o = {MO_LOG_DEBUG, MO_LOG_HUMAN, 0, 1, f};
    mo_log_configure(&o);
    return f;
}

static inline void release_log(FILE *f)
{
    mo_log_opts_t o = {MO_LOG_INFO, MO_LOG_HUMAN, 0, 0, NULL};
    mo_log_configure(&o);
    if (f)
        fclose(f);
}

static inline int log_has(const char *text)
{
    char *all = read_file(log_path());
    int found = all && strstr(all, text);
    free(all);
    return found;
}

static inline mo_plugins_t *open_loki(const config_t *c, const char *run_dir, mo_error_t *err)
{
    use_plugin_dir();
    mo_plugin_request_t req = {"loki", c->kv, c->n};
    mo_plugins_opts_t opts = {0, 1, run_dir, 20.0};
    mo_plugins_t *p = NULL;
    if (mo_plugins_open(&p, &req, 1, &opts, err))
        return NULL;
    return p;
}

static inline void start_run(mo_plugins_t *p, const char *run_dir)
{
    maestro_run_info_t run = {
        .run_id = "churn-20250101T000000Z-abcd",
        .run_name = "churn",
        .job_kind = "train",
        .run_dir = run_dir,
        .spec_text = "name: churn\n",
        .git_commit = "0000000",
        .maestro_version = "0.1.0",
        .rank = 0,
        .ranks = 1,
        .start_ns = mo_time_unix_ns(),
    };
    mo_plugins_run_start(p, &run);
}

static inline void end_run(mo_plugins_t *p)
{
    maestro_run_end_t end = {
        .status = "ok", .exit_code = 0, .end_ns = mo_time_unix_ns(), .gates_passed = 1};
    mo_plugins_run_end(p, &end);
}

/* A whole run: n info lines "line <i>" (every third a warning). */
static inline void run_lines(const config_t *c, const char *run_dir, int n)
{
    mo_error_t err = {0};
    mo_plugins_t *p = open_loki(c, run_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    start_run(p, run_dir);
    for (int i = 0; i < n; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "line %d", i);
        mo_plugins_log(p, i % 3 == 2 ? MAESTRO_LOG_WARN : MAESTRO_LOG_INFO, "train", msg);
    }
    end_run(p);
    mo_plugins_close(p);
}

/* A string member, never NULL: CUnit's string asserts would crash on NULL. */
static inline const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(missing)";
}

#endif
