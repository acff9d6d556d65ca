/* trainer.c - `kind: train`: the data-parallel step loop
 *
 * Each step every rank takes its slice of the global batch (contiguous, sizes differing by at
 * most one row), computes the gradient of the global-batch mean loss restricted to its rows
 * (the loss kernel scales by 1 / global batch), and one fused allreduce(sum) of the flat
 * gradient buffer yields the full gradient on every rank; every rank then applies the same
 * update, so parameters never diverge. Two floats ride at the end of that buffer: the batch
 * loss (so a NaN anywhere stops everyone at the same step) and a stop flag set by SIGTERM or
 * SIGUSR1 (so a signal to any rank checkpoints all of them at the same step), at no extra
 * message per step.
 */
#include "jobs/train/train.h"

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/checkpoint.h"
#include "jobs/train/train_impl.h"

#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRESS_EVERY_S 10.0

static volatile sig_atomic_t stop_requested;

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
    sa.sa_flags = SA_RESTART; /* plugins' sockets and slow I/O should not see EINTR */
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

/* ---- learning rate -------------------------------------------------------------------- */

static double lr_at(const train_spec_t *s, int64_t step, int64_t total)
{
    double lr = s->lr;
    if (s->warmup > 0 && step < s->warmup)
        return lr * (double)(step + 1) / (double)s->warmup;
    switch (s->sched) {
    case SCHED_CONSTANT:
        break;
    case SCHED_STEP:
        /* Decay counts from the end of warm-up, as cosine does. */
        lr *= pow(s->gamma, (double)((step - s->warmup) / s->step_every));
        break;
    case SCHED_COSINE: {
        int64_t span = total - s->warmup;
        double frac = span > 0 ? (double)(step - s->warmup) / (double)span : 1.0;
        frac = frac > 1 ? 1 : frac;
        lr = s->min_lr + 0.5 * (s->lr - s->min_lr) * (1.0 + cos(3.14159265358979323846 * frac));
        break;
    }
    }
    return lr;
}

/* ---- setup -------------------------------------------------------------------------------- */

static int parse(void **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    train_spec_t *s = NULL;
    int rc = train_spec_parse(&s, spec, err);
    *out = s;
    return rc;
}

static void destroy(void *p)
{
    train_spec_free(p);
}

static void trainer_free(trainer_t *t)
{
    model_work_free(&t->work);
    train_data_free(&t->data);
    eval_acc_free(&t->train_acc);
    eval_acc_free(&t->val_acc);
    mo_history_free(&t->history);
    if (t->dev) {
        device_free(t);
    } else {
        free(t->params);
        free(t->grads);
        free(t->opt_m);
        free(t->opt_v);
    }
    free(t->order);
    free(t->bx);
    free(t->byv);
    free(t->score);
    free(t->byc);
    free(t->pred);
    free(t->hosts);
}

static int gather_hosts(trainer_t *t, mo_error_t *err)
{
    char name[64] = "";
    gethostname(name, sizeof name - 1);
    char *all = NULL;
    size_t total = 0;
    int rc = mo_comm_allgatherv(t->comm, name, sizeof name, MO_DT_BYTE, (void **)&all, &total, err);
    if (rc)
        return rc;
    mo_buf_t b = {0};
    for (size_t r = 0; r < total / sizeof name; r++) {
        const char *h = all + r * sizeof name;
        /* Hosts in rank order, each named once. */
        int seen = 0;
        for (size_t q = 0; q < r; q++)
            seen |= !strncmp(all + q * sizeof name, h, sizeof name);
        if (!seen)
            mo_buf_printf(&b, "%s%.*s", b.len ? "," : "", (int)sizeof name, h);
    }
    free(all);
    t->hosts = mo_buf_steal(&b);
    return t->hosts ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
}

