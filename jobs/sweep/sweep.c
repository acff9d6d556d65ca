/* sweep.c - `kind: sweep`: trials that are groups of ranks, a controller on world rank 0
 *
 * The world is cut into parallel_trials groups (comm/ mo_comm_trial_groups; rank 0 leads
 * group 0 and is the controller too). Every group runs worker_run until the controller has no
 * more trials for it; rank 0 then serves the other groups until they are all done. The end is
 * agreed by one broadcast from rank 0: the sweep's outcome, the same on every rank.
 *
 * The best trial's run.h5 becomes the sweep's own <output>/run.h5 (its model), so the runner
 * hands it to the plugins and registers it, when the spec asks, if it passed the template's
 * gates.
 */
#include "jobs/sweep/sweep.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/atomic.h"
#include "io/h5.h"
#include "jobs/sweep/sweep_impl.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    struct sigaction term, usr1;
} saved_signals_t;

static void install_signals(saved_signals_t *saved)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    sigaction(SIGTERM, &sa, &saved->term);
    sigaction(SIGUSR1, &sa, &saved->usr1);
}

static void restore_signals(const saved_signals_t *saved)
{
    sigaction(SIGTERM, &saved->term, NULL);
    sigaction(SIGUSR1, &saved->usr1, NULL);
}

static int parse(void **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    sweep_spec_t *s = NULL;
    int rc = sweep_spec_parse(&s, spec, err);
    *out = s;
    return rc;
}

static void destroy(void *job)
{
    sweep_spec_free(job);
}

/* The template with the parameters at both ends of the space must load as a train spec:
 * a parameter that is not a key of it, or a value it refuses, is bad input before any trial. */
static int check_children(void *job,
                          int (*check)(void *, const mo_job_child_spec_t *, mo_error_t *), void *ud,
                          mo_error_t *err)
{
    const sweep_spec_t *s = job;
    if (s->trial_kind != TRIAL_TEMPLATE)
        return 0;
    size_t d = mo_space_dim(s->space);
    double x[SWEEP_MAX_DIM];
    int rc = 0;
    for (int end = 0; end < 2 && !rc; end++) {
        for (size_t i = 0; i < d; i++) {
            const mo_param_t *p = mo_space_param(s->space, i);
            double v = p->type == MO_PARAM_CATEGORICAL ? (end ? (double)p->n_values - 1 : 0)
                                                       : (end ? p->max : p->min);
            x[i] = mo_space_snap(s->space, i, v);
        }
        char **sets = NULL;
        size_t n = 0;
        if ((rc = sweep_trial_sets(&sets, &n, s, x, err)))
            break;
        mo_job_child_spec_t cs = {s->template_path, (const char *const *)sets, n};
        mo_error_t why = {0};
        rc = check(ud, &cs, &why);
        if (rc)
            rc = mo_errorf(err, rc, "trial.template %s with the %s values of the parameters: %s",
                           s->template_path, end ? "largest" : "smallest", why.msg);
        sweep_sets_free(sets, n);
    }
    return rc;
}

/* ---- the end -------------------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to, mo_error_t *err)
{
    FILE *f = fopen(from, "rb");
    if (!f)
        return mo_errorf(err, MO_EIO, "cannot read %s", from);
    mo_buf_t b = {0};
    char chunk[65536];
    size_t got;
    int rc = 0;
    while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mo_buf_append(&b, chunk, got))
            rc = mo_errorf(err, MO_ENOMEM, "out of memory copying %s", from);
    if (!rc && ferror(f))
        rc = mo_errorf(err, MO_EIO, "cannot read %s", from);
    fclose(f);
    if (!rc)
        rc = mo_io_write_atomic(to, b.data ? b.data : "", b.len, err);
    mo_buf_free(&b);
    return rc;
}

typedef struct {
    int32_t code, gates_passed;
    int64_t completed, pruned, failed, started, best_number;
    double best;
    char error[600];
} end_msg_t;

/* Rank 0: the sweep's model is the best trial's run.h5; its status says whether the
 * template's gates passed. */
static void adopt_best(const sweep_spec_t *s, mo_job_ctx_t *ctx, const mo_sj_trial_t *best,
                       end_msg_t *m)
{
    if (s->trial_kind != TRIAL_TEMPLATE || !best->artifact || !*best->artifact)
        return;
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/%s/run.h5", ctx->output_dir, best->artifact);
    snprintf(to, sizeof to, "%s/run.h5", ctx->output_dir);
    mo_error_t err = {0};
    if (copy_file(from, to, &err)) {
        mo_log_warn("sweep", "the best trial's model: %s", err.msg);
        return;
    }
    hid_t f;
    char *status = NULL;
    if (!mo_h5_open(&f, to, H5P_DEFAULT, &err)) {
        if (!mo_h5_attr_read_str(&status, f, "status", &err))
            m->gates_passed = !strcmp(status, "ok") || !strcmp(status, "pruned");
        H5Fclose(f);
    }
    free(status);
    if (!m->gates_passed && !m->code) {
        m->code = MO_EGATE;
        snprintf(m->error, sizeof m->error,
                 "the best trial (%lld) did not pass the template's quality gates; its model "
                 "is in %.400s but is not registered",
                 (long long)best->number, to);
    }
}

