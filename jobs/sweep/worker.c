/* worker.c - a trial group's loop: ask for a trial, run it on the group, tell how it ended
 *
 * The group's first rank (its leader) talks to the controller; the group's other ranks learn
 * each assignment and each decision through broadcasts on the group, so every rank of a
 * trial takes the same path. A template trial runs the train kind on the group through the
 * runner (ctx->run_spec) with an epoch hook that reports the objective metric and asks
 * whether to go on; a command trial runs on the leader alone; a built-in objective is a
 * function call on the leader.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/atomic.h"
#include "jobs/sweep/command.h"
#include "jobs/sweep/sweep_impl.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    sweep_worker_t *w;
    int64_t number;
    int leader;
    int decides;
    mo_job_ctx_t *child; /* for command trials' intermediate metrics */
    double lo, hi, last;
    int64_t n_values;
} trial_run_t;

static int leader_of(const sweep_worker_t *w)
{
    return mo_comm_rank(w->group) == 0;
}

/* ---- talking to the controller (leader only) ------------------------------------------------ */

static int ask(sweep_worker_t *w, trial_msg_t *t, mo_error_t *err)
{
    if (w->ctrl) {
        ctrl_ask(w->ctrl, w->group_index, t);
        return 0;
    }
    int32_t g = w->group_index;
    int rc = mo_comm_send_msg(w->ctx->comm, 0, TAG_ASK, &g, sizeof g, err);
    void *buf = NULL;
    size_t len = 0;
    if (!rc)
        rc = mo_comm_recv_msg(w->ctx->comm, 0, TAG_TRIAL, &buf, &len, err);
    if (!rc && len != sizeof *t)
        rc = mo_errorf(err, MO_EMPI, "sweep: a trial message of %zu bytes", len);
    if (!rc)
        memcpy(t, buf, sizeof *t);
    free(buf);
    return rc;
}

static int tell(sweep_worker_t *w, const result_msg_t *r, mo_error_t *err)
{
    if (w->ctrl) {
        ctrl_result(w->ctrl, r);
        return 0;
    }
    return mo_comm_send_msg(w->ctx->comm, 0, TAG_RESULT, r, sizeof *r, err);
}

/* Report one intermediate value; *decision is the controller's answer (continue when the
 * sweep has nothing that decides). */
static int report(trial_run_t *tr, int64_t step, double value, int32_t *decision, mo_error_t *err)
{
    sweep_worker_t *w = tr->w;
    report_msg_t r = {tr->number, step, value};
    *decision = MO_DECISION_CONTINUE;
    if (w->ctrl) {
        *decision = ctrl_report(w->ctrl, &r);
        return 0;
    }
    int rc = mo_comm_send_msg(w->ctx->comm, 0, TAG_REPORT, &r, sizeof r, err);
    if (rc || !tr->decides)
        return rc;
    void *buf = NULL;
    size_t len = 0;
    rc = mo_comm_recv_msg(w->ctx->comm, 0, TAG_DECISION, &buf, &len, err);
    if (!rc && len == sizeof *decision)
        memcpy(decision, buf, sizeof *decision);
    free(buf);
    return rc;
}

static void track(trial_run_t *tr, double v)
{
    if (tr->n_values == 0 || v < tr->lo)
        tr->lo = v;
    if (tr->n_values == 0 || v > tr->hi)
        tr->hi = v;
    tr->last = v;
    tr->n_values++;
}

/* ---- hooks for a template (train) trial ----------------------------------------------------- */

static int on_epoch(void *ud, int64_t epoch, const char (*names)[32], const double *values, int n,
                    mo_error_t *err)
{
    trial_run_t *tr = ud;
    int found = -1;
    for (int i = 0; i < n && found < 0; i++)
        if (!strcmp(names[i], tr->w->spec->metric))
            found = i;
    if (found < 0)
        return 0; /* the result says which metrics there are */
    track(tr, values[found]);
    int32_t decision = MO_DECISION_CONTINUE;
    int rc = tr->leader ? report(tr, epoch, values[found], &decision, err) : 0;
    rc = mo_comm_agree(tr->w->group, rc, err);
    if (!rc && tr->decides)
        rc = mo_comm_bcast(tr->w->group, &decision, 1, MO_DT_INT32, 0, err);
    if (rc)
        return rc;
    return decision == MO_DECISION_PRUNE;
}