static int trainer_setup(trainer_t *t, train_spec_t *s, mo_job_ctx_t *ctx, mo_error_t *err)
{
    memset(t, 0, sizeof *t);
    t->spec = s;
    t->comm = ctx->comm;
    t->output_dir = ctx->output_dir;
    t->plugins = ctx->plugins;
    t->hooks = ctx->hooks;
    t->start_ns = mo_time_unix_ns();
    int size = mo_comm_size(t->comm);
    if (s->batch < size)
        return mo_errorf(err, MO_EINVAL,
                         "training.batch_size %lld is smaller than the %d ranks of this run: "
                         "every rank needs at least one row per step",
                         (long long)s->batch, size);
    int rc = mo_kern_backend_get(&t->be, s->device, err);
    if (!rc)
        rc = model_build(&t->model, s, err);
    if (rc)
        return rc;
    t->dev = t->be->bind != NULL;
    snprintf(t->device_desc, sizeof t->device_desc, "cpu");
    snprintf(t->allreduce_desc, sizeof t->allreduce_desc, "MPI on host buffers");
    /* One BLAS thread per rank unless the user says otherwise: ranks are the parallelism, and
     * a pool per rank on shared cores only fights. */
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
    rc = train_data_load(&t->data, s, t->comm, err);
    if (rc)
        return rc;
    int64_t per_rank = (s->batch + size - 1) / size;
    size_t np = t->model.n_params;
    if (t->dev) {
        rc = device_setup(t, per_rank, err);
    } else {
        t->params = mo_calloc(np, sizeof *t->params);
        t->grads = mo_calloc(np + 2, sizeof *t->grads);
        if (s->opt != OPT_SGD || s->momentum > 0)
            t->opt_m = mo_calloc(np, sizeof *t->opt_m);
        if (s->opt != OPT_SGD)
            t->opt_v = mo_calloc(np, sizeof *t->opt_v);
        t->params_host = t->params;
        t->m_host = t->opt_m;
        t->v_host = t->opt_v;
    }
    t->order = mo_calloc((size_t)t->data.n_train, sizeof *t->order);
    t->bx = mo_calloc((size_t)(per_rank * t->data.n_features), sizeof *t->bx);
    t->byc = mo_calloc((size_t)per_rank, sizeof *t->byc);
    t->byv = mo_calloc((size_t)per_rank, sizeof *t->byv);
    t->pred = mo_calloc((size_t)per_rank, sizeof *t->pred);
    t->score = mo_calloc((size_t)per_rank, sizeof *t->score);
    if (!rc && (!t->params || !t->grads || (s->momentum > 0 && !t->opt_m) ||
                (s->opt != OPT_SGD && (!t->opt_m || !t->opt_v)) || !t->order || !t->bx || !t->byc ||
                !t->byv || !t->pred || !t->score))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory for a model of %zu parameters", np);
    int64_t wrows = per_rank > 4096 ? per_rank : 4096;
    if (!rc)
        rc = model_work_create(&t->work, t->be, &t->model, wrows, err);
    if (!rc)
        rc = eval_acc_create(&t->train_acc, &t->data, per_rank, err);
    if (!rc)
        rc = eval_acc_create(&t->val_acc, &t->data, wrows, err);
    /* A rank that failed to allocate must not leave the others waiting in gather_hosts. */
    rc = mo_comm_agree(t->comm, rc, err);
    if (!rc)
        rc = gather_hosts(t, err);
    if (rc)
        return rc;
    model_init(&t->model, t->params_host, s->seed);
    if ((rc = mo_comm_agree(t->comm, device_push(t, err), err)))
        return rc;
    static const char *const opt_names[] = {"sgd", "adam", "adamw"};
    mo_buf_t fp = {0};
    mo_buf_printf(&fp,
                  "%d features -> %lld outputs, %zu params; %s lr %g mom %g%s wd %g; "
                  "batch %lld; seed %llu",
                  (int)s->n_features, (long long)t->model.n_out, t->model.n_params,
                  opt_names[s->opt], s->lr, s->momentum, s->nesterov ? " nesterov" : "",
                  s->weight_decay, (long long)s->batch, (unsigned long long)s->seed);
    mo_strlcpy(t->fingerprint, fp.data ? fp.data : "", sizeof t->fingerprint);
    mo_buf_free(&fp);
    t->steps_per_epoch = (t->data.n_train + s->batch - 1) / s->batch;
    t->total_steps = t->steps_per_epoch * s->epochs;
    if (s->max_steps > 0 && s->max_steps < t->total_steps)
        t->total_steps = s->max_steps;
    t->best = s->es_mode_max ? -INFINITY : INFINITY;
    return 0;
}

