/* host_fixtures.h - helpers shared by the tests/plugins/test_host*.c suites
 *
 * Each test file is its own executable, so these are static inline in a header.
 *
 * Plugins come from the build: the example from $MAESTRO_PLUGIN_TEST_DIR (build/plugins),
 * the test-only ones (tests/plugins/<dir>/<name>.c) from build/tests/plugins.
 */
#ifndef MO_TESTS_PLUGINS_HOST_FIXTURES_H
#define MO_TESTS_PLUGINS_HOST_FIXTURES_H

#include "core/log.h"
#include "plugins/host.h"
#include "tests/unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static inline const char *plugin_dir(void)
{
    const char *d = getenv("MAESTRO_PLUGIN_TEST_DIR");
    return d && *d ? d : "../plugins"; /* ctest's cwd is build/tests */
}

static inline const char *test_plugin_dir(void)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/../tests/plugins", plugin_dir());
    return buf;
}

/* MAESTRO_PLUGIN_PATH = the example's folder and the test plugins' folder. */
static inline void use_test_path(void)
{
    char path[2100];
    snprintf(path, sizeof path, "%s:%s", plugin_dir(), test_plugin_dir());
    setenv("MAESTRO_PLUGIN_PATH", path, 1);
}

/* A fresh folder under the test's tmpdir. */
static inline const char *fresh_dir(const char *name)
{
    static char buf[4][512];
    static int k;
    char *d = buf[k++ % 4];
    snprintf(d, 512, "%s/%s", mo_test_tmpdir(), name);
    mkdir(d, 0755);
    return d;
}

static inline char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static inline int count_lines(const char *path)
{
    char *s = slurp(path);
    int n = 0;
    for (char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* Line i (0-based) of a JSON-lines file, parsed; NULL when absent or not JSON. */
static inline json_t *json_line(const char *path, int i)
{
    char *s = slurp(path), *p = s;
    json_t *j = NULL;
    for (int k = 0; p && *p && k < i; k++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        j = json_loads(p, 0, NULL);
    }
    free(s);
    return j;
}

/* The capture in progress (one per test process). */
typedef struct {
    FILE *file;
    char path[600];
} log_capture_t;

static inline log_capture_t *log_capture_state(void)
{
    static log_capture_t c;
    return &c;
}

/* Capture log lines at `level` and above into a file. */
static inline void log_capture_at(const char *name, mo_log_level_t level)
{
    log_capture_t *c = log_capture_state();
    snprintf(c->path, sizeof c->path, "%s/%s.log", mo_test_tmpdir(), name);
    c->file = fopen(c->path, "w");
    mo_log_opts_t o = {level, MO_LOG_HUMAN, 0, 1, c->file};
    mo_log_configure(&o);
}

/* Capture log lines (what a user sees on stderr) into a file. */
static inline void log_capture(const char *name)
{
    log_capture_at(name, MO_LOG_INFO);
}

/* Stop capturing; returns the captured text (caller frees). */
static inline char *log_release(void)
{
    log_capture_t *c = log_capture_state();
    mo_log_opts_t o = {MO_LOG_INFO, MO_LOG_HUMAN, 0, 1, NULL};
    mo_log_configure(&o);
    fclose(c->file);
    c->file = NULL;
    return slurp(c->path);
}

static inline int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, sub)); p += strlen(sub))
        n++;
    return n;
}

static inline mo_plugins_t *open_one(const char *name, const maestro_kv_t *cfg, size_t n_cfg,
                                     const char *run_dir, double end_timeout, mo_error_t *err,
                                     int *rc)
{
    mo_plugin_request_t req = {name, cfg, n_cfg};
    mo_plugins_opts_t opts = {0, 1, run_dir, end_timeout};
    mo_plugins_t *p = NULL;
    *rc = mo_plugins_open(&p, &req, 1, &opts, err);
    return p;
}

static inline maestro_run_info_t run_info(const char *run_dir)
{
    maestro_run_info_t r;
    memset(&r, 0, sizeof r);
    r.run_id = "t-20260101T000000Z-abcd";
    r.run_name = "t";
    r.job_kind = "train";
    r.run_dir = run_dir;
    r.rank = 0;
    r.ranks = 1;
    return r;
}

static inline maestro_run_end_t run_end_ok(void)
{
    static const char *names[] = {"val_accuracy"};
    static const double values[] = {0.75};
    maestro_run_end_t e;
    memset(&e, 0, sizeof e);
    e.status = "ok";
    e.metric_names = names;
    e.metric_values = values;
    e.n_metrics = 1;
    e.gates_passed = 1;
    return e;
}

#endif
