/* test_events.c - CSV event tables (io/events.c, io/events_csv.c): cells, quoting,
 * line:column errors, row ranges, the hash (HDF5 tables: test_events_h5.c; sorting and pushing
 * rows: test_events_sort.c) */
#include "io/events.h"

#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *amount[] = {"amount"};
static const char *two[] = {"amount", "qty"};

static mo_events_spec_t spec(const char *path, const char *const *values, size_t n)
{
    mo_events_spec_t s = {
        .path = path, .entity = "user", .timestamp = "ts", .values = values, .n_values = n};
    return s;
}

static const char *write(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s", mo_test_write_file(mo_test_tmpdir(), name, text));
    return path;
}

/* Read all of `text` (as tmpdir/name); the read must succeed. */
static void read_ok(mo_events_t *ev, const char *name, const char *text, mo_events_spec_t s)
{
    mo_error_t err = {0};
    s.path = write(name, text);
    int rc = mo_events_read(ev, &s, 0, -1, &err);
    if (rc)
        fprintf(stderr, "\n  unexpected error: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
}

/* Reading (and, for errors found in the header, counting) fails with `code` and `want` after
 * the "<tmpdir>/" prefix. */
static void read_bad(const char *name, const char *text, mo_events_spec_t s, int code,
                     const char *want)
{
    mo_error_t err = {0};
    mo_events_t ev;
    s.path = write(name, text);
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 0, -1, &err), code);
    CU_ASSERT_EQUAL(ev.n, 0);
    CU_ASSERT_PTR_NULL(ev.pool);
    size_t skip = strlen(mo_test_tmpdir()) + 1;
    const char *msg = strlen(err.msg) > skip ? err.msg + skip : err.msg;
    if (strcmp(msg, want))
        fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", msg, want);
    CU_ASSERT_STRING_EQUAL(msg, want);
}

static const char *key(const mo_events_t *ev, int64_t i)
{
    return ev->pool + ev->key_off[i];
}

static void test_events__entity_hash_known_values(void)
{
    CU_ASSERT_EQUAL(mo_entity_hash("", 0), UINT64_C(0xf52a15e9a9b5e89b));
    CU_ASSERT_EQUAL(mo_entity_hash("a", 1), UINT64_C(0x02c0bdbf481420f8));
    CU_ASSERT_EQUAL(mo_entity_hash("user_1", 6), UINT64_C(0xe49e1dd6e92e836f));
    CU_ASSERT_EQUAL(mo_entity_hash("42", 2), UINT64_C(0xa428ce5471163b02));
    CU_ASSERT_EQUAL(mo_entity_hash("foobar!", 6), UINT64_C(0x404da9e3b74078c2)); /* len counts */
    /* keys that differ in the last byte differ in the top bits (ranks split by those) */
    int top_differs = 0;
    for (int i = 0; i < 64; i++) {
        char a[8], b[8];
        snprintf(a, sizeof a, "k%03d", 2 * i);
        snprintf(b, sizeof b, "k%03d", 2 * i + 1);
        top_differs += (mo_entity_hash(a, 4) >> 60) != (mo_entity_hash(b, 4) >> 60);
    }
    CU_ASSERT(top_differs > 48);
}

