/* prometheus.c - the prometheus metrics plugin: Pushgateway PUTs or node_exporter textfiles
 *
 * Each process (rank) keeps the current value of its series (expo.c) and publishes the whole
 * set each time: a PUT that replaces its Pushgateway group job/<job>/run/<run_id>/rank/<rank>,
 * and/or an atomically replaced <dir>/maestro_<run_id>_rank<r>.prom for node_exporter's
 * textfile collector (the embedded default when no url is configured). Run-level series
 * (info, status, duration, gates, final metrics) live in rank 0's group only, so a query sees
 * one per run; per-rank series (throughput, allreduce, checkpoint) are in every rank's group.
 *
 * Publishing happens at run start (a run is visible as running before its first epoch ends), at
 * each "epoch" metric (rank 0 sends it at each epoch end and with its progress lines), or every
 * `interval` seconds when configured, and at run end. The other ranks get no "epoch" metric:
 * their series go out when the epoch of their events moves on. Sending, spooling and flushing
 * are deliver.c's.
 */
#include "maestro_plugin.h"
#include "prometheus_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EVENT_LABELS 16

/* The buffer's string, handed to the caller (NULL when it ran out of memory). */
static char *buf_take(prom_buf_t *b)
{
    if (b->oom || !b->data) {
        prom_buf_free(b);
        return NULL;
    }
    char *s = b->data;
    prom_buf_init(b);
    return s;
}

/* ---- configuration ------------------------------------------------------------------------- */

static const char *cfg(const maestro_host_t *host, const char *key)
{
    const char *v = host->config(host->ctx, key);
    return (v && *v) ? v : NULL;
}

