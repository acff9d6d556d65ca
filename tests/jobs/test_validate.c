/* test_validate.c - `kind: validate`: reading its part of the spec (run() is covered by the CLI
 * tests, which have MPI) */
#include "jobs/validate/validate.h"

#include "core/str.h"
#include "io/synth.h"
#include "runner/spec.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

/* A small classification dataset (made once). */
static const char *dataset(void)
{
    static char path[512];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/data.h5", mo_test_tmpdir());
        mo_synth_opts_t o = {
            .rows = 40, .features = 4, .classes = 3, .seed = 3, .task = MO_DS_CLASSIFICATION};
        mo_error_t err = {0};
        int rc = mo_synth_write(path, &o, &err);
        if (rc)
            fprintf(stderr, "\n  synth: %s\n", err.msg);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    return path;
}

/* Write tmpdir/v.yml: kind and data.path on lines 1-3, then `checks` from line 4. */
static const char *write_spec(const char *checks)
{
    static char path[600];
    mo_buf_t b = {0};
    mo_buf_printf(&b, "kind: validate\ndata:\n  path: %s\n%s", dataset(), checks);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
    snprintf(path, sizeof path, "%s", mo_test_write_file(mo_test_tmpdir(), "v.yml", b.data));
    mo_buf_free(&b);
    return path;
}

/* The spec with `checks` must fail with `code` and the message "<path>:<rest>". */
static void expect_error(const char *checks, int code, const char *rest)
{
    const char *path = write_spec(checks);
    char want[800];
    snprintf(want, sizeof want, "%s:%s", path, rest);
    mo_spec_t *s = (mo_spec_t *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, &err), code);
    CU_ASSERT_PTR_NULL(s);
    ASSERT_MSG(err, want);
}

static void test_validate__all_check_types_parse(void)
{
    const char *path = write_spec("checks:\n"
                                  "  - {check: schema, features: 4, task: classification, "
                                  "classes: 3}\n"
                                  "  - {check: row_count, min: 10, max: 10}\n"
                                  "  - {check: class_balance, min_fraction: 1, severity: warn}\n"
                                  "  - {check: schema}\n");
    mo_spec_t *s = NULL;
    mo_error_t err = {0};
    int rc = mo_spec_load(&s, path, NULL, &err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(s ? s->job : NULL);
    mo_spec_destroy(s);
}

static void test_validate__checks_list_required_and_not_empty(void)
{
    expect_error("", MO_EINVAL, "1:1: missing required key 'checks' at the top level");
    expect_error("checks: []\n", MO_EINVAL, "4:9: checks must list at least one check");
    expect_error("checks: {check: schema}\n", MO_EINVAL, "4:9: checks must be a list, got a map");
}

static void test_validate__check_item_must_be_a_map(void)
{
    expect_error("checks:\n  - {check: schema}\n  - row_count\n", MO_EINVAL,
                 "6:5: checks[1] must be a map like {check: row_count, min: 1}");
    expect_error("checks:\n  - {severity: warn}\n", MO_EINVAL,
                 "5:5: missing required key 'check' in checks[0]");
}

static void test_validate__unknown_check_type_suggests(void)
{
    expect_error("checks:\n  - {check: row_cnt}\n", MO_EINVAL,
                 "5:13: checks[0].check must be one of schema, row_count, class_balance, got "
                 "\"row_cnt\"; did you mean 'row_count'?");
    expect_error("checks:\n  - {check: nulls}\n", MO_EINVAL,
                 "5:13: checks[0].check must be one of schema, row_count, class_balance, got "
                 "\"nulls\"");
}

static void test_validate__severity_is_error_or_warn(void)
{
    expect_error("checks:\n  - {check: schema, severity: fatal}\n", MO_EINVAL,
                 "5:31: checks[0].severity must be one of error, warn, got \"fatal\"");
    expect_error("checks:\n  - {check: schema, severity: warm}\n", MO_EINVAL,
                 "5:31: checks[0].severity must be one of error, warn, got \"warm\"; did you "
                 "mean 'warn'?");
}

static void test_validate__schema_values_are_checked(void)
{
    expect_error("checks:\n  - {check: schema, classes: 1}\n", MO_EINVAL,
                 "5:30: checks[0].classes must be an integer in [2, 2147483647], got 1");
    expect_error("checks:\n  - {check: schema, features: 0}\n", MO_EINVAL,
                 "5:31: checks[0].features must be an integer >= 1, got 0");
    expect_error("checks:\n  - {check: schema, task: regresion}\n", MO_EINVAL,
                 "5:27: checks[0].task must be one of classification, regression, got "
                 "\"regresion\"; did you mean 'regression'?");
}

static void test_validate__row_count_max_below_min(void)
{
    expect_error("checks:\n  - {check: row_count, min: 10, max: 5}\n", MO_EINVAL,
                 "5:38: row_count max (5) is below min (10)");
    expect_error("checks:\n  - {check: row_count, min: -1}\n", MO_EINVAL,
                 "5:29: checks[0].min must be an integer >= 0, got -1");
}

static void test_validate__class_balance_fraction_in_open_zero_one(void)
{
    expect_error("checks:\n  - {check: class_balance}\n", MO_EINVAL,
                 "5:5: missing required key 'min_fraction' in checks[0]");
    expect_error("checks:\n  - {check: class_balance, min_fraction: 0}\n", MO_EINVAL,
                 "5:42: checks[0].min_fraction must be a number in (0, 1], got 0");
    expect_error("checks:\n  - {check: class_balance, min_fraction: 1.5}\n", MO_EINVAL,
                 "5:42: checks[0].min_fraction must be a number in (0, 1], got 1.5");
}

static void test_validate__keys_of_other_check_types_are_unknown(void)
{
    expect_error("checks:\n  - {check: row_count, maxx: 1}\n", MO_EINVAL,
                 "5:24: unknown key 'maxx' in checks[0]; did you mean 'max'?");
    expect_error("checks:\n  - {check: schema, min_fraction: 0.5}\n", MO_EINVAL,
                 "5:21: unknown key 'min_fraction' in checks[0]");
}

static void test_validate__data_path_required(void)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "nodata.yml",
                                          "kind: validate\nchecks:\n  - {check: schema}\n");
    char want[800];
    snprintf(want, sizeof want, "%s:1:1: missing required key 'data' at the top level", path);
    mo_spec_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, want);
    path =
        mo_test_write_file(mo_test_tmpdir(), "nopath.yml",
                           "kind: validate\ndata:\n  file: x.h5\nchecks:\n  - {check: schema}\n");
    snprintf(want, sizeof want, "%s:2:1: missing required key 'path' in data", path);
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, want);
}

