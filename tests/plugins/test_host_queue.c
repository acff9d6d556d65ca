/* test_host_queue.c - the host's event queue (host_queue.c): deep copies and order, the
 * producers' bound under backpressure, dropped events at run end
 */
#include "core/time.h"
#include "plugins/host.h"
#include "tests/plugins/host_fixtures.h"
#include "tests/unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- order -------------------------------------------------------------------------------- */

static void test_host_queue__example_events_arrive_in_order(void)
{
    use_test_path();
    const char *run = fresh_dir("order");
    char path[600];
    snprintf(path, sizeof path, "%s/example-events.jsonl", run); /* the default path */
    mo_error_t err = {0};
    int rc;
    mo_plugins_t *p = open_one("example", NULL, 0, run, 0, &err, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    maestro_run_info_t info = run_info(run);
    mo_plugins_run_start(p, &info);
    maestro_kv_t labels[] = {{"rank", "0"}, {"quote", "a\"b"}};
    for (int i = 0; i < 200; i++)
        mo_plugins_metric(p, "train_loss", i * 0.5, i, i / 50, labels, 2);
    mo_plugins_log(p, MAESTRO_LOG_INFO, "train", "epoch 3 done");
    mo_plugins_artifact(p, "/x/run.h5", "model/run.h5");
    mo_plugins_model(p, "/x/run.h5", "run.h5");
    maestro_run_end_t end = run_end_ok();
    mo_plugins_run_end(p, &end);
    /* run end drained: everything is in the file before close */
    CU_ASSERT_EQUAL(count_lines(path), 1 + 200 + 3 + 1);
    mo_plugins_close(p);

    json_t *j = json_line(path, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")), "run_start");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "run_id")), info.run_id);
    json_decref(j);
    int in_order = 1;
    for (int i = 0; i < 200; i++) {
        j = json_line(path, 1 + i);
        in_order &=
            j && json_number_value(json_object_get(j, "value")) == i * 0.5 &&
            json_integer_value(json_object_get(j, "step")) == i &&
            !strcmp(json_string_value(json_object_get(json_object_get(j, "labels"), "quote")),
                    "a\"b");
        json_decref(j);
    }
    CU_ASSERT(in_order);
    j = json_line(path, 201);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")), "epoch 3 done");
    json_decref(j);
    j = json_line(path, 203);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")), "model");
    json_decref(j);
    j = json_line(path, 204);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")), "run_end");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "events")), 203);
    CU_ASSERT_EQUAL(
        json_number_value(json_object_get(json_object_get(j, "metrics"), "val_accuracy")), 0.75);
    json_decref(j);
}

/* ---- backpressure ------------------------------------------------------------------------- */

static void test_host_queue__producer_never_blocks_past_the_bound(void)
{
    use_test_path();
    log_capture("stuck");
    maestro_kv_t cfg[] = {{"sleep_ms", "300"}};
    int rc;
    mo_plugins_t *p = open_one("probe", cfg, 1, NULL, 0.3, NULL, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    double worst = 0, t0 = mo_time_mono();
    for (int i = 0; i < 6000; i++) {
        double t = mo_time_mono();
        mo_plugins_metric(p, "m", i, i, 0, NULL, 0);
        double dt = mo_time_mono() - t;
        worst = dt > worst ? dt : worst;
    }
    double total = mo_time_mono() - t0;
    /* The bound is ~5 ms once per overflow; the slack is for sanitizer builds. */
    CU_ASSERT(worst < 0.1);
    CU_ASSERT(total < 3.0);
    maestro_run_end_t end = run_end_ok();
    double t1 = mo_time_mono();
    mo_plugins_run_end(p, &end); /* gives up after end_timeout_s, not 4096 x 300 ms */
    mo_plugins_close(p);
    CU_ASSERT(mo_time_mono() - t1 < 3.0);
    char *log = log_release();
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "queued events not delivered"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "dropped"));
    free(log);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_host_queue__example_events_arrive_in_order),
    MO_TEST(test_host_queue__producer_never_blocks_past_the_bound),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/host_queue", tests);
}
