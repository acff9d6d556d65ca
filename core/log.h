/* log.h - structured logging with secret redaction
 *
 * A record has a level, the rank, a component ("runner", "io", "train", ...) and a message.
 * On a terminal it prints as one human line; with --log-format json as one JSON object per
 * line (for Promtail / Loki). Every line passes through redaction first: values registered
 * with mo_log_add_secret() are replaced by "***", and an optional extra redactor may rewrite
 * the line further. Sinks (the logs plugin) receive the redacted record.
 *
 * Ranks other than 0 print only warnings and errors unless verbose is set: 64 ranks printing
 * the same progress line helps no one.
 */
#ifndef MO_CORE_LOG_H
#define MO_CORE_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { MO_LOG_DEBUG = 0, MO_LOG_INFO, MO_LOG_WARN, MO_LOG_ERROR } mo_log_level_t;
typedef enum { MO_LOG_HUMAN = 0, MO_LOG_JSON } mo_log_format_t;

typedef struct {
    int64_t unix_ns;
    mo_log_level_t level;
    int rank;
    const char *component;
    const char *msg; /* already redacted */
    /* The context fields (mo_log_set_fields), values redacted; n_fields may be 0. */
    const char *const *field_keys;
    const char *const *field_values;
    size_t n_fields;
} mo_log_record_t;

typedef void (*mo_log_sink_fn)(const mo_log_record_t *rec, void *ud);

typedef struct {
    mo_log_level_t level; /* least severe level printed */
    mo_log_format_t format;
    int rank;      /* -1 when not known yet */
    int all_ranks; /* 1: every rank prints info; 0: only rank 0 does */
    FILE *stream;  /* NULL means stderr */
} mo_log_opts_t;

void mo_log_configure(const mo_log_opts_t *opts);
void mo_log_set_rank(int rank);
/* Parse "debug|info|warn|error" / "human|json"; 0 or MO_EINVAL. */
int mo_log_level_parse(const char *s, mo_log_level_t *out);
int mo_log_format_parse(const char *s, mo_log_format_t *out);

void mo_log(mo_log_level_t level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define mo_log_debug(comp, ...) mo_log(MO_LOG_DEBUG, comp, __VA_ARGS__)

/* At debug level: "phase NAME: <wall> s, cpu <user+sys> s, rss <now> MiB, peak <max> MiB" for
 * this process, wall time counted from t0 (mo_time_mono()); the per-phase profile of the
 * data jobs (--log-level debug --log-all-ranks). */
void mo_log_phase(const char *component, const char *phase, double t0);
#define mo_log_info(comp, ...) mo_log(MO_LOG_INFO, comp, __VA_ARGS__)
#define mo_log_warn(comp, ...) mo_log(MO_LOG_WARN, comp, __VA_ARGS__)
#define mo_log_error(comp, ...) mo_log(MO_LOG_ERROR, comp, __VA_ARGS__)

/* Register a secret value (copied); every later log line and mo_redact() masks it.
 * Values shorter than 4 bytes are ignored (masking "a" would shred every line). */
int mo_log_add_secret(const char *value);
void mo_log_clear_secrets(void);
/* Copy of `s` with every registered secret replaced by "***"; caller frees. NULL on ENOMEM. */
char *mo_redact(const char *s);

/* Fields every later record carries, e.g. the Slurm job a run is part of: JSON lines get them
 * as members after "rank" (human lines do not; the runner says them once at start), sinks in
 * the record. Keys and values are copied; values are redacted as they are printed. n = 0
 * clears them. MO_EINVAL for more than MO_LOG_MAX_FIELDS, a NULL or empty key or value, or a
 * key that a record has anyway (ts, level, rank, component, msg). */
#define MO_LOG_MAX_FIELDS 8
int mo_log_set_fields(const char *const *keys, const char *const *values, size_t n);

/* One extra sink (the logs plugin); NULL removes it. */
void mo_log_set_sink(mo_log_sink_fn fn, void *ud);

#endif
