/* test_loki.c - the loki plugin: push body bytes, and the plugin driven by the host against a
 * strict Loki fake
 *
 * The first tests compile plugins/loki/batch.c and jsonl.c directly (they include no Maestro
 * header) and check the bytes: stream labels, timestamps as strings strictly increasing per
 * stream, exact size accounting, lines as JSON, splitting, the embedded default's lines. The others
 * load maestro-loki.so through the host (mo_plugins_open, run_start, log events, run_end,
 * flush_dir) and read back what tests/fakes/loki_fake.py accepted and received (its /test/entries
 * and /test/bodies), one fake process per test, on a free loopback port.
 */
#include "plugins/loki/batch.c"
#include "plugins/loki/jsonl.c"

#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "plugins/host.h"
#include "tests/unit.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
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

/* ---- helpers: files ------------------------------------------------------------------------- */

static char *read_file(const char *path)
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

static int count_files(const char *dir)
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
static const char *fresh_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    mkdir(path, 0755);
    return path;
}

/* ---- helpers: http to the fake -------------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    mo_buf_append(ud, p, size * n);
    return size * n;
}

/* One request with libcurl; returns the status (0: no response), *body malloc'd if asked. */
static long http(const char *method, const char *url, const char *ctype, const char *encoding,
                 const char *body, size_t len, char **out)
{
    CURL *h = curl_easy_init();
    mo_buf_t b = {0};
    struct curl_slist *hdrs = NULL;
    char line[256];
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, line);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type:"); /* none at all */
    }
    if (encoding) {
        snprintf(line, sizeof line, "Content-Encoding: %s", encoding);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    mo_buf_puts(&b, "");
    if (out)
        *out = mo_buf_steal(&b);
    mo_buf_free(&b);
    return status;
}

/* ---- helpers: the fake ---------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    char base[64]; /* http://127.0.0.1:<port> */
} fake_t;

/* Start tests/fakes/loki_fake.py with extra args (NULL-terminated); port 0 picks one. */
static int fake_start(fake_t *f, int port, const char *const *args)
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

static void fake_stop(fake_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = 0;
}

static json_t *fake_get(const fake_t *f, const char *path)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s%s", f->base, path);
    json_t *j = NULL;
    if (http("GET", url, NULL, NULL, NULL, 0, &body) == 200)
        j = json_loads(body, 0, NULL);
    free(body);
    return j;
}

static void fake_config(const fake_t *f, const char *json)
{
    char url[256];
    snprintf(url, sizeof url, "%s/test/config", f->base);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, json, strlen(json), NULL), 204);
}

/* Entries the fake stored, over all streams. */
static size_t fake_entry_count(const fake_t *f)
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
static size_t fake_pushes(const fake_t *f, long status)
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
static int closed_port(void)
{
    fake_t f = {0};
    if (fake_start(&f, 0, NULL))
        return 1;
    int port = f.port;
    fake_stop(&f);
    return port;
}

/* ---- helpers: the host ---------------------------------------------------------------------- */

static void use_plugin_dir(void)
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

static void cfg_set(config_t *c, const char *key, const char *value)
{
    c->kv[c->n++] = (maestro_kv_t){key, value};
}

static void cfg_url(config_t *c, const fake_t *f)
{
    snprintf(c->url, sizeof c->url, "%s", f->base);
    cfg_set(c, "url", c->url);
}

static const char *log_path(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/maestro.log", mo_test_tmpdir());
    return path;
}

/* Capture Maestro's own log (the plugin's warnings) in a file the test can read. */
static FILE *capture_log(void)
{
    FILE *f = fopen(log_path(), "w");
    mo_log_opts_t o = {MO_LOG_DEBUG, MO_LOG_HUMAN, 0, 1, f};
    mo_log_configure(&o);
    return f;
}

static void release_log(FILE *f)
{
    mo_log_opts_t o = {MO_LOG_INFO, MO_LOG_HUMAN, 0, 0, NULL};
    mo_log_configure(&o);
    if (f)
        fclose(f);
}

static int log_has(const char *text)
{
    char *all = read_file(log_path());
    int found = all && strstr(all, text);
    free(all);
    return found;
}