/* A positive number of seconds under `key`, when set; *out is left alone when not. */
static int seconds(const maestro_host_t *h, const char *key, double *out, char *errbuf,
                   size_t errlen)
{
    const char *v = cfg(h, key);
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x <= 0) {
        snprintf(errbuf, errlen, "%s must be a positive number of seconds, got '%.64s'", key, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_config(prom_state_t *st, char *errbuf, size_t errlen)
{
    const maestro_host_t *h = st->host;
    const char *url = cfg(h, "url");
    if (url) {
        if (prom_check_url(url) != 0) {
            snprintf(errbuf, errlen,
                     "url must be http(s)://host[:port][/path] without spaces, '?' "
                     "or '#', got '%.200s'",
                     url);
            return MAESTRO_E_CONFIG;
        }
        st->url = prom_strdup(url);
        if (!st->url)
            goto oom;
        size_t n = strlen(st->url);
        while (n > 0 && st->url[n - 1] == '/')
            st->url[--n] = '\0';
    }

    const char *job = h->config(h->ctx, "job");
    if (job && !*job) {
        /* the gateway answers 400 "job name is required" */
        snprintf(errbuf, errlen, "job must not be empty");
        return MAESTRO_E_CONFIG;
    }
    st->job = prom_strdup(job ? job : "maestro");
    if (!st->job)
        goto oom;

    if (seconds(h, "interval", &st->interval_s, errbuf, errlen) ||
        seconds(h, "timeout", &st->timeout_s, errbuf, errlen))
        return MAESTRO_E_CONFIG;

    const char *del = cfg(h, "delete_on_success");
    if (del) {
        if (!strcmp(del, "true")) {
            st->delete_on_success = 1;
        } else if (strcmp(del, "false") != 0) {
            snprintf(errbuf, errlen, "delete_on_success must be true or false, got '%.64s'", del);
            return MAESTRO_E_CONFIG;
        }
    }

    const char *dir = cfg(h, "textfile_dir");
    if (dir) {
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            snprintf(errbuf, errlen, "textfile_dir '%.200s' is not a folder", dir);
            return MAESTRO_E_CONFIG;
        }
        st->textfile_dir = prom_strdup(dir);
        if (!st->textfile_dir)
            goto oom;
    }
    return MAESTRO_OK;
oom:
    snprintf(errbuf, errlen, "out of memory");
    return MAESTRO_E_FAILED;
}

/* ---- Slurm ----------------------------------------------------------------------------------- */

/* The Slurm job this run belongs to, from the environment srun/sbatch give every task: the
 * same labels the host puts on metric events (runner/slurm_env.c), here on every sample, the
 * run-level series (info, status, duration, gates, final values) included. A value that is not
 * plain printable text is left out. */
static void read_slurm(prom_state_t *st)
{
    static const char *const vars[][2] = {
        {"SLURM_JOB_ID", "slurm_job_id"},
        {"SLURM_ARRAY_JOB_ID", "slurm_array_job_id"},
        {"SLURM_ARRAY_TASK_ID", "slurm_array_task_id"},
        {"SLURM_JOB_NODELIST", "slurm_nodelist"},
    };
    st->n_slurm = 0;
    if (!getenv("SLURM_JOB_ID"))
        return;
    for (size_t i = 0; i < 4; i++) {
        const char *v = getenv(vars[i][0]);
        if (i == 3 && (!v || !*v))
            v = getenv("SLURM_NODELIST");
        if (!v || !*v)
            continue;
        int ok = 1;
        for (const char *c = v; *c && ok; c++)
            ok = *c > ' ' && *c < 127 && *c != '"' && *c != '\\';
        if (!ok)
            continue;
        snprintf(st->slurm_val[st->n_slurm], sizeof st->slurm_val[0], "%s", v);
        st->slurm_name[st->n_slurm++] = vars[i][1];
    }
}

static int is_slurm_label(const prom_state_t *st, const char *name)
{
    for (size_t i = 0; i < st->n_slurm; i++)
        if (!strcmp(name, st->slurm_name[i]))
            return 1;
    return 0;
}

/* The labels every sample gets: (rank, run for a textfile,) then the Slurm ones. */
static size_t prefix_labels(const prom_state_t *st, prom_label_t *out, const char *rank,
                            int textfile)
{
    size_t n = 0;
    if (textfile) {
        out[n++] = (prom_label_t){"rank", rank};
        out[n++] = (prom_label_t){"run", st->run_id};
    }
    for (size_t i = 0; i < st->n_slurm; i++)
        out[n++] = (prom_label_t){st->slurm_name[i], st->slurm_val[i]};
    return n;
}

/* ---- textfile ------------------------------------------------------------------------------ */

static int write_textfile(prom_state_t *st)
{
    char rank[24];
    snprintf(rank, sizeof rank, "%d", st->rank);
    /* nothing adds grouping labels to a textfile: run and rank go on every sample, so the
     * files of several runs and ranks in one folder never collide */
    prom_label_t prefix[6];
    size_t np = prefix_labels(st, prefix, rank, 1);
    prom_buf_t body;
    prom_buf_init(&body);
    prom_set_render(st->set, prefix, np, &body);
    int rc = MAESTRO_OK;
    char why[1024];
    if (body.oom) {
        prom_log(st, MAESTRO_LOG_WARN, "out of memory rendering %s", st->textfile_path);
        rc = MAESTRO_E_FAILED;
    } else if (prom_write_atomic(st->textfile_path, body.data ? body.data : "", body.len, why,
                                 sizeof why) != 0) {
        prom_log(st, MAESTRO_LOG_WARN, "textfile not written: %s", why);
        rc = MAESTRO_E_FAILED;
    }
    prom_buf_free(&body);
    return rc;
}

/* ---- the series ---------------------------------------------------------------------------- */

static void put(prom_state_t *st, prom_family_t f, const prom_label_t *labels, size_t n,
                double value)
{
    if (prom_set_put(st->set, f, labels, n, value) != 0 && !st->warned_full) {
        st->warned_full = 1;
        prom_log(st, MAESTRO_LOG_WARN,
                 "%s not recorded (out of memory or more than %d series); further "
                 "new series are dropped too",
                 prom_family(f)->name, PROM_MAX_SERIES);
    }
}

/* Map one metric (event or final value) onto its family. The family's own label goes first
 * so that an event label of the same name loses; labels the grouping key or the textfile set
 * are dropped, as are names that cannot be made valid. */
static void record(prom_state_t *st, const char *name, double value, const maestro_kv_t *kv,
                   size_t n_kv)
{
    static const struct {
        const char *event;
        prom_family_t family;
    } direct[] = {
        {"train_loss", PROM_TRAIN_LOSS},
        {"epoch", PROM_EPOCH},
        {"step", PROM_STEP},
        {"samples_per_second", PROM_SAMPLES_PER_SECOND},
        {"allreduce_seconds_total", PROM_ALLREDUCE_SECONDS},
        {"checkpoint_seconds", PROM_CHECKPOINT_SECONDS},
    };
    prom_label_t labels[1 + MAX_EVENT_LABELS];
    char names[MAX_EVENT_LABELS][64];
    size_t n = 0, nn = 0;
    prom_family_t fam = PROM_TRAIN_METRIC;
    int found = 0;
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++) {
        if (!strcmp(name, direct[i].event)) {
            fam = direct[i].family;
            found = 1;
            break;
        }
    }
    if (!found) {
        int val = !strncmp(name, "val_", 4);
        fam = val ? PROM_VAL_METRIC : PROM_TRAIN_METRIC;
        labels[n++] = (prom_label_t){"name", val ? name + 4 : name};
    }
    for (size_t i = 0; kv && i < n_kv && nn < MAX_EVENT_LABELS; i++) {
        char *ln = names[nn];
        if (!kv[i].key || prom_label_name(ln, sizeof names[0], kv[i].key) != 0)
            continue;
        if (!strcmp(ln, "job") || !strcmp(ln, "instance") || !strcmp(ln, "run") ||
            !strcmp(ln, "rank") || is_slurm_label(st, ln)) /* the Slurm ones come as prefix */
            continue;
        nn++;
        labels[n++] = (prom_label_t){ln, kv[i].value ? kv[i].value : ""};
    }
    put(st, fam, labels, n, value);
}