static void on_step(void *ud)
{
    trial_run_t *tr = ud;
    if (tr->w->ctrl) {
        mo_error_t e = {0};
        if (ctrl_serve(tr->w->ctrl, 0, &e))
            mo_log_warn("sweep", "controller: %s", e.msg);
    }
}

/* ---- the trial's folder --------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) ? -1 : 0;
}

/* Collective over the group: trials/<number> exists and is empty (a trial run again after a
 * resume starts from scratch). */
static int make_trial_dir(sweep_worker_t *w, int64_t number, char *dir, size_t size,
                          mo_error_t *err)
{
    snprintf(dir, size, "%s/trials/%04lld", w->ctx->output_dir, (long long)number);
    int rc = 0;
    if (leader_of(w)) {
        if (access(dir, F_OK) == 0 && nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
            rc = mo_errorf(err, MO_EIO, "cannot clear %s for a new attempt: %s", dir,
                           strerror(errno));
        if (!rc)
            rc = mo_io_mkdir_p(dir, err);
    }
    return mo_comm_agree(w->group, rc, err);
}

/* ---- one trial ------------------------------------------------------------------------------ */

static void params_kv(const sweep_worker_t *w, const double *x, char (*texts)[256],
                      maestro_kv_t *kv)
{
    sweep_param_texts(w->spec, x, texts);
    for (size_t i = 0; i < mo_space_dim(w->spec->space); i++) {
        kv[i].key = mo_space_param(w->spec->space, i)->name;
        kv[i].value = texts[i];
    }
}

static const char *final_value(const mo_job_ctx_t *child, const char *metric, double *v)
{
    for (int i = 0; i < child->n_final; i++)
        if (!strcmp(child->final_names[i], metric)) {
            *v = child->final_values[i];
            return metric;
        }
    return NULL;
}

static void set_objective(trial_run_t *tr, result_msg_t *r, double final)
{
    const sweep_spec_t *s = tr->w->spec;
    track(tr, final);
    r->objective = s->strategy == STRATEGY_MIN   ? tr->lo
                   : s->strategy == STRATEGY_MAX ? tr->hi
                                                 : final;
    if (!isfinite(r->objective)) {
        r->kind = RESULT_FAILED;
        snprintf(r->error, sizeof r->error, "objective %s is %s", s->metric,
                 isnan(r->objective) ? "NaN" : "infinite");
    }
}

static void run_template(trial_run_t *tr, mo_job_ctx_t *child, const double *x, result_msg_t *r)
{
    sweep_worker_t *w = tr->w;
    char **sets = NULL;
    size_t n_sets = 0;
    mo_error_t err = {0};
    int rc = sweep_trial_sets(&sets, &n_sets, w->spec, x, &err);
    if (!rc) {
        mo_job_child_spec_t cs = {w->spec->template_path, (const char *const *)sets, n_sets};
        mo_job_hooks_t hooks = {on_epoch, on_step, tr};
        child->hooks = &hooks;
        rc = w->ctx->run_spec(w->ctx, &cs, child, &err);
        child->hooks = NULL;
    }
    sweep_sets_free(sets, n_sets);
    if (rc == MO_ESTOPPED) {
        r->kind = RESULT_STOPPED;
        return;
    }
    if (rc && rc != MO_EGATE) { /* a failed gate is a finished trial that the gates judge */
        r->kind = RESULT_FAILED;
        mo_strlcpy(r->error, err.msg[0] ? err.msg : mo_strerror(rc), sizeof r->error);
        return;
    }
    double v;
    if (!final_value(child, w->spec->metric, &v)) {
        mo_buf_t b = {0};
        for (int i = 0; i < child->n_final; i++)
            mo_buf_printf(&b, "%s%s", i ? ", " : "", child->final_names[i]);
        r->kind = RESULT_BAD_METRIC;
        snprintf(r->error, sizeof r->error,
                 "objective.metric '%s' is not a metric of the trials (trial %lld reports: %s)",
                 w->spec->metric, (long long)tr->number, b.data ? b.data : "none");
        mo_buf_free(&b);
        return;
    }
    r->status = child->pruned ? MO_SJ_PRUNED : MO_SJ_COMPLETED;
    set_objective(tr, r, v);
}

static int cmd_report(void *ud, int64_t step, double value)
{
    trial_run_t *tr = ud;
    int32_t decision = MO_DECISION_CONTINUE;
    mo_error_t err = {0};
    track(tr, value);
    if (tr->child && tr->child->plugins)
        mo_plugins_metric(tr->child->plugins, tr->w->spec->metric, value, step, step, NULL, 0);
    if (report(tr, step, value, &decision, &err))
        mo_log_warn("sweep", "trial %lld: %s", (long long)tr->number, err.msg);
    return decision == MO_DECISION_PRUNE;
}

static void cmd_idle(void *ud)
{
    on_step(ud);
}

/* On the leader only. */
static void run_command(trial_run_t *tr, const double *x, const char *dir, result_msg_t *r)
{
    sweep_worker_t *w = tr->w;
    const sweep_spec_t *s = w->spec;
    size_t d = mo_space_dim(s->space);
    char texts[SWEEP_MAX_DIM + 2][256], number[32];
    const char *names[SWEEP_MAX_DIM + 2], *values[SWEEP_MAX_DIM + 2];
    for (size_t i = 0; i < d; i++) {
        names[i] = mo_space_param(s->space, i)->name;
        values[i] = mo_space_arg(s->space, i, x[i], texts[i], sizeof texts[i]);
    }
    snprintf(number, sizeof number, "%lld", (long long)tr->number);
    names[d] = "trial";
    values[d] = number;
    names[d + 1] = "output";
    values[d + 1] = dir;
    char **argv = NULL;
    mo_error_t err = {0};
    if (mo_trial_cmd_expand(&argv, (const char *const *)s->command, s->command_len, names, values,
                            d + 2, &err)) {
        r->kind = RESULT_FAILED;
        mo_strlcpy(r->error, err.msg, sizeof r->error);
        return;
    }
    char env_trial[64], env_dir[4200];
    snprintf(env_trial, sizeof env_trial, "MAESTRO_TRIAL=%lld", (long long)tr->number);
    snprintf(env_dir, sizeof env_dir, "MAESTRO_TRIAL_DIR=%s", dir);
    const char *env[] = {env_trial, env_dir};
    mo_trial_cmd_t c = {.argv = argv,
                        .timeout_s = s->timeout_s,
                        .workdir = dir,
                        .metric = s->metric,
                        .env = env,
                        .n_env = 2,
                        .on_report = cmd_report,
                        .on_idle = cmd_idle,
                        .ud = tr,
                        .stop_flag = (volatile int *)w->signal,
                        .cwd = NULL};
    mo_trial_cmd_result_t res;
    int rc = mo_trial_cmd_run(&c, &res, &err);
    mo_trial_cmd_argv_free(argv);
    if (rc) {
        r->kind = RESULT_FAILED;
        mo_strlcpy(r->error, err.msg, sizeof r->error);
    } else if (res.stopped) {
        r->kind = RESULT_STOPPED;
    } else if (res.status == MO_SJ_FAILED) {
        r->kind = RESULT_FAILED;
        mo_strlcpy(r->error, res.error, sizeof r->error);
    } else {
        r->status = res.status;
        r->objective = res.objective;
        if (s->strategy != STRATEGY_LATEST && tr->n_values > 0)
            r->objective = s->strategy == STRATEGY_MIN ? fmin(tr->lo, res.objective)
                                                       : fmax(tr->hi, res.objective);
    }
}

static void run_objective(trial_run_t *tr, const double *x, result_msg_t *r)
{
    r->status = MO_SJ_COMPLETED;
    r->objective = tr->w->spec->objective->fn(x);
    if (!isfinite(r->objective)) {
        r->kind = RESULT_FAILED;
        snprintf(r->error, sizeof r->error, "objective is not finite");
    }
}

static int run_trial(sweep_worker_t *w, const trial_msg_t *t, result_msg_t *r, mo_error_t *err)
{
    const sweep_spec_t *s = w->spec;
    trial_run_t tr = {
        w, t->number, leader_of(w), s->median || !strcmp(s->algorithm, "hyperband"), NULL, 0, 0,
        0, 0};
    memset(r, 0, sizeof *r);
    r->number = t->number;
    r->kind = RESULT_DONE;
    double t0 = mo_time_mono();
    char dir[4096] = "", name[300];
    int rc = 0;
    if (s->trial_kind != TRIAL_OBJECTIVE)
        rc = make_trial_dir(w, t->number, dir, sizeof dir, err);
    if (rc)
        return rc;
    snprintf(name, sizeof name, "%s-trial-%lld", w->ctx->run_name, (long long)t->number);
    mo_job_ctx_t child = {.comm = w->group, .run_name = name, .output_dir = dir, .gates_passed = 1};
    tr.child = &child;
    char texts[SWEEP_MAX_DIM][256];
    maestro_kv_t kv[SWEEP_MAX_DIM];
    params_kv(w, t->x, texts, kv);
    void *handle = NULL;
    static const char *const kinds[] = {"train", "command", "objective"};
    if (w->ctx->plugins && w->ctx->child_begin &&
        (rc = w->ctx->child_begin(w->ctx, &child, kinds[s->trial_kind], kv, mo_space_dim(s->space),
                                  &handle, err)))
        return rc;
    if (s->trial_kind == TRIAL_TEMPLATE)
        run_template(&tr, &child, t->x, r);
    else if (tr.leader && s->trial_kind == TRIAL_COMMAND)
        run_command(&tr, t->x, dir, r);
    else if (tr.leader)
        run_objective(&tr, t->x, r);
    r->duration = mo_time_mono() - t0;
    /* Every rank of the group ends the trial knowing what the leader knows. */
    rc = mo_comm_bcast(w->group, r, sizeof *r, MO_DT_BYTE, 0, err);
    if (s->trial_kind != TRIAL_TEMPLATE && r->kind == RESULT_DONE) {
        mo_strlcpy(child.final_names[0], s->metric, sizeof child.final_names[0]);
        child.final_values[0] = r->objective;
        child.n_final = 1;
        child.pruned = r->status == MO_SJ_PRUNED;
    }
    if (handle) {
        int end_rc = r->kind == RESULT_STOPPED ? MO_ESTOPPED
                     : r->kind == RESULT_DONE  ? 0
                                               : MO_ERUNTIME;
        w->ctx->child_end(w->ctx, &child, handle, end_rc);
    }
    return rc;
}

int worker_run(sweep_worker_t *w, mo_error_t *err)
{
    for (;;) {
        trial_msg_t t;
        int rc = 0;
        /* The controller's own group asks without messages; the others' asks that are
         * waiting go first, so no group waits for group 0 to run out of work. */
        if (w->ctrl)
            rc = ctrl_serve(w->ctrl, 0, err);
        if (!rc && leader_of(w)) {
            if (*w->signal) {
                /* A stop between trials: say so instead of asking for another. */
                result_msg_t stop = {.number = -1, .kind = RESULT_STOPPED};
                rc = tell(w, &stop, err);
            }
            if (!rc)
                rc = ask(w, &t, err);
        }
        rc = mo_comm_agree(w->group, rc, err);
        if (!rc)
            rc = mo_comm_bcast(w->group, &t, sizeof t, MO_DT_BYTE, 0, err);
        if (rc)
            return rc;
        if (t.number < 0)
            return 0;
        result_msg_t r;
        rc = run_trial(w, &t, &r, err);
        if (!rc && leader_of(w))
            rc = tell(w, &r, err);
        if ((rc = mo_comm_agree(w->group, rc, err)))
            return rc;
    }
}
