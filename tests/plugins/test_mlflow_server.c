/* test_mlflow_server.c - the mlflow plugin through the real host, against a real MLflow server
 *
 * MLflow's own server (pinned in scripts/requirements-test.txt, in .venv made by
 * scripts/python-env.sh) runs through scripts/services/mlflow.sh with a SQLite backend and
 * --serve-artifacts on a free loopback port, started once for the suite (it takes a few
 * seconds). The test drives the plugin as the runner does (mo_plugins_open, run_start,
 * metrics, artifacts, run_end, close; mo_plugins_flush_dir for a later flush) and reads back
 * through MLflow's REST API (libcurl + jansson) and, once, through MLflow's Python client: the
 * experiment, the run and its tags, params, metric history, artifact bytes, and the model
 * version with its alias and source; child runs nested under their parent (ABI 1.1). Failure
 * cases use a port with nobody listening, and a server that comes back on it. The server is a test
 * dependency: when it cannot start the test fails and says why, it never skips. The helpers are in
 * mlflow_server_fixtures.h.
 */
#include "tests/plugins/mlflow_server_fixtures.h"

/* ---- tests ---------------------------------------------------------------------------------- */

static char first_run_id[64]; /* MLflow's id of the first registered run */

static void test_mlflow_server__run_read_back(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    const char *dir = make_run_dir("run-main");
    log_clear();
    mo_plugins_t *p = open_plugin(srv, "maestro-test", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-20240101T000000Z-0001", dir, "0.05");
    mo_plugins_run_start(p, &ri);
    train(p, dir);
    end(p, "ok", 1, h5_path(dir, "HDF5 model bytes v1"));
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(spooled(dir), 0);

    json_t *root;
    json_t *run = find_run(srv, "maestro-test", ri.run_id, &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    json_t *rinfo = json_object_get(run, "info"), *data = json_object_get(run, "data");
    const char *run_id = json_string_value(json_object_get(rinfo, "run_id"));
    snprintf(first_run_id, sizeof first_run_id, "%s", run_id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(rinfo, "status")), "FINISHED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(rinfo, "run_name")), "iris");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(rinfo, "start_time")),
                    ri.start_ns / 1000000);
    CU_ASSERT(json_integer_value(json_object_get(rinfo, "end_time")) >= ri.start_ns / 1000000);
    json_t *tags = json_object_get(data, "tags");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.source.name"), "maestro");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.source.type"), "JOB");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.source.git.commit"), "0123456789ab");
    CU_ASSERT_STRING_EQUAL(kv(tags, "mlflow.runName"), "iris");
    CU_ASSERT_STRING_EQUAL(kv(tags, "maestro.run_id"), "iris-20240101T000000Z-0001");
    CU_ASSERT_STRING_EQUAL(kv(tags, "maestro.kind"), "train");
    CU_ASSERT_STRING_EQUAL(kv(tags, "maestro.ranks"), "2");

    /* params: each once, MLflow-valid keys, the long value cut with a marker */
    json_t *params = json_object_get(data, "params");
    CU_ASSERT_EQUAL(json_array_size(params), 4);
    CU_ASSERT_STRING_EQUAL(kv(params, "optimizer.lr"), "0.05");
    CU_ASSERT_STRING_EQUAL(kv(params, "model.layers_0_.units"), "64");
    CU_ASSERT_EQUAL(count_key(params, "epochs"), 1);
    const char *note = kv(params, "data.note");
    CU_ASSERT_PTR_NOT_NULL_FATAL(note);
    CU_ASSERT_EQUAL(strlen(note), 6000);
    CU_ASSERT_STRING_EQUAL(note + 6000 - strlen("...[truncated]"), "...[truncated]");

    /* metric history: steps, values, and NaN */
    char ep[512];
    snprintf(ep, sizeof ep, "metrics/get-history?run_id=%s&metric_key=train_loss", run_id);
    json_t *h = api(srv, "GET", ep, NULL);
    json_t *ms = json_object_get(h, "metrics");
    CU_ASSERT_EQUAL_FATAL(json_array_size(ms), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *m = json_array_get(ms, i);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "step")), (json_int_t)i * 10);
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(m, "value")), 1.0 / (i + 1),
                               1e-12);
        CU_ASSERT(json_integer_value(json_object_get(m, "timestamp")) >= ri.start_ns / 1000000);
    }
    json_decref(h);
    snprintf(ep, sizeof ep, "metrics/get-history?run_id=%s&metric_key=val_loss", run_id);
    h = api(srv, "GET", ep, NULL);
    json_t *nan = json_object_get(json_array_get(json_object_get(h, "metrics"), 0), "value");
    CU_ASSERT(json_is_string(nan) && !strcmp(json_string_value(nan), "NaN"));
    json_decref(h);

    /* artifacts: the bytes that were uploaded */
    const char *auri = json_string_value(json_object_get(rinfo, "artifact_uri"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(auri);
    CU_ASSERT_EQUAL(strncmp(auri, "mlflow-artifacts:/", 18), 0);
    char url[1024], *bytes = NULL, path[700];
    size_t n = 0;
    snprintf(url, sizeof url, "%s/api/2.0/mlflow-artifacts/artifacts/%s/spec.yml", srv, auri + 18);
    CU_ASSERT_EQUAL(http("GET", url, NULL, &bytes, &n), 200);
    CU_ASSERT_STRING_EQUAL(bytes, "name: iris\nkind: train\n");
    free(bytes);
    snprintf(url, sizeof url, "%s/api/2.0/mlflow-artifacts/artifacts/%s/model/run.h5", srv,
             auri + 18);
    CU_ASSERT_EQUAL(http("GET", url, NULL, &bytes, &n), 200);
    snprintf(path, sizeof path, "%s/run.h5", dir);
    char *file = read_file(path, NULL);
    CU_ASSERT_STRING_EQUAL(bytes, file);
    free(bytes);
    free(file);

    /* the registered version: alias, source folder, run */
    json_t *mv = by_alias(srv, "iris-model", "champion");
    json_t *v = json_object_get(mv, "model_version");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "version")), "1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "run_id")), run_id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "status")), "READY");
    char source[512];
    snprintf(source, sizeof source, "%s/model", auri);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "source")), source);
    if (getenv("MO_TEST_VERBOSE")) {
        char *s = json_dumps(run, JSON_INDENT(2));
        fprintf(stderr, "\n%s\n", s);
        free(s);
    }
    json_decref(mv);
    json_decref(root);
    CU_ASSERT(log_has("registered model iris-model version 1 in MLflow as @champion"));
    /* the token went in headers only */
    CU_ASSERT(nowhere_in(dir, TOKEN));
    CU_ASSERT(log_lacks(TOKEN));
}