static void set_status(prom_state_t *st, const char *status)
{
    static const char *const known[] = {"running", "ok", "gate_failed", "failed", "preempted"};
    prom_set_clear(st->set, PROM_RUN_STATUS);
    int listed = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        prom_label_t l = {"status", known[i]};
        int cur = !strcmp(status, known[i]);
        listed |= cur;
        put(st, PROM_RUN_STATUS, &l, 1, cur ? 1 : 0);
    }
    if (!listed) { /* a status newer than this plugin: still shown */
        prom_label_t l = {"status", status};
        put(st, PROM_RUN_STATUS, &l, 1, 1);
    }
}

/* Publish the current set wherever it goes. */
static int publish(prom_state_t *st)
{
    st->last_publish_ns = st->host->now_ns();
    if (st->rank == 0 && st->started) /* after run end it holds the end time */
        put(st, PROM_RUN_DURATION, NULL, 0, (double)(st->last_publish_ns - st->start_ns) / 1e9);
    int rc = MAESTRO_OK;
    if (st->textfile_path)
        rc = write_textfile(st);
    if (st->url) {
        prom_buf_t body;
        prom_buf_init(&body);
        prom_label_t prefix[6];
        prom_set_render(st->set, prefix, prefix_labels(st, prefix, NULL, 0), &body);
        if (body.oom) {
            prom_log(st, MAESTRO_LOG_WARN, "out of memory rendering the push");
            rc = MAESTRO_E_FAILED;
        } else {
            int prc = prom_deliver(st, "PUT", body.data ? body.data : "", body.len);
            if (prc != MAESTRO_OK && rc != MAESTRO_E_FAILED)
                rc = prc;
        }
        prom_buf_free(&body);
    }
    return rc;
}

/* ---- callbacks ----------------------------------------------------------------------------- */

static void prom_fini(void *state)
{
    prom_state_t *st = state;
    if (!st)
        return;
    free(st->url);
    free(st->job);
    free(st->textfile_dir);
    free(st->run_id);
    free(st->group_path);
    free(st->textfile_path);
    free(st->state_path);
    prom_set_destroy(st->set);
    for (size_t i = 0; i < st->n_delivered; i++)
        free(st->delivered[i].path);
    free(st->delivered);
    free(st);
}

static int prom_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    *state = NULL;
    if (!host || !host->log || !host->config || !host->now_ns || !host->http ||
        !host->free_response || !host->spool) {
        snprintf(errbuf, errlen, "the host lacks a service this plugin needs");
        return MAESTRO_E_FAILED;
    }
    prom_state_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return MAESTRO_E_FAILED;
    }
    st->host = host;
    int rc = parse_config(st, errbuf, errlen);
    if (rc == MAESTRO_OK && !(st->set = prom_set_create())) {
        snprintf(errbuf, errlen, "out of memory");
        rc = MAESTRO_E_FAILED;
    }
    if (rc != MAESTRO_OK) {
        prom_fini(st);
        return rc;
    }
    *state = st;
    return MAESTRO_OK;
}

/* A run id as a file-name part: anything but [A-Za-z0-9._-] becomes '_'. */
static void file_part(prom_buf_t *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        prom_buf_add(b, ok ? &c : "_", 1);
    }
}

