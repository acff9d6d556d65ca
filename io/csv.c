/* csv.c - CSV import with libcsv (io/csv.h)
 *
 * libcsv does the RFC 4180 state machine but reports no positions. The file is therefore
 * fed to it one physical line at a time (LF, CRLF or a lone CR ends a line): a field callback
 * fires while the line holding the field's end is being fed, so the field started at
 * `line - (line breaks inside the field)`. That keeps LINE right after quoted line breaks
 * without a parser of our own.
 *
 * Features are parsed as they stream in (growable row-major float array); label texts go
 * into one arena and are turned into class ids or targets at the end, once every label is
 * known. Errors in a row are held until the row ends, so a short or long row is reported as
 * such rather than as a misplaced value.
 */
#include "io/csv.h"

#include "core/alloc.h"
#include "core/str.h"

#include <csv.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *path;
    const mo_csv_opts_t *opts;
    long line;      /* physical line being fed, 1-based */
    long next_line; /* where the next field starts (approximately, for unclosed quotes) */
    long row_line;  /* where the current row started */
    int64_t field;  /* fields seen in the current row */
    int pending_cr; /* the last byte fed was CR: a following LF is not a new line */
    int header_done;
    char **names;
    int64_t n_names, cap_names, label_col;
    float *X, *row;
    int64_t n_rows, cap_rows;
    mo_buf_t labels;   /* label texts, NUL-separated */
    size_t *label_off; /* per row */
    int all_num, all_int;
    int rc;             /* first fatal error, stops the parse */
    mo_error_t row_err; /* first error in the current row, reported at row end */
    mo_error_t *err;
} parser_t;

