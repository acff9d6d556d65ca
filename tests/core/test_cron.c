/* test_cron.c - cron expressions: parsing to bitsets, next run times in UTC and across DST */
#include "core/cron.h"
#include "core/status.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `n` run times of `expr` in `tz` after `from` (RFC 3339), as RFC 3339 in `tz`, joined by ' '. */
static const char *runs(const char *expr, const char *tz, const char *from, int n)
{
    static char out[2048];
    mo_cron_t c;
    mo_error_t err = {0};
    int64_t t;
    out[0] = '\0';
    if (mo_cron_parse(&c, expr, &err) || mo_cron_parse_time(&t, from, &err)) {
        snprintf(out, sizeof out, "error: %s", err.msg);
        return out;
    }
    for (int i = 0; i < n; i++) {
        char buf[64];
        if (mo_cron_next(&t, &c, tz, t, &err) || mo_cron_format(buf, sizeof buf, t, tz, &err)) {
            snprintf(out, sizeof out, "error: %s", err.msg);
            return out;
        }
        size_t len = strlen(out);
        snprintf(out + len, sizeof out - len, "%s%s", i ? " " : "", buf);
    }
    return out;
}

static const char *parse_error(const char *expr)
{
    static mo_error_t err;
    mo_cron_t c;
    memset(&err, 0, sizeof err);
    if (mo_cron_parse(&c, expr, &err) != MO_EINVAL)
        return "(parsed)";
    return err.msg;
}