static void test_events__csv_cells(void)
{
    mo_events_t ev;
    mo_events_spec_t s = spec(NULL, two, 2);
    read_ok(&ev, "cells.csv",
            "user,ts,other,amount,qty\n"
            "u1,2026-11-25T10:00:00Z,junk,1.5,2\n"
            "  u2  ,1732527000, x ,-3e2,\n"          /* unquoted spaces trimmed; empty -> NaN */
            "\" u3 \",1732527000123,,NaN,\" 7 \"\n", /* quoted key keeps its spaces */
            s);
    CU_ASSERT_EQUAL_FATAL(ev.n, 3);
    CU_ASSERT_EQUAL(ev.n_values, 2);
    CU_ASSERT_STRING_EQUAL(key(&ev, 0), "u1");
    CU_ASSERT_STRING_EQUAL(key(&ev, 1), "u2");
    CU_ASSERT_STRING_EQUAL(key(&ev, 2), " u3 ");
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(ev.hash[i], mo_entity_hash(key(&ev, i), strlen(key(&ev, i))));
        CU_ASSERT_EQUAL(ev.created[i], ev.ts[i]); /* no created column */
    }
    CU_ASSERT_EQUAL(ev.ts[0], INT64_C(1795600800000000));
    CU_ASSERT_EQUAL(ev.ts[1], INT64_C(1732527000000000));
    CU_ASSERT_EQUAL(ev.ts[2], INT64_C(1732527000123000));
    CU_ASSERT_EQUAL(ev.vals[0], 1.5);
    CU_ASSERT_EQUAL(ev.vals[1], 2.0);
    CU_ASSERT_EQUAL(ev.vals[2], -300.0);
    CU_ASSERT(isnan(ev.vals[3]));
    CU_ASSERT(isnan(ev.vals[4]));
    CU_ASSERT_EQUAL(ev.vals[5], 7.0);
    CU_ASSERT_PTR_NULL(ev.label_off);
    mo_events_free(&ev);
    mo_events_free(&ev); /* twice is fine */
    mo_events_free(NULL);
}

static void test_events__csv_rfc4180_quoting_crlf_bom_blank_lines(void)
{
    mo_events_t ev;
    mo_events_spec_t s = spec(NULL, amount, 1);
    s.created = "created";
    s.label = "note";
    read_ok(&ev, "q.csv",
            "\xEF\xBB\xBFuser,ts,created,note,amount\r\n"
            "\r\n"
            "\"a,b\",1,2,\"say \"\"hi\"\"\",1\r\n"
            "\n"
            "\"multi\nline\",3,,\"x\r\ny\",2\r\n"
            "c,4,5,,\"3\"", /* no line end at the end of the file */
            s);
    CU_ASSERT_EQUAL_FATAL(ev.n, 3);
    CU_ASSERT_STRING_EQUAL(key(&ev, 0), "a,b");
    CU_ASSERT_STRING_EQUAL(key(&ev, 1), "multi\nline");
    CU_ASSERT_STRING_EQUAL(key(&ev, 2), "c");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev.label_off);
    CU_ASSERT_STRING_EQUAL(ev.pool + ev.label_off[0], "say \"hi\"");
    CU_ASSERT_STRING_EQUAL(ev.pool + ev.label_off[1], "x\r\ny");
    CU_ASSERT_STRING_EQUAL(ev.pool + ev.label_off[2], "");
    CU_ASSERT_EQUAL(ev.ts[0], 1000000);
    CU_ASSERT_EQUAL(ev.created[0], 2000000);
    CU_ASSERT_EQUAL(ev.created[1], ev.ts[1]); /* empty created: the event timestamp */
    CU_ASSERT_EQUAL(ev.created[2], 5000000);
    CU_ASSERT_EQUAL(ev.vals[0], 1.0);
    CU_ASSERT_EQUAL(ev.vals[1], 2.0);
    CU_ASSERT_EQUAL(ev.vals[2], 3.0);
    mo_events_free(&ev);
}

static void test_events__csv_header_only_is_an_empty_table(void)
{
    mo_events_t ev;
    mo_events_spec_t s = spec(NULL, amount, 1);
    read_ok(&ev, "h.csv", "user,ts,amount\n\n", s);
    CU_ASSERT_EQUAL(ev.n, 0);
    mo_events_free(&ev);
    int64_t rows = 7;
    s.path = write("h.csv", "user,ts,amount\n\n");
    CU_ASSERT_EQUAL(mo_events_count(&rows, &s, NULL), 0);
    CU_ASSERT_EQUAL(rows, 0);
}