/* MLflow's Python client reads what the plugin wrote. */
static void test_mlflow_server__python_client_reads_it(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    char py[600], out[600], dl[600];
    snprintf(py, sizeof py, "%s/.venv/bin/python", src);
    snprintf(out, sizeof out, "%s/client.json", mo_test_tmpdir());
    snprintf(dl, sizeof dl, "%s/download", mo_test_tmpdir());
    mkdir(dl, 0700);
    static const char script[] =
        "import json, sys\n"
        "import mlflow\n"
        "from mlflow.tracking import MlflowClient\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "c = MlflowClient()\n"
        "mv = c.get_model_version_by_alias('iris-model', 'champion')\n"
        "run = c.get_run(mv.run_id)\n"
        "hist = c.get_metric_history(mv.run_id, 'train_loss')\n"
        "path = c.download_artifacts(mv.run_id, 'model/run.h5', sys.argv[2])\n"
        "print(json.dumps({'version': mv.version, 'source': mv.source, 'run_id': mv.run_id,\n"
        "  'status': run.info.status, 'params': run.data.params,\n"
        "  'steps': [m.step for m in hist], 'source_name': run.data.tags['mlflow.source.name'],\n"
        "  'model': open(path).read()}))\n";
    char *argv[] = {py, "-c", (char *)script, (char *)srv, dl, NULL};
    CU_ASSERT_EQUAL_FATAL(spawn_wait(argv, out), 0);
    json_t *d = json_load_file(out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "run_id")), first_run_id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "status")), "FINISHED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "source_name")), "maestro");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "model")), "HDF5 model bytes v1");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(d, "params"), "optimizer.lr")), "0.05");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "steps")), 5);
    json_decref(d);
}

