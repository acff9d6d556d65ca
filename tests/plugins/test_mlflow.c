/* test_mlflow.c - the mlflow plugin under a scripted host: the run on the wire, spooling and
 * flush, artifacts, credentials, config
 *
 * The plugin's sources are compiled into this test and run against a host the test plays
 * (mlflow_fixtures.h: config, a clock, an HTTP service that answers like an MLflow 2.12
 * server, a spool in memory). That pins down what goes on the wire and how failures are
 * spooled and replayed, without timing. Names and limits are test_mlflow_batch.c's, retries
 * and error bodies test_mlflow_client.c's, the local registry test_mlflow_local.c's;
 * test_mlflow_server.c does the same through the real host against a real server.
 */
#include "tests/plugins/mlflow_fixtures.h"

/* ---- the run on the wire ------------------------------------------------------------------ */

static void test_mlflow__run_on_the_wire(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);

    /* experiment get (404) -> create, search by tag (none) -> create the run */
    CU_ASSERT_STRING_EQUAL(H.req[0].method, "GET");
    CU_ASSERT_STRING_EQUAL(H.req[0].url, "http://mlflow.test:5000/api/2.0/mlflow/experiments/"
                                         "get-by-name?experiment_name=maestro");
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[1].url, "/api/2.0/mlflow/experiments/create"));
    CU_ASSERT_STRING_EQUAL(H.req[1].ctype, "application/json");
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[2].url, "runs/search"));
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[2].body, "tags.`maestro.run_id` = "
                                                 "'iris-20240101T000000Z-ab12'"));
    json_t *create = json_loads(H.req[3].body, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[3].url, "runs/create"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(create, "experiment_id")), "7");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(create, "run_name")), "iris");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(create, "start_time")), 1700000000000LL);
    json_t *tags = json_object_get(create, "tags");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.runName"), "iris");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.source.name"), "maestro");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.source.type"), "JOB");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.source.git.commit"), "abc123def456");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.run_id"), "iris-20240101T000000Z-ab12");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.kind"), "train");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.ranks"), "2");
    json_decref(create);

    /* params: sanitised keys, each once (the clashing key keeps the first value) */
    json_t *pb = bodies_of("runs/log-batch");
    CU_ASSERT_EQUAL_FATAL(json_array_size(pb), 1);
    json_t *params = json_object_get(json_array_get(pb, 0), "params");
    CU_ASSERT_EQUAL(json_array_size(params), 3);
    CU_ASSERT_STRING_EQUAL(tag_value(params, "model.layers_0_.units"), "64");
    CU_ASSERT_STRING_EQUAL(tag_value(params, "optimizer.lr"), "0.05");
    CU_ASSERT(logged("already holds another value"));
    json_decref(pb);

    /* 2500 metrics -> log-batch of 1000, 1000 (while running) and 500 (at run end) */
    clear_requests();
    for (int i = 0; i < 2497; i++) {
        maestro_event_t e = metric("train_loss", 1.0 / (i + 1), i);
        CU_ASSERT_EQUAL(maestro_plugin.event(st, &e), MAESTRO_OK);
    }
    maestro_event_t specials[3] = {metric("val_loss", NAN, 1), metric("val_loss", INFINITY, 2),
                                   metric("val_loss", -INFINITY, 3)};
    for (int i = 0; i < 3; i++)
        maestro_plugin.event(st, &specials[i]);
    maestro_kv_t lbl = {"rank", "1"};
    maestro_event_t labelled = metric("samples_per_second", 1234.5, 10);
    labelled.labels = &lbl;
    labelled.n_labels = 1;
    maestro_plugin.event(st, &labelled);
    CU_ASSERT_EQUAL(count_of("runs/log-batch"), 2);

    const char *h5 = write_tmp("run.h5", "HDF5 bytes");
    const char *spec = write_tmp("spec.yml", "name: iris\n");
    maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = "spec.yml"};
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_OK);
    request_t *put = &H.req[H.n_req - 1];
    CU_ASSERT_STRING_EQUAL(put->method, "PUT");
    CU_ASSERT_STRING_EQUAL(put->url, "http://mlflow.test:5000/api/2.0/mlflow-artifacts/artifacts/"
                                     "7/r1/artifacts/spec.yml");
    CU_ASSERT_STRING_EQUAL(put->body, "name: iris\n");

    const char *names[] = {"val_accuracy"};
    double values[] = {0.97};
    maestro_run_end_t end = {.status = "ok",
                             .end_ns = H.now + 5000000000LL,
                             .metric_names = names,
                             .metric_values = values,
                             .n_metrics = 1,
                             .gates_passed = 1,
                             .model_path = h5,
                             .registry_model = "iris",
                             .registry_alias = "champion"};
    H.pending_polls = 2;
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_OK);

    json_t *mb = bodies_of("runs/log-batch");
    CU_ASSERT_EQUAL_FATAL(json_array_size(mb), 3);
    json_t *m0 = json_object_get(json_array_get(mb, 0), "metrics");
    json_t *m2 = json_object_get(json_array_get(mb, 2), "metrics");
    CU_ASSERT_EQUAL(json_array_size(m0), 1000);
    CU_ASSERT_EQUAL(json_array_size(m2), 501);
    json_t *first = json_array_get(m0, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "key")), "train_loss");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(first, "value")), 1.0, 1e-12);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "timestamp")), 1700000000000LL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "step")), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 497), "value")),
                           "NaN");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 498), "value")),
                           "Infinity");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 499), "value")),
                           "-Infinity");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m2, 500), "key")),
                           "samples_per_second/rank_1");
    json_decref(mb);

    /* the model under model/, then registered with that folder as source, then the alias */
    int put_model = -1, create_v = -1, alias = -1, update = -1;
    for (int i = 0; i < H.n_req; i++) {
        if (strstr(H.req[i].url, "artifacts/7/r1/artifacts/model/run.h5"))
            put_model = i;
        if (strstr(H.req[i].url, "model-versions/create"))
            create_v = i;
        if (strstr(H.req[i].url, "registered-models/alias"))
            alias = i;
        if (strstr(H.req[i].url, "runs/update"))
            update = i;
    }
    if (!(put_model >= 0 && create_v > put_model && alias > create_v && update > alias))
        for (int i = 0; i < H.n_req; i++)
            fprintf(stderr, "  request %d: %s %s\n", i, H.req[i].method, H.req[i].url);
    CU_ASSERT(put_model >= 0 && create_v > put_model && alias > create_v && update > alias);
    CU_ASSERT_EQUAL(count_of("model-versions/get"), 3); /* PENDING, PENDING, READY */
    CU_ASSERT_EQUAL(count_of("registered-models/create"), 1);
    json_t *cv = json_loads(H.req[create_v].body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(cv, "source")),
                           "mlflow-artifacts:/7/r1/artifacts/model");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(cv, "run_id")), "r1");
    json_decref(cv);
    json_t *al = json_loads(H.req[alias].body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(al, "version")), "3");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(al, "alias")), "champion");
    json_decref(al);
    json_t *up = json_loads(H.req[update].body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(up, "status")), "FINISHED");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(up, "end_time")), 1700000005000LL);
    json_decref(up);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    maestro_plugin.fini(st);
}

