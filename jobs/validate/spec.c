/* spec.c - the checks of `kind: validate` (docs/spec.md "kind: validate")
 *
 * Columns are resolved against the data (and a drift reference) when the spec is read, so a
 * misspelt column is bad input at the spec's file:line:col (exit 2), not a failed check.
 * Column types that the file declares (HDF5, datasets, feature views) are checked then too;
 * a CSV column's type depends on its cells, so a text cell where a check needs numbers is
 * found at run time and fails that check, as any other finding about the data does.
 */
#include "core/alloc.h"
#include "core/str.h"
#include "jobs/validate/validate_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const mo_validate_check_names[] = {
    "schema", "row_count", "class_balance", "nulls", "range", "unique", "freshness", "drift", NULL};
const char *const mo_validate_severity_names[] = {"error", "warn", NULL};
static const char *const task_names[] = {"classification", "regression", NULL};
static const char *const type_names[] = {"any", "number", "text", NULL};

static const char *kind_of(const mo_table_t *t)
{
    switch (mo_table_format(t)) {
    case MO_TABLE_DATASET:
        return "a Maestro dataset";
    case MO_TABLE_VIEW:
        return "a feature view";
    default:
        return mo_table_source(t)[0] == 'C' ? "a CSV table" : "an HDF5 table";
    }
}

static int no_column(mo_error_t *err, const mo_cfg_node_t *node, const mo_table_t *t,
                     const char *name, const char *what)
{
    char path[128];
    const char *best = NULL;
    size_t best_dist = 3, n = mo_table_ncols(t);
    mo_buf_t cols = {0};
    for (size_t i = 0; i < n; i++) {
        const char *c = mo_table_col(t, i)->name;
        size_t d = strcasecmp(c, name) ? mo_str_distance(c, name, 3) : 1;
        if (d < best_dist) {
            best_dist = d;
            best = c;
        }
        if (i < 8)
            mo_buf_printf(&cols, "%s%s", i ? ", " : "", c);
    }
    if (n > 8)
        mo_buf_printf(&cols, " and %zu more", n - 8);
    int rc = mo_cfg_errorf(err, MO_EINVAL, node, "%s: no column '%s' in %s%s (columns: %s)%s%s%s",
                           mo_cfg_path(node, path, sizeof path), name, mo_table_path(t), what,
                           cols.data ? cols.data : "", best ? "; did you mean '" : "",
                           best ? best : "", best ? "'?" : "");
    mo_buf_free(&cols);
    return rc;
}

static int push_col(mo_vcheck_t *c, const char *name, mo_cfg_node_t *node, int want,
                    mo_error_t *err)
{
    char path[128];
    for (size_t i = 0; i < c->n_cols; i++)
        if (!strcmp(c->cols[i].name, name))
            return mo_cfg_errorf(err, MO_EINVAL, node, "%s: column '%s' appears twice",
                                 mo_cfg_path(node, path, sizeof path), name);
    mo_vcol_t *v = mo_reallocarray(c->cols, c->n_cols + 1, sizeof *v);
    if (!v)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    c->cols = v;
    c->cols[c->n_cols++] =
        (mo_vcol_t){.name = name, .node = node, .col = -1, .ref_col = -1, .want = want};
    return 0;
}