static void test_cron__bitsets_of_ranges_lists_steps_names(void)
{
    static const struct {
        const char *expr;
        uint64_t minute;
        uint32_t hour, dom;
        uint16_t month;
        uint8_t dow;
    } cases[] = {
        {"* * * * *", 0x0fffffffffffffffull, 0xffffff, 0xfffffffe, 0x1ffe, 0x7f},
        {"0,30 1-3 */10 JAN,jul-Sep mon-FRI", 1ull | 1ull << 30, 0xe,
         1u << 1 | 1u << 11 | 1u << 21 | 1u << 31, 1 << 1 | 1 << 7 | 1 << 8 | 1 << 9, 0x3e},
        {"*/15 1-10/2 1 * *", 1ull | 1ull << 15 | 1ull << 30 | 1ull << 45,
         1 << 1 | 1 << 3 | 1 << 5 | 1 << 7 | 1 << 9, 2, 0x1ffe, 0x7f},
        {"0 0 * * 7", 1, 1, 0xfffffffe, 0x1ffe, 1},
        {"0 0 * * 5-7", 1, 1, 0xfffffffe, 0x1ffe, 1 | 1 << 5 | 1 << 6},
        {"0 0 * * SUN,sat", 1, 1, 0xfffffffe, 0x1ffe, 1 | 1 << 6},
        {"59 23 31 DEC 0", 1ull << 59, 1u << 23, 1u << 31, 1 << 12, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mo_cron_t c;
        mo_error_t err = {0};
        CU_ASSERT_EQUAL_FATAL(mo_cron_parse(&c, cases[i].expr, &err), 0);
        CU_ASSERT_EQUAL(c.minute, cases[i].minute);
        CU_ASSERT_EQUAL(c.hour, cases[i].hour);
        CU_ASSERT_EQUAL(c.dom, cases[i].dom);
        CU_ASSERT_EQUAL(c.month, cases[i].month);
        CU_ASSERT_EQUAL(c.dow, cases[i].dow);
        if (c.dow != cases[i].dow || c.dom != cases[i].dom)
            printf("\n  %s: dom %x dow %x\n", cases[i].expr, c.dom, c.dow);
    }
}

static void test_cron__errors_name_the_field(void)
{
    static const char *const cases[][2] = {
        {"0 0 * * 8", "cron field 'day-of-week': 8 is out of range 0-7"},
        {"60 * * * *", "cron field 'minute': 60 is out of range 0-59"},
        {"* 24 * * *", "cron field 'hour': 24 is out of range 0-23"},
        {"* * 0 * *", "cron field 'day-of-month': 0 is out of range 1-31"},
        {"* * * 13 *", "cron field 'month': 13 is out of range 1-12"},
        {"* * * FOO *", "cron field 'month': unknown name 'FOO' (JAN-DEC or 1-12)"},
        {"* * * * MON-FOO", "cron field 'day-of-week': unknown name 'FOO' (SUN-SAT or 0-7)"},
        {"* 5-2 * * *", "cron field 'hour': range 5-2 runs backwards"},
        {"*/0 * * * *", "cron field 'minute': step 0 is out of range 1-59"},
        {"5/10 * * * *", "cron field 'minute': a step needs a range or '*' before '/' (5/10)"},
        {"1,,2 * * * *", "cron field 'minute': unexpected ','"},
        {"* * * *", "cron expression \"* * * *\": expected 5 fields (minute hour day-of-month "
                    "month day-of-week), got 4"},
        {"* * 30 2 *", "cron field 'day-of-month': 30 never occurs in the months selected by '2'"},
        {"* * * JAN *x", "cron field 'day-of-week': unexpected 'x' in \"*x\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *got = parse_error(cases[i][0]);
        CU_ASSERT_STRING_EQUAL(got, cases[i][1]);
        if (strcmp(got, cases[i][1]))
            printf("\n  %s: got \"%s\"\n", cases[i][0], got);
    }
    mo_cron_t c;
    CU_ASSERT_EQUAL(mo_cron_parse(&c, NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_parse(NULL, "* * * * *", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_parse(&c, "", NULL), MO_EINVAL);
}

static void check_runs(const char *expr, const char *tz, const char *from, int n, const char *want)
{
    const char *got = runs(expr, tz, from, n);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want))
        printf("\n  '%s' in %s after %s:\n    got  %s\n    want %s\n", expr, tz, from, got, want);
}

static void test_cron__next_in_utc(void)
{
    check_runs("*/15 * * * *", "UTC", "2026-01-01T00:00:00Z", 3,
               "2026-01-01T00:15:00+00:00 2026-01-01T00:30:00+00:00 2026-01-01T00:45:00+00:00");
    check_runs("0 2 * * *", "UTC", "2026-01-01T02:00:00Z", 2,
               "2026-01-02T02:00:00+00:00 2026-01-03T02:00:00+00:00");
    /* strictly after: a run at exactly `after` is not the next one */
    check_runs("30 1 * * *", "UTC", "2026-05-05T01:29:59Z", 1, "2026-05-05T01:30:00+00:00");
    check_runs("1-10/4 0 1 1 *", "UTC", "2026-01-01T00:00:00Z", 4,
               "2026-01-01T00:01:00+00:00 2026-01-01T00:05:00+00:00 2026-01-01T00:09:00+00:00 "
               "2027-01-01T00:01:00+00:00");
}

static void test_cron__dom_dow_or_rule_and_sunday_0_7(void)
{
    /* 2026-03-01 is a Sunday. Both restricted: the 13th OR any Friday. */
    check_runs("0 0 13 * FRI", "UTC", "2026-03-01T00:00:00Z", 4,
               "2026-03-06T00:00:00+00:00 2026-03-13T00:00:00+00:00 2026-03-20T00:00:00+00:00 "
               "2026-03-27T00:00:00+00:00");
    check_runs("0 0 1 * 1", "UTC", "2026-03-25T00:00:00Z", 3,
               "2026-03-30T00:00:00+00:00 2026-04-01T00:00:00+00:00 2026-04-06T00:00:00+00:00");
    /* day-of-week '*': only day-of-month counts; day-of-month '*': only day-of-week */
    check_runs("0 0 1 * *", "UTC", "2026-03-25T00:00:00Z", 1, "2026-04-01T00:00:00+00:00");
    check_runs("0 0 * * 1", "UTC", "2026-03-25T00:00:00Z", 1, "2026-03-30T00:00:00+00:00");
    /* Vixie: a day-of-month like star-slash-2 starts with '*', so it is not "restricted" */
    check_runs("0 0 */2 * 1", "UTC", "2026-03-01T00:00:00Z", 2,
               "2026-03-09T00:00:00+00:00 2026-03-23T00:00:00+00:00");
    const char *sun0 = "2026-03-01T00:00:00+00:00 2026-03-08T00:00:00+00:00";
    check_runs("0 0 * * 0", "UTC", "2026-02-28T00:00:00Z", 2, sun0);
    check_runs("0 0 * * 7", "UTC", "2026-02-28T00:00:00Z", 2, sun0);
    check_runs("0 0 * * sun", "UTC", "2026-02-28T00:00:00Z", 2, sun0);
}

static void test_cron__feb_29_only_in_leap_years(void)
{
    check_runs("0 12 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3,
               "2028-02-29T12:00:00+00:00 2032-02-29T12:00:00+00:00 2036-02-29T12:00:00+00:00");
    /* 2100 is not a leap year (divisible by 100), 2400 would be */
    check_runs("0 0 29 FEB *", "UTC", "2096-03-01T00:00:00Z", 1, "2104-02-29T00:00:00+00:00");
    check_runs("0 0 L * *", "UTC", "2026-01-01T00:00:00Z", 1,
               "error: cron field 'day-of-month': 'L' is not a number (1-31)");
}

static void test_cron__berlin_across_both_dst_switches_of_2026(void)
{
    /* 29 March: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist and runs at 03:00. */
    check_runs("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00+01:00", 4,
               "2026-03-28T02:30:00+01:00 2026-03-29T03:00:00+02:00 2026-03-30T02:30:00+02:00 "
               "2026-03-31T02:30:00+02:00");
    /* every gap minute collapses into one run at 03:00 */
    check_runs("*/20 2-3 29 3 *", "Europe/Berlin", "2026-03-29T00:00:00+01:00", 4,
               "2026-03-29T03:00:00+02:00 2026-03-29T03:20:00+02:00 2026-03-29T03:40:00+02:00 "
               "2027-03-29T02:00:00+02:00");
    /* 25 October: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice and runs once */
    check_runs("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00", 3,
               "2026-10-25T02:30:00+02:00 2026-10-26T02:30:00+01:00 2026-10-27T02:30:00+01:00");
    check_runs("0,30 * 25 10 *", "Europe/Berlin", "2026-10-25T01:00:00+02:00", 6,
               "2026-10-25T01:30:00+02:00 2026-10-25T02:00:00+02:00 2026-10-25T02:30:00+02:00 "
               "2026-10-25T03:00:00+01:00 2026-10-25T03:30:00+01:00 2026-10-25T04:00:00+01:00");
    /* asked from inside the second 02:xx pass: the repeat is not run again */
    check_runs("45 2 * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00", 1,
               "2026-10-26T02:45:00+01:00");
    check_runs("0 * * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00", 1,
               "2026-10-25T03:00:00+01:00");
}

static void test_cron__new_york(void)
{
    /* 8 March 2026: 02:00 EST -> 03:00 EDT; 1 November: 02:00 EDT -> 01:00 EST */
    check_runs("15 2 * * *", "America/New_York", "2026-03-07T00:00:00-05:00", 3,
               "2026-03-07T02:15:00-05:00 2026-03-08T03:00:00-04:00 2026-03-09T02:15:00-04:00");
    check_runs("30 1 * * *", "America/New_York", "2026-10-31T00:00:00-04:00", 3,
               "2026-10-31T01:30:00-04:00 2026-11-01T01:30:00-04:00 2026-11-02T01:30:00-05:00");
    check_runs("0 9 * * MON-FRI", "America/New_York", "2026-12-31T10:00:00Z", 2,
               "2026-12-31T09:00:00-05:00 2027-01-01T09:00:00-05:00");
}

static void test_cron__timezones_and_times_are_checked(void)
{
    mo_error_t err = {0};
    mo_cron_t c;
    int64_t t = 0;
    const char *saved = getenv("TZ");
    CU_ASSERT_EQUAL(mo_cron_tz_check("Europe/Berlin", NULL), 0);
    CU_ASSERT_EQUAL(mo_cron_tz_check("UTC", NULL), 0);
    CU_ASSERT_EQUAL(mo_cron_tz_check("Mars/Olympus_Mons", &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown time zone \"Mars/Olympus_Mons\""));
    CU_ASSERT_EQUAL(mo_cron_tz_check("../../etc/passwd", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_tz_check("", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_tz_check(NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_parse(&c, "0 0 * * *", NULL), 0);
    CU_ASSERT_EQUAL(mo_cron_next(&t, &c, "Nowhere/Special", 0, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_next(NULL, &c, "UTC", 0, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_next(&t, NULL, "UTC", 0, NULL), MO_EINVAL);
    /* the caller's TZ is as it was */
    const char *now = getenv("TZ");
    CU_ASSERT((saved == NULL && now == NULL) || (saved && now && !strcmp(saved, now)));
    CU_ASSERT_EQUAL(mo_cron_parse_time(&t, "2026-03-29T01:30:00+01:00", NULL), 0);
    CU_ASSERT_EQUAL(t, 1774744200);
    CU_ASSERT_EQUAL(mo_cron_parse_time(&t, "@1774744200", NULL), 0);
    CU_ASSERT_EQUAL(t, 1774744200);
    CU_ASSERT_EQUAL(mo_cron_parse_time(&t, "2026-02-29T00:00Z", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_parse_time(&t, "2026-03-29 01:30", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_parse_time(&t, "tomorrow", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cron_parse_time(NULL, "@1", NULL), MO_EINVAL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_cron__bitsets_of_ranges_lists_steps_names),
    MO_TEST(test_cron__errors_name_the_field),
    MO_TEST(test_cron__next_in_utc),
    MO_TEST(test_cron__dom_dow_or_rule_and_sunday_0_7),
    MO_TEST(test_cron__feb_29_only_in_leap_years),
    MO_TEST(test_cron__berlin_across_both_dst_switches_of_2026),
    MO_TEST(test_cron__new_york),
    MO_TEST(test_cron__timezones_and_times_are_checked),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("core/cron", tests);
}
