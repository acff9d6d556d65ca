/* test_mlflow_nested.c - child runs in the mlflow plugin (plugins/mlflow/nested.c): ABI 1.1
 * parent_run_id becomes mlflow.parentRunId
 *
 * Under the scripted host (mlflow_fixtures.h), whose runs/search answers with the parent's run
 * "p0" when asked for H.parent_id and H.parent_exists is set: the parent found at runs/create,
 * not found yet (the child is created top-level and linked at run end), the link surviving
 * the spool into a later flush, a host of ABI minor 0, and the local registry's record.
 * test_mlflow_server.c checks the same against a real MLflow server.
 */
#include "tests/plugins/mlflow_fixtures.h"

#define PARENT "sweep-20240101T000000Z-5w33"

static maestro_run_info_t child_info(void)
{
    maestro_run_info_t run = run_info(0);
    run.parent_run_id = PARENT;
    return run;
}

static void end_ok(void *st)
{
    maestro_run_end_t end = {.status = "ok", .gates_passed = 1};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_OK);
}

static json_t *create_tags(json_t **bodies)
{
    *bodies = bodies_of("runs/create");
    CU_ASSERT_EQUAL(json_array_size(*bodies), 1);
    return json_object_get(json_array_get(*bodies, 0), "tags");
}

/* ---- live --------------------------------------------------------------------------------- */

static void test_mlflow_nested__child_created_under_the_parent(void)
{
    reset();
    H.parent_id = PARENT;
    H.parent_exists = 1;
    void *st = start_plugin();
    maestro_run_info_t run = child_info();
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);

    /* its own run first (not there), then the parent's by its maestro.run_id tag */
    CU_ASSERT_EQUAL(count_of("runs/search"), 2);
    json_t *search = bodies_of("runs/search");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(search, 1), "filter")),
                           "tags.`maestro.run_id` = '" PARENT "'");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
                               json_object_get(json_array_get(search, 1), "experiment_ids"), 0)),
                           "7");
    json_decref(search);
    json_t *bodies;
    json_t *tags = create_tags(&bodies);
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.parentRunId"), "p0");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.parent_run_id"), PARENT);
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.run_id"), "iris-20240101T000000Z-ab12");
    json_decref(bodies);

    clear_requests();
    end_ok(st);
    CU_ASSERT_EQUAL(count_of("runs/set-tag"), 0); /* linked at creation: nothing more */
    CU_ASSERT_EQUAL(count_of("runs/search"), 0);
    maestro_plugin.fini(st);
}

static void test_mlflow_nested__top_level_run_has_no_parent_tags(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("runs/search"), 1);
    json_t *bodies;
    json_t *tags = create_tags(&bodies);
    CU_ASSERT_PTR_NULL(tag_value(tags, "mlflow.parentRunId"));
    CU_ASSERT_PTR_NULL(tag_value(tags, "maestro.parent_run_id"));
    json_decref(bodies);
    end_ok(st);
    CU_ASSERT_EQUAL(count_of("runs/set-tag"), 0);
    maestro_plugin.fini(st);
}

static void test_mlflow_nested__parent_not_there_yet_is_linked_at_run_end(void)
{
    reset();
    H.parent_id = PARENT; /* the parent's instance has not created it yet */
    void *st = start_plugin();
    maestro_run_info_t run = child_info();
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT(logged("parent run " PARENT " has no MLflow run in experiment id 7 yet; this run "
                     "starts top-level and is linked to it at run end"));
    json_t *bodies;
    json_t *tags = create_tags(&bodies);
    CU_ASSERT_PTR_NULL(tag_value(tags, "mlflow.parentRunId"));
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.parent_run_id"), PARENT);
    json_decref(bodies);

    H.parent_exists = 1;
    clear_requests();
    end_ok(st);
    json_t *set = bodies_of("runs/set-tag");
    CU_ASSERT_EQUAL_FATAL(json_array_size(set), 1);
    json_t *b = json_array_get(set, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "run_id")), "r1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "key")), "mlflow.parentRunId");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "value")), "p0");
    json_decref(set);
    CU_ASSERT(logged("MLflow run r1 nested under p0 (run " PARENT ")"));
    CU_ASSERT_EQUAL(count_of("runs/update"), 1);
    maestro_plugin.fini(st);
}