static void test_mlflow_server__second_run_moves_the_alias(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    const char *dir = make_run_dir("run-second");
    mo_plugins_t *p = open_plugin(srv, "maestro-test", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-20240101T000000Z-0002", dir, "0.01");
    mo_plugins_run_start(p, &ri);
    train(p, dir);
    end(p, "ok", 1, h5_path(dir, "HDF5 model bytes v2"));
    mo_plugins_close(p);
    json_t *root;
    json_t *run = find_run(srv, "maestro-test", ri.run_id, &root);
    const char *run_id = json_string_value(json_object_get(json_object_get(run, "info"), "run_id"));
    json_t *mv = by_alias(srv, "iris-model", "champion");
    json_t *v = json_object_get(mv, "model_version");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "version")), "2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "run_id")), run_id ? run_id : "");
    json_decref(mv);
    json_decref(root);
    /* version 1 is still there, without the alias */
    json_t *v1 = api(srv, "GET", "model-versions/get?name=iris-model&version=1", NULL);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(v1, "model_version"), "run_id")),
        first_run_id);
    CU_ASSERT_EQUAL(
        json_array_size(json_object_get(json_object_get(v1, "model_version"), "aliases")), 0);
    json_decref(v1);
}

static int n_versions(const char *srv)
{
    json_t *s = api(srv, "GET", "model-versions/search?filter=name%3D%27iris-model%27", NULL);
    int n = (int)json_array_size(json_object_get(s, "model_versions"));
    json_decref(s);
    return n;
}

static void test_mlflow_server__failed_runs_register_nothing(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    int before = n_versions(srv);
    const char *cases[][3] = {
        {"failed", "FAILED", "1"}, {"gate_failed", "FAILED", "0"}, {"preempted", "KILLED", "1"}};
    for (int k = 0; k < 3; k++) {
        char name[64], id[64];
        snprintf(name, sizeof name, "run-%s", cases[k][0]);
        snprintf(id, sizeof id, "iris-%s-0003", cases[k][0]);
        const char *dir = make_run_dir(name);
        mo_plugins_t *p = open_plugin(srv, "maestro-test", dir);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        maestro_run_info_t ri = info(id, dir, "0.05");
        mo_plugins_run_start(p, &ri);
        train(p, dir);
        end(p, cases[k][0], cases[k][2][0] == '1', h5_path(dir, "bad model"));
        mo_plugins_close(p);
        json_t *root;
        json_t *run = find_run(srv, "maestro-test", id, &root);
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(json_object_get(run, "info"), "status")),
            cases[k][1]);
        json_decref(root);
    }
    CU_ASSERT_EQUAL(n_versions(srv), before);
    json_t *mv = by_alias(srv, "iris-model", "champion");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(mv, "model_version"), "version")), "2");
    json_decref(mv);
}

