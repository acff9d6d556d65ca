/* controller.c - the sweep's controller on world rank 0
 *
 * It owns the sampler, the median pruner and the journal. Each event (a trial handed out, an
 * intermediate value, a trial's end) is recorded in the journal in memory at once, and the
 * journal is on disk before anyone acts on it: before a trial is handed out and before a
 * decision is answered, and at the end of every pass over the waiting messages. A trial's end
 * that arrives just before its group asks for the next trial is written together with that
 * hand-out (one write, not two); a crash between the two loses nothing a resume cannot redo.
 *
 * Resume replays the journal into the sampler and the pruner in event order (sampler.h):
 * finished trials are kept, running ones are queued to run again from scratch with the same
 * parameters, and the algorithm continues from that history.
 */
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "jobs/sweep/sweep_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sweep_ctrl {
    const sweep_spec_t *spec;
    mo_job_ctx_t *ctx;
    mo_sampler_t *sampler;
    mo_pruner_t *pruner;
    mo_sweep_journal_t j;
    mo_sj_writer_t *writer; /* sweep.h5 and its event log; made at the first write */
    char path[4096];
    int n_groups, groups_done;
    int64_t next_number;
    int64_t *rerun; /* trials to run again after a resume, in number order */
    size_t n_rerun, i_rerun;
    int64_t completed, pruned, failed, running;
    int stopping;
    int target_reached;
    int code;
    char error[600];
    int dirty;
    double last_sync;  /* mo_time_mono of the last fsync'd write */
    double last_write; /* mo_time_mono of the last write */
};

static int decides(const sweep_spec_t *s)
{
    return s->median || !strcmp(s->algorithm, "hyperband");
}