static mo_plugins_t *open_loki(const config_t *c, const char *run_dir, mo_error_t *err)
{
    use_plugin_dir();
    mo_plugin_request_t req = {"loki", c->kv, c->n};
    mo_plugins_opts_t opts = {0, 1, run_dir, 20.0};
    mo_plugins_t *p = NULL;
    if (mo_plugins_open(&p, &req, 1, &opts, err))
        return NULL;
    return p;
}

static void start_run(mo_plugins_t *p, const char *run_dir)
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

static void end_run(mo_plugins_t *p)
{
    maestro_run_end_t end = {
        .status = "ok", .exit_code = 0, .end_ns = mo_time_unix_ns(), .gates_passed = 1};
    mo_plugins_run_end(p, &end);
}

/* A whole run: n info lines "line <i>" (every third a warning). */
static void run_lines(const config_t *c, const char *run_dir, int n)
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
static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(missing)";
}

static int is_decimal(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Every stream's timestamps are decimal strings, strictly increasing; every line is the JSON
 * object Grafana's `| json` reads. Returns the number of entries. */
static size_t check_streams(json_t *entries)
{
    size_t total = 0, i, j;
    json_t *s, *v;
    json_array_foreach(json_object_get(entries, "streams"), i, s)
    {
        json_t *labels = json_object_get(s, "stream");
        const char *level = json_string_value(json_object_get(labels, "level"));
        CU_ASSERT_STRING_EQUAL(jstr(labels, "job"), "maestro");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "run_id"), "churn-20250101T000000Z-abcd");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "kind"), "train");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "rank"), "0");
        CU_ASSERT_PTR_NOT_NULL(level);
        long long prev = 0;
        json_array_foreach(json_object_get(s, "values"), j, v)
        {
            const char *ts = json_string_value(json_array_get(v, 0));
            CU_ASSERT(is_decimal(ts));
            long long t = ts ? strtoll(ts, NULL, 10) : 0;
            CU_ASSERT(t > prev);
            prev = t;
            json_t *line = json_loads(json_string_value(json_array_get(v, 1)), 0, NULL);
            CU_ASSERT_PTR_NOT_NULL(line);
            CU_ASSERT_STRING_EQUAL(jstr(line, "level"), level ? level : "?");
            CU_ASSERT_STRING_EQUAL(jstr(line, "component"), "train");
            CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(line, "msg")));
            CU_ASSERT(json_is_integer(json_object_get(line, "rank")));
            json_decref(line);
            total++;
        }
    }
    return total;
}

/* ================================ batch.c, byte level ======================================== */

static void test_loki__body_has_streams_labels_and_string_timestamps(void)
{
    json_t *statics = json_object();
    char why[256];
    CU_ASSERT_EQUAL(loki_parse_static_labels(statics, "team=ml, env = ci", why, sizeof why), 0);
    loki_batch_t b;
    CU_ASSERT_EQUAL_FATAL(loki_batch_init(&b, "run-1", "train", statics), 0);
    char *l1 = loki_line("info", "train", "epoch 1", 7, 0, 0);
    char *l2 = loki_line("warn", "io", "slow disk", 9, 1, 0);
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 1700000000000000000LL, l1, 1, NULL), 0);
    CU_ASSERT_EQUAL(loki_batch_add(&b, 1, 2, 1700000000000000005LL, l2, 1, NULL), 0);
    size_t len, n;
    char *body = loki_batch_take(&b, &len, &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(
        body, "{\"streams\":[{\"stream\":{\"job\":\"maestro\",\"run_id\":\"run-1\",\"kind\":"
              "\"train\",\"rank\":\"0\",\"level\":\"info\",\"team\":\"ml\",\"env\":\"ci\"},"
              "\"values\":[[\"1700000000000000000\",\"{\\\"level\\\":\\\"info\\\","
              "\\\"component\\\":\\\"train\\\",\\\"msg\\\":\\\"epoch 1\\\",\\\"rank\\\":0}\"]]},"
              "{\"stream\":{\"job\":\"maestro\",\"run_id\":\"run-1\",\"kind\":\"train\","
              "\"rank\":\"1\",\"level\":\"warn\",\"team\":\"ml\",\"env\":\"ci\"},\"values\":[["
              "\"1700000000000000005\",\"{\\\"level\\\":\\\"warn\\\",\\\"component\\\":"
              "\\\"io\\\",\\\"msg\\\":\\\"slow disk\\\",\\\"rank\\\":1}\"]]}]}");
    /* Taken: nothing waits any more. */
    size_t len2, n2;
    CU_ASSERT_PTR_NULL(loki_batch_take(&b, &len2, &n2));
    CU_ASSERT_EQUAL(n2, 0);
    free(body);
    free(l1);
    free(l2);
    loki_batch_free(&b);
    json_decref(statics);
}

