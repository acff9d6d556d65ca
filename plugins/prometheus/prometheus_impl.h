/* prometheus_impl.h - internals shared by the prometheus plugin's files
 *
 * expo.c knows the text exposition format 0.0.4 and the Pushgateway's grouping-key path; it
 * includes no Maestro header at all (not even the plugin ABI), so the unit tests compile it
 * directly and check the bytes that go on the wire. prometheus.c maps Maestro events onto the
 * metric families below and publishes them (textfile here, Pushgateway through deliver.c);
 * deliver.c sends, spools and flushes. This header names the host's table only as an
 * incomplete struct, so it too stands without maestro_plugin.h.
 */
#ifndef MAESTRO_PROMETHEUS_IMPL_H
#define MAESTRO_PROMETHEUS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* ---- a growable byte buffer; an allocation failure sticks (checked once at the end) -------- */

typedef struct {
    char *data; /* NUL-terminated while oom == 0 */
    size_t len, cap;
    int oom;
} prom_buf_t;

void prom_buf_init(prom_buf_t *b);
void prom_buf_free(prom_buf_t *b);
void prom_buf_add(prom_buf_t *b, const void *data, size_t len);
void prom_buf_puts(prom_buf_t *b, const char *s);
void prom_buf_printf(prom_buf_t *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

char *prom_strdup(const char *s); /* NULL for NULL or no memory */

/* ---- format primitives -------------------------------------------------------------------- */

/* A label value between the quotes: \ " and newline escaped; bytes that are not valid UTF-8
 * become U+FFFD (the gateway answers 400 "invalid label value" to them). */
void prom_escape_label_value(prom_buf_t *b, const char *value);
/* HELP text: \ and newline escaped (quotes stay as they are). */
void prom_escape_help(prom_buf_t *b, const char *text);
/* A sample value the way Prometheus writes it: shortest round-trip decimal, NaN, +Inf, -Inf. */
void prom_format_value(char *out, size_t size, double value);
/* base64url (RFC 4648 section 5) without padding. */
void prom_base64url(prom_buf_t *b, const unsigned char *data, size_t len);
/* `in` as valid UTF-8 (invalid bytes replaced by U+FFFD); caller frees; NULL on no memory. */
char *prom_utf8_clean(const char *in);
/* A valid label name from anything: characters outside [a-zA-Z0-9_] become '_', a leading
 * digit gets a '_' prefix. Returns 0, or -1 when the result would be empty or reserved
 * ("__" prefix). */
int prom_label_name(char *out, size_t size, const char *in);

/* One "/<name>/<value>" segment of a grouping key, "/<name>@base64/<b64url>" when the value is
 * empty ("=") or holds anything but RFC 3986 unreserved characters (a '/', or "." / ".."
 * that HTTP path cleaning would redirect, or bytes needing percent-encoding). */
void prom_group_segment(prom_buf_t *b, const char *name, const char *value);
/* The Pushgateway path of a run's group: /metrics/job/<job>/run/<run_id>/rank/<rank>. */
void prom_group_path(prom_buf_t *b, const char *job, const char *run_id, int rank);

/* ---- the metric families and the current value of every series ------------------------------ */

typedef enum {
    PROM_RUN_INFO,
    PROM_RUN_STATUS,
    PROM_RUN_DURATION,
    PROM_TRAIN_LOSS,
    PROM_TRAIN_METRIC,
    PROM_VAL_METRIC,
    PROM_EPOCH,
    PROM_STEP,
    PROM_SAMPLES_PER_SECOND,
    PROM_ALLREDUCE_SECONDS,
    PROM_CHECKPOINT_SECONDS,
    PROM_GATES_PASSED,
    PROM_N_FAMILIES
} prom_family_t;

typedef struct {
    const char *name, *help, *type;
} prom_family_info_t;

const prom_family_info_t *prom_family(prom_family_t f);

typedef struct {
    const char *name; /* a valid label name (see prom_label_name) */
    const char *value;
} prom_label_t;

typedef struct prom_set prom_set_t;

prom_set_t *prom_set_create(void);
void prom_set_destroy(prom_set_t *s);
/* Set the series of family `f` with these labels to `value` (replacing its previous value).
 * Labels are sorted by name; a repeated name keeps its first value. Returns 0, or -1 when out
 * of memory or when the set already holds PROM_MAX_SERIES series (a runaway label). */
#define PROM_MAX_SERIES 4096
int prom_set_put(prom_set_t *s, prom_family_t f, const prom_label_t *labels, size_t n,
                 double value);
/* Drop every series of family f (e.g. the old status before the new one is set). */
void prom_set_clear(prom_set_t *s, prom_family_t f);
size_t prom_set_count(const prom_set_t *s);
/* Text format 0.0.4: for each family with samples, HELP and TYPE once then its samples, in a
 * fixed order; `prefix` labels (textfile mode: run and rank) go first on every sample. No
 * timestamps; every line ends in '\n'. */
void prom_set_render(const prom_set_t *s, const prom_label_t *prefix, size_t n_prefix,
                     prom_buf_t *out);

/* ---- the plugin's state and delivery (prometheus.c, deliver.c) ------------------------------ */

struct maestro_host;

typedef struct {
    char *path; /* grouping-key path */
    int64_t seq;
} prom_delivered_t;

typedef struct {
    const struct maestro_host *host; /* maestro_plugin.h, which this header does not need */
    /* config */
    char *url; /* base URL without trailing '/', NULL: no Pushgateway */
    char *job;
    double interval_s; /* 0: push at each epoch event */
    double timeout_s;  /* per request; 0: the host's default (10 s) */
    int delete_on_success;
    char *textfile_dir; /* configured folder, NULL: the run folder when there is no url */
    /* the run */
    int started;
    char *run_id;
    int rank;
    int64_t start_ns;
    char *group_path;    /* /metrics/job/.../rank/<r> */
    char *textfile_path; /* NULL: no textfile */
    char *state_path;    /* NULL: no cross-process record of deliveries */
    prom_set_t *set;
    int64_t last_publish_ns;
    int epoch_events;     /* an "epoch" metric arrived: it alone paces the pushes */
    int64_t latest_epoch; /* the highest ev->epoch seen */
    int64_t last_seq;
    int spooled; /* this process spooled a payload: deliveries from then on are recorded */
    int warned_full;
    /* newest delivered sequence per group (several in a `plugins flush` of many ranks) */
    prom_delivered_t *delivered;
    size_t n_delivered;
    /* Under Slurm, the job's labels on every sample pushed or written (run-level series too):
     * slurm_job_id, slurm_array_job_id, slurm_array_task_id, slurm_nodelist, as set. */
    char slurm_val[4][257];
    size_t n_slurm;
    const char *slurm_name[4];
} prom_state_t;

/* A log line through the host (level: maestro_log_level_t). */
void prom_log(prom_state_t *st, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* 0 when url is http(s)://host[:port][/prefix] with nothing the grouping path or the spool
 * header cannot follow (spaces, controls, '?', '#'); -1 otherwise. */
int prom_check_url(const char *url);
/* Temp file in the same folder, fsync, rename, fsync the folder: readers see the old file or
 * the new one. 0, or -1 with the reason in why. */
int prom_write_atomic(const char *path, const void *data, size_t len, char *why, size_t whylen);
/* Send `method` (PUT with body, DELETE) to this run's group. MAESTRO_OK when delivered,
 * MAESTRO_E_RETRY when spooled for later, MAESTRO_E_FAILED when refused or lost (logged). */
int prom_deliver(prom_state_t *st, const char *method, const char *body, size_t len);
/* The plugin's flush callback: deliver one spooled payload unless a newer one went first. */
int prom_flush(void *state, const char *kind, const void *data, size_t len);

#endif