static void summary(const sweep_ctrl_t *c, const end_msg_t *m, double seconds)
{
    const mo_sweep_journal_t *j = ctrl_journal(c);
    long b = mo_sj_best(j);
    mo_buf_t p = {0};
    for (size_t i = 0; b >= 0 && i < j->dim; i++)
        mo_buf_printf(&p, "%s%s=%s", i ? " " : "", j->param_names[i], j->trials[b].text[i]);
    mo_log_info("sweep",
                "%lld trials (%lld completed, %lld pruned, %lld failed) in %.1f s; best: trial "
                "%lld, %s %.6g (%s)",
                (long long)m->started, (long long)m->completed, (long long)m->pruned,
                (long long)m->failed, seconds, b >= 0 ? (long long)j->trials[b].number : -1LL,
                j->metric, b >= 0 ? j->trials[b].objective : 0.0, p.data ? p.data : "");
    mo_buf_free(&p);
}

static void fill_final(mo_job_ctx_t *ctx, const sweep_spec_t *s, const end_msg_t *m)
{
    ctx->n_final = 0;
    if (m->best_number >= 0) {
        snprintf(ctx->final_names[ctx->n_final], 32, "best_%.26s", s->metric);
        ctx->final_values[ctx->n_final++] = m->best;
    }
    const char *names[] = {"trials_completed", "trials_pruned", "trials_failed"};
    const int64_t v[] = {m->completed, m->pruned, m->failed};
    for (int i = 0; i < 3; i++) {
        mo_strlcpy(ctx->final_names[ctx->n_final], names[i], 32);
        ctx->final_values[ctx->n_final++] = (double)v[i];
    }
    ctx->gates_passed = m->gates_passed;
}

/* Rank 0 after its own group is done: serve the others until they are too. */
static int serve_rest(sweep_ctrl_t *c, int n_groups, mo_error_t *err)
{
    while (ctrl_groups_done(c) < n_groups) {
        if (stop_requested)
            ctrl_note_signal(c);
        int rc = ctrl_serve(c, 1, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int run(void *job, mo_job_ctx_t *ctx, mo_error_t *err)
{
    const sweep_spec_t *s = job;
    int rank = mo_comm_rank(ctx->comm);
    double t0 = mo_time_mono();
    saved_signals_t saved;
    install_signals(&saved);
    mo_comm_t *group = NULL;
    int gi = -1, ng = 0;
    int rc = mo_comm_trial_groups(&group, &gi, &ng, ctx->comm, (int)s->parallel_trials, 0, err);
    sweep_ctrl_t *ctrl = NULL;
    if (!rc) {
        int local = 0;
        if (rank == 0) {
            local = ctrl_create(&ctrl, s, ctx, ng, err);
            if (!local)
                local = ctrl_start(ctrl, ctx->resume, err);
        }
        rc = mo_comm_agree(ctx->comm, local, err);
    }
    if (!rc && rank == 0)
        mo_log_info("sweep",
                    "%s: algorithm %s, %lld trials, %d group%s of %d+ rank%s, objective %s "
                    "(%s), journal %s/sweep.h5",
                    ctx->run_name, s->algorithm, (long long)s->max_trials, ng, ng == 1 ? "" : "s",
                    mo_comm_size(group), mo_comm_size(group) == 1 ? "" : "s", s->metric,
                    s->maximize ? "maximize" : "minimize", ctx->output_dir);
    end_msg_t m;
    memset(&m, 0, sizeof m);
    m.best_number = -1;
    m.gates_passed = 1;
    if (!rc) {
        sweep_worker_t w = {s, ctx, group, gi, ctrl, &stop_requested};
        int wrc = worker_run(&w, err);
        if (!wrc && ctrl)
            wrc = serve_rest(ctrl, ng, err);
        if (ctrl) {
            sweep_outcome_t out;
            ctrl_finish(ctrl, &out);
            m.code = wrc ? wrc : out.code;
            mo_strlcpy(m.error, wrc ? err->msg : out.error, sizeof m.error);
            m.completed = out.completed;
            m.pruned = out.pruned;
            m.failed = out.failed;
            m.started = out.started;
            const mo_sweep_journal_t *j = ctrl_journal(ctrl);
            long b = mo_sj_best(j);
            if (b >= 0) {
                m.best_number = j->trials[b].number;
                m.best = j->trials[b].objective;
                if (m.code != MO_ESTOPPED)
                    adopt_best(s, ctx, &j->trials[b], &m);
            }
            summary(ctrl, &m, mo_time_mono() - t0);
        } else if (wrc) {
            m.code = wrc;
            mo_strlcpy(m.error, err->msg, sizeof m.error);
        }
        rc = mo_comm_bcast(ctx->comm, &m, sizeof m, MO_DT_BYTE, 0, err);
        if (!rc && m.code)
            rc = mo_errorf(err, m.code, "%s", m.error);
        fill_final(ctx, s, &m);
        /* Also as metric events, as a training run reports its own: every plugin records
         * those (MLflow logs run-end values only through events). */
        for (int i = 0; rank == 0 && i < ctx->n_final; i++)
            mo_plugins_metric(ctx->plugins, ctx->final_names[i], ctx->final_values[i], m.started, 0,
                              NULL, 0);
    }
    ctrl_destroy(ctrl);
    mo_comm_destroy(group);
    restore_signals(&saved);
    return rc;
}

const mo_job_kind_t mo_job_sweep = {
    .name = "sweep",
    .summary = "hyperparameter sweep whose trials are groups of ranks",
    .parse = parse,
    .run = run,
    .destroy = destroy,
    .check_children = check_children,
};