static void test_loki__timestamps_strictly_increase_per_stream_across_batches(void)
{
    loki_batch_t b;
    CU_ASSERT_EQUAL_FATAL(loki_batch_init(&b, "r", "train", NULL), 0);
    int64_t used[5];
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 1000, "a", 0, &used[0]), 0);
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 1000, "b", 0, &used[1]), 0); /* same ns */
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 900, "c", 0, &used[2]), 0);  /* clock went back */
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 2, 900, "d", 0, &used[3]), 0);  /* other stream */
    CU_ASSERT_EQUAL(used[0], 1000);
    CU_ASSERT_EQUAL(used[1], 1001);
    CU_ASSERT_EQUAL(used[2], 1002);
    CU_ASSERT_EQUAL(used[3], 900);
    size_t len, n;
    free(loki_batch_take(&b, &len, &n));
    /* The next batch continues after what was sent, so a later push is never older. */
    CU_ASSERT_EQUAL(loki_batch_add(&b, 0, 1, 500, "e", 0, &used[4]), 0);
    CU_ASSERT_EQUAL(used[4], 1003);
    loki_batch_free(&b);
}

static void test_loki__size_accounting_equals_body_length(void)
{
    loki_batch_t b;
    json_t *statics = json_object();
    json_object_set_new(statics, "team", json_string("m\"l"));
    CU_ASSERT_EQUAL_FATAL(loki_batch_init(&b, "run\\x", "tr\"ain", statics), 0);
    const char *msgs[] = {"plain",
                          "quote \" and \\ backslash",
                          "tab\there\nnewline\r",
                          "ctl \x01\x1f end",
                          "utf-8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                          "bad \xff\xfe bytes",
                          "slash / del \x7f"};
    for (int round = 0; round < 3; round++) {
        size_t expect = 0;
        for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
            char *line = loki_line("info", "c", msgs[i], strlen(msgs[i]), (int)i % 3, 0);
            int rank = (int)(i % 3), level = (int)(i % 4);
            int64_t ts = round == 2 ? 5 : 1700000000000000000LL + (int64_t)i;
            size_t cost = loki_batch_cost(&b, rank, level, ts, line);
            CU_ASSERT_EQUAL(loki_batch_add(&b, rank, level, ts, line, 0, NULL), 0);
            expect += cost;
            CU_ASSERT_EQUAL(b.bytes, expect);
            free(line);
        }
        size_t len, n;
        char *body = loki_batch_take(&b, &len, &n);
        CU_ASSERT_EQUAL(len, expect);
        CU_ASSERT_EQUAL(strlen(body), expect);
        json_t *j = json_loads(body, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(j);
        json_decref(j);
        free(body);
    }
    loki_batch_free(&b);
    json_decref(statics);
}

static void test_loki__line_is_a_json_object_with_valid_utf8(void)
{
    const char msg[] = "bad \xff byte and \"quotes\"";
    char *line = loki_line("error", NULL, msg, strlen(msg), 3, 0);
    json_t *j = json_loads(line, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(jstr(j, "level"), "error");
    CU_ASSERT_STRING_EQUAL(jstr(j, "component"), "maestro");
    CU_ASSERT_STRING_EQUAL(jstr(j, "msg"), "bad \xef\xbf\xbd byte and \"quotes\"");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "rank")), 3);
    CU_ASSERT_PTR_NULL(json_object_get(j, "part"));
    json_decref(j);
    free(line);
}