static void test_events__csv_header_errors(void)
{
    mo_events_spec_t s = spec(NULL, amount, 1);
    read_bad("m.csv", "user,ts,amt\nu,1,2\n", s, MO_EINVAL,
             "m.csv:1:1: no column 'amount' (columns: user, ts, amt)");
    read_bad("m.csv", "user,ts,Amount\nu,1,2\n", s, MO_EINVAL,
             "m.csv:1:1: no column 'amount'; did you mean 'Amount'? (columns: user, ts, Amount)");
    read_bad("m.csv", "\n\nuser,ts,amout\n", s, MO_EINVAL,
             "m.csv:3:1: no column 'amount'; did you mean 'amout'? (columns: user, ts, amout)");
    read_bad("m.csv", "a,b,c,d,e,f,g,h,i,j\n", s, MO_EINVAL,
             "m.csv:1:1: no column 'user' (columns: a, b, c, d, e, f, g, h and 2 more)");
    read_bad("m.csv", "user,ts,amount,ts\n", s, MO_EFORMAT,
             "m.csv:1:4: duplicate column name 'ts' (also column 2)");
    read_bad("m.csv", "", s, MO_EFORMAT,
             "m.csv:1:1: empty file; a header row naming the columns is required");
    read_bad("m.csv", "\n\r\n\n", s, MO_EFORMAT,
             "m.csv:1:1: empty file; a header row naming the columns is required");
    /* mo_events_count checks the columns the same way */
    mo_error_t err = {0};
    int64_t rows = 5;
    s.path = write("m.csv", "user,ts,amt\nu,1,2\n");
    CU_ASSERT_EQUAL(mo_events_count(&rows, &s, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err.msg, "m.csv:1:1: no column 'amount' (columns: user, ts, amt)"));
    CU_ASSERT_EQUAL(rows, 0);
}

static void test_events__csv_cell_errors(void)
{
    mo_events_spec_t s = spec(NULL, amount, 1);
    read_bad("c.csv", "user,ts,amount\nu,1,2\n\nu,2,3\nu,3,4\nu,4,abc\n", s, MO_EFORMAT,
             "c.csv:6:3: amount: not a number: 'abc'");
    read_bad("c.csv", "user,ts,amount\nu,1,inf\n", s, MO_EFORMAT,
             "c.csv:2:3: amount: not a finite number: 'inf'");
    read_bad("c.csv", "user,ts,amount\nu,1,1e999\n", s, MO_EFORMAT,
             "c.csv:2:3: amount: not a number: '1e999'");
    read_bad("c.csv", "user,ts,amount\nu,1,2\nu,2026-13-01T00:00:00Z,3\n", s, MO_EFORMAT,
             "c.csv:3:2: ts: not a timestamp: '2026-13-01T00:00:00Z' (month 13 is not 01..12)");
    read_bad("c.csv", "user,ts,amount\nu,soon,3\n", s, MO_EFORMAT,
             "c.csv:2:2: ts: not a timestamp: 'soon' (expected RFC 3339 like "
             "2026-11-25T10:00:00Z, or epoch seconds/milliseconds)");
    read_bad("c.csv", "user,ts,amount\n,1,3\n", s, MO_EFORMAT, "c.csv:2:1: user: empty entity key");
    read_bad("c.csv", "user,ts,amount\n\"\",1,3\n", s, MO_EFORMAT,
             "c.csv:2:1: user: empty entity key");
    read_bad("c.csv", "user,ts,amount\nu, ,3\n", s, MO_EFORMAT, "c.csv:2:2: ts: empty timestamp");
    s.created = "created";
    read_bad("c.csv", "user,ts,created,amount\nu,1,x,3\n", s, MO_EFORMAT,
             "c.csv:2:3: created: not a timestamp: 'x' (expected RFC 3339 like "
             "2026-11-25T10:00:00Z, or epoch seconds/milliseconds)");
    s.created = NULL;
    s.ts_format = MO_TS_RFC3339;
    read_bad("c.csv", "user,ts,amount\nu,1732527000,3\n", s, MO_EFORMAT,
             "c.csv:2:2: ts: not a timestamp: '1732527000' (expected RFC 3339 like "
             "2026-11-25T10:00:00Z)");
}