static void test_mlflow__other_ranks_are_silent(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(1);
    maestro_plugin.run_start(st, &run);
    maestro_event_t e = metric("train_loss", 1, 1);
    maestro_plugin.event(st, &e);
    maestro_run_end_t end = {.status = "ok", .gates_passed = 1};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 0);
    maestro_plugin.fini(st);
}

static void end_with(void *st, const char *status, int gates_passed)
{
    const char *h5 = write_tmp("run.h5", "HDF5 bytes");
    maestro_run_end_t end = {.status = status,
                             .gates_passed = gates_passed,
                             .model_path = h5,
                             .registry_model = "iris",
                             .registry_alias = "champion"};
    maestro_plugin.run_end(st, &end);
}

static void test_mlflow__failed_runs_register_nothing(void)
{
    const char *statuses[][2] = {
        {"failed", "FAILED"}, {"gate_failed", "FAILED"}, {"preempted", "KILLED"}};
    for (int k = 0; k < 3; k++) {
        reset();
        void *st = start_plugin();
        maestro_run_info_t run = run_info(0);
        maestro_plugin.run_start(st, &run);
        end_with(st, statuses[k][0], k == 1 ? 0 : 1);
        CU_ASSERT_EQUAL(count_of("model-versions"), 0);
        CU_ASSERT_EQUAL(count_of("registered-models"), 0);
        json_t *up = bodies_of("runs/update");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "status")),
                               statuses[k][1]);
        json_decref(up);
        maestro_plugin.fini(st);
    }
}

