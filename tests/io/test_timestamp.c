/* test_timestamp.c - RFC 3339 and epoch timestamps: every rule, exact messages, round trips */
#include "io/timestamp.h"

#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Parse `text` with `fmt`, which must succeed. */
static int64_t ok(const char *text, mo_ts_format_t fmt)
{
    mo_error_t err = {0};
    int64_t us = -42;
    int rc = mo_ts_parse(text, strlen(text), fmt, &us, &err);
    if (rc)
        fprintf(stderr, "\n  '%s': unexpected error: %s\n", text, err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    return us;
}

/* Parse must fail with MO_EINVAL and exactly `want`. */
static void bad(const char *text, mo_ts_format_t fmt, const char *want)
{
    mo_error_t err = {0};
    int64_t us = -42;
    CU_ASSERT_EQUAL(mo_ts_parse(text, strlen(text), fmt, &us, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(us, 0);
    if (strcmp(err.msg, want))
        fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", err.msg, want);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
}

#define AUTO_EXPECTED "(expected RFC 3339 like 2026-11-25T10:00:00Z, or epoch seconds/milliseconds)"
#define RFC_EXPECTED "(expected RFC 3339 like 2026-11-25T10:00:00Z)"

static void test_timestamp__rfc3339_forms(void)
{
    const int64_t t = INT64_C(1795600800000000); /* 2026-11-25T10:00:00Z */
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00Z", MO_TS_AUTO), t);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00Z", MO_TS_RFC3339), t);
    CU_ASSERT_EQUAL(ok("2026-11-25 10:00:00Z", MO_TS_AUTO), t);
    CU_ASSERT_EQUAL(ok("2026-11-25t10:00:00z", MO_TS_AUTO), t);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00", MO_TS_AUTO), t); /* no offset: UTC */
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00+00:00", MO_TS_AUTO), t);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00-00:00", MO_TS_AUTO), t);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00+05:30", MO_TS_AUTO), INT64_C(1795581000000000));
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00-08:00", MO_TS_AUTO), INT64_C(1795629600000000));
    CU_ASSERT_EQUAL(ok("2026-11-25T15:30:00+05:30", MO_TS_AUTO), t);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00.123456Z", MO_TS_AUTO), t + 123456);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00.1Z", MO_TS_AUTO), t + 100000);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00.000001", MO_TS_AUTO), t + 1);
    /* beyond µs: cut, never rounded up */
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00.123456789Z", MO_TS_AUTO), t + 123456);
    CU_ASSERT_EQUAL(ok("2026-11-25T10:00:00.9999999+00:00", MO_TS_AUTO), t + 999999);
}