static void test_events__csv_structure_errors_name_line_and_field(void)
{
    mo_events_spec_t s = spec(NULL, amount, 1);
    read_bad("s.csv", "user,ts,amount\nu,1\n", s, MO_EFORMAT,
             "s.csv:2:3: row has 2 fields, header has 3");
    read_bad("s.csv", "user,ts,amount\nu,1,2,3\n", s, MO_EFORMAT,
             "s.csv:2:4: row has 4 fields, header has 3");
    /* a quoted line break counts: the next row is on line 4 */
    read_bad("s.csv", "user,ts,amount\n\"a\nb\",1,2\nu,1,x\n", s, MO_EFORMAT,
             "s.csv:4:3: amount: not a number: 'x'");
    /* and the line of a field is where it starts */
    read_bad("s.csv", "user,ts,amount\nu,\"1\n\",2\n", s, MO_EFORMAT,
             "s.csv:2:2: ts: not a timestamp: '1?' (expected RFC 3339 like "
             "2026-11-25T10:00:00Z, or epoch seconds/milliseconds)");
    read_bad("s.csv", "user,ts,amount\nu,1,\"2\n", s, MO_EFORMAT,
             "s.csv:2:3: quoted field is never closed");
    read_bad("s.csv", "user,ts,amount\nu,1,\"2\"x\n", s, MO_EFORMAT,
             "s.csv:2:3: malformed quoting: text after the closing quote");
    read_bad("s.csv", "user,ts,amount\nu\"v,1,2\n", s, MO_EFORMAT,
             "s.csv:2:1: malformed quoting: a quote inside an unquoted field (quote the whole "
             "field and double the quote)");
    s.path = "/nonexistent/events.csv";
    mo_error_t err = {0};
    mo_events_t ev;
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 0, -1, &err), MO_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(err.msg, "/nonexistent/events.csv: no such file");
}

/* 10 data rows, blank lines between some. */
static const char *ten_rows(void)
{
    return write("ten.csv", "user,ts,amount\n"
                            "a,1,0\nb,2,1\n\nc,3,2\nd,4,3\r\ne,5,4\n\n\n"
                            "f,6,5\ng,7,6\nh,8,7\ni,9,8\nj,10,9\n\n");
}

static void test_events__csv_row_ranges_concatenate_to_the_whole(void)
{
    mo_events_spec_t s = spec(ten_rows(), amount, 1);
    mo_error_t err = {0};
    int64_t rows = 0;
    CU_ASSERT_EQUAL_FATAL(mo_events_count(&rows, &s, &err), 0);
    CU_ASSERT_EQUAL(rows, 10);
    for (int parts = 1; parts <= 4; parts++) {
        int64_t at = 0;
        for (int p = 0; p < parts; p++) {
            mo_events_t ev;
            int64_t first = rows * p / parts, count = rows * (p + 1) / parts - first;
            CU_ASSERT_EQUAL_FATAL(mo_events_read(&ev, &s, first, p == parts - 1 ? -1 : count, &err),
                                  0);
            CU_ASSERT_EQUAL(ev.n, count);
            for (int64_t i = 0; i < ev.n; i++, at++) {
                char want[2] = {(char)('a' + at), 0};
                CU_ASSERT_STRING_EQUAL(key(&ev, i), want);
                CU_ASSERT_EQUAL(ev.vals[i], (double)at);
                CU_ASSERT_EQUAL(ev.ts[i], (at + 1) * 1000000);
            }
            mo_events_free(&ev);
        }
        CU_ASSERT_EQUAL(at, 10);
    }
}

static void test_events__csv_row_range_errors(void)
{
    mo_events_spec_t s = spec(ten_rows(), amount, 1);
    mo_error_t err = {0};
    mo_events_t ev;
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 10, -1, &err), 0); /* just past the end: empty */
    CU_ASSERT_EQUAL(ev.n, 0);
    mo_events_free(&ev);
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 4, 0, &err), 0);
    CU_ASSERT_EQUAL(ev.n, 0);
    mo_events_free(&ev);
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 8, 3, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ten.csv: rows 8..10 requested, the table has 10"));
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 11, -1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ten.csv: rows from 11 on requested, the table has 10"));
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, -1, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 0, -2, &err), MO_EINVAL);
    /* an error in a row outside the range is not this reader's to report */
    s.path = write("late.csv", "user,ts,amount\na,1,2\nb,2,x\n");
    CU_ASSERT_EQUAL(mo_events_read(&ev, &s, 0, 1, &err), 0);
    CU_ASSERT_EQUAL(ev.n, 1);
    mo_events_free(&ev);
}

