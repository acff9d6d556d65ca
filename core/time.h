/* time.h - clocks and timestamps */
#ifndef MO_CORE_TIME_H
#define MO_CORE_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on a monotonic clock; for durations and rates. */
double mo_time_mono(void);
/* Sleep `seconds` (<= 0: return at once), resuming after signals until the time is up. */
void mo_time_sleep(double seconds);
/* Nanoseconds since the Unix epoch (wall clock). */
int64_t mo_time_unix_ns(void);
/* "2026-11-25T22:57:00.123Z" (UTC, milliseconds) for `unix_ns`; returns `buf`. */
char *mo_time_iso8601(char *buf, size_t size, int64_t unix_ns);

#endif