static int prom_run_start(void *state, const maestro_run_info_t *run)
{
    prom_state_t *st = state;
    if (!run)
        return MAESTRO_E_FAILED;
    st->rank = run->rank;
    read_slurm(st);
    st->start_ns = run->start_ns > 0 ? run->start_ns : st->host->now_ns();
    free(st->run_id);
    st->run_id = prom_strdup(run->run_id ? run->run_id : "");

    prom_buf_t b;
    prom_buf_init(&b);
    prom_group_path(&b, st->job, st->run_id ? st->run_id : "", st->rank);
    free(st->group_path);
    st->group_path = buf_take(&b);

    free(st->state_path);
    st->state_path = NULL;
    if (st->url && run->run_dir && *run->run_dir && !strchr(run->run_dir, '\n')) {
        /* beside the payloads, named so that the host never takes it for one */
        prom_buf_printf(&b, "%s/spool/prometheus/delivered-rank%d", run->run_dir, st->rank);
        st->state_path = buf_take(&b);
    }

    free(st->textfile_path);
    st->textfile_path = NULL;
    const char *dir = st->textfile_dir ? st->textfile_dir : (st->url ? NULL : run->run_dir);
    if (dir && *dir && st->run_id) {
        prom_buf_printf(&b, "%s/maestro_", dir);
        file_part(&b, st->run_id);
        prom_buf_printf(&b, "_rank%d.prom", st->rank);
        st->textfile_path = buf_take(&b);
    } else if (!st->url) {
        prom_log(st, MAESTRO_LOG_WARN,
                 "no url, no textfile_dir and no run folder: metrics go nowhere");
    }
    prom_buf_free(&b);
    if (!st->run_id || !st->group_path) {
        prom_log(st, MAESTRO_LOG_WARN, "out of memory at run start");
        return MAESTRO_E_FAILED;
    }

    if (st->rank == 0) {
        prom_label_t info[] = {
            {"run_id", st->run_id},
            {"name", run->run_name ? run->run_name : ""},
            {"kind", run->job_kind ? run->job_kind : ""},
            {"version", run->maestro_version ? run->maestro_version : ""},
            {"commit", run->git_commit ? run->git_commit : ""},
        };
        put(st, PROM_RUN_INFO, info, sizeof info / sizeof info[0], 1);
        set_status(st, "running");
    }
    st->epoch_events = 0;
    st->latest_epoch = 0;
    st->started = 1;
    /* published at once: a run is visible as running before its first epoch ends */
    return publish(st);
}

static int prom_event(void *state, const maestro_event_t *ev)
{
    prom_state_t *st = state;
    if (!ev || ev->kind != MAESTRO_EV_METRIC || !ev->name || !*ev->name || !st->started)
        return MAESTRO_OK;
    record(st, ev->name, ev->value, ev->labels, ev->n_labels);
    int due;
    if (st->interval_s > 0) {
        due = (double)(st->host->now_ns() - st->last_publish_ns) >= st->interval_s * 1e9;
    } else if (!strcmp(ev->name, "epoch")) {
        st->epoch_events = 1;
        due = 1;
    } else {
        /* The trainer sends "epoch" from rank 0 only; the other ranks' per-rank series go out
         * when the epoch their metrics belong to moves on. */
        due = !st->epoch_events && ev->epoch > st->latest_epoch;
    }
    if (ev->epoch > st->latest_epoch)
        st->latest_epoch = ev->epoch;
    return due ? publish(st) : MAESTRO_OK;
}

static int prom_run_end(void *state, const maestro_run_end_t *end)
{
    prom_state_t *st = state;
    if (!end || !st->started)
        return MAESTRO_OK;
    const char *status = end->status && *end->status ? end->status : "failed";
    if (st->rank == 0) {
        /* final metrics are run-level: every rank holds them, rank 0's group shows them */
        for (size_t i = 0; end->metric_names && end->metric_values && i < end->n_metrics; i++)
            if (end->metric_names[i] && *end->metric_names[i])
                record(st, end->metric_names[i], end->metric_values[i], NULL, 0);
        set_status(st, status);
        put(st, PROM_GATES_PASSED, NULL, 0, end->gates_passed ? 1 : 0);
        int64_t end_ns = end->end_ns > 0 ? end->end_ns : st->host->now_ns();
        put(st, PROM_RUN_DURATION, NULL, 0, (double)(end_ns - st->start_ns) / 1e9);
    }
    st->started = 0; /* events after run end change nothing */

    if (st->delete_on_success && !strcmp(status, "ok")) {
        int rc = MAESTRO_OK;
        if (st->textfile_path && unlink(st->textfile_path) != 0 && errno != ENOENT) {
            prom_log(st, MAESTRO_LOG_WARN, "cannot remove %s: %s", st->textfile_path,
                     strerror(errno));
            rc = MAESTRO_E_FAILED;
        }
        if (st->url) {
            int drc = prom_deliver(st, "DELETE", "", 0);
            if (drc != MAESTRO_OK && rc == MAESTRO_OK)
                rc = drc;
        }
        return rc;
    }
    return publish(st);
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_METRICS,
    .name = "prometheus",
    .version = "1.0",
    .description = "metrics to a Prometheus Pushgateway, or node_exporter textfiles",
    .init = prom_init,
    .fini = prom_fini,
    .run_start = prom_run_start,
    .event = prom_event,
    .run_end = prom_run_end,
    .flush = prom_flush,
};