static void test_mlflow_nested__parent_never_there_is_a_warning_not_a_failure(void)
{
    reset();
    H.parent_id = PARENT;
    void *st = start_plugin();
    maestro_run_info_t run = child_info();
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    end_ok(st);
    CU_ASSERT_EQUAL(count_of("runs/set-tag"), 0);
    CU_ASSERT(logged("MLflow shows run r1 top-level (its tag maestro.parent_run_id names the "
                     "parent)"));
    json_t *up = bodies_of("runs/update");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "status")),
                           "FINISHED");
    json_decref(up);
    maestro_plugin.fini(st);
}

static void test_mlflow_nested__resumed_child_is_linked(void)
{
    reset();
    H.parent_id = PARENT;
    H.parent_exists = 1;
    H.exp_exists = 1;
    H.run_exists = 1; /* a preempted trial started again: its MLflow run exists */
    void *st = start_plugin();
    maestro_run_info_t run = child_info();
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("runs/create"), 0);
    CU_ASSERT_EQUAL(count_of("runs/set-tag"), 1);
    clear_requests();
    end_ok(st);
    CU_ASSERT_EQUAL(count_of("runs/set-tag"), 0); /* once is enough */
    maestro_plugin.fini(st);
}

/* ---- spooled ------------------------------------------------------------------------------ */

static void test_mlflow_nested__spooled_child_is_nested_by_a_later_flush(void)
{
    reset();
    H.parent_id = PARENT;
    H.parent_exists = 1;
    H.down = 1;
    void *st = start_plugin();
    maestro_run_info_t run = child_info();
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_E_RETRY);
    maestro_run_end_t end = {.status = "ok", .gates_passed = 1};
    CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_E_RETRY);
    maestro_plugin.fini(st);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 3); /* runs-create, the params' runs-log-batch, runs-update */
    for (int i = 0; i < H.n_spool; i++) {
        json_t *p = json_loads(H.spool[i].data, 0, NULL);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "parent_run_id")), PARENT);
        json_decref(p);
    }

    /* `maestro plugins flush`: a new instance, no run_start; the server is back */
    H.down = 0;
    clear_requests();
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, (char[256]){0}, 256), MAESTRO_OK);
    for (int i = 0; i < H.n_spool; i++)
        CU_ASSERT_EQUAL(maestro_plugin.flush(st, H.spool[i].kind, H.spool[i].data, H.spool[i].len),
                        MAESTRO_OK);
    json_t *bodies;
    json_t *tags = create_tags(&bodies);
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "mlflow.parentRunId"), "p0");
    CU_ASSERT_STRING_EQUAL(tag_value(tags, "maestro.parent_run_id"), PARENT);
    json_decref(bodies);
    CU_ASSERT_EQUAL(count_of("runs/set-tag"), 0);
    CU_ASSERT_EQUAL(count_of("runs/update"), 1);
    maestro_plugin.fini(st);
}

static void test_mlflow_nested__flush_before_the_parents_links_at_the_update(void)
{
    reset();
    H.parent_id = PARENT;
    H.down = 1;
    void *st = start_plugin();
    maestro_run_info_t run = child_info();
    maestro_plugin.run_start(st, &run);
    maestro_run_end_t end = {.status = "ok", .gates_passed = 1};
    maestro_plugin.run_end(st, &end);
    maestro_plugin.fini(st);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 3);
    CU_ASSERT_STRING_EQUAL(H.spool[0].kind, "runs-create");
    CU_ASSERT_STRING_EQUAL(H.spool[2].kind, "runs-update");

    /* the child's spool goes first: its runs/create finds no parent, then the parent's spool
     * is flushed (elsewhere) before the child's runs/update */
    H.down = 0;
    clear_requests();
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, (char[256]){0}, 256), MAESTRO_OK);
    CU_ASSERT_EQUAL(maestro_plugin.flush(st, H.spool[0].kind, H.spool[0].data, H.spool[0].len),
                    MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("runs/create"), 1);
    CU_ASSERT_EQUAL(maestro_plugin.flush(st, H.spool[1].kind, H.spool[1].data, H.spool[1].len),
                    MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("runs/set-tag"), 0);
    H.parent_exists = 1;
    CU_ASSERT_EQUAL(maestro_plugin.flush(st, H.spool[2].kind, H.spool[2].data, H.spool[2].len),
                    MAESTRO_OK);
    json_t *set = bodies_of("runs/set-tag");
    CU_ASSERT_EQUAL_FATAL(json_array_size(set), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(set, 0), "value")),
                           "p0");
    json_decref(set);
    maestro_plugin.fini(st);
}

