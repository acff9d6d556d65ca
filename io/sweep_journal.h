/* sweep_journal.h - sweep.h5: the journal of a sweep (docs/formats.md "Sweep journal")
 *
 *   root attributes  kind = "sweep", format_version, name, algorithm, objective_metric,
 *                    goal ("minimize" | "maximize"), status (running | completed | failed |
 *                    stopped | preempted), seq (events recorded so far), trial_kind
 *                    ("template" | "command" | "objective")
 *   /spec            the sweep's resolved spec text (secrets as references)
 *   /parameters      name string[dim], type string[dim] (double | int | discrete | categorical)
 *   /trials          number int64[n], status int32[n] (0 running, 1 completed, 2 pruned,
 *                    3 failed; attribute status_names), group int32[n], objective float64[n]
 *                    (NaN when none), start_time float64[n] (Unix seconds), duration
 *                    float64[n] (seconds; 0 while running), end_seq int64[n] (the event number
 *                    that ended the trial; 0 while running), x float64[n, dim] (the compact
 *                    form of space.h: values, or the index of a categorical value), params
 *                    fixed-length string[n, dim] (each value as text), artifact string[n]
 *                    (folder of the trial relative to the journal's folder, "" when none),
 *                    error string[n] ("" unless failed)
 *   /reports         trial int64[m], step int64[m], value float64[m], seq int64[m]: every
 *                    intermediate value in arrival order
 *
 * Strings in datasets are fixed-length UTF-8 (as wide as the longest + 1); attributes are
 * variable-length. Readers accept either, and any integer or float width.
 *
 * mo_sj_write rewrites the whole file atomically (temp + fsync + rename), so after a crash it
 * holds the state of one event exactly, never half of one. The image is built in memory (HDF5
 * core driver) so a write costs one file write, not one per object.
 *
 * A running sweep saves through a writer (mo_sj_writer_*, io/sweep_journal_log.c): while
 * events come slower than about 160 a second every save is such a rewrite; faster, the events
 * since the last rewrite are appended to `<path>.log` instead (checksummed records, fsync'd at
 * the caller's cadence) and sweep.h5 is rewritten ("compacted") at most every 0.5 s, when the
 * sweep goes idle, and at the end, which removes the log. mo_sj_read and inspect replay the
 * log over sweep.h5, so together they always hold the last event.
 */
#ifndef MO_IO_SWEEP_JOURNAL_H
#define MO_IO_SWEEP_JOURNAL_H

#include "core/status.h"
#include "core/str.h"

#include <stddef.h>
#include <stdint.h>

#define MO_SWEEP_FORMAT_VERSION 1

/* Trial statuses as stored; the same numbering as mo_trial_status_t (jobs/sweep/sampler.h). */
enum { MO_SJ_RUNNING = 0, MO_SJ_COMPLETED = 1, MO_SJ_PRUNED = 2, MO_SJ_FAILED = 3 };

typedef struct {
    int64_t number;
    int32_t status, group;
    double objective;  /* NaN when none */
    double start_time; /* Unix seconds */
    double duration;   /* seconds */
    int64_t end_seq;   /* 0 while running */
    double *x;         /* dim values (owned) */
    char **text;       /* dim strings (owned) */
    char *artifact;    /* owned; NULL when none (stored as "") */
    char *error;       /* owned; NULL unless failed (stored as "") */
} mo_sj_trial_t;

typedef struct {
    int64_t trial, step, seq;
    double value;
} mo_sj_report_t;

typedef struct {
    char *name, *algorithm, *metric, *status, *trial_kind, *spec_text; /* owned */
    int maximize;
    size_t dim;
    char **param_names, **param_types; /* dim each, owned */
    mo_sj_trial_t *trials;             /* in the order they were added (start order) */
    size_t n_trials, cap_trials;
    mo_sj_report_t *reports;
    size_t n_reports, cap_reports;
    int64_t seq; /* events recorded; every call that changes the journal increments it */
    /* With log_on (set by mo_sj_writer_create) every change is also encoded as a log record in
     * `log` until the writer saves it; mo_sj_free frees it. */
    int log_on;
    mo_buf_t log;
} mo_sweep_journal_t;

/* Start an empty journal, status "running". Strings are copied; spec_text may be NULL.
 * MO_EINVAL for an empty name, algorithm or metric, a trial_kind or parameter type outside the
 * lists above. On failure *j is left empty (mo_sj_free is still allowed). */
int mo_sj_init(mo_sweep_journal_t *j, const char *name, const char *algorithm, const char *metric,
               int maximize, const char *trial_kind, const char *spec_text, size_t dim,
               const char *const *param_names, const char *const *param_types, mo_error_t *err);
void mo_sj_free(mo_sweep_journal_t *j);

/* A trial started: appended as running (objective NaN). Returns its index (>= 0) or a negative
 * error (MO_EINVAL when `number` is already recorded). artifact may be NULL or "". */
long mo_sj_add_trial(mo_sweep_journal_t *j, int64_t number, int32_t group, const double *x,
                     const char *const *text, double start_time, const char *artifact,
                     mo_error_t *err);
