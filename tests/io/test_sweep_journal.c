/* test_sweep_journal.c - the sweep journal in memory, its best trial and inspect
 * (io/sweep_journal.c) */
#include "io/h5.h"
#include "io/sweep_journal.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *names[] = {"lr", "layers"};
static const char *types[] = {"double", "categorical"};

static void init(mo_sweep_journal_t *j, int maximize)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(
        mo_sj_init(j, "s", "random", "loss", maximize, "template", NULL, 2, names, types, &err), 0);
}

/* Trial `number` started; lr = number / 10. */
static void add(mo_sweep_journal_t *j, int64_t number)
{
    mo_error_t err = {0};
    char lr[32];
    snprintf(lr, sizeof lr, "%g", (double)number / 10);
    double x[2] = {(double)number / 10, (double)(number % 2)};
    const char *t[2] = {lr, number % 2 ? "[64]" : "[32, 32]"};
    CU_ASSERT(mo_sj_add_trial(j, number, 0, x, t, 100 + (double)number, NULL, &err) >= 0);
}

static void finish(mo_sweep_journal_t *j, int64_t number, int32_t status, double objective)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_sj_end_trial(j, number, status, objective, 1, "boom", &err), 0);
}

static void test_sweep_journal__init_checks_its_arguments(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    const char *bad_types[] = {"double", "float"};
    CU_ASSERT_EQUAL(mo_sj_init(NULL, "s", "grid", "m", 0, "template", NULL, 0, NULL, NULL, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_init(&j, "", "grid", "m", 0, "template", NULL, 0, NULL, NULL, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_init(&j, "s", "grid", NULL, 0, "template", NULL, 0, NULL, NULL, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_init(&j, "s", "grid", "m", 0, "train", NULL, 0, NULL, NULL, &err),
                    MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'train'"));
    CU_ASSERT_EQUAL(mo_sj_init(&j, "s", "grid", "m", 0, "command", NULL, 2, NULL, types, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_init(&j, "s", "grid", "m", 0, "command", NULL, 2, names, bad_types, &err),
                    MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "layers"));
    CU_ASSERT(j.name == NULL && j.n_trials == 0); /* left empty */
    mo_sj_free(&j);
    mo_sj_free(NULL);
    init(&j, 7); /* any non-zero is maximize */
    CU_ASSERT_EQUAL(j.maximize, 1);
    CU_ASSERT_STRING_EQUAL(j.status, "running");
    CU_ASSERT(j.seq == 0 && j.dim == 2 && j.spec_text == NULL);
    mo_sj_free(&j);
}

static void test_sweep_journal__every_change_counts_one_event(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    init(&j, 0);
    add(&j, 5);
    CU_ASSERT_EQUAL(j.seq, 1);
    CU_ASSERT(isnan(j.trials[0].objective) && j.trials[0].status == MO_SJ_RUNNING);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 5, 1, 0.5, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 5, 2, 0.25, &err), 0);
    CU_ASSERT(j.n_reports == 2 && j.reports[0].seq == 2 && j.reports[1].seq == 3);
    CU_ASSERT(j.reports[1].trial == 5 && j.reports[1].step == 2 && j.reports[1].value == 0.25);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 5, MO_SJ_COMPLETED, 0.25, 3.5, "ignored", &err), 0);
    CU_ASSERT(j.seq == 4 && j.trials[0].end_seq == 4 && j.trials[0].duration == 3.5);
    CU_ASSERT_PTR_NULL(j.trials[0].error); /* kept only for failed trials */
    CU_ASSERT_EQUAL(mo_sj_set_status(&j, "completed", &err), 0);
    CU_ASSERT(j.seq == 5 && !strcmp(j.status, "completed"));
    /* Refused changes count nothing. */
    CU_ASSERT_EQUAL(mo_sj_set_status(&j, "done", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 5, 3, 0.1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "trial 5 is completed, not running"));
    CU_ASSERT_EQUAL(mo_sj_report(&j, 6, 3, 0.1, &err), MO_ENOTFOUND);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 5, MO_SJ_FAILED, 1, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(j.seq, 5);
    mo_sj_free(&j);
}

