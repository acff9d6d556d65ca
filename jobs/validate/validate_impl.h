/* validate_impl.h - what the files of `kind: validate` share
 *
 *   validate.c  the kind: data section, run (read the row blocks, evaluate, agree, report)
 *   spec.c      the checks list: keys of each check, columns resolved against the files
 *   checks.c    schema, row_count, class_balance, nulls, range, freshness
 *   unique.c    unique: keys shuffled to the rank their hash picks
 *   drift.c     drift: PSI and KS per feature (the math is exported for the unit tests)
 *   report.c    report.json and report.h5, written by rank 0
 */
#ifndef MO_JOBS_VALIDATE_IMPL_H
#define MO_JOBS_VALIDATE_IMPL_H

#include "comm/comm.h"
#include "io/config.h"
#include "io/table.h"
#include "io/timestamp.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum {
    MO_VCHECK_SCHEMA = 0,
    MO_VCHECK_ROW_COUNT,
    MO_VCHECK_CLASS_BALANCE,
    MO_VCHECK_NULLS,
    MO_VCHECK_RANGE,
    MO_VCHECK_UNIQUE,
    MO_VCHECK_FRESHNESS,
    MO_VCHECK_DRIFT,
};
extern const char *const mo_validate_check_names[];    /* NULL-terminated, in that order */
extern const char *const mo_validate_severity_names[]; /* "error", "warn" */

/* A column a check names. */
typedef struct {
    const char *name;    /* borrowed from the spec (or the table) */
    mo_cfg_node_t *node; /* where the spec names it; NULL for columns taken by default */
    int col;             /* the data table's column, -1 when absent (schema only) */
    int ref_col;         /* drift: the reference's column */
    int want;            /* schema: -1 any, else MO_TABLE_NUMBER or MO_TABLE_TEXT */
    size_t vec;          /* run: the column's index in the data block */
    size_t ref_vec;      /* run: drift, in the reference block */
} mo_vcol_t;

typedef struct {
    int type, severity; /* severity: 0 error, 1 warn */
    mo_cfg_node_t *node;
    mo_vcol_t *cols;
    size_t n_cols;
    int all_cols; /* no columns given: every column (nulls), every shared number (drift) */
    int64_t features, classes, min_rows, max_rows, max_violations;
    int task;
    double min_fraction, max_ratio, lo, hi, max_lag_s, max_psi, max_ks;
    int has_lo, has_hi, has_as_of, has_psi, has_ks;
    int64_t as_of_us;
    const char *reference;
    mo_table_t *ref;
} mo_vcheck_t;

typedef struct {
    const char *path, *view;
    mo_table_opts_t opts;
    mo_ts_format_t ts_format;
    mo_table_t *table; /* opened by parse (only the header of a CSV is read then) */
    mo_vcheck_t *checks;
    size_t n_checks;
} mo_vjob_t;

/* One row of the drift table. */
typedef struct {
    const char *feature;
    double psi, ks;
    int pass;
    int64_t rows, ref_rows; /* finite values compared */
} mo_vdrift_t;

/* What a check found; the same on every rank. value/threshold: the number compared and its
 * limit (NaN where there is none); the texts are what report.json and the log show. */
typedef struct {
    int pass;
    double value, threshold;
    char value_text[240], threshold_text[160];
    json_t *detail; /* keys added to the check's JSON object; owned */
    mo_vdrift_t *drift;
    size_t n_drift;
} mo_vresult_t;

/* Everything a check's evaluation sees. Collective: every rank evaluates every check. */
typedef struct {
    mo_comm_t *comm;
    const mo_vjob_t *job;
    mo_table_block_t *block;     /* this rank's rows of the columns the checks use */
    int64_t rows;                /* in the whole table */
    int64_t now_us;              /* rank 0's clock, the same on every rank */
    const int64_t *class_counts; /* a classification dataset's labels counted, else NULL */
    int32_t n_classes;
} mo_veval_t;

/* spec.c: read checks[index] into *c (zeroed here) against the open data table. */
int mo_validate_parse_check(mo_vjob_t *j, mo_vcheck_t *c, mo_cfg_node_t *item, mo_error_t *err);
void mo_validate_check_free(mo_vcheck_t *c);
/* After mo_table_scan: the default columns (nulls, drift) and their types, now known. */
int mo_validate_resolve(mo_vjob_t *j, mo_error_t *err);

/* checks.c / drift.c: evaluate check c (collective over e->comm). */
int mo_validate_eval(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err);
int mo_validate_drift(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err);
int mo_validate_unique(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err);
void mo_validate_result_free(mo_vresult_t *r);

/* Of the (row, text) pairs the ranks hold (row -1: none), the text of the lowest row, on
 * every rank, into buf ("" when no rank has one). Collective. */
int mo_validate_first(mo_comm_t *comm, int64_t row, const char *text, char *buf, size_t size,
                      mo_error_t *err);

/* drift.c, the math (tests/jobs/test_validate_drift.c). Inputs sorted ascending, finite.
 * Deciles as numpy.quantile's default (linear) method gives them; PSI over the 10 bins they
 * cut, (-inf, e1], (e1, e2], ..., (e9, inf), each share floored at 1e-4; KS the largest
 * distance between the two empirical CDFs. NaN when either side is empty. */
void mo_validate_deciles(double edges[9], const double *ref, size_t m);
double mo_validate_psi(const double *ref, size_t m, const double *cur, size_t n);
double mo_validate_ks(const double *a, size_t n, const double *b, size_t m);

/* report.c: <dir>/report.json and <dir>/report.h5, atomically (rank 0 only). */
int mo_validate_report(const char *dir, const mo_veval_t *e, int ranks, const mo_vresult_t *res,
                       int failed, mo_error_t *err);

#endif