/* `column: NAME` or `columns: [NAME, ...]` (schema also `columns: {NAME: number|text|any}`). */
static int read_columns(mo_vcheck_t *c, mo_cfg_node_t *item, int required, mo_error_t *err)
{
    mo_cfg_node_t *one = mo_cfg_child(item, "column"), *many = mo_cfg_child(item, "columns");
    const char *name;
    char path[128];
    int rc = 0;
    mo_cfg_mark_known(item, "column");
    mo_cfg_mark_known(item, "columns");
    if (one && many)
        return mo_cfg_errorf(err, MO_EINVAL, many, "give column or columns, not both");
    if (!one && !many) {
        c->all_cols = !required;
        return required ? mo_cfg_errorf(err, MO_EINVAL, item,
                                        "missing required key 'columns' (or 'column') in %s",
                                        mo_cfg_path(item, path, sizeof path))
                        : 0;
    }
    if (one)
        return (rc = mo_cfg_as_string(one, &name, err)) ? rc : push_col(c, name, one, -1, err);
    if (mo_cfg_type(many) == MO_CFG_MAP && c->type == MO_VCHECK_SCHEMA) {
        for (size_t i = 0; !rc && i < mo_cfg_len(many); i++) {
            int t = 0;
            name = mo_cfg_key_at(many, i);
            rc = mo_cfg_get_enum(many, name, 0, type_names, &t, err);
            if (!rc)
                rc = push_col(c, name, mo_cfg_at(many, i),
                              t == 0   ? -1
                              : t == 1 ? MO_TABLE_NUMBER
                                       : MO_TABLE_TEXT,
                              err);
        }
    } else if (mo_cfg_type(many) == MO_CFG_LIST) {
        for (size_t i = 0; !rc && i < mo_cfg_len(many); i++) {
            rc = mo_cfg_as_string(mo_cfg_at(many, i), &name, err);
            if (!rc)
                rc = push_col(c, name, mo_cfg_at(many, i), -1, err);
        }
    } else {
        return mo_cfg_errorf(err, MO_EINVAL, many, "%s must be a list of column names%s",
                             mo_cfg_path(many, path, sizeof path),
                             c->type == MO_VCHECK_SCHEMA ? " or a map {name: number|text|any}"
                                                         : "");
    }
    if (!rc && c->n_cols == 0)
        rc = mo_cfg_errorf(err, MO_EINVAL, many, "%s must name at least one column",
                           mo_cfg_path(many, path, sizeof path));
    return rc;
}

/* Find each column in the data (and the reference); refuse types the file already rules out. */
static int resolve_named(const mo_vjob_t *j, mo_vcheck_t *c, mo_error_t *err)
{
    char path[128];
    for (size_t i = 0; i < c->n_cols; i++) {
        mo_vcol_t *v = &c->cols[i];
        v->col = mo_table_find(j->table, v->name);
        if (c->type == MO_VCHECK_SCHEMA)
            continue; /* a missing column fails the check instead */
        if (v->col < 0)
            return no_column(err, v->node, j->table, v->name, "");
        if (c->ref && (v->ref_col = mo_table_find(c->ref, v->name)) < 0)
            return no_column(err, v->node, c->ref, v->name, " (the drift reference)");
        mo_table_type_t ty = mo_table_col(j->table, (size_t)v->col)->type;
        int numbers = c->type == MO_VCHECK_RANGE || c->type == MO_VCHECK_DRIFT;
        if (ty == MO_TABLE_OTHER || (numbers && ty == MO_TABLE_TEXT))
            return mo_cfg_errorf(
                err, MO_EINVAL, v->node, "%s: column '%s' of %s is %s; %s needs %s",
                mo_cfg_path(v->node, path, sizeof path), v->name, mo_table_path(j->table),
                mo_table_col(j->table, (size_t)v->col)->dtype, mo_validate_check_names[c->type],
                numbers ? "numbers" : "numbers, strings or timestamps");
    }
    return 0;
}

static int dataset_only(const mo_vjob_t *j, mo_cfg_node_t *item, const char *key, const char *what,
                        mo_error_t *err)
{
    char path[128];
    mo_cfg_node_t *n = key ? mo_cfg_child(item, key) : mo_cfg_child(item, "check");
    if (mo_table_format(j->table) == MO_TABLE_DATASET || (key && !n))
        return 0;
    return mo_cfg_errorf(err, MO_EINVAL, n, "%s: %s, but data.path is %s",
                         mo_cfg_path(n, path, sizeof path), what, kind_of(j->table));
}

static int parse_schema(const mo_vjob_t *j, mo_vcheck_t *c, mo_cfg_node_t *item, mo_error_t *err)
{
    static const char *const keys[] = {"features", "task", "classes"};
    int rc = mo_cfg_get_int(item, "features", 0, 1, INT64_MAX, &c->features, err);
    if (!rc)
        rc = mo_cfg_get_int(item, "classes", 0, 2, INT32_MAX, &c->classes, err);
    if (!rc)
        rc = mo_cfg_get_enum(item, "task", 0, task_names, &c->task, err);
    for (size_t k = 0; !rc && k < 3; k++)
        rc = dataset_only(j, item, keys[k],
                          "features, task and classes describe a Maestro dataset (for a table, "
                          "name its columns)",
                          err);
    return rc ? rc : read_columns(c, item, 0, err);
}