static void test_loki__split_pieces_fit_and_reassemble(void)
{
    /* Multi-byte characters and characters that grow when escaped, to stress the cut. */
    mo_buf_t m = {0};
    for (int i = 0; i < 300; i++)
        mo_buf_puts(&m, i % 3 == 0 ? "\xe2\x82\xac" : i % 3 == 1 ? "\"" : "ab\n");
    char *msg = mo_buf_steal(&m);
    size_t *starts, *lens, n;
    CU_ASSERT_EQUAL_FATAL(loki_split("info", "train", msg, 0, 256, &starts, &lens, &n), 0);
    CU_ASSERT(n > 1);
    mo_buf_t back = {0};
    for (size_t i = 0; i < n; i++) {
        char *line = loki_line("info", "train", msg + starts[i], lens[i], 0, (int)i + 1);
        CU_ASSERT(line && strlen(line) <= 256);
        json_t *j = json_loads(line, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(j);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "part")), (json_int_t)i + 1);
        mo_buf_puts(&back, jstr(j, "msg"));
        json_decref(j);
        free(line);
    }
    char *joined = mo_buf_steal(&back);
    CU_ASSERT_STRING_EQUAL(joined ? joined : "", msg);
    free(joined);
    free(starts);
    free(lens);
    /* No limit, or a short line: one piece, the whole message. */
    CU_ASSERT_EQUAL(loki_split("info", "train", msg, 0, 0, &starts, &lens, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(lens[0], strlen(msg));
    free(starts);
    free(lens);
    /* A limit below the line's own fields cannot be met. */
    CU_ASSERT_EQUAL(loki_split("info", "train", msg, 0, 20, &starts, &lens, &n), -1);
    free(msg);
}

static void test_loki__embedded_line_is_exact_json_with_ns_time(void)
{
    char *line = loki_jsonl_line(1700000000123456789LL, "warn", "io", "disk \"slow\"", 2, "r1");
    CU_ASSERT_STRING_EQUAL(line ? line : "",
                           "{\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"level\":\"warn\","
                           "\"component\":\"io\",\"msg\":\"disk \\\"slow\\\"\",\"rank\":2,"
                           "\"run_id\":\"r1\"}");
    free(line);
    char ts[48];
    loki_rfc3339_ns(ts, sizeof ts, 5); /* 5 ns after the epoch */
    CU_ASSERT_STRING_EQUAL(ts, "1970-01-01T00:00:00.000000005Z");
    loki_out_t o;
    CU_ASSERT_EQUAL(loki_out_open(&o, "/nonexistent-dir/x.jsonl"), -1);
    CU_ASSERT_EQUAL(loki_out_write(&o, 1, "info", "c", "m", 0, "r"), -1);
}

static void test_loki__static_labels_are_checked(void)
{
    char why[256];
    const char *bad[] = {"job=x",    "9x=y",    "a-b=c",  "a=",     "novalue",
                         "__name=x", "a=1,a=2", "rank=3", "level=x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *l = json_object();
        why[0] = '\0';
        CU_ASSERT_EQUAL(loki_parse_static_labels(l, bad[i], why, sizeof why), -1);
        CU_ASSERT(strncmp(why, "labels: ", 8) == 0);
        json_decref(l);
    }
    mo_buf_t many = {0};
    for (int i = 0; i < 26; i++)
        mo_buf_printf(&many, "%sl%d=v", i ? "," : "", i);
    json_t *l = json_object();
    CU_ASSERT_EQUAL(loki_parse_static_labels(l, many.data, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "30"));
    json_decref(l);
    mo_buf_free(&many);
}

/* ================================ through the host, against the fake ======================== */

static void test_loki__pushes_gzip_json_with_labels_and_tenant(void)
{
    fake_t f = {0};
    const char *args[] = {"--tenant-required", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "tenant", "team-a");
    cfg_set(&c, "batch_wait", "60"); /* only run end sends */
    cfg_set(&c, "labels", "cluster=ci,env=test");
    const char *run_dir = fresh_dir("labels");
    run_lines(&c, run_dir, 9);

    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 9);
    /* Two streams, info and warn, each with the static labels. */
    CU_ASSERT_EQUAL(json_array_size(json_object_get(entries, "streams")), 2);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(entries, "streams"), i, s)
    {
        json_t *labels = json_object_get(s, "stream");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "cluster"), "ci");
        CU_ASSERT_STRING_EQUAL(jstr(labels, "env"), "test");
        CU_ASSERT_EQUAL(json_object_size(labels), 7);
        CU_ASSERT_STRING_EQUAL(jstr(s, "tenant"), "team-a");
        CU_ASSERT_EQUAL(json_array_size(json_object_get(s, "values")),
                        !strcmp(jstr(labels, "level"), "warn") ? 3 : 6);
    }
    json_decref(entries);

    json_t *bodies = fake_get(&f, "/test/bodies");
    CU_ASSERT_EQUAL(json_array_size(bodies), 1);
    json_t *r = json_array_get(bodies, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "status")), 204);
    CU_ASSERT_STRING_EQUAL(jstr(r, "content_type"), "application/json");
    CU_ASSERT_STRING_EQUAL(jstr(r, "content_encoding"), "gzip");
    CU_ASSERT_STRING_EQUAL(jstr(r, "tenant"), "team-a");
    /* gzip really compressed it: the raw body is smaller than the JSON. */
    CU_ASSERT(json_integer_value(json_object_get(r, "raw_len")) <
              (json_int_t)strlen(jstr(r, "body")));
    json_decref(bodies);
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    fake_stop(&f);
}