/* Index of trial `number`, or -1. */
long mo_sj_find(const mo_sweep_journal_t *j, int64_t number);
/* An intermediate value of trial `number`: MO_ENOTFOUND for an unknown trial, MO_EINVAL when
 * it is no longer running (a value after the end would change a finished trial). */
int mo_sj_report(mo_sweep_journal_t *j, int64_t number, int64_t step, double value,
                 mo_error_t *err);
/* Running trial `number` ended with `status` (completed, pruned or failed); duration >= 0.
 * `error` (may be NULL) is kept only for failed trials. */
int mo_sj_end_trial(mo_sweep_journal_t *j, int64_t number, int32_t status, double objective,
                    double duration, const char *error, mo_error_t *err);
/* A trial that was running when the sweep stopped goes back to running from scratch: its
 * reports are dropped and it is restarted with a new start time and group (resume); its
 * objective, duration, end_seq and error are cleared. Any status is accepted (a trial that
 * failed because the sweep was stopped is restarted too). */
int mo_sj_restart_trial(mo_sweep_journal_t *j, int64_t number, int32_t group, double start_time,
                        mo_error_t *err);
/* Index of the best finished trial, or -1: among completed trials with an objective the lowest
 * (minimize) or highest (maximize), ties to the lowest number; when none completed, the best
 * pruned trial with a finite objective. */
long mo_sj_best(const mo_sweep_journal_t *j);
/* Replace the root status string (one of the five above, else MO_EINVAL). */
int mo_sj_set_status(mo_sweep_journal_t *j, const char *status, mo_error_t *err);

/* Write the journal to `path` atomically (see above): MO_EIO when it cannot be written, and
 * then `path` is as it was and no temporary file is left. */
int mo_sj_write(const mo_sweep_journal_t *j, const char *path, mo_error_t *err);
/* The same; durable 0 skips the fsyncs (io/atomic.h mo_io_write_atomic_ex). */
int mo_sj_write_ex(const mo_sweep_journal_t *j, const char *path, int durable, mo_error_t *err);
/* Read a journal written by mo_sj_write or a writer (sweep.h5, then `<path>.log` replayed
 * over it). MO_ENOTFOUND when absent, MO_EFORMAT (naming the
 * file and object) when it is not a sweep journal or is damaged. *j is initialised here. */
int mo_sj_read(mo_sweep_journal_t *j, const char *path, mo_error_t *err);

/* ---- the writer of a running sweep: sweep.h5 plus its event log ------------------------- */

typedef struct mo_sj_writer mo_sj_writer_t;

/* A writer of `j` at `path` (the log is `<path>.log`): turns on j->log_on. The first save is
 * always a whole rewrite, which removes a log left by an earlier run. Destroy it before j. */
int mo_sj_writer_create(mo_sj_writer_t **out, mo_sweep_journal_t *j, const char *path,
                        mo_error_t *err);
/* Put every change to j since the last save on disk (see above); durable fsyncs what it
 * writes. MO_EIO when neither the log nor the whole file can be written. */
int mo_sj_writer_save(mo_sj_writer_t *w, mo_sweep_journal_t *j, int durable, mo_error_t *err);
/* Nothing else to do for now: rewrite sweep.h5 if the log holds events (no-op otherwise), so
 * that sweep.h5 alone is current while the sweep waits. */
int mo_sj_writer_idle(mo_sj_writer_t *w, mo_sweep_journal_t *j, mo_error_t *err);
/* The end: a durable whole rewrite, then the log is removed. */
int mo_sj_writer_finish(mo_sj_writer_t *w, mo_sweep_journal_t *j, mo_error_t *err);
/* Saves count as fast when 16 fall within fast_window_s (0.1 s), and sweep.h5 is rewritten
 * at least every compact_every_s (0.5 s) while they do; <= 0 keeps the default. For tests,
 * which must not depend on the machine's speed. */
void mo_sj_writer_tune(mo_sj_writer_t *w, double fast_window_s, double compact_every_s);
/* Whole rewrites and appends so far (for tests and the benchmark). */
void mo_sj_writer_counts(const mo_sj_writer_t *w, int64_t *rewrites, int64_t *appends);
void mo_sj_writer_destroy(mo_sj_writer_t *w);

/* Replay the log at `log_path` over j (read from the sweep.h5 beside it): records already in j
 * (seq <= j->seq) are skipped, a torn or damaged tail ends the log. MO_EFORMAT when a record
 * does not apply; absent log: 0. */
int mo_sj_log_replay(mo_sweep_journal_t *j, const char *log_path, mo_error_t *err);

/* internal (sweep_journal.c -> sweep_journal_log.c): encode the event just applied to j */
enum { MO_SJ_EV_ADD = 1, MO_SJ_EV_REPORT, MO_SJ_EV_END, MO_SJ_EV_RESTART, MO_SJ_EV_STATUS };
void mo_sj_log_note(mo_sweep_journal_t *j, int type, long trial_index);
/* internal: sweep.h5 alone, without its log (sweep_journal_file.c) */
int mo_sj_read_snapshot(mo_sweep_journal_t *j, const char *path, mo_error_t *err);

#endif
