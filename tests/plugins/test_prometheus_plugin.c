/* test_prometheus_plugin.c - the prometheus plugin's shared object under a scripted host:
 * what it publishes and when (plugins/prometheus/prometheus.c)
 *
 * The test dlopens build/plugins/maestro-prometheus.so and is its host (prometheus_fixtures.h:
 * config, a clock it controls, HTTP requests recorded and answered from a script). That pins
 * down the descriptor, config checks, what goes on the wire (method, URL, Content-Type, body)
 * and when pushes happen, per rank, with an interval, and the node_exporter textfiles, exactly
 * and without timing. Spooling and flushing are test_prometheus_deliver.c's;
 * test_prometheus_server.c does the same through the real host against a real Pushgateway.
 */
#include "tests/plugins/prometheus_fixtures.h"

static void test_prometheus_plugin__descriptor(void)
{
    CU_ASSERT_EQUAL(P->abi_major, MAESTRO_PLUGIN_ABI_MAJOR);
    CU_ASSERT_EQUAL(P->struct_size, sizeof(maestro_plugin_t));
    CU_ASSERT_EQUAL(P->type, MAESTRO_PLUGIN_METRICS);
    CU_ASSERT_STRING_EQUAL(P->name, "prometheus");
    CU_ASSERT_PTR_NOT_NULL(P->flush);
    CU_ASSERT_PTR_NULL(P->resolve_secret);
}