static void test_mlflow_server__param_change_is_a_permanent_warning(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    /* a preempted run, resumed with another learning rate: MLflow params are write-once */
    const char *dir = make_run_dir("run-resume");
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", dir);
    mo_plugins_t *p = open_plugin(srv, "maestro-test", run_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-resume-0004", run_dir, "0.05");
    mo_plugins_run_start(p, &ri);
    end(p, "preempted", 1, NULL);
    mo_plugins_close(p);

    log_clear();
    p = open_plugin(srv, "maestro-test", run_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ri = info("iris-resume-0004", run_dir, "0.5");
    mo_plugins_run_start(p, &ri);
    train(p, run_dir);
    end(p, "ok", 1, NULL);
    mo_plugins_close(p);
    CU_ASSERT(log_has("runs/log-batch: HTTP 400 INVALID_PARAMETER_VALUE: Changing param values "
                      "is not allowed"));
    CU_ASSERT(log_has("not logged"));
    CU_ASSERT(log_has("continuing MLflow run"));
    CU_ASSERT_EQUAL(spooled(run_dir), 0); /* a 4xx is never retried */

    json_t *root;
    json_t *run = find_run(srv, "maestro-test", "iris-resume-0004", &root);
    json_t *data = json_object_get(run, "data");
    CU_ASSERT_STRING_EQUAL(kv(json_object_get(data, "params"), "optimizer.lr"), "0.05");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(run, "info"), "status")), "FINISHED");
    CU_ASSERT_EQUAL(count_key(json_object_get(data, "metrics"), "train_loss"), 1);
    json_decref(root);
}

static void test_mlflow_server__down_spooled_then_flushed(void)
{
    char port[16], url[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dead_port(port, sizeof port));
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);

    log_clear();
    const char *dir = make_run_dir("run-down");
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", dir);
    mo_plugins_t *p = open_plugin(url, "maestro-late", run_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-down-0005", run_dir, "0.05");
    mo_plugins_run_start(p, &ri);
    train(p, run_dir);
    end(p, "ok", 1, h5_path(run_dir, "HDF5 spooled model"));
    mo_plugins_close(p); /* returns: the run is not held up by the missing server */
    CU_ASSERT(log_has("did not answer; the run is spooled"));
    CU_ASSERT(log_has("request(s) spooled; `maestro plugins flush"));
    int waiting = spooled(run_dir);
    CU_ASSERT(waiting >= 6);
    char spool[700];
    snprintf(spool, sizeof spool, "%s/spool", run_dir);
    CU_ASSERT(nowhere_in(spool, TOKEN));

    /* the server comes back; `maestro plugins flush RUN_DIR` delivers, in order */
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv_start("late", port));
    maestro_kv_t cfg[] = {{"url", url}, {"token", TOKEN}};
    mo_plugin_request_t req = {"mlflow", cfg, 2};
    int delivered = -1, left = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, waiting);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(spooled(run_dir), 0);

    json_t *root;
    json_t *run = find_run(url, "maestro-late", "iris-down-0005", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    json_t *data = json_object_get(run, "data");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(run, "info"), "status")), "FINISHED");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(data, "params")), 4);
    CU_ASSERT_EQUAL(count_key(json_object_get(data, "metrics"), "train_loss"), 1);
    json_t *mv = by_alias(url, "iris-model", "champion");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(mv, "model_version"), "version")), "1");
    json_decref(mv);
    const char *auri =
        json_string_value(json_object_get(json_object_get(run, "info"), "artifact_uri"));
    char aurl[1024], *bytes = NULL;
    snprintf(aurl, sizeof aurl, "%s/api/2.0/mlflow-artifacts/artifacts/%s/model/run.h5", url,
             auri ? auri + 18 : "");
    CU_ASSERT_EQUAL(http("GET", aurl, NULL, &bytes, NULL), 200);
    CU_ASSERT_STRING_EQUAL(bytes, "HDF5 spooled model");
    free(bytes);
    json_decref(root);

    /* a second flush finds nothing left: nothing is sent twice */
    CU_ASSERT_EQUAL(mo_plugins_flush_dir(run_dir, &req, 1, &delivered, &left, &err), 0);
    CU_ASSERT_EQUAL(delivered, 0);
    CU_ASSERT_EQUAL(n_versions(url), 1);
}

