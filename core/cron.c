/* cron.c - cron expressions to bitsets, and their next run time in a time zone
 *
 * The search walks wall-clock days (civil arithmetic, no time zone needed to know a day's
 * weekday) and, on matching days, the matching hours and minutes in order. Each candidate
 * wall time W maps to the instant it first exists: the earliest instant whose local time is W,
 * or, for W inside a spring-forward gap, the transition itself (the first existing minute
 * after the gap). That map never decreases as W grows, so the first candidate that maps past
 * `after` is the answer, and fall-back repeats (whose instants lie before the second pass)
 * are skipped for free.
 */
#include "core/cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    const char *name;
    int lo, hi;
    const char *const *names; /* index 0 is value `names_base` */
    int names_base;
} field_t;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                          "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const field_t fields[5] = {
    {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, dow_names, 0},
};

/* A number or (where the field has them) a name; advances *p. */
static int parse_value(const field_t *f, const char **p, int *out, mo_error_t *err)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > 100000)
                v = 100000;
            s++;
        }
        if (v < f->lo || v > f->hi)
            return mo_errorf(err, MO_EINVAL, "cron field '%s': %ld is out of range %d-%d", f->name,
                             v, f->lo, f->hi);
        *out = (int)v;
        *p = s;
        return 0;
    }
    if (isalpha((unsigned char)*s)) {
        char word[16];
        size_t n = 0;
        while (isalpha((unsigned char)s[n]) && n < sizeof word - 1) {
            word[n] = (char)toupper((unsigned char)s[n]);
            n++;
        }
        word[n] = '\0';
        for (int i = 0; f->names && f->names[i]; i++)
            if (!strcmp(word, f->names[i])) {
                *out = f->names_base + i;
                *p = s + n;
                return 0;
            }
        if (!f->names)
            return mo_errorf(err, MO_EINVAL, "cron field '%s': '%s' is not a number (%d-%d)",
                             f->name, word, f->lo, f->hi);
        return mo_errorf(err, MO_EINVAL, "cron field '%s': unknown name '%s' (%s-%s or %d-%d)",
                         f->name, word, f->names[0], f->names[f->names_base ? 11 : 6], f->lo,
                         f->hi);
    }
    if (!*s)
        return mo_errorf(err, MO_EINVAL, "cron field '%s': a value is missing at the end", f->name);
    return mo_errorf(err, MO_EINVAL, "cron field '%s': unexpected '%c'", f->name, *s);
}

/* One field's text (no spaces) into a bitset over lo..hi. */
static int parse_field(const field_t *f, const char *text, uint64_t *bits, mo_error_t *err)
{
    const char *p = text;
    *bits = 0;
    for (;;) {
        int lo, hi, step = 1, rc;
        int star = *p == '*', ranged = 0;
        if (star) {
            lo = f->lo;
            hi = f->hi == 7 ? 6 : f->hi; /* '*' in day-of-week is 0-6 */
            p++;
        } else {
            if ((rc = parse_value(f, &p, &lo, err)))
                return rc;
            hi = lo;
            if (*p == '-') {
                p++;
                ranged = 1;
                if ((rc = parse_value(f, &p, &hi, err)))
                    return rc;
                if (hi < lo)
                    return mo_errorf(err, MO_EINVAL, "cron field '%s': range %d-%d runs backwards",
                                     f->name, lo, hi);
            }
        }
        if (*p == '/') {
            if (!star && !ranged)
                return mo_errorf(err, MO_EINVAL,
                                 "cron field '%s': a step needs a range or '*' before '/' (%s)",
                                 f->name, text);
            p++;
            if (!isdigit((unsigned char)*p))
                return mo_errorf(err, MO_EINVAL, "cron field '%s': '/' needs a number after it",
                                 f->name);
            long v = 0;
            while (isdigit((unsigned char)*p)) {
                v = v * 10 + (*p - '0');
                if (v > 100000)
                    v = 100000;
                p++;
            }
            if (v < 1 || v > f->hi)
                return mo_errorf(err, MO_EINVAL, "cron field '%s': step %ld is out of range 1-%d",
                                 f->name, v, f->hi);
            step = (int)v;
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= (uint64_t)1 << v;
        if (!*p)
            break;
        if (*p != ',')
            return mo_errorf(err, MO_EINVAL, "cron field '%s': unexpected '%c' in \"%s\"", f->name,
                             *p, text);
        p++;
    }
    return 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : d[m - 1];
}

int mo_cron_parse(mo_cron_t *out, const char *expr, mo_error_t *err)
{
    char text[5][128];
    size_t n = 0;
    mo_cron_t c = {0};
    if (!out || !expr)
        return mo_errorf(err, MO_EINVAL, "cron expression: none given");
    for (const char *p = expr; *p;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t len = 0;
        while (p[len] && !isspace((unsigned char)p[len]))
            len++;
        if (n == 5 || len >= sizeof text[0])
            return mo_errorf(err, MO_EINVAL,
                             "cron expression \"%s\": expected 5 fields (minute hour "
                             "day-of-month month day-of-week)",
                             expr);
        memcpy(text[n], p, len);
        text[n++][len] = '\0';
        p += len;
    }
    if (n != 5)
        return mo_errorf(err, MO_EINVAL,
                         "cron expression \"%s\": expected 5 fields (minute hour day-of-month "
                         "month day-of-week), got %zu",
                         expr, n);
    uint64_t bits[5];
    for (size_t i = 0; i < 5; i++) {
        int rc = parse_field(&fields[i], text[i], &bits[i], err);
        if (rc)
            return rc;
    }
    c.minute = bits[0];
    c.hour = (uint32_t)bits[1];
    c.dom = (uint32_t)bits[2];
    c.month = (uint16_t)bits[3];
    c.dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);
    c.dom_star = text[2][0] == '*';
    c.dow_star = text[4][0] == '*';
    /* With day-of-week unrestricted only day-of-month decides: some selected day must exist
     * in some selected month (29 February counts: it exists in leap years). */
    if (c.dow_star) {
        int possible = 0;
        for (int m = 1; m <= 12 && !possible; m++)
            if (c.month >> m & 1)
                for (int d = 1; d <= days_in_month(2000, m); d++)
                    possible |= (int)(c.dom >> d & 1);
        if (!possible)
            return mo_errorf(err, MO_EINVAL,
                             "cron field 'day-of-month': %s never occurs in the months selected "
                             "by '%s'",
                             text[2], text[3]);
    }
    *out = c;
    return 0;
}

