/* test_space.c - sweep parameters: validation, parsing with locations, grids, snapping */
#include "io/config.h"
#include "jobs/sweep/space.h"
#include "tests/unit.h"

#include <math.h>
#include <string.h>

static int parse(const char *yaml, mo_space_t **out, mo_error_t *err)
{
    mo_cfg_t *cfg = NULL;
    int rc = mo_cfg_load_string(&cfg, "spec.yml", yaml, NULL, err);
    if (!rc)
        rc = mo_space_parse(out, mo_cfg_lookup(mo_cfg_root(cfg), "parameters"), err);
    mo_cfg_destroy(cfg);
    return rc;
}

static void test_space__parses_the_issue_example(void)
{
    const char *yaml = "parameters:\n"
                       "  - {name: optimizer.lr, type: double, min: 1e-4, max: 0.5, scale: log}\n"
                       "  - {name: optimizer.momentum, type: double, min: 0.0, max: 0.99}\n"
                       "  - {name: model.hidden, type: categorical, values: [[64], [128, 128], "
                       "\"relu\"]}\n"
                       "  - {name: training.batch_size, type: discrete, values: [64, 128, 256]}\n"
                       "  - {name: training.epochs, type: int, min: 2, max: 10}\n";
    mo_space_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(parse(yaml, &s, &err), 0);
    CU_ASSERT_EQUAL(mo_space_dim(s), 5);
    const mo_param_t *lr = mo_space_param(s, 0);
    CU_ASSERT_STRING_EQUAL(lr->name, "optimizer.lr");
    CU_ASSERT_EQUAL(lr->scale, MO_SCALE_LOG);
    CU_ASSERT_DOUBLE_EQUAL(lr->min, 1e-4, 1e-12);
    const mo_param_t *h = mo_space_param(s, 2);
    CU_ASSERT_EQUAL(h->type, MO_PARAM_CATEGORICAL);
    CU_ASSERT_EQUAL(h->n_values, 3);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(mo_space_format(s, 2, 0, buf, sizeof(buf)), "[64]");
    CU_ASSERT_STRING_EQUAL(mo_space_format(s, 2, 1, buf, sizeof(buf)), "[128, 128]");
    CU_ASSERT_STRING_EQUAL(mo_space_format(s, 2, 2, buf, sizeof(buf)), "\"relu\"");
    CU_ASSERT_STRING_EQUAL(mo_space_format(s, 3, 128, buf, sizeof(buf)), "128");
    CU_ASSERT_STRING_EQUAL(mo_space_format(s, 4, 7, buf, sizeof(buf)), "7");
    CU_ASSERT_EQUAL(mo_space_find(s, "training.epochs"), 4);
    CU_ASSERT_EQUAL(mo_space_find(s, "nope"), -1);
    mo_space_destroy(s);
}

