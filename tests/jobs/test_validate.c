/* test_validate.c - `kind: validate`: reading its part of the spec, columns resolved against the
 * data (run() is covered by tests/jobs/test_validate_checks.sh and runner/test_cmd_run.sh,
 * which have MPI) */
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
    char want[1200];
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
                 "5:13: checks[0].check must be one of schema, row_count, class_balance, nulls, "
                 "range, unique, freshness, drift, got \"row_cnt\"; did you mean 'row_count'?");
    expect_error("checks:\n  - {check: nuls}\n", MO_EINVAL,
                 "5:13: checks[0].check must be one of schema, row_count, class_balance, nulls, "
                 "range, unique, freshness, drift, got \"nuls\"; did you mean 'nulls'?");
    expect_error("checks:\n  - {check: histogram}\n", MO_EINVAL,
                 "5:13: checks[0].check must be one of schema, row_count, class_balance, nulls, "
                 "range, unique, freshness, drift, got \"histogram\"");
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

/* ---- checks on tables ------------------------------------------------------------------- */

/* A small CSV table and, beside it, a copy to serve as a drift reference. */
static const char *table(void)
{
    static char path[512];
    if (!path[0]) {
        const char *text = "customer_id,amount,event_ts,note\n"
                           "c1,10,2026-11-24T10:00:00Z,a\n"
                           "c2,,2026-11-24T11:00:00Z,\n";
        snprintf(path, sizeof path, "%s", mo_test_write_file(mo_test_tmpdir(), "t.csv", text));
        mo_test_write_file(mo_test_tmpdir(), "ref.csv", text);
    }
    return path;
}

/* tmpdir/t.yml: kind and data (lines 1-3), then `checks` from line 4 (items from line 5). */
static const char *write_table_spec(const char *data_extra, const char *checks)
{
    static char path[600];
    mo_buf_t b = {0};
    mo_buf_printf(&b, "kind: validate\ndata:\n  path: %s%s\n%s", table(), data_extra, checks);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
    snprintf(path, sizeof path, "%s", mo_test_write_file(mo_test_tmpdir(), "t.yml", b.data));
    mo_buf_free(&b);
    return path;
}

static void expect_table_error(const char *checks, int code, const char *rest)
{
    const char *path = write_table_spec("", checks);
    char want[1200];
    snprintf(want, sizeof want, "%s:%s", path, rest);
    mo_spec_t *s = (mo_spec_t *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, &err), code);
    CU_ASSERT_PTR_NULL(s);
    ASSERT_MSG(err, want);
}

