/* table_csv.c - CSV tables for io/table.h: header, scan (rows, column types), row blocks
 *
 * Two passes: a column's type depends on every cell, and a rank must know the row count
 * before it knows its block. Both feed libcsv one physical line at a time, as io/csv.c does,
 * so every cell has its line:column; the read pass stops after the block's last row.
 */
#include "core/alloc.h"
#include "core/str.h"
#include "io/table_impl.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { PASS_HEADER, PASS_SCAN, PASS_READ };

typedef struct {
    mo_table_t *t;
    int pass, stop, rc;
    long line, next_line, row_line;
    size_t field;
    int pending_cr;
    int64_t row; /* data rows completed */
    mo_error_t *err;
    /* PASS_READ */
    mo_table_block_t *b;
    int64_t end;
    int *want;      /* per table column: vec index or -1 */
    uint64_t **off; /* per text vec: offsets into its pool */
    mo_buf_t *pools;
} csvp_t;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* 1 with *v set when the (trimmed) cell is a number or a missing one; 0 for text. */
static int cell_number(const char *s, double *v)
{
    const char *u = s + (*s == '+' || *s == '-');
    if (!*s || !strcasecmp(s, "nan")) {
        *v = NAN;
        return 1;
    }
    if (!strcasecmp(u, "inf") || !strcasecmp(u, "infinity")) {
        *v = *s == '-' ? -INFINITY : INFINITY;
        return 1;
    }
    return mo_parse_double(s, v) == 0;
}

static void clip(char *buf, size_t size, const char *s)
{
    if (mo_strlcpy(buf, s, size) >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
}

static void csv_cell(csvp_t *p, char *text, long line)
{
    mo_table_t *t = p->t;
    size_t col = p->field++;
    double v;
    if (col == 0)
        p->row_line = line;
    if (p->pass == PASS_HEADER) {
        p->rc = mo_table_add_col(t, mo_strdup(text), MO_TABLE_UNKNOWN, "csv");
        if (p->rc)
            mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", t->path);
        return;
    }
    if (col >= t->n_cols || p->row < 0)
        return; /* a long row is reported at its end; row -1 is the header */
    mo_table_col_t *c = &t->cols[col];
    char *s = trim(text);
    if (p->pass == PASS_SCAN) {
        c->filled += *s != '\0';
        if (c->type == MO_TABLE_NUMBER && !cell_number(s, &v)) {
            char q[48];
            clip(q, sizeof q, s);
            c->type = MO_TABLE_TEXT;
            snprintf(c->first_text, sizeof c->first_text, "%s:%ld:%zu '%s'", t->path, line, col + 1,
                     q);
        }
        return;
    }
    int w = p->want[col];
    if (p->row < p->b->first || w < 0)
        return;
    mo_table_vec_t *vec = &p->b->vecs[w];
    int64_t i = p->row - p->b->first;
    if (vec->type == MO_TABLE_TEXT) {
        p->off[w][i] = p->pools[w].len;
        mo_buf_append(&p->pools[w], text, strlen(text) + 1);
    } else if (!cell_number(s, &vec->num[i])) {
        p->rc = mo_errorf(p->err, MO_EFORMAT,
                          "%s:%ld:%zu: '%s' is not a number, but the scan found only numbers "
                          "in column '%s' (did the file change?)",
                          t->path, line, col + 1, s, c->name);
    }
}

static void on_field(void *s, size_t len, void *data)
{
    csvp_t *p = data;
    char *text = s ? s : "";
    long nl = 0;
    if (p->rc || p->stop)
        return;
    for (size_t i = 0; i < len; i++) /* line breaks inside quotes, as feed() counts them */
        nl += text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'));
    p->next_line = p->line;
    csv_cell(p, text, p->line - nl);
}

static int check_header(csvp_t *p)
{
    mo_table_t *t = p->t;
    int numeric = 1;
    double v;
    for (size_t i = 0; i < t->n_cols; i++) {
        numeric &= mo_parse_double(trim(t->names[i]), &v) == 0;
        if (!*t->names[i])
            return mo_errorf(p->err, MO_EFORMAT, "%s:%ld:%zu: column %zu has an empty name",
                             t->path, p->row_line, i + 1, i + 1);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t->names[i], t->names[j]))
                return mo_errorf(p->err, MO_EFORMAT,
                                 "%s:%ld:%zu: duplicate column name '%s' (also column %zu)",
                                 t->path, p->row_line, i + 1, t->names[i], j + 1);
    }
    if (numeric)
        return mo_errorf(p->err, MO_EFORMAT,
                         "%s:%ld:1: missing header row: the first row holds only numbers; the "
                         "first row must name the columns",
                         t->path, p->row_line);
    return 0;
}

static void on_row(int c, void *data)
{
    csvp_t *p = data;
    mo_table_t *t = p->t;
    size_t fields = p->field;
    (void)c;
    if (p->rc || p->stop)
        return;
    p->field = 0;
    p->next_line = p->line + 1;
    if (p->pass == PASS_HEADER) {
        p->rc = check_header(p);
        p->stop = 1;
        return;
    }
    if (fields != t->n_cols) {
        p->rc = mo_errorf(p->err, MO_EFORMAT, "%s:%ld:%zu: row has %zu field%s, header has %zu",
                          t->path, p->row_line, (fields < t->n_cols ? fields : t->n_cols) + 1,
                          fields, fields == 1 ? "" : "s", t->n_cols);
        return;
    }
    if (p->pass == PASS_READ && p->row >= p->b->first)
        p->b->line[p->row - p->b->first] = p->row_line;
    p->row++;
    p->stop = p->pass == PASS_READ && p->row >= p->end;
}