/* ---- spooled while the server is down, flushed later -------------------------------------- */

/* Replay everything spooled so far through flush(), as the host does; returns how many were
 * delivered and leaves the undelivered ones. */
static int flush_all(void *st)
{
    int ok = 0, n = H.n_spool;
    spooled_t copy[MAX_SPOOL];
    memcpy(copy, H.spool, sizeof copy);
    H.n_spool = 0;
    for (int i = 0; i < n; i++) {
        int rc = maestro_plugin.flush(st, copy[i].kind, copy[i].data, copy[i].len);
        if (rc == MAESTRO_OK) {
            ok++;
            free(copy[i].data);
        } else {
            H.spool[H.n_spool++] = copy[i]; /* kept, in order */
        }
    }
    return ok;
}

static void run_while_down(void *st)
{
    H.down = 1;
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_req, 4); /* one call tried 4 times; the rest goes straight to the spool */
    maestro_event_t e = metric("train_loss", 0.25, 7);
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &e), MAESTRO_OK); /* buffered */
    const char *spec = write_tmp("spec.yml", "name: iris\n");
    maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = "spec.yml"};
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_E_RETRY);
    end_with(st, "ok", 1);
    CU_ASSERT_EQUAL(H.n_req, 4);
    const char *kinds[] = {"runs-create", "runs-log-batch", "artifact",   "runs-log-batch",
                           "artifact",    "register",       "runs-update"};
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 7);
    for (int i = 0; i < 7; i++)
        CU_ASSERT_STRING_EQUAL(H.spool[i].kind, kinds[i]);
    CU_ASSERT(logged("did not answer; the run is spooled"));
}

static void test_mlflow__server_down_spools_in_order_and_flush_delivers(void)
{
    reset();
    set_config("token", "tok-SECRET-1234");
    void *st = start_plugin();
    run_while_down(st);
    for (int i = 0; i < H.n_spool; i++)
        CU_ASSERT_PTR_NULL(strstr(H.spool[i].data, "SECRET")); /* never the credentials */

    /* still down: the first payload stays, nothing is lost */
    clear_requests();
    CU_ASSERT_EQUAL(maestro_plugin.flush(st, H.spool[0].kind, H.spool[0].data, H.spool[0].len),
                    MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_req, 1); /* flush tries once: the host retries later */

    H.down = 0;
    clear_requests();
    CU_ASSERT_EQUAL(flush_all(st), 7);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    CU_ASSERT_EQUAL(count_of("runs/create"), 1);
    CU_ASSERT_EQUAL(count_of("runs/log-batch"), 2);
    CU_ASSERT_EQUAL(count_of("mlflow-artifacts/artifacts/7/r1/artifacts/spec.yml"), 1);
    CU_ASSERT_EQUAL(count_of("mlflow-artifacts/artifacts/7/r1/artifacts/model/run.h5"), 1);
    CU_ASSERT_EQUAL(count_of("registered-models/alias"), 1);
    json_t *up = bodies_of("runs/update");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "status")),
                           "FINISHED");
    json_decref(up);
    json_t *lb = bodies_of("runs/log-batch");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(lb, 1), "run_id")),
                           "r1");
    json_decref(lb);
    for (int i = 0; i < H.n_req; i++)
        CU_ASSERT_STRING_EQUAL(H.req[i].bearer, "tok-SECRET-1234");

    /* everything delivered: the plugin sends directly again */
    clear_requests();
    CU_ASSERT_EQUAL(st ? ((mlf_state_t *)st)->spooling : -1, 0);
    maestro_plugin.fini(st);
}