static void test_sweep_journal__bad_arguments_are_refused(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    double x[2] = {0, 0};
    const char *t[2] = {"0", NULL};
    init(&j, 0);
    add(&j, 1);
    CU_ASSERT_EQUAL(mo_sj_add_trial(NULL, 2, 0, x, t, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_add_trial(&j, 2, 0, NULL, t, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_add_trial(&j, 2, 0, x, t, 0, NULL, &err), MO_EINVAL); /* NULL text */
    t[1] = "[1]";
    CU_ASSERT_EQUAL(mo_sj_add_trial(&j, 1, 0, x, t, 0, NULL, &err), MO_EINVAL); /* again */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "trial 1 is already recorded"));
    CU_ASSERT_EQUAL(mo_sj_report(NULL, 1, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_end_trial(NULL, 1, MO_SJ_COMPLETED, 0, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 1, MO_SJ_RUNNING, 0, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 1, 4, 0, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 1, MO_SJ_COMPLETED, 0, -1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 1, MO_SJ_COMPLETED, 0, NAN, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 9, MO_SJ_COMPLETED, 0, 0, NULL, &err), MO_ENOTFOUND);
    CU_ASSERT_EQUAL(mo_sj_restart_trial(NULL, 1, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_restart_trial(&j, 9, 0, 0, &err), MO_ENOTFOUND);
    CU_ASSERT_EQUAL(mo_sj_set_status(NULL, "running", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_set_status(&j, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_find(NULL, 1), -1);
    CU_ASSERT_EQUAL(mo_sj_find(&j, 2), -1);
    CU_ASSERT_EQUAL(mo_sj_best(NULL), -1);
    CU_ASSERT(j.n_trials == 1 && j.seq == 1);
    mo_sj_free(&j);
}

static void test_sweep_journal__best_completed_for_each_goal(void)
{
    for (int maximize = 0; maximize <= 1; maximize++) {
        mo_sweep_journal_t j;
        init(&j, maximize);
        CU_ASSERT_EQUAL(mo_sj_best(&j), -1); /* no trial */
        for (int64_t n = 1; n <= 7; n++)
            add(&j, n);
        CU_ASSERT_EQUAL(mo_sj_best(&j), -1); /* none finished */
        finish(&j, 1, MO_SJ_COMPLETED, 0.5);
        finish(&j, 2, MO_SJ_COMPLETED, 0.2);
        finish(&j, 3, MO_SJ_COMPLETED, 0.8);
        finish(&j, 4, MO_SJ_PRUNED, maximize ? 5.0 : -5.0); /* better, but only pruned */
        finish(&j, 5, MO_SJ_FAILED, maximize ? 9.0 : -9.0); /* failed never counts */
        finish(&j, 6, MO_SJ_COMPLETED, NAN);                /* no objective */
        CU_ASSERT_EQUAL(j.trials[mo_sj_best(&j)].number, maximize ? 3 : 2);
        /* A tie goes to the lower number, whatever the order of the trials. */
        finish(&j, 7, MO_SJ_COMPLETED, maximize ? 0.8 : 0.2);
        add(&j, 0);
        finish(&j, 0, MO_SJ_COMPLETED, maximize ? 0.8 : 0.2);
        CU_ASSERT_EQUAL(j.trials[mo_sj_best(&j)].number, 0);
        mo_sj_free(&j);
    }
}

static void test_sweep_journal__best_pruned_only_without_completed(void)
{
    mo_sweep_journal_t j;
    init(&j, 0);
    for (int64_t n = 1; n <= 5; n++)
        add(&j, n);
    finish(&j, 1, MO_SJ_PRUNED, INFINITY);
    finish(&j, 2, MO_SJ_PRUNED, NAN);
    finish(&j, 3, MO_SJ_FAILED, 0.1);
    CU_ASSERT_EQUAL(mo_sj_best(&j), -1); /* no finite pruned objective */
    finish(&j, 4, MO_SJ_PRUNED, 0.7);
    finish(&j, 5, MO_SJ_PRUNED, 0.6);
    CU_ASSERT_EQUAL(j.trials[mo_sj_best(&j)].number, 5);
    add(&j, 6);
    finish(&j, 6, MO_SJ_COMPLETED, 0.9);
    CU_ASSERT_EQUAL(j.trials[mo_sj_best(&j)].number, 6);
    mo_sj_free(&j);
}

static void test_sweep_journal__restart_drops_reports_and_result(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    init(&j, 0);
    add(&j, 1);
    add(&j, 2);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 1, 1, 0.9, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 2, 1, 0.8, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 1, 2, 0.7, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 2, 2, 0.6, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 2, MO_SJ_FAILED, 0.6, 4, "stopped", &err), 0);
    int64_t seq = j.seq;
    /* A running trial and a failed one both start over. */
    CU_ASSERT_EQUAL(mo_sj_restart_trial(&j, 1, 3, 500, &err), 0);
    CU_ASSERT_EQUAL(j.seq, seq + 1);
    CU_ASSERT_EQUAL_FATAL(j.n_reports, 2);
    CU_ASSERT(j.reports[0].trial == 2 && j.reports[0].value == 0.8);
    CU_ASSERT(j.reports[1].trial == 2 && j.reports[1].value == 0.6);
    CU_ASSERT(j.trials[0].group == 3 && j.trials[0].start_time == 500);
    CU_ASSERT_EQUAL(mo_sj_restart_trial(&j, 2, 1, 600, &err), 0);
    const mo_sj_trial_t *t = &j.trials[1];
    CU_ASSERT(t->status == MO_SJ_RUNNING && t->end_seq == 0 && t->duration == 0);
    CU_ASSERT(isnan(t->objective) && t->error == NULL && t->group == 1 && t->start_time == 600);
    CU_ASSERT_STRING_EQUAL(t->text[1], "[32, 32]"); /* the parameters stay */
    CU_ASSERT(j.n_reports == 0 && j.seq == seq + 2);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 2, 1, 0.5, &err), 0); /* running again */
    mo_sj_free(&j);
}