static void test_loki__batches_by_size_and_by_time(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_bytes", "2000");
    cfg_set(&c, "batch_wait", "60");
    run_lines(&c, fresh_dir("size"), 100);
    size_t pushes = fake_pushes(&f, 204);
    CU_ASSERT(pushes >= 5 && pushes < 50);
    CU_ASSERT_EQUAL(fake_pushes(&f, 0), pushes);
    json_t *bodies = fake_get(&f, "/test/bodies");
    size_t i;
    json_t *r;
    json_array_foreach(bodies, i, r)
    {
        CU_ASSERT(strlen(jstr(r, "body")) <= 2000);
    }
    json_decref(bodies);
    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 100);
    json_decref(entries);

    /* batch_wait 0: every event finds its batch due. */
    fake_config(&f, "{}");
    char url[128];
    snprintf(url, sizeof url, "%s/test/reset", f.base);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, "", 0, NULL), 204);
    config_t c2 = {0};
    cfg_url(&c2, &f);
    cfg_set(&c2, "batch_wait", "0");
    run_lines(&c2, fresh_dir("wait"), 5);
    CU_ASSERT_EQUAL(fake_pushes(&f, 204), 5);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 5);
    fake_stop(&f);
}

static void test_loki__ordered_loki_accepts_every_batch(void)
{
    fake_t f = {0};
    const char *args[] = {"--ordered", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_bytes", "600");
    run_lines(&c, fresh_dir("ordered"), 60);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 0);
    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 60);
    json_decref(entries);
    fake_stop(&f);
}

static void test_loki__503_then_recovery_delivers_spool_in_the_run(void)
{
    fake_t f = {0};
    const char *args[] = {"--fail-first", "1", "--status-429", "1", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_wait", "0");
    cfg_set(&c, "backoff", "0");
    const char *run_dir = fresh_dir("recover");
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 12);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_pushes(&f, 503), 1);
    CU_ASSERT_EQUAL(fake_pushes(&f, 429), 1);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 12); /* nothing lost */
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    CU_ASSERT_EQUAL(count_files(spool), 0); /* delivered within the run */
    CU_ASSERT(log_has("503"));
    json_t *entries = fake_get(&f, "/test/entries");
    check_streams(entries);
    json_decref(entries);
    fake_stop(&f);
}

static void test_loki__down_for_the_run_then_flush_dir_delivers_all(void)
{
    fake_t f = {0};
    const char *args[] = {"--fail-first", "1000", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "batch_bytes", "500");
    const char *run_dir = fresh_dir("down");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 30);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 0);
    int spooled = count_files(spool);
    CU_ASSERT(spooled >= 2);
    CU_ASSERT(log_has("loki"));

    fake_config(&f, "{\"fail_next\": 0}");
    mo_plugin_request_t req = {"loki", c.kv, c.n};
    int delivered = -1, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, spooled);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    json_t *entries = fake_get(&f, "/test/entries");
    CU_ASSERT_EQUAL(check_streams(entries), 30);
    json_decref(entries);
    fake_stop(&f);
}

static void test_loki__refused_connection_spools_and_flush_delivers_later(void)
{
    int port = closed_port();
    config_t c = {0};
    snprintf(c.url, sizeof c.url, "http://127.0.0.1:%d", port);
    cfg_set(&c, "url", c.url);
    cfg_set(&c, "batch_wait", "0");
    const char *run_dir = fresh_dir("refused");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 6);
    release_log(lf);
    CU_ASSERT(count_files(spool) >= 1);
    CU_ASSERT(log_has("spooling"));

    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, port, NULL), 0);
    mo_plugin_request_t req = {"loki", c.kv, c.n};
    int delivered = 0, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 6);
    fake_stop(&f);
}