static void test_mlflow_server__comes_back_during_the_run(void)
{
    /* the "late" server from the previous test goes away, and returns while the run goes on */
    char dir_late[512], port[16] = "", path[600];
    snprintf(dir_late, sizeof dir_late, "%s/mlflow-late/PORT", mo_test_tmpdir());
    char *p_text = read_file(dir_late, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p_text);
    snprintf(port, sizeof port, "%.*s", (int)strcspn(p_text, "\n"), p_text);
    free(p_text);
    srv_stop("late");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);

    const char *dir = make_run_dir("run-back");
    snprintf(path, sizeof path, "%s", dir);
    mo_plugins_t *p = open_plugin(url, "maestro-late", path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    maestro_run_info_t ri = info("iris-back-0006", path, "0.05");
    mo_plugins_run_start(p, &ri);
    mo_plugins_metric(p, "train_loss", 0.5, 0, 0, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv_start("late", port));
    train(p, path);
    end(p, "ok", 1, h5_path(path, "HDF5 model, same run"));
    mo_plugins_close(p);
    CU_ASSERT_EQUAL(spooled(path), 0); /* delivered within the run: nothing left */

    json_t *root;
    json_t *run = find_run(url, "maestro-late", "iris-back-0006", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(run, "info"), "status")), "FINISHED");
    char ep[512];
    snprintf(ep, sizeof ep, "metrics/get-history?run_id=%s&metric_key=train_loss",
             json_string_value(json_object_get(json_object_get(run, "info"), "run_id")));
    json_t *h = api(url, "GET", ep, NULL);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(h, "metrics")), 6);
    json_decref(h);
    json_decref(root);
    json_t *mv = by_alias(url, "iris-model", "champion");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(mv, "model_version"), "version")), "2");
    json_decref(mv);
}

/* A sweep: the parent run stays open while its trials run, each with a host of its own (as
 * runner/run_life.c does). The first trial starts once the parent is on the server and is
 * created nested; the second names a parent that reaches MLflow only after the trial's
 * runs/create, and is linked at its run end. */
