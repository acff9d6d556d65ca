/* events_csv.c - event tables from CSV files (io/events.h)
 *
 * A reader of its own rather than io/csv.c: that one turns a whole file into a float dataset
 * through libcsv, fed line by line to learn positions; an event table needs text keys,
 * timestamps, a range of rows and a few of many columns, at tens of millions of rows.
 *
 * The file is read in 1 MiB blocks. A record (one row; quoted fields may hold line breaks) is
 * found first: memchr for the line end, and when that line holds a quote, a scan that tracks
 * quote parity (in RFC 4180 a doubled quote flips the state twice, so parity is exact). A
 * record cut by the block end is moved to the front and the block refilled. Only a complete
 * record is split into fields, in place (quotes dropped, doubled quotes collapsed, a NUL after
 * each field): in place is safe because a complete record is never scanned again. Rows before
 * `first` are found but never split; nothing is allocated per row or field (keys go straight
 * into the table's pool).
 */
#include "core/alloc.h"
#include "core/str.h"
#include "io/events_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BLOCK ((size_t)1 << 20)

typedef struct {
    char *p; /* NUL-terminated in place */
    size_t len;
    long line; /* where the field starts */
} field_t;

typedef struct {
    const char *path;
    mo_error_t *err;
    FILE *f;
    char *buf; /* cap + 1 bytes: a NUL fits after a last field that ends the file */
    size_t cap, n, pos;
    int eof;
    long line; /* physical line where the record at pos starts */
    field_t *fields;
    size_t cap_fields;
} reader_t;

static int refill(reader_t *r)
{
    size_t keep = r->n - r->pos;
    memmove(r->buf, r->buf + r->pos, keep);
    r->n = keep;
    r->pos = 0;
    if (r->n == r->cap) { /* one record longer than the buffer */
        char *b = realloc(r->buf, 2 * r->cap + 1);
        if (!b)
            return mo_errorf(r->err, MO_ENOMEM, "%s:%ld: out of memory for a %zu-byte record",
                             r->path, r->line, r->n);
        r->buf = b;
        r->cap *= 2;
    }
    size_t want = r->cap - r->n, got = fread(r->buf + r->n, 1, want, r->f);
    r->n += got;
    if (got < want) {
        if (ferror(r->f))
            return mo_errorf(r->err, MO_EIO, "%s: read error: %s", r->path, strerror(errno));
        r->eof = 1;
    }
    return 0;
}

/* The next record [*b, *e) without its line end, starting at *line: 1, or 0 at the end. */
static int next_record(reader_t *r, char **b, char **e, long *line)
{
    for (;;) {
        char *s = r->buf + r->pos, *end = r->buf + r->n;
        char *nl = memchr(s, '\n', (size_t)(end - s));
        long inner = 0;
        if (nl && memchr(s, '"', (size_t)(nl - s))) {
            int inq = 0;
            for (nl = s; nl < end; nl++) {
                if (*nl == '"')
                    inq = !inq;
                else if (*nl == '\n' && !inq)
                    break;
                else if (*nl == '\n')
                    inner++;
            }
            if (nl == end)
                nl = NULL;
        }
        if (nl || (r->eof && s < end)) {
            *b = s;
            *e = nl ? nl : end;
            *line = r->line;
            r->line += 1 + inner;
            r->pos = nl ? (size_t)(nl + 1 - r->buf) : r->n;
            return 1;
        }
        if (r->eof)
            return 0;
        int rc = refill(r);
        if (rc)
            return rc;
    }
}

static int is_blank(const char *b, const char *e)
{
    return b == e || (e - b == 1 && *b == '\r');
}

static int keep_field(reader_t *r, size_t i, int grow, char *p, size_t len, long line)
{
    if (i >= r->cap_fields) {
        if (!grow)
            return 0; /* a long row: counted, reported by the caller */
        size_t cap = r->cap_fields ? 2 * r->cap_fields : 16;
        field_t *f = mo_reallocarray(r->fields, cap, sizeof *f);
        if (!f)
            return mo_errorf(r->err, MO_ENOMEM, "%s: out of memory", r->path);
        r->fields = f;
        r->cap_fields = cap;
    }
    r->fields[i] = (field_t){p, len, line};
    return 0;
}

/* Split the record [b, e) at `line` into r->fields (see the top). grow: the header, which
 * may have any number of fields; otherwise fields past cap_fields are counted only.
 * *nf: the number of fields. */
