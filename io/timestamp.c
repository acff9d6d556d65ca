/* timestamp.c - RFC 3339 and epoch timestamps as int64 µs UTC (io/timestamp.h)
 *
 * Calendar arithmetic is Howard Hinnant's days_from_civil / civil_from_days (proleptic
 * Gregorian, exact for every year), not timegm/mktime: those depend on TZ and on the C library,
 * and a timestamp must mean the same instant on every rank of every machine.
 *
 * Epoch decimals are read digit by digit, not through strtod: 1732527000.123456 has 16
 * significant digits, more than a double holds exactly, and the microseconds must survive.
 * Text is never rounded up: extra fraction digits are cut towards the earlier instant, so a
 * timestamp never moves past an event it preceded.
 */
#include "io/timestamp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define US_PER_S INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_S)
/* 1e11: below it a number is seconds, from it milliseconds (timestamp.h). */
#define AUTO_MS_FROM INT64_C(100000000000)

const char *const mo_ts_format_names[] = {"auto", "rfc3339", "epoch_s", "epoch_ms", NULL};

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* The value of n decimal digits at s, or -1 when one is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* `s` for a message: at most 40 bytes (then "..."), control bytes as '?'. */
static const char *quote(char *buf, size_t size, const char *s, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1, cut = len > 40 ? 37 : n;
    if (cut > n)
        cut = n;
    for (size_t i = 0; i < cut; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (cut < len && cut + 3 < size) {
        memcpy(buf + cut, "...", 3);
        cut += 3;
    }
    buf[cut] = '\0';
    return buf;
}

static const char *expected(mo_ts_format_t fmt)
{
    switch (fmt) {
    case MO_TS_RFC3339:
        return "expected RFC 3339 like 2026-11-25T10:00:00Z";
    case MO_TS_EPOCH_S:
        return "expected epoch seconds like 1732527000 or 1732527000.5";
    case MO_TS_EPOCH_MS:
        return "expected epoch milliseconds like 1732527000123";
    default:
        return "expected RFC 3339 like 2026-11-25T10:00:00Z, or epoch seconds/milliseconds";
    }
}

/* Result of a parser: NULL on success, else why (or "" for "does not match the syntax"). */
typedef const char *why_t;
#define SYNTAX ""

static why_t in_range(int64_t us)
{
    return us < MO_TS_MIN_US || us > MO_TS_MAX_US ? "outside years 0000..9999" : NULL;
}

/* YYYY-MM-DD(T|t| )hh:mm:ss[.f{1,9}][Z|z|(+|-)hh:mm] */
static why_t parse_rfc3339(const char *s, size_t len, int64_t *us, char *why, size_t why_size)
{
    if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return SYNTAX;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0)
        return SYNTAX;
    size_t p = 19;
    int64_t frac = 0; /* µs */
    if (p < len && s[p] == '.') {
        size_t start = ++p;
        int64_t scale = 100000;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            frac += (s[p] - '0') * scale; /* the 7th digit on gets scale 0: truncation */
            scale /= 10;
            p++;
        }
        if (p == start)
            return SYNTAX;
        if (p - start > 9)
            return "more than 9 fraction digits";
    }
    int64_t offset = 0; /* minutes east of UTC */
    if (p + 1 == len && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        int oh = len - p == 6 && s[p + 3] == ':' ? digits(s + p + 1, 2) : -1;
        int om = oh >= 0 ? digits(s + p + 4, 2) : -1;
        if (oh < 0 || om < 0)
            return SYNTAX;
        if (oh > 23 || om > 59)
            return "offset is not -23:59..+23:59";
        offset = (s[p] == '-' ? -1 : 1) * (oh * 60 + om);
        p = len;
    }
    if (p != len)
        return SYNTAX;
    if (mo < 1 || mo > 12) {
        snprintf(why, why_size, "month %02d is not 01..12", mo);
        return why;
    }
    if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo)) {
        snprintf(why, why_size, "%04d-%02d has no day %02d", y, mo, d);
        return why;
    }
    if (h > 23 || mi > 59 || sec > 60) {
        snprintf(why, why_size, "time %02d:%02d:%02d is not 00:00:00..23:59:60", h, mi, sec);
        return why;
    }
    if (sec == 60) { /* a leap second: the last µs of its minute, so it keeps its order */
        sec = 59;
        frac = US_PER_S - 1;
    }
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
                   sec - offset * 60;
    *us = secs * US_PER_S + frac;
    return in_range(*us);
}