static int parse_range(mo_vcheck_t *c, mo_cfg_node_t *item, mo_error_t *err)
{
    char path[128];
    c->has_lo = mo_cfg_child(item, "min") != NULL;
    c->has_hi = mo_cfg_child(item, "max") != NULL;
    c->lo = -INFINITY;
    c->hi = INFINITY;
    int rc = read_columns(c, item, 1, err);
    if (!rc)
        rc = mo_cfg_get_double(item, "min", 0, -INFINITY, INFINITY, &c->lo, err);
    if (!rc)
        rc = mo_cfg_get_double(item, "max", 0, -INFINITY, INFINITY, &c->hi, err);
    if (!rc)
        rc = mo_cfg_get_int(item, "max_violations", 0, 0, INT64_MAX, &c->max_violations, err);
    if (!rc && !c->has_lo && !c->has_hi)
        rc = mo_cfg_errorf(err, MO_EINVAL, item, "%s: range needs min, max or both",
                           mo_cfg_path(item, path, sizeof path));
    if (!rc && c->hi < c->lo)
        rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(item, "max"),
                           "range max (%g) is below min (%g)", c->hi, c->lo);
    return rc;
}

static int parse_freshness(mo_vcheck_t *c, mo_cfg_node_t *item, mo_error_t *err)
{
    const char *name = NULL, *as_of = NULL;
    char path[128];
    int rc = mo_cfg_get_string(item, "column", MO_CFG_REQUIRED, &name, err);
    if (!rc)
        rc = push_col(c, name, mo_cfg_child(item, "column"), -1, err);
    if (!rc)
        rc = mo_cfg_get_duration(item, "max_lag", MO_CFG_REQUIRED | MO_CFG_LO_OPEN, 0, INFINITY,
                                 &c->max_lag_s, err);
    if (!rc)
        rc = mo_cfg_get_string(item, "as_of", 0, &as_of, err);
    if (!rc && as_of) {
        mo_error_t why = {0};
        mo_cfg_node_t *n = mo_cfg_child(item, "as_of");
        if (mo_ts_parse(as_of, strlen(as_of), MO_TS_AUTO, &c->as_of_us, &why))
            return mo_cfg_errorf(err, MO_EINVAL, n, "%s: %s", mo_cfg_path(n, path, sizeof path),
                                 why.msg);
        c->has_as_of = 1;
    }
    return rc;
}

static int parse_drift(const mo_vjob_t *j, mo_vcheck_t *c, mo_cfg_node_t *item, mo_error_t *err)
{
    char path[128], where[128];
    mo_cfg_node_t *n;
    int rc = mo_cfg_get_string(item, "reference", MO_CFG_REQUIRED, &c->reference, err);
    if (!rc)
        rc = mo_cfg_get_double(item, "max_psi", MO_CFG_LO_OPEN, 0, INFINITY, &c->max_psi, err);
    if (!rc)
        rc = mo_cfg_get_double(item, "max_ks", MO_CFG_LO_OPEN, 0, 1, &c->max_ks, err);
    c->has_psi = mo_cfg_child(item, "max_psi") != NULL;
    c->has_ks = mo_cfg_child(item, "max_ks") != NULL;
    if (!rc && !c->has_psi && !c->has_ks)
        rc = mo_cfg_errorf(err, MO_EINVAL, item, "%s: drift needs max_psi, max_ks or both",
                           mo_cfg_path(item, path, sizeof path));
    if (rc)
        return rc;
    /* The reference is read as the data is: same format, same view. */
    const mo_table_opts_t o = {.format = mo_table_format(j->table), .view = j->view};
    n = mo_cfg_child(item, "reference");
    if ((rc = mo_table_open(&c->ref, c->reference, &o, err)))
        return mo_error_prefix(err, "%s: %s", mo_cfg_where(n, where, sizeof where),
                               mo_cfg_path(n, path, sizeof path));
    return read_columns(c, item, 0, err);
}

