/* test_prometheus_deliver.c - the prometheus plugin's delivery: Pushgateway PUT and DELETE,
 * spooling what cannot be sent, flushing it later (plugins/prometheus/deliver.c)
 *
 * Under the scripted host (prometheus_fixtures.h), which answers each request from a script
 * and keeps what is spooled: a 5xx or no answer is spooled and flushed later, a 4xx is logged
 * and dropped, an older spooled body never overwrites a newer one (in this process or, through
 * the record beside the payloads, in another), and a DELETE that cannot be sent is spooled
 * as such.
 */
#include "tests/plugins/prometheus_fixtures.h"

static void test_prometheus_deliver__5xx_spooled_then_flushed(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    H.spool_dir = run_dir("s5xx");
    H.answers[0] = 503;
    H.answer_body = "busy";
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    CU_ASSERT_STRING_EQUAL(H.spool[0].kind, "push-rank0");
    CU_ASSERT(logged("HTTP 503: busy; spooled for retry"));
    /* the spooled payload carries the body as it was to be sent */
    const char *body = strstr(H.spool[0].data, "\n\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body + 2, H.req[0].body);

    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT_STRING_EQUAL(H.req[1].method, "PUT");
    CU_ASSERT_STRING_EQUAL(H.req[1].url, GROUP "0");
    CU_ASSERT_STRING_EQUAL(H.req[1].body, H.req[0].body);
    /* a second flush of the same payload is stale: no request */
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    P->fini(st);
}

static void test_prometheus_deliver__no_response_spooled_flush_keeps_retrying(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    H.spool_dir = run_dir("srefused");
    H.answers[0] = 0;
    H.answers[1] = 0;
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_RETRY);
    CU_ASSERT(logged("no response (Connection refused); spooled for retry"));
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    /* still away: RETRY, and nothing spooled twice (the host keeps the payload) */
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL(H.n_spool, 1);
    CU_ASSERT_EQUAL(H.n_req, 2);
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 3);
    /* garbage in the spool is not ours: refused, no request */
    CU_ASSERT_EQUAL(P->flush(st, "push", "hello\n\nworld", 12), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(P->flush(st, "push", NULL, 0), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_req, 3);
    P->fini(st);
}

static void test_prometheus_deliver__4xx_logged_not_spooled(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    H.spool_dir = run_dir("s4xx");
    H.answers[0] = 400;
    H.answer_body = "pushed metrics are invalid or inconsistent with existing metrics:\n"
                    "collected metric \"maestro_epoch\" is not a GAUGE";
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_FAILED);
    CU_ASSERT_EQUAL(H.n_spool, 0);
    CU_ASSERT(logged("HTTP 400: pushed metrics are invalid or inconsistent with existing "
                     "metrics: collected metric \"maestro_epoch\" is not a GAUGE; dropped"));
    P->fini(st);
}