static void test_loki__timeout_spools_and_resend_makes_no_duplicates(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    fake_config(&f, "{\"delay_s\": 1.5}");
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "timeout", "0.3");
    cfg_set(&c, "batch_wait", "60");
    const char *run_dir = fresh_dir("timeout");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 4);
    release_log(lf);
    CU_ASSERT(count_files(spool) >= 1);
    fake_config(&f, "{\"delay_s\": 0}");
    mo_plugin_request_t req = {"loki", c.kv, c.n};
    int delivered = 0, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(left, 0);
    /* The fake stored the first try before its delay; the re-send is an exact duplicate. */
    CU_ASSERT_EQUAL(fake_entry_count(&f), 4);
    fake_stop(&f);
}

static void test_loki__400_is_a_warning_with_lokis_text_and_not_spooled(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    fake_config(&f, "{\"max_line_size\": 20}");
    config_t c = {0};
    cfg_url(&c, &f);
    const char *run_dir = fresh_dir("rejected");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 3);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 1);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    CU_ASSERT(log_has("rejected a batch of 3 log entries"));
    CU_ASSERT(log_has("max line size (20) exceeded"));
    fake_stop(&f);
}

static void test_loki__missing_tenant_is_401_not_retried(void)
{
    fake_t f = {0};
    const char *args[] = {"--tenant-required", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    const char *run_dir = fresh_dir("notenant");
    char spool[600];
    snprintf(spool, sizeof spool, "%s/spool/loki", run_dir);
    FILE *lf = capture_log();
    run_lines(&c, run_dir, 2);
    release_log(lf);
    CU_ASSERT_EQUAL(fake_pushes(&f, 401), 1);
    CU_ASSERT_EQUAL(fake_pushes(&f, 0), 1);
    CU_ASSERT_EQUAL(count_files(spool), 0);
    CU_ASSERT(log_has("no org id"));
    fake_stop(&f);
}

static void test_loki__long_messages_are_split_under_max_line_bytes(void)
{
    fake_t f = {0};
    const char *args[] = {"--max-line-size", "300", NULL};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, args), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    cfg_set(&c, "max_line_bytes", "300");
    mo_error_t err = {0};
    const char *run_dir = fresh_dir("split");
    mo_plugins_t *p = open_loki(&c, run_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    start_run(p, run_dir);
    char msg[2001];
    for (int i = 0; i < 2000; i++)
        msg[i] = (char)('a' + i % 26);
    msg[2000] = '\0';
    mo_plugins_log(p, MAESTRO_LOG_INFO, "train", msg);
    end_run(p);
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 0);
    json_t *entries = fake_get(&f, "/test/entries");
    json_t *values =
        json_object_get(json_array_get(json_object_get(entries, "streams"), 0), "values");
    CU_ASSERT(json_array_size(values) >= 7);
    mo_buf_t back = {0};
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *line = json_string_value(json_array_get(v, 1));
        CU_ASSERT(line && strlen(line) <= 300);
        json_t *j = json_loads(line, 0, NULL);
        mo_buf_puts(&back, jstr(j, "msg"));
        json_decref(j);
    }
    CU_ASSERT_STRING_EQUAL(back.data ? back.data : "", msg);
    mo_buf_free(&back);
    json_decref(entries);

    /* By default lines stay within Loki 3.0's max_line_size (256 KiB). */
    char url[128];
    snprintf(url, sizeof url, "%s/test/reset", f.base);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, "", 0, NULL), 204);
    fake_config(&f, "{\"max_line_size\": 262144}");
    config_t c2 = {0};
    cfg_url(&c2, &f);
    p = open_loki(&c2, run_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    start_run(p, run_dir);
    char *big = malloc(300001);
    memset(big, 'x', 300000);
    big[300000] = '\0';
    mo_plugins_log(p, MAESTRO_LOG_INFO, "train", big);
    free(big);
    end_run(p);
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(fake_pushes(&f, 400), 0);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 2);
    fake_stop(&f);
}

static void forward_to_plugins(const mo_log_record_t *rec, void *ud)
{
    mo_plugins_log(ud, (maestro_log_level_t)rec->level, rec->component, rec->msg);
}

