/* events_synth.h - synthetic event tables: `maestro data events` (io/events.h)
 *
 * Tables for materialisation and point-in-time joins, shaped like a payments log: columns
 * customer_id (text keys "c0000042", zero-padded to one width so that text order is number
 * order), event_ts, created_ts, amount and qty. What makes them realistic enough to benchmark
 * and test materialisation with:
 *   - skew: the entity of a row is entity rank floor(K * u^2) for u uniform, so rank r gets a
 *     share of about 1 / (2 sqrt(r K)) of the events: with 10M events over 1M entities the
 *     most active entity has ~10,000 events, the median one ~8. Ranks are scattered over the
 *     entity numbers by a fixed bijection, so activity does not follow the key;
 *   - ties: about 3% of rows repeat the entity and event time of the row before (a burst
 *     recorded twice), with their own created time, so equal event timestamps of one entity
 *     occur in every table; event times are whole seconds;
 *   - created_ts = event_ts + 0..3 s, equal to event_ts for a quarter of the rows;
 *   - amount: log-normal (median ~33), in cents, empty/NaN for ~1% of rows; qty: 1..9,
 *     geometric (half the rows 1).
 * Event times are uniform over [start, start + days). Rows are not in time order.
 *
 * Row i is a pure function of (seed, i) (and the entity count, days and start), never of the
 * table's length or how it is cut: it reads words [12 i, 12 i + 12) of the counter-based
 * stream (core/rng.h), and a repeated row looks back through the rows before it, each again a
 * function of its own index. So any range of rows can be generated on its own, in parallel,
 * and a seed gives the same table everywhere (with the same libm for exp, log and cos).
 *
 * Labels (kind: dataset's entity rows): row j names entity rank (off + j * step) mod K, so the
 * first min(M, K) rows are distinct entities; its time is uniform over the same span and its
 * label is "churn" with probability 0.05 + 0.55 * rank / K (inactive entities churn more),
 * else "stay".
 *
 * Files (by the extension of the path): ".csv" with a header row, timestamps RFC 3339 UTC
 * ("2026-11-01T10:00:00Z", created with ".mmm" when it has milliseconds), an empty amount for
 * NaN; ".h5"/".hdf5" with one 1-D dataset per column at the root (docs/formats.md "Event
 * tables"): customer_id fixed-length strings, event_ts/created_ts int64 epoch milliseconds,
 * amount/qty float64. Both are written in blocks of rows to `<path>.tmp.<pid>` and renamed
 * into place (io/atomic.h, io/h5.h), so a reader never sees half a table.
 */
#ifndef MO_IO_EVENTS_SYNTH_H
#define MO_IO_EVENTS_SYNTH_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#define MO_EVENTS_SYNTH_MAX_ENTITIES INT64_C(1000000000)
/* The longest key: "c" and 9 digits, and a NUL. */
#define MO_EVENTS_SYNTH_KEY_MAX 11

typedef struct {
    int64_t events;   /* >= 1 */
    int64_t entities; /* 1..MO_EVENTS_SYNTH_MAX_ENTITIES */
    int64_t days;     /* >= 1: event times lie in [start, start + days) */
    int64_t start_us; /* µs since the epoch, a whole millisecond, >= 1970 */
    uint64_t seed;
    int64_t labels; /* label rows, >= 0 */
} mo_events_synth_opts_t;

/* Rows, column-wise; the caller owns the arrays (n each). */
typedef struct {
    int64_t *entity;     /* entity number 0..entities-1 (mo_events_synth_key gives its key) */
    int64_t *event_ms;   /* epoch milliseconds, whole seconds */
    int64_t *created_ms; /* epoch milliseconds, >= event_ms */
    double *amount;      /* NaN where missing */
    double *qty;
} mo_events_synth_cols_t;

/* Called after each block written: rows done of total. */
typedef void (*mo_events_synth_progress_fn)(void *ud, int64_t done, int64_t total);

/* Check `opts`; messages name the options as the CLI spells them ("--entities must be in
 * 1..1000000000, got 0"). */
int mo_events_synth_check(const mo_events_synth_opts_t *opts, mo_error_t *err);

/* The key of entity `e` into buf (at least MO_EVENTS_SYNTH_KEY_MAX bytes): "c" then e
 * zero-padded to the width of the table's largest entity number (at least 7 digits). Returns
 * its length (every key of a table has the same). */
size_t mo_events_synth_key(char *buf, const mo_events_synth_opts_t *opts, int64_t e);

/* Rows [row0, row0 + n) of the event table into cols. Same values whatever the split into
 * calls. MO_EINVAL for bad opts or a range outside 0..opts->events. */
int mo_events_synth_rows(const mo_events_synth_opts_t *opts, int64_t row0, int64_t n,
                         const mo_events_synth_cols_t *cols, mo_error_t *err);

/* Label rows [row0, row0 + n) (outside 0..opts->labels: MO_EINVAL): entity numbers, times
 * (epoch ms) and churn (1: "churn", 0: "stay"). */
int mo_events_synth_labels(const mo_events_synth_opts_t *opts, int64_t row0, int64_t n,
                           int64_t *entity, int64_t *ts_ms, uint8_t *churn, mo_error_t *err);

/* Write the event table to `path` (.csv, .h5 or .hdf5), atomically. progress may be NULL. */
int mo_events_synth_write(const char *path, const mo_events_synth_opts_t *opts,
                          mo_events_synth_progress_fn progress, void *ud, mo_error_t *err);

/* Write the opts->labels label rows (customer_id, event_ts, label) to `path` (.csv, .h5 or
 * .hdf5), atomically; *churned (may be NULL) gets the number of "churn" rows. */
int mo_events_synth_write_labels(const char *path, const mo_events_synth_opts_t *opts,
                                 int64_t *churned, mo_error_t *err);

#endif
