/* str.c - bounded strings, growable buffer, strict parsers for numbers and units */
#include "core/str.h"

#include "core/alloc.h"
#include "core/status.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mo_strlcpy(char *dst, const char *src, size_t dstsize)
{
    size_t len = strlen(src);
    if (dstsize) {
        size_t n = len < dstsize - 1 ? len : dstsize - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

static int buf_reserve(mo_buf_t *b, size_t extra)
{
    if (b->failed)
        return MO_ENOMEM;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return MO_ENOMEM;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return MO_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int mo_buf_append(mo_buf_t *b, const char *s, size_t n)
{
    if (buf_reserve(b, n))
        return MO_ENOMEM;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int mo_buf_puts(mo_buf_t *b, const char *s)
{
    return mo_buf_append(b, s, strlen(s));
}

int mo_buf_printf(mo_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n))
        return MO_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *mo_buf_steal(mo_buf_t *b)
{
    char *s = NULL;
    if (!b->failed)
        s = b->data ? b->data : mo_strdup("");
    else
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return s;
}

void mo_buf_free(mo_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

int mo_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return MO_EINVAL;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0')
        return MO_EINVAL;
    *out = (int64_t)v;
    return 0;
}

int mo_parse_double(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return MO_EINVAL;
    /* strtod accepts "nan", "inf" and hex floats; a spec should not. */
    for (const char *p = s; *p; p++)
        if (isalpha((unsigned char)*p) && *p != 'e' && *p != 'E')
            return MO_EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE && fabs(v) > 1.0)
        return MO_EINVAL;
    if (*end != '\0' || !isfinite(v))
        return MO_EINVAL;
    *out = v;
    return 0;
}

int mo_parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"true", "True", "TRUE", "yes", "on", "1"};
    static const char *no[] = {"false", "False", "FALSE", "no", "off", "0"};
    if (!s)
        return MO_EINVAL;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (!strcmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return MO_EINVAL;
}

/* Split "123.5unit" into a finite non-negative number and its unit suffix. */
static int split_number_unit(const char *s, double *num, const char **unit)
{
    if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return MO_EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return MO_EINVAL;
    /* strtod would eat "inf"/"nan"/hex; allow only digits, '.', exponent before the unit. */
    for (const char *p = s; p < end; p++)
        if (!isdigit((unsigned char)*p) && *p != '.' && *p != 'e' && *p != 'E' && *p != '-' &&
            *p != '+')
            return MO_EINVAL;
    *num = v;
    *unit = end;
    return 0;
}

int mo_parse_duration(const char *s, double *seconds)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"", 1},     {"ms", 1e-3}, {"s", 1},     {"sec", 1},   {"m", 60},
                 {"min", 60}, {"h", 3600},  {"hr", 3600}, {"d", 86400}, {"w", 604800}};
    double v;
    const char *unit;
    if (split_number_unit(s, &v, &unit))
        return MO_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcmp(unit, units[i].unit)) {
            *seconds = v * units[i].mult;
            return 0;
        }
    return MO_EINVAL;
}

int mo_parse_bytes(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"k", 1e3},
                 {"K", 1e3},
                 {"kB", 1e3},
                 {"KB", 1e3},
                 {"M", 1e6},
                 {"MB", 1e6},
                 {"G", 1e9},
                 {"GB", 1e9},
                 {"T", 1e12},
                 {"TB", 1e12},
                 {"Ki", 1024.0},
                 {"KiB", 1024.0},
                 {"Mi", 1048576.0},
                 {"MiB", 1048576.0},
                 {"Gi", 1073741824.0},
                 {"GiB", 1073741824.0},
                 {"Ti", 1099511627776.0},
                 {"TiB", 1099511627776.0}};
    double v;
    const char *unit;
    if (split_number_unit(s, &v, &unit))
        return MO_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcmp(unit, units[i].unit)) {
            double b = v * units[i].mult;
            if (b >= 18446744073709551615.0 || b != floor(b))
                return MO_EINVAL;
            *bytes = (uint64_t)b;
            return 0;
        }
    return MO_EINVAL;
}

size_t mo_str_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] < cap ? row[lb] : cap;
}

int mo_str_startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}