static void test_mlflow__flush_in_a_fresh_process_finds_the_run(void)
{
    reset();
    void *st = start_plugin();
    run_while_down(st);
    maestro_plugin.fini(st);

    /* `maestro plugins flush RUN_DIR`: a new instance, no run_start, no url in its config */
    H.down = 0;
    clear_requests();
    H.n_config = 0;
    set_config("backoff_s", "0");
    char err[256];
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, err, sizeof err), MAESTRO_OK);
    spooled_t first = H.spool[0];
    /* drop the runs-create: the run was made by someone (an earlier flush) already */
    memmove(H.spool, H.spool + 1, (size_t)(H.n_spool - 1) * sizeof *H.spool);
    H.n_spool--;
    H.exp_exists = 1;
    H.run_exists = 1;
    CU_ASSERT_EQUAL(flush_all(st), 6);
    CU_ASSERT_EQUAL(count_of("runs/search"), 1); /* looked up once by its maestro.run_id tag */
    CU_ASSERT_EQUAL(count_of("runs/create"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[0].url, "http://mlflow.test:5000/api/2.0/"));
    free(first.data);
    maestro_plugin.fini(st);
}

static void test_mlflow__spool_failure_is_said(void)
{
    reset();
    void *st = start_plugin();
    H.down = 1;
    H.spool_fails = 1; /* a run with no run folder */
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_E_FAILED);
    CU_ASSERT(logged("could not be spooled either; it is lost"));
    maestro_plugin.fini(st);
}

/* ---- artifacts and the model registry ----------------------------------------------------- */

static void test_mlflow__alias_names(void)
{
    CU_ASSERT(mlf_alias_valid("champion"));
    CU_ASSERT(mlf_alias_valid("prod-2_b"));
    CU_ASSERT(!mlf_alias_valid(""));
    CU_ASSERT(!mlf_alias_valid("latest"));
    CU_ASSERT(!mlf_alias_valid("Latest"));
    CU_ASSERT(!mlf_alias_valid("v3"));
    CU_ASSERT(mlf_alias_valid("v3x"));
    CU_ASSERT(!mlf_alias_valid("has space"));
    CU_ASSERT(!mlf_alias_valid("a.b"));
}

static void test_mlflow__other_artifact_stores_are_refused(void)
{
    reset();
    void *st = start_plugin();
    H.artifact_uri = "s3://bucket/7/r1/artifacts";
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    const char *spec = write_tmp("spec.yml", "name: iris\n");
    maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = "spec.yml"};
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(maestro_plugin.event(st, &art), MAESTRO_E_FAILED);
    CU_ASSERT(logged("stores artifacts at s3://bucket/7/r1/artifacts, not behind the tracking "
                     "server's artifact proxy"));
    int said = 0;
    for (int i = 0; i < H.n_log; i++)
        said += strstr(H.log[i], "artifact proxy") != NULL;
    CU_ASSERT_EQUAL(said, 1);
    end_with(st, "ok", 1);
    for (int i = 0; i < H.n_req; i++)
        CU_ASSERT_STRING_NOT_EQUAL(H.req[i].method, "PUT");
    CU_ASSERT_EQUAL(count_of("model-versions"), 0);
    CU_ASSERT_EQUAL(count_of("runs/update"), 1);
    maestro_plugin.fini(st);
}