static void expect_error(const char *item, const char *where, const char *what)
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "parameters:\n  - %s\n", item);
    mo_space_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(parse(yaml, &s, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(s);
    if (!strstr(err.msg, where) || !strstr(err.msg, what))
        fprintf(stderr, "\nunexpected message: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, where));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, what));
}

static void test_space__bad_input_is_einval_with_location(void)
{
    expect_error("{name: a, type: double, min: 1, max: 1}", "spec.yml:2:5",
                 "min (1) must be < max");
    expect_error("{name: a, type: double, min: 0, max: 1, scale: log}", "spec.yml:2:5",
                 "log scale needs min > 0");
    expect_error("{name: a, type: int, min: -3, max: 10, scale: log}", "spec.yml", "min > 0");
    expect_error("{name: a, type: categorical, values: []}", "spec.yml:2", "must not be empty");
    expect_error("{name: a, type: discrete, values: [1, x]}", "spec.yml:2", "");
    expect_error("{name: a, type: float, min: 0, max: 1}", "spec.yml:2", "type");
    expect_error("{type: double, min: 0, max: 1}", "spec.yml:2", "name");
    expect_error("{name: a, type: int, min: 0.5, max: 3}", "spec.yml:2", "integers");
    expect_error("{name: a, type: double, min: 0, max: 1, step: 2}", "spec.yml:2", "step");

    mo_space_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(parse("parameters:\n  - {name: a, type: int, min: 0, max: 3}\n"
                          "  - {name: a, type: int, min: 0, max: 3}\n",
                          &s, &err),
                    MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "defined twice"));
    CU_ASSERT_EQUAL(parse("parameters: []\n", &s, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_space_parse(NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_space_parse(&s, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_space_add(NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_space_create(NULL, &err), MO_EINVAL);
    mo_space_destroy(NULL);
}

static void test_space__grid_needs_a_step_for_doubles(void)
{
    mo_space_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(parse("parameters:\n  - {name: a, type: int, min: 1, max: 3}\n"
                                "  - {name: lr, type: double, min: 0, max: 1}\n",
                                &s, &err),
                          0);
    CU_ASSERT_EQUAL(mo_space_grid_count(s, 0), 3);
    CU_ASSERT_EQUAL(mo_space_grid_count(s, 1), 0);
    CU_ASSERT_EQUAL(mo_space_check_grid(s, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs a step for double parameter 'lr'"));
    mo_space_destroy(s);

    CU_ASSERT_EQUAL_FATAL(parse("parameters:\n  - {name: lr, type: double, min: 0, max: 1, "
                                "step: 0.25}\n",
                                &s, &err),
                          0);
    CU_ASSERT_EQUAL(mo_space_check_grid(s, &err), 0);
    CU_ASSERT_EQUAL(mo_space_grid_count(s, 0), 5);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_grid_value(s, 0, 4), 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_snap(s, 0, 0.6), 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_snap(s, 0, 7), 1.0, 1e-12);
    mo_space_destroy(s);
}

static void test_space__snap_rounds_ints_and_picks_nearest_discrete(void)
{
    mo_space_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_space_create(&s, &err), 0);
    mo_param_t i = {.name = "i", .type = MO_PARAM_INT, .min = 2, .max = 10};
    const double nums[] = {64, 128, 256};
    mo_param_t d = {.name = "d", .type = MO_PARAM_DISCRETE, .n_values = 3, .numbers = nums};
    CU_ASSERT_EQUAL(mo_space_add(s, &i, &err), 0);
    CU_ASSERT_EQUAL(mo_space_add(s, &d, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_snap(s, 0, 4.6), 5, 0);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_snap(s, 0, -4), 2, 0);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_snap(s, 1, 200), 256, 0);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_param(s, 1)->min, 64, 0);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_param(s, 1)->max, 256, 0);
    CU_ASSERT_EQUAL(mo_space_grid_count(s, 1), 3);
    mo_space_destroy(s);
}

/* Quoted values keep their quotes in the text a template substitution reads back, with line
 * breaks, tabs and quotes escaped (a raw line break would be folded into a space); as a
 * program argument the same value is the bare string. */
static void test_space__quoted_values_round_trip_as_text_and_as_arguments(void)
{
    mo_space_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(
        parse("parameters:\n"
              "  - {name: p, type: categorical, values: [\"a\\nb\\tc\", "
              "\"it's \\\"q\\\"\", [1, \"t w\"], {\"k y\": 1}, plain, \"\\x01\"]}\n",
              &s, &err),
        0);
    const char *text[] = {"\"a\\nb\\tc\"", "\"it's \\\"q\\\"\"", "[1, \"t w\"]", "{\"k y\": 1}",
                          "plain",         "\"\\u0001\""};
    const char *arg[] = {"a\nb\tc", "it's \"q\"", "[1, \"t w\"]", "{\"k y\": 1}", "plain", "\x01"};
    char buf[MO_SPACE_TEXT_MAX];
    for (int k = 0; k < 6; k++) {
        CU_ASSERT_STRING_EQUAL(mo_space_format(s, 0, k, buf, sizeof buf), text[k]);
        CU_ASSERT_STRING_EQUAL(mo_space_arg(s, 0, k, buf, sizeof buf), arg[k]);
    }
    mo_space_destroy(s);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_space__parses_the_issue_example),
    MO_TEST(test_space__quoted_values_round_trip_as_text_and_as_arguments),
    MO_TEST(test_space__bad_input_is_einval_with_location),
    MO_TEST(test_space__grid_needs_a_step_for_doubles),
    MO_TEST(test_space__snap_rounds_ints_and_picks_nearest_discrete),
    CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/space", tests);
}