static void test_timestamp__calendar_ranges(void)
{
    CU_ASSERT_EQUAL(ok("2024-02-29T23:59:59.999999Z", MO_TS_AUTO), INT64_C(1709251199999999));
    CU_ASSERT_EQUAL(ok("2000-02-29T00:00:00Z", MO_TS_AUTO), INT64_C(951782400000000));
    CU_ASSERT_EQUAL(ok("1600-02-29T12:00:00Z", MO_TS_AUTO), INT64_C(-11670955200000000));
    CU_ASSERT_EQUAL(ok("1900-03-01T00:00:00Z", MO_TS_AUTO), INT64_C(-2203891200000000));
    CU_ASSERT_EQUAL(ok("1969-12-31T23:59:59.999999Z", MO_TS_AUTO), -1);
    CU_ASSERT_EQUAL(ok("0001-01-01T00:00:00Z", MO_TS_AUTO), INT64_C(-62135596800000000));
    CU_ASSERT_EQUAL(ok("0000-01-01T00:00:00Z", MO_TS_AUTO), MO_TS_MIN_US);
    CU_ASSERT_EQUAL(ok("9999-12-31T23:59:59.999999Z", MO_TS_AUTO), MO_TS_MAX_US);
    bad("2026-02-29T00:00:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-02-29T00:00:00Z' (2026-02 has no day 29)");
    bad("1900-02-29T00:00:00Z", MO_TS_AUTO,
        "not a timestamp: '1900-02-29T00:00:00Z' (1900-02 has no day 29)");
    bad("2026-04-31T00:00:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-04-31T00:00:00Z' (2026-04 has no day 31)");
    bad("2026-01-00T00:00:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-01-00T00:00:00Z' (2026-01 has no day 00)");
    bad("2026-13-01T00:00:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-13-01T00:00:00Z' (month 13 is not 01..12)");
    bad("2026-00-01T00:00:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-00-01T00:00:00Z' (month 00 is not 01..12)");
    bad("2026-11-25T24:00:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T24:00:00Z' (time 24:00:00 is not 00:00:00..23:59:60)");
    bad("2026-11-25T10:60:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:60:00Z' (time 10:60:00 is not 00:00:00..23:59:60)");
    bad("2026-11-25T10:00:61Z", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:61Z' (time 10:00:61 is not 00:00:00..23:59:60)");
    bad("2026-11-25T10:00:00+24:00", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:00+24:00' (offset is not -23:59..+23:59)");
    bad("2026-11-25T10:00:00.1234567890Z", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:00.1234567890Z' (more than 9 fraction digits)");
    bad("0000-01-01T00:00:00+00:01", MO_TS_AUTO,
        "not a timestamp: '0000-01-01T00:00:00+00:01' (outside years 0000..9999)");
}

static void test_timestamp__leap_second_is_last_microsecond_of_its_minute(void)
{
    int64_t leap = ok("2016-12-31T23:59:60Z", MO_TS_AUTO);
    CU_ASSERT_EQUAL(leap, ok("2016-12-31T23:59:59.999999Z", MO_TS_AUTO));
    CU_ASSERT(leap < ok("2017-01-01T00:00:00Z", MO_TS_AUTO));
    CU_ASSERT(leap > ok("2016-12-31T23:59:59.5Z", MO_TS_AUTO));
    CU_ASSERT_EQUAL(ok("2016-12-31T23:59:60.5Z", MO_TS_AUTO), leap);
}

static void test_timestamp__rfc3339_syntax_errors(void)
{
    bad("2026-11-25", MO_TS_AUTO, "not a timestamp: '2026-11-25' " AUTO_EXPECTED);
    bad("2026-11-25T10:00Z", MO_TS_AUTO, "not a timestamp: '2026-11-25T10:00Z' " AUTO_EXPECTED);
    bad("2026-11-25T10:00:00+0100", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:00+0100' " AUTO_EXPECTED);
    bad("2026-11-25T10:00:00.Z", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:00.Z' " AUTO_EXPECTED);
    bad("2026-11-25T10:00:00ZZ", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:00ZZ' " AUTO_EXPECTED);
    bad("2026-11-25X10:00:00Z", MO_TS_AUTO,
        "not a timestamp: '2026-11-25X10:00:00Z' " AUTO_EXPECTED);
    bad("2026-1-25T10:00:00Z", MO_TS_AUTO, "not a timestamp: '2026-1-25T10:00:00Z' " AUTO_EXPECTED);
    bad("2026-11-25T10:00:00Z ", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:00Z ' " AUTO_EXPECTED);
    bad("", MO_TS_AUTO, "not a timestamp: '' " AUTO_EXPECTED);
    bad("yesterday", MO_TS_AUTO, "not a timestamp: 'yesterday' " AUTO_EXPECTED);
    bad("1732527000", MO_TS_RFC3339, "not a timestamp: '1732527000' " RFC_EXPECTED);
    bad("2026-11-25T10:00:00Z", MO_TS_EPOCH_S,
        "not a timestamp: '2026-11-25T10:00:00Z' (expected epoch seconds like 1732527000 or "
        "1732527000.5)");
    bad("2026-11-25T10:00:00Z", MO_TS_EPOCH_MS,
        "not a timestamp: '2026-11-25T10:00:00Z' (expected epoch milliseconds like "
        "1732527000123)");
    /* long text is cut, control bytes shown as '?' */
    bad("2026-11-25T10:00:00Z and a long tail of text after it", MO_TS_AUTO,
        "not a timestamp: '2026-11-25T10:00:00Z and a long tail ...' " AUTO_EXPECTED);
    bad("12\t3", MO_TS_AUTO, "not a timestamp: '12?3' " AUTO_EXPECTED);
    /* the length is what counts, not a NUL */
    int64_t us;
    CU_ASSERT_EQUAL(mo_ts_parse("1732527000junk", 10, MO_TS_AUTO, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, INT64_C(1732527000000000));
}

static void test_timestamp__epoch_numbers(void)
{
    const int64_t s = INT64_C(1732527000000000); /* 2024-11-25T09:30:00Z */
    CU_ASSERT_EQUAL(ok("1732527000", MO_TS_AUTO), s);
    CU_ASSERT_EQUAL(ok("1732527000", MO_TS_EPOCH_S), s);
    CU_ASSERT_EQUAL(ok("1732527000.5", MO_TS_AUTO), s + 500000);
    CU_ASSERT_EQUAL(ok("1732527000.123456", MO_TS_AUTO), s + 123456);
    CU_ASSERT_EQUAL(ok("1732527000.1234569", MO_TS_AUTO), s + 123456); /* cut */
    CU_ASSERT_EQUAL(ok("1732527000123", MO_TS_AUTO), s + 123000);
    CU_ASSERT_EQUAL(ok("1732527000123", MO_TS_EPOCH_MS), s + 123000);
    CU_ASSERT_EQUAL(ok("1732527000123.456", MO_TS_AUTO), s + 123456);
    CU_ASSERT_EQUAL(ok("1732527000", MO_TS_EPOCH_MS), INT64_C(1732527000000));
    CU_ASSERT_EQUAL(ok("0", MO_TS_AUTO), 0);
    CU_ASSERT_EQUAL(ok("-0", MO_TS_AUTO), 0);
    CU_ASSERT_EQUAL(ok("007", MO_TS_AUTO), 7000000);
    /* AUTO's line: below 1e11 seconds, from 1e11 milliseconds, by magnitude */
    CU_ASSERT_EQUAL(ok("99999999999", MO_TS_AUTO), INT64_C(99999999999000000));
    CU_ASSERT_EQUAL(ok("100000000000", MO_TS_AUTO), INT64_C(100000000000000));
    bad("-99999999999", MO_TS_AUTO, "not a timestamp: '-99999999999' (outside years 0000..9999)");
    CU_ASSERT_EQUAL(ok("-100000000000", MO_TS_AUTO), -INT64_C(100000000000000));
    /* before 1970; digits below the µs go towards the earlier instant */
    CU_ASSERT_EQUAL(ok("-1", MO_TS_AUTO), -1000000);
    CU_ASSERT_EQUAL(ok("-1.5", MO_TS_AUTO), -1500000);
    CU_ASSERT_EQUAL(ok("-0.0000005", MO_TS_AUTO), -1);
    CU_ASSERT_EQUAL(ok("0.0000005", MO_TS_AUTO), 0);
    CU_ASSERT_EQUAL(ok("-86400", MO_TS_EPOCH_S), -INT64_C(86400000000));
    CU_ASSERT_EQUAL(ok("-62167219200", MO_TS_EPOCH_S), MO_TS_MIN_US);
    bad("-62167219200.000001", MO_TS_EPOCH_S,
        "not a timestamp: '-62167219200.000001' (outside years 0000..9999)");
    bad("253402300800", MO_TS_EPOCH_S,
        "not a timestamp: '253402300800' (outside years 0000..9999)");
    bad("1732527000123", MO_TS_EPOCH_S,
        "not a timestamp: '1732527000123' (outside years 0000..9999)");
    bad("99999999999999999999999999", MO_TS_AUTO,
        "not a timestamp: '99999999999999999999999999' (outside years 0000..9999)");
    bad("1.0000000001", MO_TS_AUTO,
        "not a timestamp: '1.0000000001' (more than 9 fraction digits)");
    const char *syntax[] = {"+5", "1e9", "0x10", ".", "5.", ".5", "-", "1,5", " 5", "5 ", "1..2"};
    for (size_t i = 0; i < sizeof syntax / sizeof *syntax; i++) {
        char want[200];
        snprintf(want, sizeof want, "not a timestamp: '%s' " AUTO_EXPECTED, syntax[i]);
        bad(syntax[i], MO_TS_AUTO, want);
    }
}

static void test_timestamp__numbers_from_binary_columns(void)
{
    mo_error_t err = {0};
    int64_t us = 0;
    CU_ASSERT_EQUAL(mo_ts_from_int(1732527000, MO_TS_AUTO, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, INT64_C(1732527000000000));
    CU_ASSERT_EQUAL(mo_ts_from_int(INT64_C(1732527000123), MO_TS_AUTO, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, INT64_C(1732527000123000));
    CU_ASSERT_EQUAL(mo_ts_from_int(-5, MO_TS_EPOCH_MS, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, -5000);
    CU_ASSERT_EQUAL(mo_ts_from_int(INT64_C(1732527000123), MO_TS_EPOCH_S, &us, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "not a timestamp: 1732527000123 (outside years 0000..9999)");
    CU_ASSERT_EQUAL(mo_ts_from_int(1, MO_TS_RFC3339, &us, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "not a timestamp: 1 (a number, expected RFC 3339 text)");
    CU_ASSERT_EQUAL(mo_ts_from_double(0.3, MO_TS_EPOCH_S, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, 300000); /* 0.29999999999999999 read as meant */
    CU_ASSERT_EQUAL(mo_ts_from_double(1732527000.5, MO_TS_AUTO, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, INT64_C(1732527000500000));
    CU_ASSERT_EQUAL(mo_ts_from_double(1732527000123.0, MO_TS_AUTO, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, INT64_C(1732527000123000));
    CU_ASSERT_EQUAL(mo_ts_from_double(-1.5, MO_TS_EPOCH_S, &us, NULL), 0);
    CU_ASSERT_EQUAL(us, -1500000);
    CU_ASSERT_EQUAL(mo_ts_from_double(NAN, MO_TS_AUTO, &us, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "not a timestamp: nan");
    CU_ASSERT_EQUAL(mo_ts_from_double(1e300, MO_TS_AUTO, &us, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ts_from_double(1.0, MO_TS_RFC3339, &us, &err), MO_EINVAL);
}

static void test_timestamp__format_known_values(void)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(mo_ts_format(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(mo_ts_format(-1, buf, sizeof buf), "1969-12-31T23:59:59.999999Z");
    CU_ASSERT_STRING_EQUAL(mo_ts_format(INT64_C(1795600800000000), buf, sizeof buf),
                           "2026-11-25T10:00:00Z");
    CU_ASSERT_STRING_EQUAL(mo_ts_format(INT64_C(1795600800000010), buf, sizeof buf),
                           "2026-11-25T10:00:00.000010Z");
    CU_ASSERT_STRING_EQUAL(mo_ts_format(MO_TS_MIN_US, buf, sizeof buf), "0000-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(mo_ts_format(MO_TS_MAX_US, buf, sizeof buf),
                           "9999-12-31T23:59:59.999999Z");
    CU_ASSERT_STRING_EQUAL(mo_ts_format(INT64_C(-11670955200000000), buf, sizeof buf),
                           "1600-02-29T12:00:00Z");
    /* far outside the parse range it still says something, within 32 bytes */
    CU_ASSERT(strlen(mo_ts_format(INT64_MIN, buf, sizeof buf)) < sizeof buf);
    CU_ASSERT(strlen(mo_ts_format(INT64_MAX, buf, sizeof buf)) < sizeof buf);
    char small[8];
    CU_ASSERT_STRING_EQUAL(mo_ts_format(0, small, sizeof small), "1970-01");
    CU_ASSERT_PTR_NULL(mo_ts_format(0, NULL, 0));
}

static void test_timestamp__round_trips(void)
{
    const char *texts[] = {"1970-01-01T00:00:00Z",        "1969-12-31T23:59:59.999999Z",
                           "1968-02-29T23:59:59.999999Z", "1900-01-01T00:00:00Z",
                           "2000-02-29T12:34:56.000001Z", "2024-02-29T00:00:00Z",
                           "2100-03-01T00:00:00Z",        "0000-02-29T00:00:00Z",
                           "0001-12-31T23:59:59Z",        "9999-12-31T23:59:59.999999Z"};
    char buf[32];
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        CU_ASSERT_STRING_EQUAL(mo_ts_format(ok(texts[i], MO_TS_RFC3339), buf, sizeof buf),
                               texts[i]);
    /* Every day boundary and 200000 pseudo-random instants across the whole range. */
    uint64_t x = 88172645463325252u;
    int fails = 0;
    for (int i = 0; i < 200000 && fails < 5; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t span = (uint64_t)(MO_TS_MAX_US - MO_TS_MIN_US);
        int64_t us = MO_TS_MIN_US + (int64_t)(x % span), back = 0;
        if (i % 2) /* whole days, where calendar mistakes show */
            us -= ((us % 86400000000) + 86400000000) % 86400000000;
        mo_ts_format(us, buf, sizeof buf);
        if (mo_ts_parse(buf, strlen(buf), MO_TS_AUTO, &back, NULL) || back != us) {
            fprintf(stderr, "\n  %lld -> %s -> %lld\n", (long long)us, buf, (long long)back);
            fails++;
        }
    }
    CU_ASSERT_EQUAL(fails, 0);
}

static void test_timestamp__bad_arguments(void)
{
    mo_error_t err = {0};
    int64_t us = 7;
    CU_ASSERT_EQUAL(mo_ts_parse("1", 1, MO_TS_AUTO, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ts_parse(NULL, 3, MO_TS_AUTO, &us, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ts_parse("1", 1, (mo_ts_format_t)9, &us, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_ts_parse: unknown format 9");
    CU_ASSERT_EQUAL(mo_ts_parse(NULL, 0, MO_TS_AUTO, &us, &err), MO_EINVAL); /* empty text */
    CU_ASSERT_EQUAL(mo_ts_from_int(1, MO_TS_AUTO, NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ts_from_double(1, (mo_ts_format_t)-1, &us, NULL), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(mo_ts_format_names[MO_TS_AUTO], "auto");
    CU_ASSERT_STRING_EQUAL(mo_ts_format_names[MO_TS_RFC3339], "rfc3339");
    CU_ASSERT_STRING_EQUAL(mo_ts_format_names[MO_TS_EPOCH_S], "epoch_s");
    CU_ASSERT_STRING_EQUAL(mo_ts_format_names[MO_TS_EPOCH_MS], "epoch_ms");
    CU_ASSERT_PTR_NULL(mo_ts_format_names[4]);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_timestamp__rfc3339_forms),
    MO_TEST(test_timestamp__calendar_ranges),
    MO_TEST(test_timestamp__leap_second_is_last_microsecond_of_its_minute),
    MO_TEST(test_timestamp__rfc3339_syntax_errors),
    MO_TEST(test_timestamp__epoch_numbers),
    MO_TEST(test_timestamp__numbers_from_binary_columns),
    MO_TEST(test_timestamp__format_known_values),
    MO_TEST(test_timestamp__round_trips),
    MO_TEST(test_timestamp__bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/timestamp", tests);
}