static int split(reader_t *r, char *b, char *e, long line, int grow, size_t *nf)
{
    size_t i = 0;
    int rc;
    if (e > b && e[-1] == '\r')
        e--;
    for (char *q = b;; i++) {
        char *s = q, *c, *fp, *fe;
        long fline = line;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        if (s < e && *s == '"') {
            char *w = fp = s + 1;
            for (c = s + 1;; c++) {
                if (c >= e)
                    return mo_errorf(r->err, MO_EFORMAT, "%s:%ld:%zu: quoted field is never closed",
                                     r->path, fline, i + 1);
                if (*c == '"' && !(c + 1 < e && c[1] == '"'))
                    break;
                c += *c == '"'; /* a doubled quote: keep one */
                line += *c == '\n';
                *w++ = *c;
            }
            fe = w;
            for (c++; c < e && (*c == ' ' || *c == '\t'); c++)
                ;
            if (c < e && *c != ',')
                return mo_errorf(r->err, MO_EFORMAT,
                                 "%s:%ld:%zu: malformed quoting: text after the closing quote",
                                 r->path, line, i + 1);
        } else {
            for (c = s; c < e && *c != ','; c++)
                if (*c == '"')
                    return mo_errorf(r->err, MO_EFORMAT,
                                     "%s:%ld:%zu: malformed quoting: a quote inside an unquoted "
                                     "field (quote the whole field and double the quote)",
                                     r->path, line, i + 1);
            for (fp = s, fe = c; fe > fp && (fe[-1] == ' ' || fe[-1] == '\t'); fe--)
                ;
        }
        if ((rc = keep_field(r, i, grow, fp, (size_t)(fe - fp), fline)))
            return rc;
        if (c >= e)
            break;
        q = c + 1;
    }
    *nf = i + 1;
    /* Every byte after a field is already read (a delimiter, quote, space or line end). */
    for (size_t k = 0; k < *nf && k < r->cap_fields; k++)
        r->fields[k].p[r->fields[k].len] = '\0';
    return 0;
}

/* Spaces around numbers and timestamps go even when quoted. */
static void trim(field_t *f)
{
    while (f->len && (*f->p == ' ' || *f->p == '\t')) {
        f->p++;
        f->len--;
    }
    while (f->len && (f->p[f->len - 1] == ' ' || f->p[f->len - 1] == '\t'))
        f->len--;
    f->p[f->len] = '\0';
}

typedef struct {
    const char *name;
    size_t col;
} role_t;

/* Find each wanted column in the header; roles: entity, timestamp, created, label, values. */
static int find_columns(reader_t *r, role_t *roles, size_t n_roles, size_t ncols, long line)
{
    int rc = 0;
    const char **names = mo_mallocarray(ncols, sizeof *names);
    if (!names)
        return mo_errorf(r->err, MO_ENOMEM, "%s: out of memory", r->path);
    for (size_t c = 0; c < ncols; c++)
        names[c] = r->fields[c].p;
    for (size_t k = 0; k < n_roles && !rc; k++) {
        if (!roles[k].name)
            continue;
        size_t found = ncols, best = ncols, best_d = 3;
        for (size_t c = 0; c < ncols; c++) {
            if (!strcmp(names[c], roles[k].name)) {
                if (found < ncols) {
                    rc = mo_errorf(r->err, MO_EFORMAT,
                                   "%s:%ld:%zu: duplicate column name '%s' (also column %zu)",
                                   r->path, line, c + 1, names[c], found + 1);
                    break;
                }
                found = c;
            }
            size_t d = strcasecmp(names[c], roles[k].name)
                           ? mo_str_distance(names[c], roles[k].name, 3)
                           : 1;
            if (d < best_d) {
                best_d = d;
                best = c;
            }
        }
        roles[k].col = found;
        if (!rc && found == ncols) {
            char list[160], hint[96] = "";
            mo_events_list(list, sizeof list, names, ncols, ncols);
            if (best < ncols)
                snprintf(hint, sizeof hint, "; did you mean '%s'?", names[best]);
            rc = mo_errorf(r->err, MO_EINVAL, "%s:%ld:1: no column '%s'%s (columns: %s)", r->path,
                           line, roles[k].name, hint, list);
        }
    }
    free(names);
    return rc;
}

static int parse_ts(reader_t *r, field_t *f, const role_t *role, mo_ts_format_t fmt, int64_t *us)
{
    mo_error_t e;
    if (mo_ts_parse(f->p, f->len, fmt, us, NULL) == 0)
        return 0;
    /* Again for the message: a zeroed mo_error_t per cell would cost more than the parse. A
     * bad cell is bad file content (MO_EFORMAT), as for numbers. */
    mo_ts_parse(f->p, f->len, fmt, us, &e);
    return mo_errorf(r->err, MO_EFORMAT, "%s:%ld:%zu: %s: %s", r->path, f->line, role->col + 1,
                     role->name, e.msg);
}

/* s is `word` in any case, after an optional sign. */
static int is_word(const char *s, const char *word)
{
    s += *s == '+' || *s == '-';
    return (*s | 0x20) == *word && !strcasecmp(s, word); /* most cells fail the first test */
}