static void test_validate__missing_dataset_names_spec_location_first(void)
{
    char data[600], text[900], want[900];
    snprintf(data, sizeof data, "%s/nowhere.h5", mo_test_tmpdir());
    snprintf(text, sizeof text, "kind: validate\ndata:\n  path: %s\nchecks:\n  - {check: schema}\n",
             data);
    const char *path = mo_test_write_file(mo_test_tmpdir(), "gone.yml", text);
    snprintf(want, sizeof want, "%s:3:9: data.path: %s: no such file", path, data);
    mo_spec_t *s = (mo_spec_t *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(s);
    ASSERT_MSG(err, want);
    /* A file that is not a dataset is a format error, located the same way. */
    const char *junk = mo_test_write_file(mo_test_tmpdir(), "junk.h5", "not hdf5\n");
    snprintf(data, sizeof data, "%s", junk);
    snprintf(text, sizeof text, "kind: validate\ndata:\n  path: %s\nchecks:\n  - {check: schema}\n",
             data);
    path = mo_test_write_file(mo_test_tmpdir(), "junk.yml", text);
    snprintf(want, sizeof want, "%s:3:9: data.path: %s: not an HDF5 file", path, data);
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, &err), MO_EFORMAT);
    ASSERT_MSG(err, want);
}

static void test_validate__parse_without_spec_and_destroy_null(void)
{
    void *job = (void *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_job_validate.parse(&job, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(job);
    ASSERT_MSG(err, "missing required key 'data'");
    mo_job_validate.destroy(NULL);
    CU_ASSERT_STRING_EQUAL(mo_job_validate.name, "validate");
    CU_ASSERT_PTR_NOT_NULL(mo_job_validate.run);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_validate__all_check_types_parse),
    MO_TEST(test_validate__checks_list_required_and_not_empty),
    MO_TEST(test_validate__check_item_must_be_a_map),
    MO_TEST(test_validate__unknown_check_type_suggests),
    MO_TEST(test_validate__severity_is_error_or_warn),
    MO_TEST(test_validate__schema_values_are_checked),
    MO_TEST(test_validate__row_count_max_below_min),
    MO_TEST(test_validate__class_balance_fraction_in_open_zero_one),
    MO_TEST(test_validate__keys_of_other_check_types_are_unknown),
    MO_TEST(test_validate__data_path_required),
    MO_TEST(test_validate__missing_dataset_names_spec_location_first),
    MO_TEST(test_validate__parse_without_spec_and_destroy_null),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("jobs/validate", tests);
}