static void test_mlflow_server__child_runs_nest_under_the_parent(void)
{
    const char *srv = srv_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    const char *exp = "maestro-sweep";
    char dir_a[512], dir_b[512], dir_c[512], dir_d[512];
    snprintf(dir_a, sizeof dir_a, "%s", make_run_dir("run-sweep"));
    snprintf(dir_b, sizeof dir_b, "%s", make_run_dir("run-trial"));
    snprintf(dir_c, sizeof dir_c, "%s", make_run_dir("run-late-trial"));
    snprintf(dir_d, sizeof dir_d, "%s", make_run_dir("run-late-sweep"));

    mo_plugins_t *pa = open_plugin(srv, exp, dir_a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pa);
    maestro_run_info_t a = info("sweep-20240101T000000Z-0007", dir_a, "0.05");
    mo_plugins_run_start(pa, &a);
    CU_ASSERT_FATAL(wait_run(srv, exp, a.run_id, 30));

    mo_plugins_t *pb = open_plugin(srv, exp, dir_b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
    maestro_run_info_t b = info("trial-20240101T000001Z-0007", dir_b, "0.1");
    b.parent_run_id = a.run_id;
    mo_plugins_run_start(pb, &b);
    train(pb, dir_b);
    end(pb, "ok", 1, NULL);
    mo_plugins_close(pb);

    /* a trial whose parent is not on the server yet */
    log_clear();
    mo_plugins_t *pc = open_plugin(srv, exp, dir_c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    maestro_run_info_t c = info("trial-20240101T000002Z-0008", dir_c, "0.2");
    c.parent_run_id = "sweep-20240101T000000Z-0008";
    mo_plugins_run_start(pc, &c);
    CU_ASSERT_FATAL(wait_run(srv, exp, c.run_id, 30));
    mo_plugins_t *pd = open_plugin(srv, exp, dir_d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pd);
    maestro_run_info_t d = info(c.parent_run_id, dir_d, "0.05");
    mo_plugins_run_start(pd, &d);
    CU_ASSERT_FATAL(wait_run(srv, exp, d.run_id, 30));
    end(pc, "ok", 1, NULL);
    mo_plugins_close(pc);
    end(pd, "ok", 1, NULL);
    mo_plugins_close(pd);
    end(pa, "ok", 1, NULL);
    mo_plugins_close(pa);
    CU_ASSERT(log_has("has no MLflow run in experiment"));
    CU_ASSERT(log_has("yet; this run starts top-level and is linked to it at run end"));

    const struct {
        const maestro_run_info_t *child, *parent;
    } pairs[] = {{&b, &a}, {&c, &d}};
    for (size_t k = 0; k < 2; k++) {
        json_t *proot, *croot;
        json_t *parent = find_run(srv, exp, pairs[k].parent->run_id, &proot);
        json_t *child = find_run(srv, exp, pairs[k].child->run_id, &croot);
        CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
        CU_ASSERT_PTR_NOT_NULL_FATAL(child);
        const char *pid =
            json_string_value(json_object_get(json_object_get(parent, "info"), "run_id"));
        json_t *ctags = json_object_get(json_object_get(child, "data"), "tags");
        json_t *ptags = json_object_get(json_object_get(parent, "data"), "tags");
        CU_ASSERT_PTR_NOT_NULL_FATAL(pid);
        CU_ASSERT_PTR_NOT_NULL_FATAL(kv(ctags, "mlflow.parentRunId"));
        CU_ASSERT_STRING_EQUAL(kv(ctags, "mlflow.parentRunId"), pid);
        CU_ASSERT_STRING_EQUAL(kv(ctags, "maestro.parent_run_id"), pairs[k].parent->run_id);
        CU_ASSERT_PTR_NULL(kv(ptags, "mlflow.parentRunId")); /* the sweep's run is top-level */
        CU_ASSERT_PTR_NULL(kv(ptags, "maestro.parent_run_id"));
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(json_object_get(child, "info"), "status")),
            "FINISHED");
        json_decref(proot);
        json_decref(croot);
    }
    CU_ASSERT_EQUAL(spooled(dir_b) + spooled(dir_c), 0);
}

static void test_mlflow_server__bad_config_fails_open(void)
{
    maestro_kv_t cfg[] = {{"url", "ftp://mlflow.example"}};
    mo_plugin_request_t req = {"mlflow", cfg, 1};
    mo_plugins_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_NOT_EQUAL(mo_plugins_open(&p, &req, 1, NULL, &err), 0);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "url must be an http:// or https:// tracking server"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow_server__run_read_back),
    MO_TEST(test_mlflow_server__python_client_reads_it),
    MO_TEST(test_mlflow_server__second_run_moves_the_alias),
    MO_TEST(test_mlflow_server__failed_runs_register_nothing),
    MO_TEST(test_mlflow_server__param_change_is_a_permanent_warning),
    MO_TEST(test_mlflow_server__down_spooled_then_flushed),
    MO_TEST(test_mlflow_server__comes_back_during_the_run),
    MO_TEST(test_mlflow_server__child_runs_nest_under_the_parent),
    MO_TEST(test_mlflow_server__bad_config_fails_open),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    if (dir)
        setenv("MAESTRO_PLUGIN_PATH", dir, 1);
    memset(long_value, 'n', sizeof long_value - 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    mo_log_set_sink(capture, NULL);
    mo_test_tmpdir(); /* first, so that its removal at exit runs after the servers stop */
    atexit(stop_all_servers);
    int rc = mo_test_main("plugins/mlflow_server", tests);
    stop_all_servers();
    mo_log_set_sink(NULL, NULL);
    curl_global_cleanup();
    return rc;
}