/* [-]digits[.digits]: seconds or milliseconds per `fmt` (AUTO: magnitude below 1e11 is s). */
static why_t parse_epoch(const char *s, size_t len, mo_ts_format_t fmt, int64_t *us)
{
    size_t p = 0;
    int neg = len > 0 && s[0] == '-';
    p += (size_t)neg;
    size_t start = p;
    int64_t ip = 0, frac = 0; /* integer part; fraction as 9 digits */
    while (p < len && s[p] >= '0' && s[p] <= '9') {
        if (ip < INT64_C(100000000000000000)) /* past this it is out of range anyway */
            ip = ip * 10 + (s[p] - '0');
        p++;
    }
    if (p == start)
        return SYNTAX;
    if (p < len && s[p] == '.') {
        size_t fstart = ++p;
        int64_t scale = 100000000;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            frac += (s[p] - '0') * scale;
            scale /= 10;
            p++;
        }
        if (p == fstart)
            return SYNTAX;
        if (p - fstart > 9)
            return "more than 9 fraction digits";
    }
    if (p != len)
        return SYNTAX;
    int ms = fmt == MO_TS_EPOCH_MS || (fmt == MO_TS_AUTO && ip >= AUTO_MS_FROM);
    int64_t unit = ms ? 1000 : US_PER_S, per_us = ms ? 1000000 : 1000; /* fraction units per µs */
    if (ip > MO_TS_MAX_US / unit + 1)
        return "outside years 0000..9999";
    int64_t mag = ip * unit + frac / per_us;
    /* Negative: cut towards the earlier instant, as for text (-1.0000005 s is -1000001 µs). */
    *us = neg ? -mag - (frac % per_us != 0) : mag;
    return in_range(*us);
}

int mo_ts_parse(const char *s, size_t len, mo_ts_format_t fmt, int64_t *us, mo_error_t *err)
{
    char why_buf[96], q[48];
    if (!us)
        return mo_errorf(err, MO_EINVAL, "mo_ts_parse: NULL output");
    *us = 0;
    if (!s && len)
        return mo_errorf(err, MO_EINVAL, "mo_ts_parse: NULL text");
    if (fmt < MO_TS_AUTO || fmt > MO_TS_EPOCH_MS)
        return mo_errorf(err, MO_EINVAL, "mo_ts_parse: unknown format %d", (int)fmt);
    if (!s)
        s = "";
    /* AUTO: four digits then '-' is a date; anything else is tried as a number. */
    int rfc =
        fmt == MO_TS_RFC3339 || (fmt == MO_TS_AUTO && len >= 5 && digits(s, 4) >= 0 && s[4] == '-');
    int64_t v = 0;
    why_t why =
        rfc ? parse_rfc3339(s, len, &v, why_buf, sizeof why_buf) : parse_epoch(s, len, fmt, &v);
    if (why)
        return mo_errorf(err, MO_EINVAL, "not a timestamp: '%s' (%s)", quote(q, sizeof q, s, len),
                         *why ? why : expected(fmt));
    *us = v;
    return 0;
}

int mo_ts_from_int(int64_t v, mo_ts_format_t fmt, int64_t *us, mo_error_t *err)
{
    if (!us)
        return mo_errorf(err, MO_EINVAL, "mo_ts_from_int: NULL output");
    *us = 0;
    if (fmt < MO_TS_AUTO || fmt > MO_TS_EPOCH_MS)
        return mo_errorf(err, MO_EINVAL, "mo_ts_from_int: unknown format %d", (int)fmt);
    if (fmt == MO_TS_RFC3339)
        return mo_errorf(err, MO_EINVAL, "not a timestamp: %lld (a number, expected RFC 3339 text)",
                         (long long)v);
    int ms =
        fmt == MO_TS_EPOCH_MS || (fmt == MO_TS_AUTO && (v >= AUTO_MS_FROM || v <= -AUTO_MS_FROM));
    int64_t unit = ms ? 1000 : US_PER_S;
    if (v > MO_TS_MAX_US / unit || v < MO_TS_MIN_US / unit)
        return mo_errorf(err, MO_EINVAL, "not a timestamp: %lld (outside years 0000..9999)",
                         (long long)v);
    *us = v * unit;
    return 0;
}

int mo_ts_from_double(double v, mo_ts_format_t fmt, int64_t *us, mo_error_t *err)
{
    if (!us)
        return mo_errorf(err, MO_EINVAL, "mo_ts_from_double: NULL output");
    *us = 0;
    if (fmt < MO_TS_AUTO || fmt > MO_TS_EPOCH_MS)
        return mo_errorf(err, MO_EINVAL, "mo_ts_from_double: unknown format %d", (int)fmt);
    if (fmt == MO_TS_RFC3339)
        return mo_errorf(err, MO_EINVAL,
                         "not a timestamp: %.17g (a number, expected RFC 3339 text)", v);
    if (!isfinite(v))
        return mo_errorf(err, MO_EINVAL, "not a timestamp: %g", v);
    int ms = fmt == MO_TS_EPOCH_MS || (fmt == MO_TS_AUTO && fabs(v) >= (double)AUTO_MS_FROM);
    /* Nearest µs: a binary float is rarely the decimal it was written as (0.3 is 0.29999...). */
    double x = round(v * (ms ? 1e3 : 1e6));
    if (!(x >= (double)MO_TS_MIN_US && x <= (double)MO_TS_MAX_US))
        return mo_errorf(err, MO_EINVAL, "not a timestamp: %.17g (outside years 0000..9999)", v);
    *us = (int64_t)x;
    return 0;
}

const char *mo_ts_format(int64_t us, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    int64_t days = us / US_PER_DAY, rem = us % US_PER_DAY;
    if (rem < 0) { /* floor: 1969-12-31T23:59:59Z is day -1 plus 86399 s */
        rem += US_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / US_PER_S, frac = rem % US_PER_S;
    int h = (int)(secs / 3600), mi = (int)(secs / 60 % 60), sec = (int)(secs % 60);
    if (frac)
        snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d, h, mi,
                 sec, (long long)frac);
    else
        snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d, h, mi, sec);
    return buf;
}