/* One data row (already split) into ev. */
static int convert_row(reader_t *r, mo_events_t *ev, const role_t *roles,
                       const mo_events_spec_t *spec)
{
    char q[48];
    field_t *key = &r->fields[roles[0].col], *ts = &r->fields[roles[1].col];
    int64_t t = 0, created;
    int rc;
    if (!key->len || memchr(key->p, '\0', key->len))
        return mo_errorf(r->err, MO_EFORMAT, "%s:%ld:%zu: %s: %s entity key", r->path, key->line,
                         roles[0].col + 1, roles[0].name, key->len ? "a NUL byte in the" : "empty");
    trim(ts);
    if (!ts->len)
        return mo_errorf(r->err, MO_EFORMAT, "%s:%ld:%zu: %s: empty timestamp", r->path, ts->line,
                         roles[1].col + 1, roles[1].name);
    if ((rc = parse_ts(r, ts, &roles[1], spec->ts_format, &t)))
        return rc;
    created = t;
    if (roles[2].name) { /* empty: the event timestamp, as when there is no column */
        field_t *c = &r->fields[roles[2].col];
        trim(c);
        if (c->len && (rc = parse_ts(r, c, &roles[2], spec->ts_format, &created)))
            return rc;
    }
    field_t *label = roles[3].name ? &r->fields[roles[3].col] : NULL;
    if (mo_events_reserve(ev, 1, key->len + 1 + (label ? label->len + 1 : 0)))
        return mo_errorf(r->err, MO_ENOMEM, "%s:%ld: out of memory at %lld rows", r->path,
                         key->line, (long long)ev->n);
    double *row = ev->vals + (size_t)ev->n * ev->n_values;
    for (size_t j = 0; j < spec->n_values; j++) {
        const role_t *role = &roles[4 + j];
        field_t *f = &r->fields[role->col];
        trim(f);
        if (!f->len || is_word(f->p, "nan"))
            row[j] = NAN; /* missing */
        else if (mo_parse_double(f->p, &row[j]) != 0)
            return mo_errorf(r->err, MO_EFORMAT, "%s:%ld:%zu: %s: not a %snumber: '%s'", r->path,
                             f->line, role->col + 1, role->name,
                             is_word(f->p, "inf") || is_word(f->p, "infinity") ? "finite " : "",
                             mo_events_quote(q, sizeof q, f->p, f->len));
    }
    /* Last: the row only counts once every cell of it converted. */
    if (label)
        ev->label_off[ev->n] = mo_events_put_text(ev, label->p, label->len);
    mo_events_append(ev, key->p, key->len, t, created);
    return 0;
}

int mo_events_csv_load(mo_events_t *ev, int64_t *rows, const mo_events_spec_t *spec, int64_t first,
                       int64_t count, mo_error_t *err)
{
    int rc = 0;
    reader_t r = {.path = spec->path, .err = err, .cap = BLOCK, .line = 1};
    size_t n_roles = 4 + spec->n_values, ncols = 0, nf = 0;
    role_t *roles = mo_calloc(n_roles, sizeof *roles);
    char *b, *e;
    long line = 1;
    int64_t row = 0, end = count < 0 ? INT64_MAX : first + count;
    if (!roles || !(r.buf = malloc(r.cap + 1))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", spec->path);
        goto out;
    }
    roles[0].name = spec->entity;
    roles[1].name = spec->timestamp;
    roles[2].name = spec->created;
    roles[3].name = spec->label;
    for (size_t j = 0; j < spec->n_values; j++)
        roles[4 + j].name = spec->values[j];
    if (!(r.f = fopen(spec->path, "rb"))) {
        rc = mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s", spec->path,
                       strerror(errno));
        goto out;
    }
    if ((rc = refill(&r)))
        goto out;
    if (r.n >= 3 && !memcmp(r.buf, "\xEF\xBB\xBF", 3))
        r.pos = 3;
    while ((rc = next_record(&r, &b, &e, &line)) > 0 && is_blank(b, e))
        ;
    if (rc < 0)
        goto out;
    if (rc == 0) {
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s:1:1: empty file; a header row naming the columns is required",
                       spec->path);
        goto out;
    }
    if ((rc = split(&r, b, e, line, 1, &ncols)) ||
        (rc = find_columns(&r, roles, n_roles, ncols, line)))
        goto out;
    r.cap_fields = ncols; /* from here on, only a row's first ncols fields are kept */
    while (row < end && (rc = next_record(&r, &b, &e, &line)) > 0) {
        if (is_blank(b, e))
            continue;
        if (!ev) {
            row++;
            continue;
        }
        if (row++ < first) /* before the range: found, never split */
            continue;
        if ((rc = split(&r, b, e, line, 0, &nf)))
            goto out;
        if (nf != ncols) {
            rc = mo_errorf(err, MO_EFORMAT, "%s:%ld:%zu: row has %zu field%s, header has %zu",
                           spec->path, line, (nf < ncols ? nf : ncols) + 1, nf, nf == 1 ? "" : "s",
                           ncols);
            goto out;
        }
        if ((rc = convert_row(&r, ev, roles, spec)))
            goto out;
    }
    if (rc < 0)
        goto out;
    rc = 0;
    if (ev && (first > row || (count >= 0 && row < end))) {
        rc = mo_events_range_error(err, spec->path, first, count, row);
        goto out;
    }
    *rows = row;
out:
    if (r.f)
        fclose(r.f);
    free(r.buf);
    free(r.fields);
    free(roles);
    return rc;
}