static void test_mlflow__bad_artifact_names_stay_in_the_run(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    const char *spec = write_tmp("spec.yml", "x");
    const char *bad[] = {"../escape", "/abs", "a//b", "a/..", ""};
    for (int i = 0; i < 5; i++) {
        maestro_event_t art = {.kind = MAESTRO_EV_ARTIFACT, .path = spec, .artifact_name = bad[i]};
        int rc = maestro_plugin.event(st, &art);
        CU_ASSERT(bad[i][0] ? rc == MAESTRO_E_FAILED : rc == MAESTRO_OK); /* "" -> file name */
    }
    CU_ASSERT_EQUAL(count_of("artifacts/7/r1/artifacts/spec.yml"), 1);
    maestro_plugin.fini(st);
}

/* ---- credentials and config --------------------------------------------------------------- */

static void test_mlflow__credentials(void)
{
    reset();
    setenv("MLFLOW_TRACKING_TOKEN", "env-token-5678", 1);
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    CU_ASSERT_STRING_EQUAL(H.req[0].bearer, "env-token-5678");
    CU_ASSERT_STRING_EQUAL(H.secrets[0], "env-token-5678");
    CU_ASSERT(!logged("env-token-5678"));
    maestro_plugin.fini(st);

    reset();
    set_config("username", "alice");
    set_config("password", "pw-secret-99");
    st = start_plugin();
    maestro_plugin.run_start(st, &run);
    CU_ASSERT_STRING_EQUAL(H.req[0].bearer, "");
    CU_ASSERT_STRING_EQUAL(H.req[0].user, "alice");
    CU_ASSERT_STRING_EQUAL(H.req[0].password, "pw-secret-99");
    CU_ASSERT_STRING_EQUAL(H.secrets[0], "pw-secret-99");
    maestro_plugin.fini(st);

    reset();
    setenv("MLFLOW_TRACKING_USERNAME", "bob", 1);
    setenv("MLFLOW_TRACKING_PASSWORD", "env-pw-0000", 1);
    st = start_plugin();
    maestro_plugin.run_start(st, &run);
    CU_ASSERT_STRING_EQUAL(H.req[0].user, "bob");
    CU_ASSERT_STRING_EQUAL(H.req[0].password, "env-pw-0000");
    maestro_plugin.fini(st);
    reset();
}

static void expect_config_error(const char *key, const char *value, const char *msg)
{
    reset();
    set_config(key, value);
    void *st = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(maestro_plugin.init(&st, &host, err, sizeof err), MAESTRO_E_CONFIG);
    CU_ASSERT_PTR_NULL(st);
    if (!strstr(err, msg))
        fprintf(stderr, "init error: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, msg));
}

static void test_mlflow__bad_config_is_refused_at_init(void)
{
    expect_config_error("url", "file:///tmp/mlruns", "url must be an http:// or https://");
    expect_config_error("retries", "many", "retries must be a number from 0 to 20");
    expect_config_error("timeout_s", "-1", "timeout_s must be a number");
    expect_config_error("param_value_max", "5", "param_value_max must be a number from 64");
    expect_config_error("password", "pw", "password is set but username is not");
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow__run_on_the_wire),
    MO_TEST(test_mlflow__other_ranks_are_silent),
    MO_TEST(test_mlflow__failed_runs_register_nothing),
    MO_TEST(test_mlflow__server_down_spools_in_order_and_flush_delivers),
    MO_TEST(test_mlflow__flush_in_a_fresh_process_finds_the_run),
    MO_TEST(test_mlflow__spool_failure_is_said),
    MO_TEST(test_mlflow__alias_names),
    MO_TEST(test_mlflow__other_artifact_stores_are_refused),
    MO_TEST(test_mlflow__bad_artifact_names_stay_in_the_run),
    MO_TEST(test_mlflow__credentials),
    MO_TEST(test_mlflow__bad_config_is_refused_at_init),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = mo_test_main("plugins/mlflow", tests);
    reset();
    return rc;
}