static void test_prometheus_deliver__older_spooled_body_never_overwrites_newer(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    const char *dir = run_dir("sstale");
    H.spool_dir = dir;
    char spool_dir[600];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool/prometheus", dir);
    H.spool_dir = spool_dir;
    maestro_run_info_t ri = run_info(dir, 0);
    H.answers[0] = 0; /* the start push fails: spooled */
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_E_RETRY);
    H.now += 1000;
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_OK); /* delivered: newer */
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    CU_ASSERT_EQUAL(H.n_req, 2);
    /* in this process: skipped from memory */
    CU_ASSERT_EQUAL(P->flush(st, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 2);
    P->fini(st);

    /* in another process (`maestro plugins flush`): skipped from the record in the spool */
    char rec[700];
    snprintf(rec, sizeof rec, "%s/delivered-rank0", spool_dir);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(rec, &sb), 0);
    spooled_t old = H.spool[0];
    H.spool[0].data = NULL;
    H.n_spool = 0;
    void *st2 = NULL;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(P->init(&st2, &host, err, sizeof err), MAESTRO_OK);
    int n_before = H.n_req;
    CU_ASSERT_EQUAL(P->flush(st2, "push", old.data, old.len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, n_before);
    P->fini(st2);
    free(old.data);
    /* the record is not a payload name the host would pick up (<digits>-<kind>) */
    DIR *d = opendir(spool_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    int tmp = 0;
    while ((e = readdir(d)))
        tmp += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    CU_ASSERT_EQUAL(tmp, 0);
}

static void test_prometheus_deliver__newer_spooled_body_delivered_by_other_process(void)
{
    maestro_kv_t cfg[] = {{"url", URL}};
    void *st = start(cfg, 1);
    const char *dir = run_dir("snewer");
    char spool_dir[600];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool/prometheus", dir);
    H.spool_dir = spool_dir;
    maestro_run_info_t ri = run_info(dir, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    H.answers[1] = 0;
    H.answers[2] = 503;
    H.now += 1000;
    CU_ASSERT_EQUAL(metric(st, "epoch", 1), MAESTRO_E_RETRY);
    H.now += 1000;
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 2);
    P->fini(st);
    /* a later flush with a corrected url delivers both, in order, to the new address */
    maestro_kv_t cfg2[] = {{"url", "http://gw.example:9091"}};
    H.config = cfg2;
    void *st2 = NULL;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(P->init(&st2, &host, err, sizeof err), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->flush(st2, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(P->flush(st2, "push", H.spool[1].data, H.spool[1].len), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 5);
    CU_ASSERT_STRING_EQUAL(H.req[4].url, "http://gw.example:9091/metrics/job/maestro/run/"
                                         "demo-20240101T000000Z-ab12/rank/0");
    CU_ASSERT(has(H.req[4].body, "maestro_run_status{status=\"ok\"} 1\n"));
    /* replayed out of order, the older one is now stale */
    CU_ASSERT_EQUAL(P->flush(st2, "push", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_EQUAL(H.n_req, 5);
    P->fini(st2);
}

static void test_prometheus_deliver__delete_on_success(void)
{
    maestro_kv_t cfg[] = {{"url", URL}, {"delete_on_success", "true"}};
    void *st = start(cfg, 2);
    maestro_run_info_t ri = run_info(NULL, 0);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    H.answers[1] = 202;
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT_STRING_EQUAL(H.req[1].method, "DELETE");
    CU_ASSERT_STRING_EQUAL(H.req[1].url, GROUP "0");
    CU_ASSERT_STRING_EQUAL(H.req[1].body, "");
    P->fini(st);

    /* a run that did not succeed stays visible */
    st = start(cfg, 2);
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    CU_ASSERT_EQUAL(end_run(st, "gate_failed", 0), MAESTRO_OK);
    CU_ASSERT_EQUAL_FATAL(H.n_req, 2);
    CU_ASSERT_STRING_EQUAL(H.req[1].method, "PUT");
    CU_ASSERT(has(H.req[1].body, "maestro_run_status{status=\"gate_failed\"} 1\n"));
    P->fini(st);

    /* a DELETE that cannot be sent is spooled as such */
    st = start(cfg, 2);
    H.spool_dir = run_dir("sdelete");
    CU_ASSERT_EQUAL(P->run_start(st, &ri), MAESTRO_OK);
    H.answers[1] = 0;
    CU_ASSERT_EQUAL(end_run(st, "ok", 0), MAESTRO_E_RETRY);
    CU_ASSERT_EQUAL_FATAL(H.n_spool, 1);
    CU_ASSERT_STRING_EQUAL(H.spool[0].kind, "delete-rank0");
    CU_ASSERT_EQUAL(P->flush(st, "delete", H.spool[0].data, H.spool[0].len), MAESTRO_OK);
    CU_ASSERT_STRING_EQUAL(H.req[2].method, "DELETE");
    P->fini(st);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_prometheus_deliver__5xx_spooled_then_flushed),
    MO_TEST(test_prometheus_deliver__no_response_spooled_flush_keeps_retrying),
    MO_TEST(test_prometheus_deliver__4xx_logged_not_spooled),
    MO_TEST(test_prometheus_deliver__older_spooled_body_never_overwrites_newer),
    MO_TEST(test_prometheus_deliver__newer_spooled_body_delivered_by_other_process),
    MO_TEST(test_prometheus_deliver__delete_on_success),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return prom_test_main("plugins/prometheus_deliver", tests);
}