/* ---- time zones ------------------------------------------------------------------------ */

int mo_cron_tz_check(const char *tz, mo_error_t *err)
{
    if (!tz || !*tz)
        return mo_errorf(err, MO_EINVAL, "time zone: empty name");
    if (!strcmp(tz, "UTC"))
        return 0;
    const char *dir = getenv("TZDIR");
    char path[4096];
    struct stat sb;
    int bad_name = tz[0] == '/' || strstr(tz, "..") != NULL;
    for (const char *p = tz; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            bad_name = 1;
    if (bad_name || snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo",
                             tz) >= (int)sizeof path)
        return mo_errorf(err, MO_EINVAL, "unknown time zone \"%s\"", tz);
    FILE *f = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? fopen(path, "rb") : NULL;
    char magic[4] = {0};
    int ok = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
    if (f)
        fclose(f);
    if (!ok)
        return mo_errorf(err, MO_EINVAL,
                         "unknown time zone \"%s\" (not in the tz database at %s; e.g. "
                         "Europe/Berlin, America/New_York, UTC)",
                         tz, dir && *dir ? dir : "/usr/share/zoneinfo");
    return 0;
}

typedef struct {
    char *saved; /* the caller's TZ, NULL when unset */
    int was_set;
} tz_saved_t;

/* Switch the process to zone `tz` (NULL: leave it as it is). */
static int tz_push(tz_saved_t *s, const char *tz, mo_error_t *err)
{
    s->saved = NULL;
    s->was_set = 0;
    if (!tz)
        return 0;
    int rc = mo_cron_tz_check(tz, err);
    if (rc)
        return rc;
    const char *old = getenv("TZ");
    char val[300];
    if (old) {
        s->saved = strdup(old);
        if (!s->saved)
            return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    s->was_set = 1;
    snprintf(val, sizeof val, ":%s", tz); /* ':' : always a file of the tz database */
    setenv("TZ", val, 1);
    tzset();
    return 0;
}

static void tz_pop(tz_saved_t *s)
{
    if (!s->was_set)
        return;
    if (s->saved)
        setenv("TZ", s->saved, 1);
    else
        unsetenv("TZ");
    free(s->saved);
    s->saved = NULL;
    s->was_set = 0;
    tzset();
}

/* Local wall time of instant t, as seconds of a UTC-like clock. */
static int64_t wall_of(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return t;
    return t + tm.tm_gmtoff;
}

/* The instant wall time w first exists (see the file comment). */
static int64_t instant_of(int64_t w)
{
    static const int64_t probes[] = {-2 * 86400, -86400, 0, 86400, 2 * 86400};
    int64_t best = INT64_MAX, lo = INT64_MIN, hi = INT64_MAX;
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        int64_t off = wall_of(w + probes[i]) - (w + probes[i]);
        int64_t t = w - off, f = wall_of(t);
        if (f == w && t < best)
            best = t;
        else if (f < w && t > lo)
            lo = t;
        else if (f > w && t < hi)
            hi = t;
    }
    if (best != INT64_MAX)
        return best;
    if (lo == INT64_MIN || hi == INT64_MAX || lo >= hi)
        return w; /* no sensible bracket: treat the zone as fixed at this point */
    /* In a gap: the smallest t in (lo, hi] whose wall time is past w is the transition. */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (wall_of(mid) > w)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* Days since 1970-01-01 of y-m-d, and back (Howard Hinnant's civil algorithms). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int day_matches(const mo_cron_t *c, int64_t days, int m, int d)
{
    if (!(c->month >> m & 1))
        return 0;
    int dow = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int dom_ok = (int)(c->dom >> d & 1), dow_ok = c->dow >> dow & 1;
    if (!c->dom_star && !c->dow_star)
        return dom_ok || dow_ok;
    return dom_ok && dow_ok;
}

int mo_cron_next(int64_t *out, const mo_cron_t *c, const char *tz, int64_t after, mo_error_t *err)
{
    tz_saved_t saved;
    if (!out || !c)
        return mo_errorf(err, MO_EINVAL, "cron: no expression given");
    int rc = tz_push(&saved, tz ? tz : "UTC", err);
    if (rc)
        return rc;
    rc = MO_ENOTFOUND;
    int64_t w0 = floor_div(wall_of(after), 60) * 60;
    int64_t day0 = floor_div(w0, 86400);
    for (int64_t day = day0; day < day0 + 366 * 28 && rc; day++) {
        int64_t y;
        int m, d;
        civil_from_days(day, &y, &m, &d);
        if (!day_matches(c, day, m, d))
            continue;
        for (int h = 0; h < 24 && rc; h++) {
            if (!(c->hour >> h & 1))
                continue;
            for (int mi = 0; mi < 60; mi++) {
                int64_t w = day * 86400 + h * 3600 + mi * 60;
                if (!(c->minute >> mi & 1) || w < w0)
                    continue;
                int64_t t = instant_of(w);
                if (t > after) {
                    *out = t;
                    rc = 0;
                    break;
                }
            }
        }
    }
    tz_pop(&saved);
    if (rc)
        return mo_errorf(err, rc, "cron: no run time within 28 years");
    return 0;
}

int mo_cron_format(char *buf, size_t size, int64_t t, const char *tz, mo_error_t *err)
{
    tz_saved_t saved;
    int rc = tz_push(&saved, tz, err);
    if (rc)
        return rc;
    time_t tt = (time_t)t;
    struct tm tm;
    if (!tz)
        tzset();
    if (!localtime_r(&tt, &tm)) {
        tz_pop(&saved);
        return mo_errorf(err, MO_EINVAL, "time %lld cannot be shown", (long long)t);
    }
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 3600,
             off / 60 % 60);
    tz_pop(&saved);
    return 0;
}

static int take_num(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += digits;
    *out = v;
    return 0;
}

int mo_cron_parse_time(int64_t *out, const char *s, mo_error_t *err)
{
    if (!out || !s)
        return mo_errorf(err, MO_EINVAL, "time: none given");
    if (s[0] == '@') {
        char *end;
        errno = 0;
        long long v = strtoll(s + 1, &end, 10);
        if (errno || end == s + 1 || *end)
            return mo_errorf(err, MO_EINVAL, "time \"%s\": expected @UNIXSECONDS", s);
        *out = v;
        return 0;
    }
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 1;
    if (take_num(&p, 4, &y) || *p++ != '-' || take_num(&p, 2, &mo) || *p++ != '-' ||
        take_num(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ') || !*p++ ||
        take_num(&p, 2, &h) || *p++ != ':' || take_num(&p, 2, &mi))
        goto bad;
    if (*p == ':' && (p++, take_num(&p, 2, &sec)))
        goto bad;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (take_num(&p, 2, &oh) || *p++ != ':' || take_num(&p, 2, &om))
            goto bad;
    } else {
        goto bad;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60 || oh > 23 || om > 59)
        goto bad;
    *out =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    return 0;
bad:
    return mo_errorf(err, MO_EINVAL,
                     "time \"%s\": expected RFC 3339 like 2026-03-29T01:30:00+01:00, or "
                     "@UNIXSECONDS",
                     s);
}
