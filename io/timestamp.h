/* timestamp.h - event timestamps: RFC 3339 (UTC) or epoch seconds / milliseconds
 *
 * Every timestamp inside Maestro is int64 microseconds since the Unix epoch, UTC. Sources give
 * RFC 3339 text ("2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123456Z", also with a "+00:00"
 * offset or a space instead of 'T'; other offsets are converted to UTC) or numbers of seconds
 * or milliseconds since the epoch (integers or decimals). AUTO decides per value: text with
 * '-' after the year is RFC 3339; a number below 1e11 is seconds, otherwise milliseconds
 * (1e11 s is the year 5138; 1e11 ms is 1973-03-03, so real data is never ambiguous).
 *
 * The rules in full (docs/formats.md "Event tables"):
 *   - RFC 3339: YYYY-MM-DD, then 'T', 't' or one space, then hh:mm:ss; an optional fraction
 *     of 1 to 9 digits, cut (not rounded) to the microsecond; then 'Z', 'z', "+hh:mm" or
 *     "-hh:mm", or nothing, which means UTC. Month, day (leap years included), hour 00..23,
 *     minute 00..59 are checked. Second 60 (a leap second) is accepted and read as
 *     hh:mm:59.999999, so it stays after :59 and before the next minute. No date-only form.
 *   - Epoch numbers: an optional '-', digits, an optional '.' and 1 to 9 digits; no '+', no
 *     exponent, no spaces. Negative numbers are instants before 1970 (AUTO compares the
 *     magnitude with 1e11). Digits below the microsecond are cut towards the earlier instant.
 *   - Every timestamp lies in years 0000..9999 (MO_TS_MIN_US..MO_TS_MAX_US), so that
 *     mo_ts_format gives it back as RFC 3339.
 */
#ifndef MO_IO_TIMESTAMP_H
#define MO_IO_TIMESTAMP_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MO_TS_AUTO = 0,
    MO_TS_RFC3339,
    MO_TS_EPOCH_S,
    MO_TS_EPOCH_MS,
} mo_ts_format_t;

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z. */
#define MO_TS_MIN_US (-INT64_C(62167219200000000))
#define MO_TS_MAX_US INT64_C(253402300799999999)

/* Names as specs write them: "auto", "rfc3339", "epoch_s", "epoch_ms"; NULL-terminated. */
extern const char *const mo_ts_format_names[];

/* Parse `len` bytes at `s` (no NUL needed; no surrounding spaces: callers trim). MO_EINVAL
 * with a message that quotes the text and says what was expected ("not a timestamp:
 * '2026-13-01' (expected RFC 3339 like 2026-11-25T10:00:00Z, or epoch
 * seconds/milliseconds)") or what is out of range ("not a timestamp: '2026-02-29T00:00:00Z'
 * (2026-02 has no day 29)"); the caller adds file:line:col. */
int mo_ts_parse(const char *s, size_t len, mo_ts_format_t fmt, int64_t *us, mo_error_t *err);

/* A number from a binary column (HDF5) as a timestamp: seconds or milliseconds per `fmt`
 * (AUTO: magnitude below 1e11 is seconds). Floats are rounded to the nearest microsecond
 * (a binary float is rarely exactly the decimal it was written as). MO_EINVAL when `fmt` is
 * RFC3339, the value is not finite or out of range; the message starts "not a timestamp: ". */
int mo_ts_from_int(int64_t v, mo_ts_format_t fmt, int64_t *us, mo_error_t *err);
int mo_ts_from_double(double v, mo_ts_format_t fmt, int64_t *us, mo_error_t *err);

/* RFC 3339 UTC: "2026-11-25T10:00:00Z", with ".ffffff" only when there are microseconds.
 * Returns buf (at least 32 bytes). */
const char *mo_ts_format(int64_t us, char *buf, size_t size);

#endif