/* ---- older hosts and the local registry --------------------------------------------------- */

static void test_mlflow_nested__host_of_minor_0_has_no_parent_field(void)
{
    reset();
    H.parent_id = PARENT;
    H.parent_exists = 1;
    maestro_host_t old = host;
    old.version = 0; /* its maestro_run_info_t ends at n_params: the field must not be read */
    void *st = NULL;
    set_config("url", "http://mlflow.test:5000/");
    set_config("backoff_s", "0");
    CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &old, (char[256]){0}, 256), MAESTRO_OK);
    maestro_run_info_t run = child_info(); /* what a 1.0 host would have left unset */
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("runs/search"), 1);
    json_t *bodies;
    json_t *tags = create_tags(&bodies);
    CU_ASSERT_PTR_NULL(tag_value(tags, "mlflow.parentRunId"));
    CU_ASSERT_PTR_NULL(tag_value(tags, "maestro.parent_run_id"));
    json_decref(bodies);
    maestro_plugin.fini(st);
}

static void test_mlflow_nested__local_registry_records_the_parent(void)
{
    char dir[600];
    for (int child = 0; child < 2; child++) {
        reset();
        snprintf(dir, sizeof dir, "%s/registry-nested-%d", mo_test_tmpdir(), child);
        set_config("registry_dir", dir);
        void *st = NULL;
        CU_ASSERT_EQUAL_FATAL(maestro_plugin.init(&st, &host, (char[256]){0}, 256), MAESTRO_OK);
        maestro_run_info_t run = child ? child_info() : run_info(0);
        maestro_plugin.run_start(st, &run);
        maestro_run_end_t end = {.status = "ok",
                                 .gates_passed = 1,
                                 .model_path = write_tmp("nested.h5", "HDF5"),
                                 .registry_model = "iris"};
        CU_ASSERT_EQUAL(maestro_plugin.run_end(st, &end), MAESTRO_OK);
        maestro_plugin.fini(st);
        CU_ASSERT_EQUAL(H.n_req, 0);
        char meta[700];
        snprintf(meta, sizeof meta, "%s/iris/versions/1/meta.json", dir);
        json_t *m = json_load_file(meta, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        if (child) {
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "parent_run_id")), PARENT);
        } else {
            CU_ASSERT_PTR_NULL(json_object_get(m, "parent_run_id")); /* absent, not null */
        }
        json_decref(m);
    }
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow_nested__child_created_under_the_parent),
    MO_TEST(test_mlflow_nested__top_level_run_has_no_parent_tags),
    MO_TEST(test_mlflow_nested__parent_not_there_yet_is_linked_at_run_end),
    MO_TEST(test_mlflow_nested__parent_never_there_is_a_warning_not_a_failure),
    MO_TEST(test_mlflow_nested__resumed_child_is_linked),
    MO_TEST(test_mlflow_nested__spooled_child_is_nested_by_a_later_flush),
    MO_TEST(test_mlflow_nested__flush_before_the_parents_links_at_the_update),
    MO_TEST(test_mlflow_nested__host_of_minor_0_has_no_parent_field),
    MO_TEST(test_mlflow_nested__local_registry_records_the_parent),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = mo_test_main("plugins/mlflow_nested", tests);
    reset();
    return rc;
}
