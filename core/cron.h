/* cron.h - 5-field cron expressions (Vixie semantics) and their next run times in a time zone
 *
 * An expression parses to one bitset per field. Day matching follows Vixie cron: when both
 * day-of-month and day-of-week are restricted (their text does not start with '*'), a day
 * matches if EITHER matches; otherwise both must. Day-of-week 7 is Sunday, like 0. Names
 * (JAN-DEC, SUN-SAT) are case-insensitive and may appear in ranges.
 *
 * Time zones come from the system tz database (/usr/share/zoneinfo, or $TZDIR): the functions
 * set TZ, call tzset and localtime_r, and put the caller's TZ back before returning, so they
 * are not thread-safe (the CLI is single-threaded). Across DST changes:
 *   - a wall time that does not exist (spring forward) runs at the first existing minute after
 *     the gap (every such time collapses into that one run);
 *   - a wall time that occurs twice (fall back) runs once, at its first occurrence.
 */
#ifndef MO_CORE_CRON_H
#define MO_CORE_CRON_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t minute; /* bit m: minute m (0-59) */
    uint32_t hour;   /* bit h: hour h (0-23) */
    uint32_t dom;    /* bit d: day of month d (1-31) */
    uint16_t month;  /* bit m: month m (1-12) */
    uint8_t dow;     /* bit d: day of week d (0 = Sunday .. 6); 7 is folded into 0 */
    int dom_star;    /* the day-of-month text starts with '*' */
    int dow_star;    /* the day-of-week text starts with '*' */
} mo_cron_t;

/* Parse `expr` into *out. MO_EINVAL with a message naming the field, e.g.
 * "cron field 'day-of-week': 8 is out of range 0-7". An expression that can never match
 * (day 30 of February only) is also MO_EINVAL. */
int mo_cron_parse(mo_cron_t *out, const char *expr, mo_error_t *err);

/* 0 when `tz` names a zone of the tz database ("UTC", "Europe/Berlin"); MO_EINVAL otherwise. */
int mo_cron_tz_check(const char *tz, mo_error_t *err);

/* The first run time strictly after `after` (Unix seconds) of `c` read in time zone `tz`
 * (NULL: UTC). MO_EINVAL for an unknown zone, MO_ENOTFOUND when nothing matches within 28
 * years. */
int mo_cron_next(int64_t *out, const mo_cron_t *c, const char *tz, int64_t after, mo_error_t *err);

/* RFC 3339 with the zone's offset, "2026-03-29T03:00:00+02:00", for Unix time `t` in `tz`
 * (NULL: the process's local time zone). Returns 0, or MO_EINVAL for an unknown zone. */
int mo_cron_format(char *buf, size_t size, int64_t t, const char *tz, mo_error_t *err);

/* Parse "YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM)" or "@UNIXSECONDS" into Unix seconds. */
int mo_cron_parse_time(int64_t *out, const char *s, mo_error_t *err);

#endif