static void test_validate__table_checks_parse(void)
{
    char checks[1200];
    snprintf(checks, sizeof checks,
             "checks:\n"
             "  - {check: schema, columns: {customer_id: text, amount: number, x: any}}\n"
             "  - {check: schema, columns: [customer_id]}\n"
             "  - {check: nulls, columns: [amount, note], max_ratio: 0.01}\n"
             "  - {check: nulls, severity: warn}\n"
             "  - {check: range, column: amount, min: 0, max: 1e6, max_violations: 2}\n"
             "  - {check: range, columns: [amount], max: 5}\n"
             "  - {check: unique, columns: [customer_id, event_ts]}\n"
             "  - {check: freshness, column: event_ts, max_lag: 2d, as_of: "
             "2026-11-25T00:00:00Z}\n"
             "  - {check: drift, reference: %s/ref.csv, columns: [amount], max_psi: 0.2, "
             "max_ks: 0.1}\n"
             "  - {check: drift, reference: %s/ref.csv, max_ks: 0.5}\n"
             "  - {check: row_count, min: 1}\n",
             mo_test_tmpdir(), mo_test_tmpdir());
    const char *path = write_table_spec("\n  format: table\n  timestamp_format: rfc3339", checks);
    mo_spec_t *s = NULL;
    mo_error_t err = {0};
    int rc = mo_spec_load(&s, path, NULL, &err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    mo_spec_destroy(s);
}

static void test_validate__unknown_column_names_the_spec_location(void)
{
    char rest[900];
    snprintf(rest, sizeof rest,
             "5:38: checks[0].columns[1]: no column 'amout' in %s (columns: customer_id, amount, "
             "event_ts, note); did you mean 'amount'?",
             table());
    expect_table_error("checks:\n  - {check: nulls, columns: [amount, amout]}\n", MO_EINVAL, rest);
    snprintf(rest, sizeof rest,
             "5:28: checks[0].column: no column 'Amount' in %s (columns: customer_id, amount, "
             "event_ts, note); did you mean 'amount'?",
             table());
    expect_table_error("checks:\n  - {check: range, column: Amount, min: 0}\n", MO_EINVAL, rest);
    snprintf(rest, sizeof rest,
             "5:32: checks[0].column: no column 'when' in %s (columns: customer_id, amount, "
             "event_ts, note)",
             table());
    expect_table_error("checks:\n  - {check: freshness, column: when, max_lag: 1h}\n", MO_EINVAL,
                       rest);
}

static void test_validate__check_keys_are_checked(void)
{
    expect_table_error("checks:\n  - {check: nulls, max_ratio: 1.5}\n", MO_EINVAL,
                       "5:31: checks[0].max_ratio must be a number in [0, 1], got 1.5");
    expect_table_error("checks:\n  - {check: nulls, max_ratio: -0.1}\n", MO_EINVAL,
                       "5:31: checks[0].max_ratio must be a number in [0, 1], got -0.1");
    expect_table_error("checks:\n  - {check: range, column: amount}\n", MO_EINVAL,
                       "5:5: checks[0]: range needs min, max or both");
    expect_table_error("checks:\n  - {check: range, column: amount, min: 5, max: 1}\n", MO_EINVAL,
                       "5:49: range max (1) is below min (5)");
    expect_table_error("checks:\n  - {check: range, min: 0}\n", MO_EINVAL,
                       "5:5: missing required key 'columns' (or 'column') in checks[0]");
    expect_table_error("checks:\n  - {check: unique, column: amount, columns: [note]}\n", MO_EINVAL,
                       "5:46: give column or columns, not both");
    expect_table_error("checks:\n  - {check: unique, columns: [amount, amount]}\n", MO_EINVAL,
                       "5:39: checks[0].columns[1]: column 'amount' appears twice");
    expect_table_error("checks:\n  - {check: unique, columns: []}\n", MO_EINVAL,
                       "5:30: checks[0].columns must name at least one column");
    expect_table_error("checks:\n  - {check: freshness, column: event_ts}\n", MO_EINVAL,
                       "5:5: missing required key 'max_lag' in checks[0]");
    expect_table_error("checks:\n  - {check: freshness, column: event_ts, max_lag: 1h, as_of: "
                       "yesterday}\n",
                       MO_EINVAL,
                       "5:62: checks[0].as_of: not a timestamp: 'yesterday' (expected RFC 3339 "
                       "like 2026-11-25T10:00:00Z, or epoch seconds/milliseconds)");
    expect_table_error("checks:\n  - {check: drift, reference: t.csv}\n", MO_EINVAL,
                       "5:5: checks[0]: drift needs max_psi, max_ks or both");
    expect_table_error("checks:\n  - {check: drift, reference: t.csv, max_ks: 2}\n", MO_EINVAL,
                       "5:46: checks[0].max_ks must be a number in (0, 1], got 2");
    expect_table_error("checks:\n  - {check: range, column: amount, min: 0, maximum: 1}\n",
                       MO_EINVAL, "5:44: unknown key 'maximum' in checks[0]");
}

static void test_validate__dataset_only_keys_on_a_table(void)
{
    expect_table_error("checks:\n  - {check: schema, features: 3}\n", MO_EINVAL,
                       "5:31: checks[0].features: features, task and classes describe a Maestro "
                       "dataset (for a table, name its columns), but data.path is a CSV table");
    expect_table_error("checks:\n  - {check: class_balance, min_fraction: 0.1}\n", MO_EINVAL,
                       "5:13: checks[0].check: class_balance counts a Maestro dataset's labels, "
                       "but data.path is a CSV table");
}

static void test_validate__drift_reference_is_located(void)
{
    char checks[900], data[600];
    snprintf(data, sizeof data, "%s/gone.csv", mo_test_tmpdir());
    snprintf(checks, sizeof checks, "checks:\n  - {check: drift, reference: %s, max_psi: 0.1}\n",
             data);
    char rest[900];
    snprintf(rest, sizeof rest, "5:31: checks[0].reference: %s: no such file", data);
    expect_table_error(checks, MO_ENOTFOUND, rest);
    /* A column the reference lacks is named with the reference. */
    const char *ref = mo_test_write_file(mo_test_tmpdir(), "small.csv", "amount\n1\n");
    snprintf(checks, sizeof checks,
             "checks:\n  - {check: drift, reference: %s, columns: [amount, note], max_ks: 0.1}\n",
             ref);
    snprintf(rest, sizeof rest,
             "5:%d: checks[0].columns[1]: no column 'note' in %s (the drift reference) "
             "(columns: amount)",
             (int)(strlen(ref) + 51), ref);
    expect_table_error(checks, MO_EINVAL, rest);
}

static void test_validate__view_needs_a_feature_store(void)
{
    const char *path = write_table_spec("\n  view: activity", "checks:\n  - {check: schema}\n");
    char want[900];
    snprintf(want, sizeof want,
             "%s:4:9: data.view names a feature view, but %s is not a feature store (it reads "
             "as: CSV table)",
             path, table());
    mo_spec_t *s = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, want);
}

static void test_validate__dataset_columns_are_features_and_label(void)
{
    const char *path = write_spec("checks:\n"
                                  "  - {check: nulls, columns: [f0, f3, label]}\n"
                                  "  - {check: range, column: f1, min: -100, max: 100}\n"
                                  "  - {check: schema, features: 4, columns: {f0: number}}\n");
    mo_spec_t *s = NULL;
    mo_error_t err = {0};
    int rc = mo_spec_load(&s, path, NULL, &err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    mo_spec_destroy(s);
    char rest[900];
    snprintf(rest, sizeof rest,
             "5:28: checks[0].column: no column 'f4' in %s (columns: f0, f1, f2, f3, label); "
             "did you mean 'f0'?",
             dataset());
    expect_error("checks:\n  - {check: range, column: f4, min: 0}\n", MO_EINVAL, rest);
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
    MO_TEST(test_validate__table_checks_parse),
    MO_TEST(test_validate__unknown_column_names_the_spec_location),
    MO_TEST(test_validate__check_keys_are_checked),
    MO_TEST(test_validate__dataset_only_keys_on_a_table),
    MO_TEST(test_validate__drift_reference_is_located),
    MO_TEST(test_validate__view_needs_a_feature_store),
    MO_TEST(test_validate__dataset_columns_are_features_and_label),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("jobs/validate", tests);
}