/* ---- one step ----------------------------------------------------------------------------- */

/* Forward and backward over this rank's slice of the batch at epoch position `pos`. */
static int local_step(trainer_t *t, int64_t pos, int64_t batch, double *loss_sum, mo_error_t *err)
{
    if (t->dev)
        return device_step(t, pos, batch, loss_sum, err);
    const train_data_t *d = &t->data;
    int64_t begin, rows;
    mo_ds_shard_range(batch, mo_comm_rank(t->comm), mo_comm_size(t->comm), &begin, &rows);
    int64_t nf = d->n_features;
    for (int64_t i = 0; i < rows; i++) {
        int64_t row = t->order[pos + begin + i];
        memcpy(t->bx + i * nf, d->X + row * nf, (size_t)nf * sizeof *t->bx);
        if (d->yc)
            t->byc[i] = d->yc[row];
        else
            t->byv[i] = d->yv[row];
    }
    const model_t *m = &t->model;
    model_forward(m, &t->work, t->params, t->bx, rows);
    *loss_sum = model_loss(m, &t->work, d->yc ? t->byc : NULL, d->yc ? NULL : t->byv, rows,
                           1.0f / (float)batch);
    const float *out = model_outputs(m, &t->work, rows, NULL);
    if (d->yc)
        model_predict(m, out, rows, t->pred, t->score);
    int rc = eval_acc_add(&t->train_acc, t->pred, t->score, d->yc ? t->byc : NULL, out, t->byv,
                          rows, *loss_sum, err);
    int brc = model_backward(m, &t->work, t->params, t->bx, rows, t->grads, NULL, NULL, err);
    return rc ? rc : brc;
}

static void apply_update(trainer_t *t, double lr)
{
    const train_spec_t *s = t->spec;
    size_t np = t->model.n_params;
    if (s->grad_clip > 0) {
        double norm = sqrt(t->be->sumsq(t->grads, (int64_t)np));
        if (norm > s->grad_clip)
            t->be->scale(t->grads, (int64_t)np, (float)(s->grad_clip / norm));
    }
    if (s->opt == OPT_SGD) {
        mo_sgd_hparams_t h = {(float)lr, (float)s->momentum, s->nesterov, (float)s->weight_decay};
        t->be->sgd_step(t->params, t->grads, t->opt_m, (int64_t)np, &h);
    } else {
        mo_adam_hparams_t h = {(float)lr,     (float)s->beta1,        (float)s->beta2,
                               (float)s->eps, (float)s->weight_decay, s->opt == OPT_ADAMW,
                               t->step + 1};
        t->be->adam_step(t->params, t->grads, t->opt_m, t->opt_v, (int64_t)np, &h);
    }
}

/* ---- evaluation, early stopping, progress -------------------------------------------------- */

static int evaluate(trainer_t *t, mo_error_t *err)
{
    char names[2 * (MO_METRIC_MAX + 1)][32];
    double values[2 * (MO_METRIC_MAX + 1)];
    int n = eval_acc_finish(&t->train_acc, t->comm, "", names, values, err);
    if (n < 0)
        return n;
    /* eval_acc_finish reduced the accumulator in place, so every rank now holds the totals.
     * The epoch goes on accumulating on top; keeping the totals on rank 0 only means the next
     * reduction counts every row once. */
    if (mo_comm_rank(t->comm) != 0) {
        size_t na;
        double *a = mo_metric_acc_data(t->train_acc.acc, &na);
        memset(a, 0, na * sizeof *a);
    }
    int total = n;
    if (t->data.n_val > 0) {
        int nv = eval_validation(&t->model, &t->work, t->params, &t->data, &t->val_acc, t->comm,
                                 names + n, values + n, err);
        if (nv < 0)
            return nv;
        total += nv;
    }
    int rc = 0;
    for (int i = 0; i < total && !rc; i++)
        rc = mo_history_add(&t->history, t->step, t->epoch, names[i], values[i]);
    /* Run-level metrics come from rank 0 only (every rank holds the same reduced values). */
    for (int i = 0; i < total && mo_comm_rank(t->comm) == 0; i++)
        mo_plugins_metric(t->plugins, names[i], values[i], t->step, t->epoch, NULL, 0);
    if (rc)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory recording metrics");
    /* A rank that failed here must not leave the others in the next step's collectives. */
    rc = mo_comm_agree(t->comm, rc, err);
    if (rc)
        return rc;
    for (int i = 0; i < total; i++) {
        memcpy(t->final_names[i], names[i], 32);
        t->final_values[i] = values[i];
    }
    t->n_final = total;
    if (t->spec->es_enabled) {
        for (int i = 0; i < total; i++) {
            if (strcmp(names[i], t->spec->es_metric) != 0)
                continue;
            double v = values[i], d = t->spec->es_min_delta;
            int better = t->spec->es_mode_max ? v > t->best + d : v < t->best - d;
            if (better) {
                t->best = v;
                t->bad_evals = 0;
            } else if (++t->bad_evals >= t->spec->es_patience) {
                t->stopped_early = 1;
            }
        }
    }
    return 0;
}