/* Cut a cell for quoting in a message. */
static const char *clip(char *buf, size_t size, const char *s)
{
    size_t n = mo_strlcpy(buf, s, size);
    if (n >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
    return buf;
}

static int is_nonfinite_word(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    return !strcasecmp(s, "nan") || !strcasecmp(s, "inf") || !strcasecmp(s, "infinity");
}

/* Trim spaces and tabs in place (quoted fields keep them; numbers should not care). */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Parse a feature cell; on failure fill p->row_err (first in the row only). */
static void feature_cell(parser_t *p, char *text, long line, int64_t col, float *out)
{
    char c[48];
    double v;
    const char *name = p->names[col];
    char *s = trim(text);
    if (p->row_err.code)
        return;
    if (mo_parse_double(s, &v) == 0 && fabs(v) <= FLT_MAX) {
        *out = (float)v;
        return;
    }
    if (!*s)
        mo_errorf(&p->row_err, MO_EFORMAT,
                  "%s:%ld:%lld: empty cell in column '%s' (missing values are not supported)",
                  p->path, line, (long long)col + 1, name);
    else if (is_nonfinite_word(s))
        mo_errorf(&p->row_err, MO_EFORMAT,
                  "%s:%ld:%lld: column '%s' has '%s'; NaN and infinite values are not supported",
                  p->path, line, (long long)col + 1, name, clip(c, sizeof c, s));
    else if (mo_parse_double(s, &v) == 0 || strspn(s, "+-.0123456789eE") == strlen(s))
        mo_errorf(&p->row_err, MO_EFORMAT, "%s:%ld:%lld: column '%s' value '%s' is out of range",
                  p->path, line, (long long)col + 1, name, clip(c, sizeof c, s));
    else
        mo_errorf(&p->row_err, MO_EFORMAT, "%s:%ld:%lld: column '%s' has non-numeric value '%s'",
                  p->path, line, (long long)col + 1, name, clip(c, sizeof c, s));
}

static void label_cell(parser_t *p, char *text, long line, int64_t col)
{
    char c[48];
    double v;
    int64_t iv;
    char *s = trim(text);
    if (p->row_err.code)
        return;
    if (!*s) {
        mo_errorf(&p->row_err, MO_EFORMAT, "%s:%ld:%lld: empty label in column '%s'", p->path, line,
                  (long long)col + 1, p->names[col]);
        return;
    }
    int num = mo_parse_double(s, &v) == 0 && fabs(v) <= FLT_MAX;
    p->all_num &= num;
    p->all_int &= num && mo_parse_int64(s, &iv) == 0;
    if (!num && p->opts->task == MO_CSV_TASK_REGRESSION) {
        mo_errorf(&p->row_err, MO_EFORMAT,
                  "%s:%ld:%lld: label '%s' in column '%s' is not a finite number (task is "
                  "regression)",
                  p->path, line, (long long)col + 1, clip(c, sizeof c, s), p->names[col]);
        return;
    }
    p->label_off[p->n_rows] = p->labels.len;
    if (mo_buf_append(&p->labels, s, strlen(s) + 1))
        p->rc = mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
}

static int grow_rows(parser_t *p)
{
    if (p->n_rows < p->cap_rows)
        return 0;
    int64_t cap = p->cap_rows ? 2 * p->cap_rows : 1024, d = p->n_names - 1;
    float *x = mo_reallocarray(p->X, (size_t)cap, (size_t)d * sizeof *x);
    if (x)
        p->X = x;
    size_t *o = mo_reallocarray(p->label_off, (size_t)cap, sizeof *o);
    if (o)
        p->label_off = o;
    if (!x || !o)
        return p->rc =
                   mo_errorf(p->err, MO_ENOMEM, "%s: out of memory at line %ld", p->path, p->line);
    p->cap_rows = cap;
    return 0;
}

static void on_field(void *s, size_t len, void *data)
{
    parser_t *p = data;
    char *text = s ? s : "";
    long nl = 0;
    if (p->rc)
        return;
    for (size_t i = 0; i < len; i++) /* line breaks as parse_file counts them */
        nl += text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'));
    long line = p->line - nl;
    int64_t col = p->field++;
    p->next_line = p->line;
    if (col == 0)
        p->row_line = line;
    if (!p->header_done) {
        if (p->n_names == p->cap_names) {
            int64_t cap = p->cap_names ? 2 * p->cap_names : 16;
            char **n = mo_reallocarray(p->names, (size_t)cap, sizeof *n);
            if (!n) {
                p->rc = mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
                return;
            }
            p->names = n;
            p->cap_names = cap;
        }
        if (!(p->names[p->n_names++] = mo_strndup(text, len)))
            p->rc = mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
    } else if (col < p->n_names) {
        if (col == p->label_col)
            label_cell(p, text, line, col);
        else
            feature_cell(p, text, line, col, p->row + col - (col > p->label_col));
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(**(char **const *)a, **(char **const *)b);
}

static int finish_header(parser_t *p)
{
    int rc = 0, numeric = 1;
    double v;
    char ***sorted = mo_mallocarray((size_t)p->n_names, sizeof *sorted);
    mo_buf_t cols = {0};
    if (!sorted)
        return p->rc = mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
    for (int64_t i = 0; i < p->n_names; i++) {
        sorted[i] = &p->names[i];
        numeric &= mo_parse_double(trim(p->names[i]), &v) == 0;
    }
    if (numeric) {
        rc = mo_errorf(p->err, MO_EFORMAT,
                       "%s:%ld:1: missing header row: the first row holds only numbers; the "
                       "first row must name the columns",
                       p->path, p->row_line);
        goto out;
    }
    qsort(sorted, (size_t)p->n_names, sizeof *sorted, by_name);
    for (int64_t i = 0; i < p->n_names; i++) {
        int64_t col = sorted[i] - p->names;
        if (!*p->names[col]) {
            rc = mo_errorf(p->err, MO_EFORMAT, "%s:%ld:%lld: column %lld has an empty name",
                           p->path, p->row_line, (long long)col + 1, (long long)col + 1);
            goto out;
        }
        if (i > 0 && !strcmp(*sorted[i - 1], *sorted[i])) {
            int64_t a = sorted[i - 1] - p->names, b = col;
            rc = mo_errorf(p->err, MO_EFORMAT,
                           "%s:%ld:%lld: duplicate column name '%s' (also column %lld)", p->path,
                           p->row_line, (long long)(a > b ? a : b) + 1, p->names[col],
                           (long long)(a < b ? a : b) + 1);
            goto out;
        }
    }
    p->label_col = -1;
    const char *best = NULL;
    size_t best_dist = 4;
    for (int64_t i = 0; i < p->n_names; i++) {
        size_t dist = mo_str_distance(p->names[i], p->opts->label, 4);
        if (dist == 0)
            p->label_col = i;
        if (strcasecmp(p->names[i], p->opts->label) == 0)
            dist = 1;
        if (dist < best_dist) {
            best_dist = dist;
            best = p->names[i];
        }
        if (i < 8)
            mo_buf_printf(&cols, "%s'%s'", i ? ", " : "", p->names[i]);
    }
    if (p->label_col < 0) {
        if (p->n_names > 8)
            mo_buf_printf(&cols, " and %lld more", (long long)p->n_names - 8);
        mo_buf_t hint = {0};
        if (best)
            mo_buf_printf(&hint, " (did you mean '%s'?)", best);
        rc = mo_errorf(p->err, MO_EINVAL, "%s:%ld:1: no column '%s'%s; columns are %s", p->path,
                       p->row_line, p->opts->label, hint.data ? hint.data : "",
                       cols.data ? cols.data : "");
        mo_buf_free(&hint);
        goto out;
    }
    if (p->n_names < 2) {
        rc = mo_errorf(p->err, MO_EFORMAT,
                       "%s:%ld:1: only the label column '%s'; at least one feature column is "
                       "needed",
                       p->path, p->row_line, p->opts->label);
        goto out;
    }
    p->header_done = 1;
    if (!(p->row = mo_calloc((size_t)p->n_names, sizeof *p->row)))
        rc = mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
    else
        rc = grow_rows(p);
out:
    free(sorted);
    mo_buf_free(&cols);
    return p->rc = rc;
}

static void on_row(int c, void *data)
{
    parser_t *p = data;
    (void)c;
    if (p->rc)
        return;
    int64_t fields = p->field;
    p->field = 0;
    p->next_line = p->line + 1;
    if (!p->header_done) {
        finish_header(p);
        return;
    }
    if (fields != p->n_names) {
        p->rc = mo_errorf(p->err, MO_EFORMAT, "%s:%ld:%lld: row has %lld field%s, header has %lld",
                          p->path, p->row_line,
                          (long long)(fields < p->n_names ? fields : p->n_names) + 1,
                          (long long)fields, fields == 1 ? "" : "s", (long long)p->n_names);
        return;
    }
    if (p->row_err.code) {
        p->rc = mo_errorf(p->err, p->row_err.code, "%s", p->row_err.msg);
        return;
    }
    memcpy(p->X + p->n_rows * (p->n_names - 1), p->row, (size_t)(p->n_names - 1) * sizeof *p->row);
    p->n_rows++;
    /* Room for the next row is made now: its label offset is stored as its cells arrive. */
    grow_rows(p);
}

/* Feed `f` to libcsv one physical line at a time (see the top of the file). */
static int parse_file(parser_t *p, FILE *f)
{
    struct csv_parser csv;
    char buf[1 << 16];
    size_t n;
    int first = 1;
    unsigned char opts = CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL;
    if (csv_init(&csv, opts) != 0)
        return p->rc = mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
    csv_set_delim(&csv, (unsigned char)(p->opts->delimiter ? p->opts->delimiter : ','));
    while (!p->rc && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        char *s = buf, *end = buf + n;
        if (first && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
            s += 3;
        first = 0;
        while (!p->rc && s < end) {
            /* One physical line: up to LF, CRLF or a lone CR (old Mac files). The LF of a
             * CRLF split across two reads was counted with its CR. */
            char *q = s;
            int newline = 0;
            if (p->pending_cr && *q == '\n') {
                q++;
            } else {
                while (q < end && *q != '\n' && *q != '\r')
                    q++;
                if (q < end) {
                    newline = 1;
                    q += *q == '\r' && q + 1 < end && q[1] == '\n' ? 2 : 1;
                }
            }
            size_t len = (size_t)(q - s);
            p->pending_cr = q[-1] == '\r';
            if (csv_parse(&csv, s, len, on_field, on_row, p) != len && !p->rc)
                p->rc = mo_errorf(p->err, MO_EFORMAT,
                                  "%s:%ld:%lld: malformed quoting (%s): a quote inside an "
                                  "unquoted field, or text after a closing quote",
                                  p->path, p->line, (long long)p->field + 1,
                                  csv_strerror(csv_error(&csv)));
            s += len;
            p->line += newline;
        }
    }
    if (!p->rc && ferror(f))
        p->rc = mo_errorf(p->err, MO_EIO, "%s: read error: %s", p->path, strerror(errno));
    if (!p->rc && csv_fini(&csv, on_field, on_row, p) != 0 && !p->rc)
        p->rc = mo_errorf(p->err, MO_EFORMAT, "%s:%ld:%lld: quoted field is never closed", p->path,
                          p->next_line, (long long)p->field + 1);
    csv_free(&csv);
    return p->rc;
}

typedef struct {
    const char *text;
    double value;
    int64_t row;
} label_t;

static int by_text(const void *a, const void *b)
{
    return strcmp(((const label_t *)a)->text, ((const label_t *)b)->text);
}

static int by_value(const void *a, const void *b)
{
    const label_t *x = a, *y = b;
    return x->value < y->value ? -1 : x->value > y->value ? 1 : by_text(a, b);
}

/* Class ids from label texts: distinct texts sorted (numerically when all are numbers). */
static int make_classes(mo_csv_data_t *d, parser_t *p)
{
    int64_t n = p->n_rows, k = 0;
    label_t *l = mo_mallocarray((size_t)n, sizeof *l);
    d->y_class = mo_mallocarray((size_t)n, sizeof *d->y_class);
    if (!l || !d->y_class) {
        free(l);
        return mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
    }
    for (int64_t i = 0; i < n; i++) {
        l[i].text = p->labels.data + p->label_off[i];
        l[i].row = i;
        l[i].value = 0;
        if (p->all_num)
            mo_parse_double(l[i].text, &l[i].value);
    }
    qsort(l, (size_t)n, sizeof *l, p->all_num ? by_value : by_text);
    for (int64_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(l[i - 1].text, l[i].text))
            k++;
        d->y_class[l[i].row] = (int32_t)k;
    }
    d->info.n_classes = (int32_t)(k + 1);
    d->info.class_names = mo_calloc((size_t)k + 1, sizeof *d->info.class_names);
    for (int64_t i = 0, c = 0; d->info.class_names && i < n; i++)
        if (i == 0 || strcmp(l[i - 1].text, l[i].text))
            if (!(d->info.class_names[c++] = mo_strdup(l[i].text)))
                p->rc = MO_ENOMEM;
    free(l);
    if (!d->info.class_names || p->rc)
        return mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
    return 0;
}

static int make_labels(mo_csv_data_t *d, parser_t *p)
{
    mo_csv_task_t t = p->opts->task;
    if (t == MO_CSV_TASK_AUTO)
        t = p->all_int || !p->all_num ? MO_CSV_TASK_CLASSIFICATION : MO_CSV_TASK_REGRESSION;
    if (t == MO_CSV_TASK_CLASSIFICATION) {
        d->info.task = MO_DS_CLASSIFICATION;
        return make_classes(d, p);
    }
    d->info.task = MO_DS_REGRESSION;
    if (!(d->y_value = mo_mallocarray((size_t)p->n_rows, sizeof *d->y_value)))
        return mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->path);
    for (int64_t i = 0; i < p->n_rows; i++) {
        double v = 0;
        mo_parse_double(p->labels.data + p->label_off[i], &v); /* checked while parsing */
        d->y_value[i] = (float)v;
    }
    return 0;
}

void mo_csv_data_free(mo_csv_data_t *d)
{
    if (!d)
        return;
    mo_ds_info_free(&d->info);
    free(d->X);
    free(d->y_class);
    free(d->y_value);
    free(d);
}

int mo_csv_read(mo_csv_data_t **out, const char *csv_path, const mo_csv_opts_t *opts,
                mo_error_t *err)
{
    int rc = 0;
    FILE *f = NULL;
    mo_csv_data_t *d = NULL;
    parser_t p = {.path = csv_path,
                  .opts = opts,
                  .line = 1,
                  .next_line = 1,
                  .all_num = 1,
                  .all_int = 1,
                  .err = err};
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_csv_read: NULL output");
    *out = NULL;
    if (!csv_path || !*csv_path)
        return mo_errorf(err, MO_EINVAL, "data import: no CSV file given");
    if (!opts || !opts->label || !*opts->label)
        return mo_errorf(err, MO_EINVAL, "%s: --label (the label column) is required", csv_path);
    if (opts->task < MO_CSV_TASK_AUTO || opts->task > MO_CSV_TASK_REGRESSION)
        return mo_errorf(err, MO_EINVAL, "%s: unknown task %d", csv_path, (int)opts->task);
    if (!(f = fopen(csv_path, "rb"))) {
        rc = mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s", csv_path,
                       strerror(errno));
        goto out;
    }
    if ((rc = parse_file(&p, f)))
        goto out;
    if (!p.header_done && p.n_names == 0) {
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s:1:1: empty file; a header row naming the columns "
                       "is required",
                       csv_path);
        goto out;
    }
    if (p.n_rows == 0) {
        rc =
            mo_errorf(err, MO_EFORMAT, "%s:%ld:1: no data rows after the header", csv_path, p.line);
        goto out;
    }
    if (!(d = mo_calloc(1, sizeof *d))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", csv_path);
        goto out;
    }
    d->info.n_rows = p.n_rows;
    d->info.n_features = p.n_names - 1;
    d->info.format_version = MO_DS_FORMAT_VERSION;
    if ((rc = make_labels(d, &p)))
        goto out;
    /* Hand over X and the feature names (all names but the label's). */
    d->X = p.X;
    p.X = NULL;
    free(p.names[p.label_col]);
    memmove(p.names + p.label_col, p.names + p.label_col + 1,
            (size_t)(p.n_names - p.label_col - 1) * sizeof *p.names);
    d->info.feature_names = p.names;
    p.names = NULL;
    p.n_names = 0;
out:
    if (f)
        fclose(f);
    for (int64_t i = 0; i < p.n_names; i++)
        free(p.names[i]);
    free(p.names);
    free(p.X);
    free(p.row);
    free(p.label_off);
    mo_buf_free(&p.labels);
    if (rc)
        mo_csv_data_free(d);
    else
        *out = d;
    return rc;
}

int mo_csv_import(mo_ds_info_t *summary, const char *csv_path, const char *h5_path,
                  const mo_csv_opts_t *opts, mo_error_t *err)
{
    mo_csv_data_t *d = NULL;
    int rc;
    if (summary)
        memset(summary, 0, sizeof *summary);
    if (!h5_path || !*h5_path)
        return mo_errorf(err, MO_EINVAL, "data import: no output file (-o)");
    if ((rc = mo_csv_read(&d, csv_path, opts, err)) ||
        (rc = mo_ds_write(h5_path, &d->info, d->X, d->y_class, d->y_value, err)))
        goto out;
    if (summary) { /* the names move to the caller */
        *summary = d->info;
        d->info.feature_names = NULL;
        d->info.class_names = NULL;
    }
out:
    mo_csv_data_free(d);
    return rc;
}