/* Feed the file to libcsv one physical line at a time (LF, CRLF or a lone CR ends one). */
static int feed(csvp_t *p)
{
    struct csv_parser csv;
    char buf[1 << 16];
    size_t n;
    int first = 1;
    FILE *f = fopen(p->t->path, "rb");
    if (!f)
        return p->rc = mo_errorf(p->err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s",
                                 p->t->path, strerror(errno));
    if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        fclose(f);
        return p->rc = mo_errorf(p->err, MO_ENOMEM, "%s: out of memory", p->t->path);
    }
    p->line = p->next_line = 1;
    while (!p->rc && !p->stop && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        char *s = buf, *end = buf + n;
        if (first && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
            s += 3;
        first = 0;
        while (!p->rc && !p->stop && s < end) {
            char *q = s;
            int newline = 0;
            if (p->pending_cr && *q == '\n') {
                q++; /* the LF of a CRLF split across two reads */
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
                                  "%s:%ld:%zu: malformed quoting (%s): a quote inside an "
                                  "unquoted field, or text after a closing quote",
                                  p->t->path, p->line, p->field + 1, csv_strerror(csv_error(&csv)));
            s += len;
            p->line += newline;
        }
    }
    if (!p->rc && ferror(f))
        p->rc = mo_errorf(p->err, MO_EIO, "%s: read error: %s", p->t->path, strerror(errno));
    if (!p->rc && !p->stop && csv_fini(&csv, on_field, on_row, p) != 0 && !p->rc)
        p->rc = mo_errorf(p->err, MO_EFORMAT, "%s:%ld:%zu: quoted field is never closed",
                          p->t->path, p->next_line, p->field + 1);
    csv_free(&csv);
    fclose(f);
    return p->rc;
}

int mo_table_csv_open(mo_table_t *t, mo_error_t *err)
{
    csvp_t p = {.t = t, .pass = PASS_HEADER, .err = err};
    snprintf(t->source, sizeof t->source, "CSV table");
    t->rows = -1;
    int rc = feed(&p);
    if (!rc && t->n_cols == 0)
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s:1:1: empty file; a header row naming the columns is required", t->path);
    return rc;
}

int mo_table_scan(mo_table_t *t, mo_error_t *err)
{
    if (!t)
        return mo_errorf(err, MO_EINVAL, "mo_table_scan: NULL table");
    if (t->src != SRC_CSV || t->scanned)
        return 0;
    for (size_t i = 0; i < t->n_cols; i++) {
        t->cols[i].type = MO_TABLE_NUMBER; /* until a cell says otherwise */
        t->cols[i].filled = 0;
        t->cols[i].first_text[0] = '\0';
    }
    csvp_t p = {.t = t, .pass = PASS_SCAN, .err = err, .row = -1};
    int rc = feed(&p); /* the header row counts as row -1 */
    if (!rc) {
        t->rows = p.row;
        t->scanned = 1;
    }
    return rc;
}

int mo_table_csv_read(mo_table_t *t, mo_table_block_t *b, mo_error_t *err)
{
    csvp_t p = {.t = t, .pass = PASS_READ, .err = err, .b = b, .row = -1};
    int rc = 0;
    size_t nv = b->n_vecs;
    p.end = b->first + b->n;
    p.want = mo_mallocarray(t->n_cols, sizeof *p.want);
    p.off = mo_calloc(nv, sizeof *p.off);
    p.pools = mo_calloc(nv, sizeof *p.pools);
    b->line = mo_mallocarray((size_t)b->n + 1, sizeof *b->line);
    if (!p.want || !p.off || !p.pools || !b->line)
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
    for (size_t i = 0; !rc && i < t->n_cols; i++)
        p.want[i] = -1;
    for (size_t v = 0; !rc && v < nv; v++) {
        p.want[b->vecs[v].col] = (int)v;
        if (b->vecs[v].type == MO_TABLE_TEXT &&
            !(p.off[v] = mo_mallocarray((size_t)b->n + 1, sizeof **p.off)))
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
    }
    if (!rc && b->n > 0)
        rc = feed(&p);
    for (size_t v = 0; !rc && v < nv; v++)
        if (p.pools[v].failed)
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
    if (!rc && p.row < p.end && b->n > 0)
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: %lld rows, fewer than the scan found (did the file change?)", t->path,
                       (long long)p.row);
    for (size_t v = 0; !rc && v < nv; v++) {
        if (!p.off[v])
            continue;
        b->vecs[v].pool = p.pools[v].data;
        p.pools[v].data = NULL;
        for (int64_t i = 0; i < b->n; i++)
            b->vecs[v].text[i] = b->vecs[v].pool + p.off[v][i];
    }
    for (size_t v = 0; p.off && v < nv; v++) {
        free(p.off[v]);
        mo_buf_free(&p.pools[v]);
    }
    free(p.off);
    free(p.pools);
    free(p.want);
    return rc;
}