static void test_events__csv_records_across_blocks_and_huge_fields(void)
{
    /* ~3 MiB: records cross the 1 MiB block ends, one quoted field holds line breaks across a
     * block end, one key is longer than a block. */
    size_t cap = (size_t)8 << 20, len = 0;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    len += (size_t)snprintf(text + len, cap - len, "user,ts,amount\n");
    int n = 0;
    for (; len < ((size_t)3 << 20); n++) {
        if (n == 20000) { /* a 1.5 MiB key */
            text[len++] = '"';
            for (int k = 0; k < (3 << 19); k++)
                text[len++] = k % 1000 == 999 ? '\n' : 'k';
            len += (size_t)snprintf(text + len, cap - len, "\",%d,%d\n", n, n);
        } else {
            len += (size_t)snprintf(text + len, cap - len, "\"key\n%d\",%d,%d.5\r\n", n % 97, n, n);
        }
    }
    text[len] = '\0';
    mo_events_t ev;
    mo_events_spec_t s = spec(NULL, amount, 1);
    read_ok(&ev, "big.csv", text, s);
    CU_ASSERT_EQUAL_FATAL(ev.n, n);
    int bad = 0;
    for (int i = 0; i < n && bad < 5; i++) {
        char want[32];
        snprintf(want, sizeof want, "key\n%d", i % 97);
        int ok = ev.ts[i] == (int64_t)i * 1000000 &&
                 ev.vals[i] == (i == 20000 ? (double)i : i + 0.5) &&
                 (i == 20000 ? strlen(key(&ev, i)) == (3 << 19) : !strcmp(key(&ev, i), want));
        bad += !ok;
    }
    CU_ASSERT_EQUAL(bad, 0);
    mo_events_free(&ev);
    free(text);
}

static void test_events__bad_arguments(void)
{
    mo_error_t err = {0};
    mo_events_t ev;
    int64_t rows;
    mo_events_spec_t s = spec(ten_rows(), amount, 1);
    CU_ASSERT_EQUAL(mo_events_read(NULL, &s, 0, -1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_read(&ev, NULL, 0, -1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_count(NULL, &s, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_count(&rows, NULL, &err), MO_EINVAL);
    mo_events_spec_t t = s;
    t.path = "";
    CU_ASSERT_EQUAL(mo_events_count(&rows, &t, &err), MO_EINVAL);
    t = s;
    t.entity = NULL;
    CU_ASSERT_EQUAL(mo_events_count(&rows, &t, &err), MO_EINVAL);
    t = s;
    t.values = NULL;
    CU_ASSERT_EQUAL(mo_events_count(&rows, &t, &err), MO_EINVAL);
    t = s;
    t.ts_format = (mo_ts_format_t)7;
    CU_ASSERT_EQUAL(mo_events_read(&ev, &t, 0, -1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(ev.n, 0);
    t = s;
    t.created = "";
    CU_ASSERT_EQUAL(mo_events_count(&rows, &t, NULL), MO_EINVAL); /* err may be NULL */
    CU_ASSERT_EQUAL(mo_events_count(&rows, &s, NULL), 0);
    CU_ASSERT_EQUAL(rows, 10);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_events__entity_hash_known_values),
    MO_TEST(test_events__csv_cells),
    MO_TEST(test_events__csv_rfc4180_quoting_crlf_bom_blank_lines),
    MO_TEST(test_events__csv_header_only_is_an_empty_table),
    MO_TEST(test_events__csv_header_errors),
    MO_TEST(test_events__csv_cell_errors),
    MO_TEST(test_events__csv_structure_errors_name_line_and_field),
    MO_TEST(test_events__csv_row_ranges_concatenate_to_the_whole),
    MO_TEST(test_events__csv_row_range_errors),
    MO_TEST(test_events__csv_records_across_blocks_and_huge_fields),
    MO_TEST(test_events__bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/events", tests);
}
