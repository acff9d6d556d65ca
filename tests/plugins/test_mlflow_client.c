/* test_mlflow_client.c - the mlflow plugin's HTTP client: retries, MLflow's error bodies,
 * experiments and runs (plugins/mlflow/client.c)
 *
 * Under the scripted host (mlflow_fixtures.h): 5xx answers are tried again and 4xx ones are
 * final with MLflow's error_code and message in the log, HTML error pages are read, an
 * experiment made by someone else meanwhile is found, and a resumed run is continued rather
 * than made again.
 */
#include "tests/plugins/mlflow_fixtures.h"

static void test_mlflow_client__5xx_is_retried_then_works(void)
{
    reset();
    void *st = start_plugin();
    H.answers[0] = 503;
    H.answers[1] = 502;
    H.answer_body = "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":\"busy\"}";
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("experiments/get-by-name"), 3);
    CU_ASSERT_EQUAL(count_of("runs/create"), 1);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    maestro_plugin.fini(st);
}

static void test_mlflow_client__4xx_is_final_and_says_mlflows_error(void)
{
    reset();
    void *st = start_plugin();
    maestro_run_info_t run = run_info(0);
    maestro_plugin.run_start(st, &run);
    clear_requests();
    maestro_event_t e = metric("loss", 1, 1);
    maestro_plugin.event(st, &e);
    H.answers[0] = 400;
    H.answer_body = "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"Changing "
                    "param values is not allowed.\"}";
    CU_ASSERT_EQUAL(mlf_metrics_flush(st), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_req, 1); /* not retried */
    CU_ASSERT_EQUAL(H.n_spool, 0);
    CU_ASSERT(logged("runs/log-batch: HTTP 400 INVALID_PARAMETER_VALUE: Changing param values "
                     "is not allowed."));
    maestro_plugin.fini(st);
}

static void test_mlflow_client__html_error_pages_are_read(void)
{
    reset();
    void *st = start_plugin();
    for (int i = 0; i < 4; i++)
        H.answers[i] = 500;
    H.answer_body = "<!doctype html>\n<html><head><title>500 Internal Server Error</title></head>"
                    "<body><h1>Internal Server Error</h1></body></html>";
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_req, 4); /* max_tries */
    CU_ASSERT(logged("HTTP 500 with a non-JSON body: 500 Internal Server Error"));
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 2);
    CU_ASSERT_STRING_EQUAL(H.spool[0].kind, "runs-create");
    CU_ASSERT_STRING_EQUAL(H.spool[1].kind, "runs-log-batch");
    maestro_plugin.fini(st);
}

static void test_mlflow_client__experiment_create_race(void)
{
    reset();
    void *st = start_plugin();
    H.exp_exists = 1; /* what the third request sees: the other run's experiment */
    H.answers[0] = 404;
    H.bodies[0] = "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"no\"}";
    H.answers[1] = 400;
    H.bodies[1] = "{\"error_code\":\"RESOURCE_ALREADY_EXISTS\",\"message\":\"exists\"}";
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[1].url, "experiments/create"));
    CU_ASSERT_PTR_NOT_NULL(strstr(H.req[2].url, "experiments/get-by-name"));
    json_t *create = bodies_of("runs/create");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(create, 0), "experiment_id")), "7");
    json_decref(create);
    maestro_plugin.fini(st);
}

static void test_mlflow_client__resumed_run_is_continued(void)
{
    reset();
    void *st = start_plugin();
    H.exp_exists = 1;
    H.run_exists = 1; /* runs/search finds the run tagged with this maestro.run_id */
    maestro_run_info_t run = run_info(0);
    CU_ASSERT_EQUAL(maestro_plugin.run_start(st, &run), MAESTRO_OK);
    CU_ASSERT_EQUAL(count_of("runs/create"), 0);
    json_t *up = bodies_of("runs/update");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "status")),
                           "RUNNING");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(up, 0), "run_id")),
                           "r1");
    json_decref(up);
    maestro_plugin.fini(st);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_mlflow_client__5xx_is_retried_then_works),
    MO_TEST(test_mlflow_client__4xx_is_final_and_says_mlflows_error),
    MO_TEST(test_mlflow_client__html_error_pages_are_read),
    MO_TEST(test_mlflow_client__experiment_create_race),
    MO_TEST(test_mlflow_client__resumed_run_is_continued),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = mo_test_main("plugins/mlflow_client", tests);
    reset();
    return rc;
}