static const char *find_metric(const trainer_t *t, const char *name, double *v)
{
    for (int i = 0; i < t->n_final; i++)
        if (!strcmp(t->final_names[i], name)) {
            *v = t->final_values[i];
            return name;
        }
    return NULL;
}

static void progress(trainer_t *t, int64_t samples, double elapsed, int epoch_end)
{
    double rate = elapsed > 0 ? (double)samples / elapsed : 0;
    /* Per-rank figures from every rank (the plugins label them with the rank). */
    mo_plugins_metric(t->plugins, "samples_per_second", rate, t->step, t->epoch, NULL, 0);
    mo_plugins_metric(t->plugins, "allreduce_seconds_total", t->t_allreduce, t->step, t->epoch,
                      NULL, 0);
    if (mo_comm_rank(t->comm) != 0)
        return;
    mo_plugins_metric(t->plugins, "train_loss", t->last_loss, t->step, t->epoch, NULL, 0);
    mo_plugins_metric(t->plugins, "step", (double)t->step, t->step, t->epoch, NULL, 0);
    mo_plugins_metric(t->plugins, "epoch", (double)(t->epoch + 1), t->step, t->epoch, NULL, 0);
    double eta = rate > 0 ? (double)(t->total_steps - t->step) * (double)t->spec->batch / rate : 0;
    char extra[160] = "";
    double v;
    const char *key = t->data.task == MO_DS_REGRESSION ? "val_mse" : "val_accuracy";
    if (epoch_end && find_metric(t, key, &v))
        snprintf(extra, sizeof extra, " %s %.4f", key, v);
    else if (epoch_end && find_metric(t, "loss", &v))
        snprintf(extra, sizeof extra, " train_loss %.4f", v);
    double share = t->t_steps > 0 ? 100.0 * t->t_allreduce / t->t_steps : 0;
    mo_log_info("train",
                "epoch %lld/%lld step %lld/%lld loss %.4f%s %.0f samples/s allreduce %.1f%% "
                "ETA %.0fs",
                (long long)t->epoch + 1, (long long)t->spec->epochs, (long long)t->step,
                (long long)t->total_steps, t->last_loss, extra, rate, share, eta);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static int train_loop(trainer_t *t, mo_error_t *err)
{
    const train_spec_t *s = t->spec;
    size_t np = t->model.n_params;
    int64_t epoch_samples = 0;
    double epoch_t0 = mo_time_mono(), last_progress = epoch_t0;
    int rc = 0;
    if (t->epoch < s->epochs)
        train_data_epoch_order(&t->data, s->seed, t->epoch, t->order);
    while (t->step < t->total_steps && t->epoch < s->epochs && !t->stopped_early) {
        double t0 = mo_time_mono();
        /* The epoch's training metrics start empty here, not at the previous epoch's end, so a
         * final evaluation right after the last epoch still sees that epoch's rows. */
        if (t->epoch_step == 0)
            eval_acc_reset(&t->train_acc);
        int64_t pos = t->epoch_step * s->batch;
        int64_t batch = t->data.n_train - pos < s->batch ? t->data.n_train - pos : s->batch;
        double loss_sum = 0;
        rc = mo_comm_agree(t->comm, local_step(t, pos, batch, &loss_sum, err), err);
        if (rc)
            return rc;
        mo_fault_point("allreduce");
        float ls[2] = {(float)loss_sum, stop_requested ? 1.0f : 0.0f};
        double t1 = mo_time_mono();
        if (t->dev) {
            rc = device_reduce(t, ls, err);
        } else {
            t->grads[np] = ls[0];
            t->grads[np + 1] = ls[1];
            rc = mo_comm_allreduce_fused(t->comm, t->grads, np + 2, s->fusion_bytes, err);
            ls[0] = t->grads[np];
            ls[1] = t->grads[np + 1];
        }
        if (rc)
            return rc;
        t->t_allreduce += mo_time_mono() - t1;
        float loss = ls[0] / (float)batch;
        if (!isfinite(loss))
            return mo_errorf(err, MO_ERUNTIME,
                             "loss is %s at step %lld (epoch %lld): training diverged; lower "
                             "optimizer.lr or set optimizer.grad_clip",
                             isnan(loss) ? "NaN" : "Inf", (long long)t->step + 1,
                             (long long)t->epoch + 1);
        apply_update(t, lr_at(s, t->step, t->total_steps));
        t->last_loss = loss;
        t->step++;
        t->epoch_step++;
        epoch_samples += batch;
        t->t_steps += mo_time_mono() - t0;
        int epoch_end = t->epoch_step == t->steps_per_epoch;
        int eval_now = s->eval_every > 0 ? t->step % s->eval_every == 0 : epoch_end;
        /* A parent watching epochs (a sweep) gets fresh metrics at every epoch's end. */
        if (epoch_end && t->hooks && t->hooks->epoch_end)
            eval_now = 1;
        if (eval_now && (rc = evaluate(t, err)))
            return rc;
        if (t->hooks && t->hooks->step)
            t->hooks->step(t->hooks->ud);
        if (epoch_end && t->hooks && t->hooks->epoch_end) {
            int stop =
                t->hooks->epoch_end(t->hooks->ud, t->epoch + 1, (const char(*)[32])t->final_names,
                                    t->final_values, t->n_final, err);
            if (stop < 0)
                return stop;
            if (stop) {
                t->pruned = 1;
                t->stopped_early = 1;
            }
        }
        double now = mo_time_mono();
        if (epoch_end || now - last_progress >= PROGRESS_EVERY_S) {
            progress(t, epoch_samples, now - epoch_t0, epoch_end);
            last_progress = now;
        }
        if (epoch_end) {
            t->epoch++;
            t->epoch_step = 0;
            epoch_samples = 0;
            epoch_t0 = mo_time_mono();
            if (t->epoch < s->epochs)
                train_data_epoch_order(&t->data, s->seed, t->epoch, t->order);
        }
        int stop = ls[1] > 0;
        if ((s->ckpt_every > 0 && t->step % s->ckpt_every == 0) || stop)
            if ((rc = state_save(t, err)))
                return rc;
        if (stop) {
            if (mo_comm_rank(t->comm) == 0)
                mo_log_warn("train", "stop signal received: checkpointed at step %lld",
                            (long long)t->step);
            return mo_errorf(err, MO_ESTOPPED,
                             "stopped by signal at step %lld after checkpointing; continue with "
                             "--resume",
                             (long long)t->step);
        }
    }
    if (t->pruned && mo_comm_rank(t->comm) == 0)
        mo_log_info("train", "pruned by the sweep after epoch %lld", (long long)t->epoch);
    else if (t->stopped_early && mo_comm_rank(t->comm) == 0)
        mo_log_info("train", "early stopping at step %lld: %s did not improve for %lld evaluations",
                    (long long)t->step, s->es_metric, (long long)s->es_patience);
    return 0;
}

static int run(void *job, mo_job_ctx_t *ctx, mo_error_t *err)
{
    train_spec_t *s = job;
    trainer_t t;
    saved_signals_t saved;
    s->name = ctx->run_name;
    /* Signals are caught from the start: a stop during set-up is honoured at the first step. */
    install_signals(&saved);
    int rc = trainer_setup(&t, s, ctx, err);
    rc = mo_comm_agree(ctx->comm, rc, err);
    if (!rc && !ctx->resume) {
        /* A fresh run into a folder holding another run's checkpoints would mix the two at
         * the next --resume (pruning keeps the newest steps, whoever wrote them). */
        char dir[4096], *found = NULL;
        snprintf(dir, sizeof dir, "%s/checkpoints", ctx->output_dir);
        int local = 0;
        if (mo_comm_rank(ctx->comm) == 0 && mo_ckpt_latest(&found, dir, NULL) == 0)
            local = mo_errorf(err, MO_EINVAL,
                              "%s holds checkpoints of an earlier run (%s): add --resume to "
                              "continue it, or give another --output",
                              dir, found);
        free(found);
        rc = mo_comm_agree(ctx->comm, local, err);
    }
    if (!rc && ctx->resume) {
        rc = mo_comm_agree(ctx->comm, state_resume(&t, err), err);
        if (rc == MO_ENOTFOUND && mo_comm_rank(ctx->comm) == 0)
            mo_error_prefix(err, "--resume");
    }
    if (rc) {
        restore_signals(&saved);
        trainer_free(&t);
        return rc;
    }
    if (mo_comm_rank(ctx->comm) == 0)
        mo_log_info("train",
                    "%s: %lld training rows, %lld validation rows, %zu parameters, %lld steps "
                    "of %lld rows on %d ranks; device %s%s%s%s; gradient allreduce %s",
                    s->name, (long long)t.data.n_train, (long long)t.data.n_val, t.model.n_params,
                    (long long)t.total_steps, (long long)s->batch, mo_comm_size(ctx->comm),
                    t.device_desc, s->tf32 && t.dev ? " (TF32 matrix products)" : "",
                    t.dev ? ", " : "", t.dev ? t.cache_desc : "", t.allreduce_desc);
    rc = train_loop(&t, err);
    /* A final evaluation when the last one was not at the last step (or when nothing was
     * evaluated in this process, e.g. a resume from a checkpoint at the last step). */
    if (!rc && (t.n_final == 0 || t.history.n == 0 || t.history.step[t.history.n - 1] != t.step))
        rc = evaluate(&t, err);
    const char *status = t.pruned ? "pruned" : "ok";
    if (rc == MO_ESTOPPED)
        status = "preempted";
    else if (rc)
        status = "failed";
    char why[256] = "";
    int gate_failures = 0;
    if (!rc && s->n_gates) {
        const char *names[2 * (MO_METRIC_MAX + 1)];
        for (int i = 0; i < t.n_final; i++)
            names[i] = t.final_names[i];
        gate_failures = mo_gates_check(s->gates, s->n_gates, names, t.final_values,
                                       (size_t)t.n_final, why, sizeof why);
        if (gate_failures)
            status = "gate_failed";
    }
    mo_error_t werr = {0};
    int wrc = mo_comm_agree(ctx->comm, state_write_run(&t, status, &werr), &werr);
    if (!rc && wrc) {
        rc = wrc;
        *err = werr;
    }
    /* Until run.h5 is written a late stop signal is noted, not fatal. */
    restore_signals(&saved);
    ctx->n_final = 0;
    for (int i = 0; i < t.n_final && i < 32; i++) {
        memcpy(ctx->final_names[i], t.final_names[i], 32);
        ctx->final_values[i] = t.final_values[i];
        ctx->n_final++;
    }
    ctx->gates_passed = gate_failures == 0;
    ctx->pruned = t.pruned;
    if (!rc && gate_failures)
        rc = mo_errorf(err, MO_EGATE, "quality gate not met: %s (%d of %zu gates failed)", why,
                       gate_failures, s->n_gates);
    trainer_free(&t);
    return rc;
}

const mo_job_kind_t mo_job_train = {
    .name = "train",
    .summary = "data-parallel training (CPU ranks, or one GPU per rank)",
    .parse = parse,
    .run = run,
    .destroy = destroy,
};