int mo_validate_parse_check(mo_vjob_t *j, mo_vcheck_t *c, mo_cfg_node_t *item, mo_error_t *err)
{
    memset(c, 0, sizeof *c);
    c->features = c->classes = -1;
    c->task = -1;
    c->max_rows = INT64_MAX;
    c->node = item;
    int rc =
        mo_cfg_get_enum(item, "check", MO_CFG_REQUIRED, mo_validate_check_names, &c->type, err);
    if (!rc)
        rc = mo_cfg_get_enum(item, "severity", 0, mo_validate_severity_names, &c->severity, err);
    if (rc)
        return rc;
    switch (c->type) {
    case MO_VCHECK_SCHEMA:
        rc = parse_schema(j, c, item, err);
        break;
    case MO_VCHECK_ROW_COUNT:
        rc = mo_cfg_get_int(item, "min", 0, 0, INT64_MAX, &c->min_rows, err);
        if (!rc)
            rc = mo_cfg_get_int(item, "max", 0, 0, INT64_MAX, &c->max_rows, err);
        if (!rc && c->max_rows < c->min_rows)
            rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(item, "max"),
                               "row_count max (%lld) is below min (%lld)", (long long)c->max_rows,
                               (long long)c->min_rows);
        break;
    case MO_VCHECK_CLASS_BALANCE:
        rc = mo_cfg_get_double(item, "min_fraction", MO_CFG_REQUIRED | MO_CFG_LO_OPEN, 0, 1,
                               &c->min_fraction, err);
        if (!rc)
            rc =
                dataset_only(j, item, NULL, "class_balance counts a Maestro dataset's labels", err);
        break;
    case MO_VCHECK_NULLS:
        rc = read_columns(c, item, 0, err);
        if (!rc)
            rc = mo_cfg_get_double(item, "max_ratio", 0, 0, 1, &c->max_ratio, err);
        break;
    case MO_VCHECK_RANGE:
        rc = parse_range(c, item, err);
        break;
    case MO_VCHECK_UNIQUE:
        rc = read_columns(c, item, 1, err);
        break;
    case MO_VCHECK_FRESHNESS:
        rc = parse_freshness(c, item, err);
        break;
    case MO_VCHECK_DRIFT:
        rc = parse_drift(j, c, item, err);
        break;
    }
    return rc ? rc : resolve_named(j, c, err);
}

void mo_validate_check_free(mo_vcheck_t *c)
{
    if (!c)
        return;
    free(c->cols);
    mo_table_close(c->ref);
    c->cols = NULL;
    c->ref = NULL;
}

/* Columns taken by default: every readable column (nulls); every number column of the data
 * that the reference has as a number too, a dataset's label aside (drift). */
static int resolve_defaults(const mo_vjob_t *j, mo_vcheck_t *c, mo_error_t *err)
{
    char path[128];
    size_t n = mo_table_ncols(j->table);
    if (c->type == MO_VCHECK_DRIFT && mo_table_format(j->table) == MO_TABLE_DATASET)
        n--;
    for (size_t i = 0; i < n; i++) {
        const mo_table_col_t *col = mo_table_col(j->table, i);
        int r = c->ref ? mo_table_find(c->ref, col->name) : -1;
        int take = c->type == MO_VCHECK_NULLS
                       ? col->type != MO_TABLE_OTHER
                       : col->type == MO_TABLE_NUMBER && r >= 0 &&
                             mo_table_col(c->ref, (size_t)r)->type == MO_TABLE_NUMBER;
        if (!take)
            continue;
        int rc = push_col(c, col->name, NULL, -1, err);
        if (rc)
            return rc;
        c->cols[c->n_cols - 1].col = (int)i;
        c->cols[c->n_cols - 1].ref_col = r;
    }
    if (c->n_cols == 0)
        return mo_cfg_errorf(
            err, MO_EINVAL, c->node, "%s: no %s columns in %s%s",
            mo_cfg_path(c->node, path, sizeof path),
            c->type == MO_VCHECK_DRIFT ? "number" : "readable", mo_table_path(j->table),
            c->type == MO_VCHECK_DRIFT ? " that the reference has as numbers too" : "");
    return 0;
}

int mo_validate_resolve(mo_vjob_t *j, mo_error_t *err)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < j->n_checks; i++) {
        mo_vcheck_t *c = &j->checks[i];
        if (c->all_cols && c->n_cols == 0 &&
            (c->type == MO_VCHECK_NULLS || c->type == MO_VCHECK_DRIFT))
            rc = resolve_defaults(j, c, err);
    }
    return rc;
}