static void test_loki__secret_never_reaches_the_wire(void)
{
    const char *secret = "s3cr3t-T0KEN-value";
    mo_log_add_secret(secret);
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    config_t c = {0};
    cfg_url(&c, &f);
    mo_error_t err = {0};
    const char *run_dir = fresh_dir("redact");
    mo_plugins_t *p = open_loki(&c, run_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    start_run(p, run_dir);
    /* The runner's path: mo_log redacts, then its sink feeds the host. */
    FILE *lf = capture_log();
    mo_log_set_sink(forward_to_plugins, p);
    mo_log_info("train", "connecting with token %s", secret);
    mo_log_set_sink(NULL, NULL);
    release_log(lf);
    end_run(p);
    mo_plugins_close(p);
    char url[128], *raw = NULL;
    snprintf(url, sizeof url, "%s/test/bodies", f.base);
    CU_ASSERT_EQUAL(http("GET", url, NULL, NULL, NULL, 0, &raw), 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "connecting with token"));
    CU_ASSERT_PTR_NULL(strstr(raw, secret));
    free(raw);
    mo_log_clear_secrets();
    fake_stop(&f);
}

static void test_loki__embedded_default_writes_json_lines(void)
{
    config_t c = {0};
    const char *run_dir = fresh_dir("embedded");
    run_lines(&c, run_dir, 4);
    char path[600];
    snprintf(path, sizeof path, "%s/logs.jsonl", run_dir);
    char *text = read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        const char *ts = json_string_value(json_object_get(j, "ts"));
        CU_ASSERT(ts && strlen(ts) == 30 && ts[10] == 'T' && ts[29] == 'Z');
        CU_ASSERT_STRING_EQUAL(jstr(j, "level"), n % 3 == 2 ? "warn" : "info");
        CU_ASSERT_STRING_EQUAL(jstr(j, "component"), "train");
        char expect[32];
        snprintf(expect, sizeof expect, "line %d", n);
        CU_ASSERT_STRING_EQUAL(jstr(j, "msg"), expect);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "rank")), 0);
        CU_ASSERT_STRING_EQUAL(jstr(j, "run_id"), "churn-20250101T000000Z-abcd");
        json_decref(j);
        n++;
    }
    CU_ASSERT_EQUAL(n, 4);
    free(text);

    /* `output` names another file; appending keeps what was there. */
    config_t c2 = {0};
    char other[600];
    snprintf(other, sizeof other, "%s/promtail.jsonl", run_dir);
    mo_test_write_file(run_dir, "promtail.jsonl", "{\"old\":1}\n");
    cfg_set(&c2, "output", other);
    run_lines(&c2, run_dir, 2);
    text = read_file(other);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "{\"old\":1}\n{\"ts\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"msg\":\"line 1\""));
    free(text);
}

static void test_loki__bad_config_is_refused_naming_the_key(void)
{
    struct {
        const char *key, *value, *expect;
    } cases[] = {
        {"url", "ftp://loki:3100", "url"},
        {"batch_bytes", "lots", "batch_bytes"},
        {"batch_bytes", "0", "batch_bytes"},
        {"batch_wait", "-1", "batch_wait"},
        {"labels", "job=other", "labels"},
        {"max_line_bytes", "10", "max_line_bytes"},
        {"timeout", "0", "timeout"},
        {"username", "u", "password"},
        {"max_line_bytes", "-5", "max_line_bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        config_t c = {0};
        cfg_set(&c, cases[i].key, cases[i].value);
        mo_error_t err = {0};
        mo_plugins_t *p = open_loki(&c, NULL, &err);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_NOT_EQUAL(err.code, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].expect));
        mo_plugins_close(p);
    }
}

/* ================================ the fake is strict ========================================= */

