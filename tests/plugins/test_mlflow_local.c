/* test_mlflow_local.c - the mlflow plugin's embedded default: a model registry in a local
 * folder (plugins/mlflow/local.c)
 *
 * With no url, under the scripted host (mlflow_fixtures.h) and with nothing on the network:
 * versions counting up with their meta.json and model copy, aliases moving, failed runs
 * registering nothing, and failures leaving no half-made version or damaged aliases file
 * behind. tests/runner/test_cmd_registry.c checks the reader side.
 */
#include "tests/plugins/mlflow_fixtures.h"

#include <dirent.h>

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void *local_plugin(const char *dir)
{
    void *st = NULL;
    char err[256];
    reset();
    set_config("registry_dir", dir);
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, err, sizeof err), MAESTRO_OK);
    return st;
}

static int local_run(const char *dir, const char *status, int gates, const char *model,
                     const char *alias, const char *bytes)
{
    void *st = local_plugin(dir);
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    maestro_event_t e = metric("train_loss", 0.5, 1);
    maestro_plugin.event(st, &e);
    const char *h5 = write_tmp("model.h5", bytes);
    const char *names[] = {"val_accuracy", "val_loss"};
    double values[] = {0.97, NAN};
    maestro_run_end_t end = {.status = status,
                             .gates_passed = gates,
                             .model_path = h5,
                             .metric_names = names,
                             .metric_values = values,
                             .n_metrics = 2,
                             .registry_model = model,
                             .registry_alias = alias};
    int rc = maestro_plugin.run_end(st, &end);
    CU_ASSERT_EQUAL(H.n_req, 0); /* nothing on the network */
    maestro_plugin.fini(st);
    return rc;
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void test_mlflow_local__local_registry_versions_and_aliases(void)
{
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/registry", mo_test_tmpdir());
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "champion", "first model"), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/iris/versions/1/run.h5", dir);
    char *text = read_text(path);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "first model");
    free(text);
    snprintf(path, sizeof path, "%s/iris/versions/1/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(meta, "version")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "run_id")),
                           "iris-20240101T000000Z-ab12");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "run_name")), "iris");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "created")),
                           "2023-11-14T22:13:20Z");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta, "source_run_dir")),
                           mo_test_tmpdir());
    json_t *fm = json_object_get(meta, "final_metrics");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(fm, "val_accuracy")), 0.97, 1e-12);
    CU_ASSERT(json_is_null(json_object_get(fm, "val_loss")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(meta, "artifact_bytes")), 11);
    json_decref(meta);

    /* a second run: version 2, and the alias moves to it */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "champion", "second model"), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/iris/aliases.json", dir);
    json_t *aliases = json_load_file(path, 0, NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(aliases, "champion")), 2);
    json_decref(aliases);
    /* another alias keeps the first */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "staging", "third"), MAESTRO_OK);
    aliases = json_load_file(path, 0, NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(aliases, "champion")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(aliases, "staging")), 3);
    json_decref(aliases);

    /* failed, gate-failed and preempted runs register nothing */
    CU_ASSERT_EQUAL(local_run(dir, "failed", 1, "iris", "champion", "x"), MAESTRO_OK);
    CU_ASSERT_EQUAL(local_run(dir, "gate_failed", 0, "iris", "champion", "x"), MAESTRO_OK);
    CU_ASSERT_EQUAL(local_run(dir, "ok", 0, "iris", "champion", "x"), MAESTRO_OK);
    CU_ASSERT_EQUAL(local_run(dir, "preempted", 1, "iris", "champion", "x"), MAESTRO_OK);
    snprintf(path, sizeof path, "%s/iris/versions", dir);
    CU_ASSERT_EQUAL(count_entries(path), 3); /* 1, 2, 3 and no temp folder */
    snprintf(path, sizeof path, "%s/iris", dir);
    CU_ASSERT_EQUAL(count_entries(path), 3); /* versions, aliases.json, .lock: no temp files */

    /* a model name that cannot be a folder is refused, nothing written */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "../evil", NULL, "x"), MAESTRO_E_FAILED);
    CU_ASSERT(logged("cannot be a folder name"));
    CU_ASSERT_EQUAL(count_entries(dir), 1);
    /* an invalid alias registers the version without it */
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "latest", "x"), MAESTRO_OK);
    CU_ASSERT(logged("registering without it"));
    snprintf(path, sizeof path, "%s/iris/aliases.json", dir);
    aliases = json_load_file(path, 0, NULL);
    CU_ASSERT_PTR_NULL(json_object_get(aliases, "latest"));
    json_decref(aliases);
}

static void test_mlflow_local__local_registry_failures_are_clean(void)
{
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/registry-bad", mo_test_tmpdir());
    void *st = local_plugin(dir);
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    maestro_run_end_t end = {.status = "ok",
                             .gates_passed = 1,
                             .model_path = "/nonexistent/run.h5",
                             .registry_model = "iris"};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_E_FAILED);
    CU_ASSERT(logged("/nonexistent/run.h5"));
    maestro_plugin.fini(st);
    snprintf(path, sizeof path, "%s/iris/versions", dir);
    CU_ASSERT_EQUAL(count_entries(path), 0); /* the half-made version was removed */

    /* a damaged aliases.json is not silently replaced */
    snprintf(path, sizeof path, "%s/iris", dir);
    mo_test_write_file(path, "aliases.json", "{not json");
    CU_ASSERT_EQUAL(local_run(dir, "ok", 1, "iris", "champion", "m"), MAESTRO_E_FAILED);
    snprintf(path, sizeof path, "%s/iris/aliases.json", dir);
    char *text = read_text(path);
    CU_ASSERT_STRING_EQUAL(text, "{not json");
    free(text);

    /* a run with no model but a registry entry says so */
    st = local_plugin(dir);
    maestro_plugin.run_start(st, &run);
    maestro_run_end_t none = {.status = "ok", .gates_passed = 1, .registry_model = "iris"};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &none), MAESTRO_OK);
    CU_ASSERT(logged("the run made no model; nothing registered"));
    maestro_plugin.fini(st);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow_local__local_registry_versions_and_aliases),
    MO_TEST(test_mlflow_local__local_registry_failures_are_clean),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = mo_test_main("plugins/mlflow_local", tests);
    reset();
    return rc;
}