static void stop_with(sweep_ctrl_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void stop_with(sweep_ctrl_t *c, int code, const char *fmt, ...)
{
    c->stopping = 1;
    if (c->code) /* the first reason stands */
        return;
    c->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

/* Every write replaces the file atomically, so a crash of the job never leaves a torn
 * journal; it is also fsync'd when the last fsync is SYNC_EVERY_S old (and at the end), so a
 * power cut loses at most that much, which a resume runs again. Syncing every event would cap
 * a fast sweep at the disk's fsync rate. */
#define SYNC_EVERY_S 0.5
/* A poll that finds nothing this long after the last write rewrites sweep.h5 if its log holds
 * events (a burst of events that has ended). */
#define IDLE_AFTER_S 0.1

static void write_journal(sweep_ctrl_t *c, int force_sync)
{
    double now = mo_time_mono();
    int durable = force_sync || now - c->last_sync >= SYNC_EVERY_S;
    mo_error_t err = {0};
    /* The writer appends the events to sweep.h5.log while they come fast and rewrites
     * sweep.h5 otherwise (io/sweep_journal.h); made here so that it records the journal that
     * a resume read in ctrl_start. */
    int rc = c->writer ? 0 : mo_sj_writer_create(&c->writer, &c->j, c->path, &err);
    if (!rc)
        rc = force_sync ? mo_sj_writer_finish(c->writer, &c->j, &err)
                        : mo_sj_writer_save(c->writer, &c->j, durable, &err);
    if (rc)
        stop_with(c, err.code ? err.code : MO_EIO, "%s", err.msg);
    if (durable)
        c->last_sync = now;
    c->last_write = now;
    c->dirty = 0;
}

static void flush(sweep_ctrl_t *c)
{
    if (c->dirty)
        write_journal(c, 0);
}

int ctrl_create(sweep_ctrl_t **out, const sweep_spec_t *s, mo_job_ctx_t *ctx, int n_groups,
                mo_error_t *err)
{
    *out = NULL;
    sweep_ctrl_t *c = mo_calloc(1, sizeof *c);
    if (!c)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    c->spec = s;
    c->ctx = ctx;
    c->n_groups = n_groups;
    snprintf(c->path, sizeof c->path, "%s/sweep.h5", ctx->output_dir);
    size_t d = mo_space_dim(s->space);
    const char *names[SWEEP_MAX_DIM], *types[SWEEP_MAX_DIM];
    static const char *const type_names[] = {"double", "int", "discrete", "categorical"};
    for (size_t i = 0; i < d; i++) {
        names[i] = mo_space_param(s->space, i)->name;
        types[i] = type_names[mo_space_param(s->space, i)->type];
    }
    static const char *const kinds[] = {"template", "command", "objective"};
    int rc = mo_sj_init(&c->j, ctx->run_name, s->algorithm, s->metric, s->maximize,
                        kinds[s->trial_kind], s->spec_text, d, names, types, err);
    if (!rc)
        rc = mo_sampler_create(&c->sampler, s->algorithm, s->space, &s->sampler, err);
    if (!rc && s->median)
        rc = mo_pruner_create(&c->pruner, &s->pruner, err);
    if (rc) {
        ctrl_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ctrl_destroy(sweep_ctrl_t *c)
{
    if (!c)
        return;
    mo_sampler_destroy(c->sampler);
    mo_pruner_destroy(c->pruner);
    mo_sj_writer_destroy(c->writer);
    mo_sj_free(&c->j);
    free(c->rerun);
    free(c);
}

const mo_sweep_journal_t *ctrl_journal(const sweep_ctrl_t *c)
{
    return &c->j;
}

int ctrl_groups_done(const sweep_ctrl_t *c)
{
    return c->groups_done;
}

void ctrl_note_signal(sweep_ctrl_t *c)
{
    stop_with(c, MO_ESTOPPED,
              "stopped by signal; trials that were running run again with --resume");
}

/* ---- resume --------------------------------------------------------------------------------- */

static int same_sweep(const sweep_ctrl_t *c, const mo_sweep_journal_t *old, mo_error_t *err)
{
    const char *what = NULL;
    if (strcmp(old->algorithm, c->j.algorithm) != 0)
        what = "algorithm";
    else if (strcmp(old->metric, c->j.metric) != 0 || old->maximize != c->j.maximize)
        what = "objective";
    else if (old->dim != c->j.dim)
        what = "parameters";
    for (size_t i = 0; !what && i < old->dim; i++)
        if (strcmp(old->param_names[i], c->j.param_names[i]) != 0 ||
            strcmp(old->param_types[i], c->j.param_types[i]) != 0)
            what = "parameters";
    if (what)
        return mo_errorf(err, MO_EINVAL,
                         "--resume: %s was written by a sweep with other %s; resume with the "
                         "spec that started it, or give another --output",
                         c->path, what);
    return 0;
}

/* Feed the finished history to the sampler and pruner in event order. */
static int replay(sweep_ctrl_t *c, mo_error_t *err)
{
    mo_sweep_journal_t *j = &c->j;
    int rc = 0;
    for (size_t i = 0; i < j->n_trials && !rc; i++) {
        rc = mo_sampler_restore(c->sampler, j->trials[i].number, j->trials[i].x, err);
        if (j->trials[i].number >= c->next_number)
            c->next_number = j->trials[i].number + 1;
    }
    /* Ends sorted by end_seq, merged with the reports (already in seq order). */
    size_t *ends = mo_calloc(j->n_trials ? j->n_trials : 1, sizeof *ends), n_ends = 0;
    if (!ends)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->n_trials; i++)
        if (j->trials[i].status != MO_SJ_RUNNING)
            ends[n_ends++] = i;
    for (size_t a = 1; a < n_ends; a++) /* insertion sort: ends are nearly in order already */
        for (size_t b = a; b > 0 && j->trials[ends[b - 1]].end_seq > j->trials[ends[b]].end_seq;
             b--) {
            size_t t = ends[b];
            ends[b] = ends[b - 1];
            ends[b - 1] = t;
        }
    size_t r = 0, e = 0;
    while (!rc && (r < j->n_reports || e < n_ends)) {
        int take_report =
            r < j->n_reports && (e == n_ends || j->reports[r].seq < j->trials[ends[e]].end_seq);
        if (take_report) {
            const mo_sj_report_t *rep = &j->reports[r++];
            long t = mo_sj_find(j, rep->trial);
            if (t < 0 || j->trials[t].status == MO_SJ_RUNNING)
                continue; /* runs again from scratch and reports again */
            int prune;
            rc = mo_sampler_report(c->sampler, rep->trial, rep->step, rep->value, NULL, err);
            if (!rc && c->pruner)
                rc = mo_pruner_report(c->pruner, rep->trial, rep->step, rep->value, &prune, err);
        } else {
            const mo_sj_trial_t *t = &j->trials[ends[e++]];
            rc = mo_sampler_tell(c->sampler, t->number, (mo_trial_status_t)t->status, t->objective,
                                 err);
            if (!rc && c->pruner)
                rc = mo_pruner_finish(c->pruner, t->number, (mo_trial_status_t)t->status, err);
            c->completed += t->status == MO_SJ_COMPLETED;
            c->pruned += t->status == MO_SJ_PRUNED;
            c->failed += t->status == MO_SJ_FAILED;
        }
    }
    free(ends);
    return rc;
}

int ctrl_start(sweep_ctrl_t *c, int resume, mo_error_t *err)
{
    int exists = access(c->path, F_OK) == 0;
    if (!resume && exists)
        return mo_errorf(err, MO_EINVAL,
                         "%s holds the journal of an earlier sweep: add --resume to continue "
                         "it, or give another --output",
                         c->path);
    if (resume && !exists)
        return mo_errorf(err, MO_ENOTFOUND, "--resume: no sweep journal at %s", c->path);
    if (resume) {
        mo_sweep_journal_t old;
        int rc = mo_sj_read(&old, c->path, err);
        if (rc)
            return rc;
        rc = same_sweep(c, &old, err);
        if (rc) {
            mo_sj_free(&old);
            return rc;
        }
        free(old.spec_text); /* the journal keeps the spec it runs with now */
        old.spec_text = c->j.spec_text;
        c->j.spec_text = NULL;
        mo_sj_free(&c->j);
        c->j = old;
        if ((rc = replay(c, err)))
            return rc;
        for (size_t i = 0; i < c->j.n_trials; i++) {
            if (c->j.trials[i].status != MO_SJ_RUNNING)
                continue;
            int64_t *grown = mo_reallocarray(c->rerun, c->n_rerun + 1, sizeof *grown);
            if (!grown)
                return mo_errorf(err, MO_ENOMEM, "out of memory");
            c->rerun = grown;
            c->rerun[c->n_rerun++] = c->j.trials[i].number;
        }
        long best = mo_sj_best(&c->j);
        mo_log_info("sweep",
                    "resuming %s: %zu trials in the journal (%lld completed, %lld pruned, %lld "
                    "failed), %zu to run again%s",
                    c->path, c->j.n_trials, (long long)c->completed, (long long)c->pruned,
                    (long long)c->failed, c->n_rerun, best >= 0 ? "" : ", no best yet");
    }
    mo_sj_set_status(&c->j, "running", NULL);
    c->dirty = 1;
    flush(c);
    return c->code ? mo_errorf(err, c->code, "%s", c->error) : 0;
}

/* ---- events --------------------------------------------------------------------------------- */

static void texts_of(const sweep_ctrl_t *c, const double *x, char (*texts)[256], const char **ptrs)
{
    sweep_param_texts(c->spec, x, texts);
    for (size_t i = 0; i < mo_space_dim(c->spec->space); i++)
        ptrs[i] = texts[i];
}

void ctrl_ask(sweep_ctrl_t *c, int group, trial_msg_t *out)
{
    memset(out, 0, sizeof *out);
    out->number = -1;
    size_t d = mo_space_dim(c->spec->space);
    int64_t total = (int64_t)c->j.n_trials;
    mo_error_t err = {0};
    if (!c->stopping && c->i_rerun < c->n_rerun) {
        int64_t n = c->rerun[c->i_rerun++];
        long i = mo_sj_find(&c->j, n);
        if (i >= 0 && !mo_sj_restart_trial(&c->j, n, group, mo_time_unix_ns() / 1e9, &err)) {
            out->number = n;
            memcpy(out->x, c->j.trials[i].x, d * sizeof(double));
            c->running++;
        } else if (i >= 0) {
            stop_with(c, err.code, "%s", err.msg);
        }
    } else if (!c->stopping && total < c->spec->max_trials) {
        int64_t n = c->next_number;
        int rc = mo_sampler_suggest(c->sampler, n, out->x, &err);
        if (rc == MO_ENOTFOUND) {
            c->stopping = 1; /* the grid is exhausted: a normal end */
        } else if (rc) {
            stop_with(c, rc, "%s", err.msg);
        } else {
            char texts[SWEEP_MAX_DIM][256], artifact[64];
            const char *ptrs[SWEEP_MAX_DIM];
            texts_of(c, out->x, texts, ptrs);
            snprintf(artifact, sizeof artifact, "trials/%04lld", (long long)n);
            double now = mo_time_unix_ns() / 1e9;
            const char *art = c->spec->trial_kind == TRIAL_OBJECTIVE ? NULL : artifact;
            if (mo_sj_add_trial(&c->j, n, group, out->x, ptrs, now, art, &err) < 0) {
                stop_with(c, err.code, "%s", err.msg);
            } else {
                c->next_number++;
                c->running++;
                out->number = n;
                out->start_time = now;
            }
        }
    }
    if (out->number < 0)
        c->groups_done++;
    c->dirty = 1;
    flush(c);
}

int ctrl_report(sweep_ctrl_t *c, const report_msg_t *r)
{
    mo_error_t err = {0};
    mo_decision_t d = MO_DECISION_CONTINUE;
    int prune = 0;
    int rc = mo_sj_report(&c->j, r->number, r->step, r->value, &err);
    if (!rc)
        rc = mo_sampler_report(c->sampler, r->number, r->step, r->value, &d, &err);
    if (!rc && c->pruner)
        rc = mo_pruner_report(c->pruner, r->number, r->step, r->value, &prune, &err);
    if (rc) {
        stop_with(c, rc, "trial %lld: %s", (long long)r->number, err.msg);
        d = MO_DECISION_CONTINUE;
    }
    if (prune)
        d = MO_DECISION_PRUNE;
    if (d == MO_DECISION_PRUNE)
        mo_log_info("sweep", "trial %lld: %s %g at epoch %lld is pruned (%s)", (long long)r->number,
                    c->spec->metric, r->value, (long long)r->step,
                    c->pruner ? "worse than the median of completed trials at that epoch"
                              : "not in the top 1/eta of its rung");
    c->dirty = 1;
    flush(c);
    return (int)d;
}

static void publish_counts(sweep_ctrl_t *c)
{
    mo_plugins_t *p = c->ctx->plugins;
    if (!p)
        return;
    static const char *const names[] = {"running", "completed", "pruned", "failed"};
    const int64_t counts[] = {c->running, c->completed, c->pruned, c->failed};
    for (int i = 0; i < 4; i++) {
        maestro_kv_t label = {"status", names[i]};
        mo_plugins_metric(p, "sweep_trials", (double)counts[i], (int64_t)c->j.n_trials, 0, &label,
                          1);
    }
    long b = mo_sj_best(&c->j);
    if (b >= 0)
        mo_plugins_metric(p, "sweep_best_objective", c->j.trials[b].objective,
                          (int64_t)c->j.n_trials, 0, NULL, 0);
}

/* " lr=0.0123 hidden=[64, 64]": doubles with 4 digits, for a log line a person reads (the
 * journal keeps the exact text). */
static void short_params(const sweep_ctrl_t *c, const mo_sj_trial_t *t, mo_buf_t *b)
{
    for (size_t i = 0; i < c->j.dim; i++) {
        if (mo_space_param(c->spec->space, i)->type == MO_PARAM_DOUBLE)
            mo_buf_printf(b, " %s=%.4g", c->j.param_names[i], t->x[i]);
        else
            mo_buf_printf(b, " %s=%s", c->j.param_names[i], t->text[i]);
    }
}

static void log_end(sweep_ctrl_t *c, const result_msg_t *r, int32_t status_now, long idx)
{
    const mo_sj_trial_t *t = &c->j.trials[idx];
    static const char *const status[] = {"running", "completed", "pruned", "failed"};
    mo_buf_t b = {0};
    short_params(c, t, &b);
    long best = mo_sj_best(&c->j);
    int64_t done = c->completed + c->pruned + c->failed;
    if (status_now == MO_SJ_FAILED)
        mo_log_warn("sweep", "trial %lld failed after %.1f s (%lld of %lld done): %s",
                    (long long)r->number, r->duration, (long long)done,
                    (long long)c->spec->max_trials, r->error);
    else
        mo_log_info("sweep",
                    "trial %lld %s in %.1f s (%lld of %lld done): %s %.6g; best %.6g "
                    "(trial %lld);%s",
                    (long long)r->number, status[status_now], r->duration, (long long)done,
                    (long long)c->spec->max_trials, c->spec->metric, r->objective,
                    best >= 0 ? c->j.trials[best].objective : NAN,
                    best >= 0 ? (long long)c->j.trials[best].number : -1LL, b.data ? b.data : "");
    mo_buf_free(&b);
}

void ctrl_result(sweep_ctrl_t *c, const result_msg_t *r)
{
    mo_error_t err = {0};
    if (r->kind == RESULT_STOPPED) {
        /* The trial stays `running` in the journal: a resume runs it again. */
        if (r->number >= 0)
            c->running--;
        ctrl_note_signal(c);
        c->dirty = 1;
        return;
    }
    long idx = mo_sj_find(&c->j, r->number);
    if (idx < 0) {
        stop_with(c, MO_EINVAL, "a result for trial %lld, which was never started",
                  (long long)r->number);
        return;
    }
    int32_t status = r->kind == RESULT_DONE ? r->status : MO_SJ_FAILED;
    double objective = status == MO_SJ_FAILED ? NAN : r->objective;
    int rc = mo_sj_end_trial(&c->j, r->number, status, objective, r->duration,
                             status == MO_SJ_FAILED ? r->error : NULL, &err);
    if (!rc)
        rc = mo_sampler_tell(c->sampler, r->number, (mo_trial_status_t)status, objective, &err);
    if (!rc && c->pruner)
        rc = mo_pruner_finish(c->pruner, r->number, (mo_trial_status_t)status, &err);
    if (rc)
        stop_with(c, rc, "trial %lld: %s", (long long)r->number, err.msg);
    c->running--;
    c->completed += status == MO_SJ_COMPLETED;
    c->pruned += status == MO_SJ_PRUNED;
    c->failed += status == MO_SJ_FAILED;
    c->dirty = 1;
    log_end(c, r, status, idx);
    publish_counts(c);
    if (r->kind == RESULT_BAD_METRIC)
        stop_with(c, MO_EINVAL, "%s", r->error);
    else if (status == MO_SJ_FAILED && c->failed > c->spec->max_failed_trials)
        stop_with(c, MO_ERUNTIME,
                  "%lld trials failed, more than max_failed_trials (%lld); the last, trial "
                  "%lld: %s",
                  (long long)c->failed, (long long)c->spec->max_failed_trials, (long long)r->number,
                  r->error);
    if (status == MO_SJ_COMPLETED && c->spec->has_target && !c->target_reached &&
        (c->spec->maximize ? objective >= c->spec->target : objective <= c->spec->target)) {
        c->target_reached = 1;
        c->stopping = 1;
        mo_log_info("sweep", "trial %lld reached the target %s %s %g: no new trials",
                    (long long)r->number, c->spec->metric,
                    c->spec->maximize ? ">=" : "<=", c->spec->target);
    }
}

/* ---- messages ------------------------------------------------------------------------------- */

static int handle(sweep_ctrl_t *c, int src, int tag, const void *buf, size_t len, mo_error_t *err)
{
    mo_comm_t *world = c->ctx->comm;
    switch (tag) {
    case TAG_ASK: {
        int32_t group = 0;
        if (len == sizeof group)
            memcpy(&group, buf, sizeof group);
        flush(c); /* results that came before this ask */
        trial_msg_t t;
        ctrl_ask(c, group, &t);
        return mo_comm_send_msg(world, src, TAG_TRIAL, &t, sizeof t, err);
    }
    case TAG_REPORT: {
        report_msg_t r;
        if (len != sizeof r)
            return mo_errorf(err, MO_EMPI, "sweep: a report of %zu bytes from rank %d", len, src);
        memcpy(&r, buf, sizeof r);
        int32_t d = ctrl_report(c, &r);
        if (!decides(c->spec))
            return 0;
        return mo_comm_send_msg(world, src, TAG_DECISION, &d, sizeof d, err);
    }
    case TAG_RESULT: {
        result_msg_t r;
        if (len != sizeof r)
            return mo_errorf(err, MO_EMPI, "sweep: a result of %zu bytes from rank %d", len, src);
        memcpy(&r, buf, sizeof r);
        ctrl_result(c, &r);
        return 0;
    }
    default:
        return mo_errorf(err, MO_EMPI, "sweep: unexpected message tag %d from rank %d", tag, src);
    }
}

/* Nothing came: once no write happened for IDLE_AFTER_S, sweep.h5 takes in what only its log
 * holds (a no-op when the log is empty), so that it is current for readers that do not know
 * the log (h5py) while the sweep waits. */
static void idle(sweep_ctrl_t *c)
{
    mo_error_t e = {0};
    if (c->writer && mo_time_mono() - c->last_write >= IDLE_AFTER_S &&
        mo_sj_writer_idle(c->writer, &c->j, &e))
        stop_with(c, e.code ? e.code : MO_EIO, "%s", e.msg);
}

int ctrl_serve(sweep_ctrl_t *c, int block, mo_error_t *err)
{
    mo_comm_t *world = c->ctx->comm;
    int rc = 0, handled = 0;
    for (;;) {
        int src = 0, tag = 0, got = 0;
        void *buf = NULL;
        size_t len = 0;
        rc = mo_comm_poll_msg(world, &src, &tag, &buf, &len, &got, err);
        if (!rc && !got && block) {
            /* Sleep between polls rather than spin in a blocking receive: on an
             * oversubscribed node the controller's idle rank must not take CPU from trials. */
            idle(c);
            usleep(100);
            continue;
        }
        if (rc || !got)
            break;
        rc = handle(c, src, tag, buf, len, err);
        free(buf);
        handled++;
        if (rc)
            break;
        block = 0;
    }
    /* A result of the controller's own group waits for that group's next ask (one write for
     * both); what came in messages is written now. */
    if (handled)
        flush(c);
    else if (!rc)
        idle(c);
    return rc;
}

void ctrl_finish(sweep_ctrl_t *c, sweep_outcome_t *out)
{
    memset(out, 0, sizeof *out);
    long best = mo_sj_best(&c->j);
    if (!c->code && best < 0)
        stop_with(c, MO_ERUNTIME, "no trial finished with a value of %s (%lld failed)",
                  c->spec->metric, (long long)c->failed);
    const char *status = "completed";
    if (c->code == MO_ESTOPPED)
        status = "preempted";
    else if (c->code)
        status = "failed";
    mo_sj_set_status(&c->j, status, NULL);
    write_journal(c, 1);
    out->code = c->code;
    mo_strlcpy(out->error, c->error, sizeof out->error);
    out->completed = c->completed;
    out->pruned = c->pruned;
    out->failed = c->failed;
    out->started = (int64_t)c->j.n_trials;
}