static void test_prometheus_plugin__bad_config_names_the_key(void)
{
    static const struct {
        maestro_kv_t kv;
        const char *want;
    } cases[] = {
        {{"url", "ftp://x"}, "url must be http(s)://"},
        {{"url", "http://"}, "url must be http(s)://"},
        {{"url", "http://h/a b"}, "url must be"},
        {{"url", "http://h/?q=1"}, "url must be"},
        {{"job", ""}, "job must not be empty"},
        {{"interval", "0"}, "interval must be a positive number of seconds, got '0'"},
        {{"interval", "5s"}, "got '5s'"},
        {{"interval", "nan"}, "got 'nan'"},
        {{"timeout", "0"}, "timeout must be a positive number of seconds, got '0'"},
        {{"timeout", "-1"}, "got '-1'"},
        {{"timeout", "2 s"}, "got '2 s'"},
        {{"delete_on_success", "yes"}, "delete_on_success must be true or false, got 'yes'"},
        {{"textfile_dir", "/nonexistent/maestro"}, "textfile_dir '/nonexistent/maestro' is not"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup(&cases[i].kv, 1);
        void *st = (void *)1;
        char err[256] = "";
        CU_ASSERT_EQUAL(P->init(&st, &host, err, sizeof err), MAESTRO_E_CONFIG);
        CU_ASSERT_PTR_NULL(st);
        CU_ASSERT(has(err, cases[i].want));
    }
    setup(NULL, 0);
    void *st = NULL;
    char err[256] = "";
    maestro_host_t partial = host;
    partial.http = NULL;
    CU_ASSERT_EQUAL(P->init(&st, &partial, err, sizeof err), MAESTRO_E_FAILED);
    CU_ASSERT_PTR_NULL(st);
    P->fini(NULL);
}

static void test_prometheus_plugin__timeout_goes_with_every_request(void)
{
    maestro_kv_t cfg[] = {{"url", URL}, {"timeout", "1.5"}};
    void *st = start(cfg, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 1);
    CU_ASSERT_DOUBLE_EQUAL(H.req[0].timeout_s, 1.5, 1e-12);
    P->fini(st);
}

static void test_prometheus_plugin__pushes_at_start_each_epoch_and_end(void)
{
    maestro_kv_t cfg[] = {{"url", URL "/"}};
    void *st = start(cfg, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 1);
    CU_ASSERT_STRING_EQUAL(H.req[0].method, "PUT");
    CU_ASSERT_STRING_EQUAL(H.req[0].url, GROUP "0");
    CU_ASSERT_STRING_EQUAL(H.req[0].content_type, "text/plain; version=0.0.4");
    CU_ASSERT(has(H.req[0].body, "maestro_run_info{commit=\"abc123\",kind=\"train\",name=\"demo\","
                                 "run_id=\"demo-20240101T000000Z-ab12\",version=\"0.1.0\"} 1\n"));
    CU_ASSERT(has(H.req[0].body, "maestro_run_status{status=\"running\"} 1\n"));
    CU_ASSERT(has(H.req[0].body, "maestro_run_status{status=\"ok\"} 0\n"));
    CU_ASSERT(has(H.req[0].body, "maestro_run_duration_seconds 0\n"));

    /* nothing goes out until the epoch ends */
    H.now += 1500000000; /* 1.5 s */
    CU_ASSERT_EQUAL(metric(st, "train_loss", 0.5), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "val_accuracy", 0.75), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "accuracy", 0.8), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "samples_per_second", 12345.5), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "allreduce_seconds_total", 0.25), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "checkpoint_seconds", 0.125), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "step", 40), MAESTRO_OK);
    maestro_event_t log = {.kind = MAESTRO_EV_LOG, .message = "hello"};
    CU_ASSERT_EQUAL(P->event(st, &log), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    const char *b = H.req[1].body;
    CU_ASSERT(has(b, "# TYPE maestro_train_loss gauge\nmaestro_train_loss 0.5\n"));
    CU_ASSERT(has(b, "maestro_val_metric{name=\"accuracy\"} 0.75\n"));
    CU_ASSERT(has(b, "maestro_train_metric{name=\"accuracy\"} 0.8\n"));
    CU_ASSERT(has(b, "maestro_samples_per_second 12345.5\n"));
    CU_ASSERT(has(b, "# TYPE maestro_allreduce_seconds_total counter\n"
                     "maestro_allreduce_seconds_total 0.25\n"));
    CU_ASSERT(has(b, "maestro_checkpoint_seconds 0.125\n"));
    CU_ASSERT(has(b, "maestro_step 40\n"));
    CU_ASSERT(has(b, "maestro_epoch 1\n"));
    CU_ASSERT(has(b, "maestro_run_duration_seconds 1.5\n"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_gates_passed"));

    CU_ASSERT_EQUAL(end_run(st, "ok", ri.start_ns + 2250000000LL), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 3);
    b = H.req[2].body;
    CU_ASSERT_STRING_EQUAL(H.req[2].method, "PUT");
    CU_ASSERT(has(b, "maestro_run_status{status=\"ok\"} 1\n"));
    CU_ASSERT(has(b, "maestro_run_status{status=\"running\"} 0\n"));
    CU_ASSERT(has(b, "maestro_run_duration_seconds 2.25\n"));
    CU_ASSERT(has(b, "maestro_gates_passed 1\n"));
    /* final metrics replace the last epoch's */
    CU_ASSERT(has(b, "maestro_val_metric{name=\"accuracy\"} 0.9\n"));
    CU_ASSERT(has(b, "maestro_train_loss 0.125\n"));
    /* after the end nothing moves */
    CU_ASSERT_EQUAL(metric(st, "epoch", 2), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 3);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    P->fini(st);
}

static void test_prometheus_plugin__other_ranks_push_their_own_series_only(void)
{
    maestro_kv_t cfg[] = {{"url", URL}, {"job", "team/nightly"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 1);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    /* no "epoch" event on this rank: its series go out when the events' epoch moves on */
    maestro_event_t ev = {.kind = MAESTRO_EV_METRIC, .name = "samples_per_second", .value = 90};
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    ev.epoch = 1;
    ev.value = 100;
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT(has(H.req[1].body, "maestro_samples_per_second 100\n"));
    ev.name = "allreduce_seconds_total";
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    CU_ASSERT_EQUAL(end_run(st, "failed", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 3);
    CU_ASSERT_STRING_EQUAL(H.req[2].url, URL "/metrics/job@base64/dGVhbS9uaWdodGx5/run/"
                                             "demo-20240101T000000Z-ab12/rank/1");
    CU_ASSERT_STRING_EQUAL(H.req[0].body, ""); /* an empty PUT still says the group exists */
    const char *b = H.req[2].body;
    CU_ASSERT(has(b, "maestro_samples_per_second 100\n"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_run_info"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_run_status"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_run_duration_seconds"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_gates_passed"));
    /* the final metrics are run-level too */
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_val_metric"));
    CU_ASSERT_PTR_NULL(strstr(b, "maestro_train_loss"));
    P->fini(st);
}

static void test_prometheus_plugin__interval_replaces_epoch_pushes(void)
{
    maestro_kv_t cfg[] = {{"url", URL}, {"interval", "10"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    H.now += 9000000000LL;
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 1);
    H.now += 1000000000LL;
    CU_ASSERT_EQUAL(metric(st, "train_loss", 0.5), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT(has(H.req[1].body, "maestro_epoch 1\n"));
    CU_ASSERT(has(H.req[1].body, "maestro_run_duration_seconds 10\n"));
    H.now += 1000000000LL;
    CU_ASSERT_EQUAL(metric(st, "epoch", 2), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    P->fini(st);
}

static void test_prometheus_plugin__event_labels_kept_reserved_dropped(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    maestro_kv_t labels[] = {{"rank", "7"},     {"job", "x"},         {"__meta", "x"},
                             {"name", "other"}, {"data-set", "a\"b"}, {"split", "test"}};
    maestro_event_t ev = {
        .kind = MAESTRO_EV_METRIC, .name = "val_f1", .value = 0.5, .labels = labels, .n_labels = 6};
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT(has(H.req[1].body,
                  "maestro_val_metric{data_set=\"a\\\"b\",name=\"f1\",split=\"test\"} 0.5\n"));
    P->fini(st);
}

/* The line of `body` that starts with `series` ("maestro_run_info{"), copied; NULL if none. */
static char *line_of(const char *body, const char *series)
{
    const char *p = body;
    size_t n = strlen(series);
    while (p && *p && strncmp(p, series, n) != 0) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (!p || !*p)
        return NULL;
    const char *e = strchr(p, '\n');
    return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_prometheus_plugin__slurm_labels_on_every_series(void)
{
    setenv("SLURM_JOB_ID", "77", 1);
    setenv("SLURM_ARRAY_TASK_ID", "3", 1);
    setenv("SLURM_JOB_NODELIST", "node[01-02]", 1);
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    /* The host puts the same labels on metric events: they are not doubled. */
    maestro_kv_t labels[] = {{"slurm_job_id", "77"}, {"split", "test"}};
    maestro_event_t ev = {
        .kind = MAESTRO_EV_METRIC, .name = "val_f1", .value = 0.5, .labels = labels, .n_labels = 2};
    CU_ASSERT_EQUAL(P->event(st, &ev), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    const char *series[] = {"maestro_run_info{", "maestro_run_status{", "maestro_val_metric{",
                            "maestro_epoch{", "maestro_run_duration_seconds{"};
    for (size_t i = 0; i < sizeof series / sizeof *series; i++) {
        char *l = line_of(H.req[1].body, series[i]);
        CU_ASSERT_PTR_NOT_NULL(l);
        if (l && (count_of(l, "slurm_job_id=\"77\"") != 1 ||
                  count_of(l, "slurm_array_task_id=\"3\"") != 1 ||
                  count_of(l, "slurm_nodelist=\"node[01-02]\"") != 1))
            fprintf(stderr, "\n  %s\n", l);
        CU_ASSERT_EQUAL(count_of(l, "slurm_job_id=\"77\""), 1);
        CU_ASSERT_EQUAL(count_of(l, "slurm_array_task_id=\"3\""), 1);
        CU_ASSERT_EQUAL(count_of(l, "slurm_nodelist=\"node[01-02]\""), 1);
        free(l);
    }
    P->fini(st);
    unsetenv("SLURM_JOB_ID");
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("SLURM_JOB_NODELIST");
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_prometheus_plugin__textfile_without_url(void)
{
    void *st = start(NULL, 0);
    const char *dir = run_dir("textfile");
    maestro_run_info_t ri = run_info(dir, 1);
    ri.run_id = "odd/run id";
    char path[700];
    snprintf(path, sizeof path, "%s/maestro_odd_run_id_rank1.prom", dir);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    char *t = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, ""); /* rank 1 has nothing yet */
    free(t);
    CU_ASSERT_EQUAL(metric(st, "samples_per_second", 50), MAESTRO_OK);
    CU_ASSERT_EQUAL(metric(st, "epoch", 3), MAESTRO_OK);
    t = slurp(path);
    CU_ASSERT(has(t, "# HELP maestro_samples_per_second "));
    CU_ASSERT(has(t, "# TYPE maestro_samples_per_second gauge\n"
                     "maestro_samples_per_second{rank=\"1\",run=\"odd/run id\"} 50\n"));
    CU_ASSERT(has(t, "maestro_epoch{rank=\"1\",run=\"odd/run id\"} 3\n"));
    free(t);
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_tmp(dir), 0);
    CU_ASSERT_EQUAL(H.n_req, 0);
    P->fini(st);
}

static void test_prometheus_plugin__textfile_dir_and_delete(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/collector", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    maestro_kv_t cfg[] = {{"textfile_dir", dir}, {"delete_on_success", "true"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    char path[700];
    snprintf(path, sizeof path, "%s/maestro_demo-20240101T000000Z-ab12_rank0.prom", dir);
    char *t = slurp(path);
    CU_ASSERT(has(t, "maestro_run_status{rank=\"0\",run=\"demo-20240101T000000Z-ab12\","
                     "status=\"running\"} 1\n"));
    free(t);
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    struct stat sb;
    CU_ASSERT_NOT_EQUAL(stat(path, &sb), 0);
    P->fini(st);

    /* failed: the file stays, with the final status */
    st = start(cfg, 2);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL(end_run(st, "failed", 0), MAESTRO_OK);
    t = slurp(path);
    CU_ASSERT(has(t, "status=\"failed\"} 1\n"));
    free(t);
    CU_ASSERT_EQUAL(count_tmp(dir), 0);
    P->fini(st);
}

static void test_prometheus_plugin__callbacks_before_run_start_do_nothing(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK);
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->event(st, NULL), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->run_start(st, NULL), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_req, 0);
    P->fini(st);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_prometheus_plugin__descriptor),
    MO_TEST(test_prometheus_plugin__bad_config_names_the_key),
    MO_TEST(test_prometheus_plugin__pushes_at_start_each_epoch_and_end),
    MO_TEST(test_prometheus_plugin__other_ranks_push_their_own_series_only),
    MO_TEST(test_prometheus_plugin__interval_replaces_epoch_pushes),
    MO_TEST(test_prometheus_plugin__timeout_goes_with_every_request),
    MO_TEST(test_prometheus_plugin__event_labels_kept_reserved_dropped),
    MO_TEST(test_prometheus_plugin__slurm_labels_on_every_series),
    MO_TEST(test_prometheus_plugin__textfile_without_url),
    MO_TEST(test_prometheus_plugin__textfile_dir_and_delete),
    MO_TEST(test_prometheus_plugin__callbacks_before_run_start_do_nothing),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return prom_test_main("plugins/prometheus_plugin", tests);
}