static void test_sweep_journal__thousands_of_trials_and_reports(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    init(&j, 1);
    for (int64_t n = 0; n < 3000; n++) {
        add(&j, n);
        CU_ASSERT_EQUAL(mo_sj_report(&j, n, 0, (double)n, &err), 0);
        CU_ASSERT_EQUAL(mo_sj_report(&j, n, 1, (double)n, &err), 0);
        finish(&j, n, MO_SJ_COMPLETED, (double)(n % 1000));
    }
    CU_ASSERT(j.n_trials == 3000 && j.n_reports == 6000 && j.seq == 12000);
    CU_ASSERT_EQUAL(mo_sj_find(&j, 1234), 1234);
    CU_ASSERT_EQUAL(j.trials[mo_sj_best(&j)].number, 999);
    mo_sj_free(&j);
}

/* ---- inspect ------------------------------------------------------------------------------ */

static json_t *describe(const mo_sweep_journal_t *j, const char *name)
{
    char path[512];
    mo_error_t err = {0};
    json_t *d = NULL;
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL(mo_sj_write(j, path, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_describe(&d, path, &err), 0);
    return d;
}

/* A string member, "(none)" when absent or not a string (so a failure cannot crash). */
static const char *js(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

/* The trial numbers of inspect's `trials`, in order, as "n,n,n". */
static const char *order(const json_t *d)
{
    static char buf[256];
    size_t i, len = 0;
    json_t *t;
    buf[0] = '\0';
    json_array_foreach(json_object_get(d, "trials"), i, t) len +=
        (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? "," : "",
                         (long long)json_integer_value(json_object_get(t, "number")));
    return buf;
}

static void test_sweep_journal__inspect_sorts_best_first(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    init(&j, 0);
    for (int64_t n = 1; n <= 6; n++)
        add(&j, n);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 1, 1, 0.9, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 1, 2, 0.6, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(&j, 3, 1, 0.95, &err), 0);
    finish(&j, 1, MO_SJ_COMPLETED, 0.4);
    finish(&j, 2, MO_SJ_COMPLETED, 0.3);
    finish(&j, 3, MO_SJ_PRUNED, 0.95);
    finish(&j, 4, MO_SJ_FAILED, NAN);
    finish(&j, 6, MO_SJ_COMPLETED, 0.3); /* ties 2: the lower number first */
    json_t *d = describe(&j, "inspect-min.h5");
    CU_ASSERT_STRING_EQUAL(js(d, "kind"), "sweep");
    CU_ASSERT_STRING_EQUAL(js(d, "name"), "s");
    CU_ASSERT_STRING_EQUAL(js(d, "algorithm"), "random");
    CU_ASSERT_STRING_EQUAL(js(d, "status"), "running");
    json_t *o = json_object_get(d, "objective");
    CU_ASSERT_STRING_EQUAL(js(o, "metric"), "loss");
    CU_ASSERT_STRING_EQUAL(js(o, "goal"), "minimize");
    json_t *c = json_object_get(d, "counts");
    CU_ASSERT(json_integer_value(json_object_get(c, "running")) == 1 &&
              json_integer_value(json_object_get(c, "completed")) == 3 &&
              json_integer_value(json_object_get(c, "pruned")) == 1 &&
              json_integer_value(json_object_get(c, "failed")) == 1);
    /* Objective order, then the trials without one (failed 4, running 5) by number. */
    CU_ASSERT_STRING_EQUAL(order(d), "2,6,1,3,4,5");
    json_t *t = json_array_get(json_object_get(d, "trials"), 2); /* trial 1 */
    CU_ASSERT_STRING_EQUAL(js(t, "status"), "completed");
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(t, "objective")), 0.4, 0);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(t, "duration")), 1, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "steps")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "group")), 0);
    CU_ASSERT(json_is_null(json_object_get(t, "artifact")));
    CU_ASSERT_PTR_NULL(json_object_get(t, "error")); /* only failed trials have one */
    json_t *p = json_object_get(t, "params");
    CU_ASSERT_STRING_EQUAL(js(p, "lr"), "0.1");
    CU_ASSERT_STRING_EQUAL(js(p, "layers"), "[64]");
    t = json_array_get(json_object_get(d, "trials"), 4); /* trial 4, failed */
    CU_ASSERT(json_is_null(json_object_get(t, "objective")));
    CU_ASSERT_STRING_EQUAL(js(t, "error"), "boom");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "steps")), 0);
    json_t *b = json_object_get(d, "best");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "number")), 2);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(b, "objective")), 0.3, 0);
    CU_ASSERT_STRING_EQUAL(js(json_object_get(b, "params"), "lr"), "0.2");
    json_decref(d);
    mo_sj_free(&j);
    /* Maximize: highest first; nothing finished yet: best is null. */
    init(&j, 1);
    for (int64_t n = 1; n <= 3; n++)
        add(&j, n);
    d = describe(&j, "inspect-none.h5");
    CU_ASSERT(json_is_null(json_object_get(d, "best")));
    CU_ASSERT_STRING_EQUAL(order(d), "1,2,3");
    json_decref(d);
    finish(&j, 1, MO_SJ_COMPLETED, 0.5);
    finish(&j, 2, MO_SJ_COMPLETED, 0.9);
    finish(&j, 3, MO_SJ_PRUNED, 0.7);
    d = describe(&j, "inspect-max.h5");
    CU_ASSERT_STRING_EQUAL(order(d), "2,3,1");
    CU_ASSERT_STRING_EQUAL(js(json_object_get(d, "objective"), "goal"), "maximize");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(d, "best"), "number")), 2);
    json_decref(d);
    mo_sj_free(&j);
}