static void test_loki__fake_rejects_what_loki_rejects(void)
{
    fake_t f = {0};
    CU_ASSERT_EQUAL_FATAL(fake_start(&f, 0, NULL), 0);
    char url[128], now[32], later[32], old[32], body[512];
    snprintf(url, sizeof url, "%s/loki/api/v1/push", f.base);
    int64_t t = mo_time_unix_ns();
    snprintf(now, sizeof now, "%lld", (long long)t);
    snprintf(later, sizeof later, "%lld", (long long)(t + 9));
    snprintf(old, sizeof old, "%lld", (long long)(t - 2LL * 3600 * 1000000000LL));

    struct {
        const char *ctype, *fmt;
        long status;
    } cases[] = {
        {"application/json",
         "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"ok\"]]}]}", 204},
        {"application/json; charset=utf-8",
         "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"ok2\"]]}]}", 204},
        /* a number, not a string of nanoseconds */
        {"application/json", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[%s,\"x\"]]}]}",
         400},
        {"application/json",
         "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s.5\",\"x\"]]}]}", 400},
        {"application/json", "{\"streams\":[{\"stream\":{},\"values\":[[\"%s\",\"x\"]]}]}", 400},
        {"application/json",
         "{\"streams\":[{\"stream\":{\"9a\":\"b\"},\"values\":[[\"%s\",\"x\"]]}]}", 400},
        {"application/json", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[\"%s\"]}]}", 400},
        {"application/json", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"x\"",
         400},
        {"text/plain", "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"x\"]]}]}",
         400},
        {NULL, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"x\"]]}]}", 400},
        {"application/x-protobuf", "%s", 415},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(body, sizeof body, cases[i].fmt, now);
        char *resp = NULL;
        long st = http("POST", url, cases[i].ctype, NULL, body, strlen(body), &resp);
        if (st != cases[i].status)
            fprintf(stderr, "case %zu: %ld %s\n", i, st, resp);
        CU_ASSERT_EQUAL(st, cases[i].status);
        free(resp);
    }
    /* An empty body, a wrong encoding, a wrong method. */
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, "", 0, NULL), 400);
    snprintf(body, sizeof body, "{\"streams\":[]}");
    CU_ASSERT_EQUAL(http("POST", url, "application/json", "br", body, strlen(body), NULL), 400);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", "gzip", body, strlen(body), NULL), 400);
    CU_ASSERT_EQUAL(http("GET", url, NULL, NULL, NULL, 0, NULL), 405);

    /* Two hours behind the newest entry of {a="b"}: too far behind even with unordered writes;
     * the good entry of the same request is stored and the answer is still 400. */
    char *resp = NULL;
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"late\"],[\"%s\","
             "\"fine\"]]}]}",
             old, later);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, body, strlen(body), &resp), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "entry too far behind"));
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "total ignored: 1 out of 2"));
    free(resp);
    CU_ASSERT_EQUAL(fake_entry_count(&f), 3);

    /* With unordered writes off, one nanosecond back is already out of order. */
    fake_config(&f, "{\"ordered\": true}");
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%s\",\"back\"]]}]}", now);
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, body, strlen(body), &resp), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "entry out of order"));
    free(resp);

    /* Tenant required: 401 "no org id". */
    fake_config(&f, "{\"tenant_required\": true}");
    snprintf(body, sizeof body, "{\"streams\":[]}");
    CU_ASSERT_EQUAL(http("POST", url, "application/json", NULL, body, strlen(body), &resp), 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "no org id"));
    free(resp);
    fake_stop(&f);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_loki__body_has_streams_labels_and_string_timestamps),
    MO_TEST(test_loki__timestamps_strictly_increase_per_stream_across_batches),
    MO_TEST(test_loki__size_accounting_equals_body_length),
    MO_TEST(test_loki__line_is_a_json_object_with_valid_utf8),
    MO_TEST(test_loki__split_pieces_fit_and_reassemble),
    MO_TEST(test_loki__embedded_line_is_exact_json_with_ns_time),
    MO_TEST(test_loki__static_labels_are_checked),
    MO_TEST(test_loki__pushes_gzip_json_with_labels_and_tenant),
    MO_TEST(test_loki__batches_by_size_and_by_time),
    MO_TEST(test_loki__ordered_loki_accepts_every_batch),
    MO_TEST(test_loki__503_then_recovery_delivers_spool_in_the_run),
    MO_TEST(test_loki__down_for_the_run_then_flush_dir_delivers_all),
    MO_TEST(test_loki__refused_connection_spools_and_flush_delivers_later),
    MO_TEST(test_loki__timeout_spools_and_resend_makes_no_duplicates),
    MO_TEST(test_loki__400_is_a_warning_with_lokis_text_and_not_spooled),
    MO_TEST(test_loki__missing_tenant_is_401_not_retried),
    MO_TEST(test_loki__long_messages_are_split_under_max_line_bytes),
    MO_TEST(test_loki__secret_never_reaches_the_wire),
    MO_TEST(test_loki__embedded_default_writes_json_lines),
    MO_TEST(test_loki__bad_config_is_refused_naming_the_key),
    MO_TEST(test_loki__fake_rejects_what_loki_rejects),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = mo_test_main("plugins/loki", tests);
    curl_global_cleanup();
    return rc;
}