static void test_sweep_journal__inspect_of_a_damaged_journal_gives_nulls(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    char path[512];
    init(&j, 0);
    add(&j, 1);
    snprintf(path, sizeof path, "%s/damaged.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(&j, path, &err), 0);
    mo_sj_free(&j);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT(f >= 0 && H5Ldelete(f, "trials/group", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    json_t *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&d, path, &err), 0);
    CU_ASSERT_STRING_EQUAL(js(d, "kind"), "sweep");
    const char *keys[] = {"name", "algorithm", "objective", "status", "counts", "trials", "best"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CU_ASSERT(json_is_null(json_object_get(d, keys[i])));
    CU_ASSERT(json_array_size(json_object_get(d, "datasets")) > 10); /* the generic part stays */
    json_decref(d);
}

static CU_TestInfo tests[] = {MO_TEST(test_sweep_journal__init_checks_its_arguments),
                              MO_TEST(test_sweep_journal__every_change_counts_one_event),
                              MO_TEST(test_sweep_journal__bad_arguments_are_refused),
                              MO_TEST(test_sweep_journal__best_completed_for_each_goal),
                              MO_TEST(test_sweep_journal__best_pruned_only_without_completed),
                              MO_TEST(test_sweep_journal__restart_drops_reports_and_result),
                              MO_TEST(test_sweep_journal__thousands_of_trials_and_reports),
                              MO_TEST(test_sweep_journal__inspect_sorts_best_first),
                              MO_TEST(test_sweep_journal__inspect_of_a_damaged_journal_gives_nulls),
                              CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/sweep_journal", tests);
}
