/* state.c - checkpoints and the run.h5 artifact of a training run
 *
 * A checkpoint holds everything the next step depends on: parameters, optimiser moments,
 * step / epoch / position in the epoch (the epoch's order is recomputed from the seed), the
 * early-stopping state, the metric history, and each rank's partial training metrics of the
 * current epoch (gathered to rank 0, handed back to the same rank on resume). That last part
 * is what makes a resumed run's metrics, not only its parameters, bitwise identical to an
 * uninterrupted run at the same rank count.
 */
#include "jobs/train/train_impl.h"

#include "comm/info.h"
#include "core/alloc.h"
#include "core/build_info.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/atomic.h"
#include "io/checkpoint.h"
#include "kernels/cpu/blas_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *ckpt_dir(const trainer_t *t)
{
    mo_buf_t b = {0};
    mo_buf_printf(&b, "%s/checkpoints", t->output_dir);
    return mo_buf_steal(&b);
}

static int put_history(mo_ckpt_t *c, const mo_history_t *h, mo_error_t *err)
{
    int rc = mo_ckpt_put_i64(c, "hist_step", h->step, h->n, err);
    if (!rc)
        rc = mo_ckpt_put_i64(c, "hist_epoch", h->epoch, h->n, err);
    if (!rc)
        rc = mo_ckpt_put_i32(c, "hist_name_id", h->name_id, h->n, err);
    if (!rc)
        rc = mo_ckpt_put_f64(c, "hist_value", h->value, h->n, err);
    if (!rc)
        rc = mo_ckpt_put_strv(c, "hist_names", (const char *const *)h->names, h->n_names, err);
    return rc;
}

static int get_history(const mo_ckpt_t *c, mo_history_t *h, mo_error_t *err)
{
    const int64_t *step, *epoch;
    const int32_t *name_id;
    const double *value;
    const char *const *names;
    int64_t n, n1, n2, n3, nn;
    int rc = mo_ckpt_get_i64(c, "hist_step", &step, &n, err);
    if (!rc)
        rc = mo_ckpt_get_i64(c, "hist_epoch", &epoch, &n1, err);
    if (!rc)
        rc = mo_ckpt_get_i32(c, "hist_name_id", &name_id, &n2, err);
    if (!rc)
        rc = mo_ckpt_get_f64(c, "hist_value", &value, &n3, err);
    if (!rc)
        rc = mo_ckpt_get_strv(c, "hist_names", &names, &nn, err);
    if (rc)
        return rc;
    if (n1 != n || n2 != n || n3 != n)
        return mo_errorf(err, MO_EFORMAT, "checkpoint history columns differ in length");
    mo_history_free(h);
    for (int64_t i = 0; i < n && !rc; i++) {
        if (name_id[i] < 0 || name_id[i] >= nn)
            return mo_errorf(err, MO_EFORMAT, "checkpoint history has a bad metric id");
        rc = mo_history_add(h, step[i], epoch[i], names[name_id[i]], value[i]);
    }
    return rc;
}

/* Gather each rank's metric accumulator (and binary scores) to rank 0 as one block per rank. */
static int put_rank_metrics(mo_ckpt_t *c, trainer_t *t, mo_error_t *err)
{
    size_t n = 0;
    double *acc = mo_metric_acc_data(t->train_acc.acc, &n);
    double *all = NULL;
    float *scores = NULL;
    int32_t *labels = NULL;
    size_t total = 0, ns = 0, nl = 0;
    int64_t mine = t->train_acc.n_scores, *counts = NULL;
    size_t ncounts = 0;
    int rc = mo_comm_allgatherv(t->comm, acc, n, MO_DT_DOUBLE, (void **)&all, &total, err);
    if (!rc)
        rc = mo_comm_allgatherv(t->comm, &mine, 1, MO_DT_INT64, (void **)&counts, &ncounts, err);
    if (!rc)
        rc = mo_comm_allgatherv(t->comm, t->train_acc.scores, (size_t)mine, MO_DT_FLOAT,
                                (void **)&scores, &ns, err);
    if (!rc)
        rc = mo_comm_allgatherv(t->comm, t->train_acc.labels, (size_t)mine, MO_DT_INT32,
                                (void **)&labels, &nl, err);
    if (!rc && c)
        rc = mo_ckpt_put_f64(c, "rank_train_acc", all, (int64_t)total, err);
    if (!rc && c)
        rc = mo_ckpt_put_i64(c, "rank_score_counts", counts, (int64_t)ncounts, err);
    if (!rc && c)
        rc = mo_ckpt_put_f32(c, "rank_scores", scores, (int64_t)ns, err);
    if (!rc && c)
        rc = mo_ckpt_put_i32(c, "rank_labels", labels, (int64_t)nl, err);
    free(all);
    free(scores);
    free(labels);
    free(counts);
    return rc;
}

static int build_ckpt(mo_ckpt_t *c, trainer_t *t, mo_error_t *err)
{
    const model_t *m = &t->model;
    int64_t np = (int64_t)m->n_params;
    /* The host views: the device's values after device_pull. */
    int rc = mo_ckpt_put_f32(c, "params", t->params_host, np, err);
    if (!rc && t->m_host)
        rc = mo_ckpt_put_f32(c, "opt_m", t->m_host, np, err);
    if (!rc && t->v_host)
        rc = mo_ckpt_put_f32(c, "opt_v", t->v_host, np, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "step", t->step, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "epoch", t->epoch, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "epoch_step", t->epoch_step, err);
    if (!rc)
        rc = mo_ckpt_put_double(c, "best", t->best, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "bad_evals", t->bad_evals, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "n_features", m->in[0], err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "n_outputs", m->n_out, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "n_params", np, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "ranks", mo_comm_size(t->comm), err);
    if (!rc)
        rc = put_history(c, &t->history, err);
    if (!rc)
        rc = mo_ckpt_put_int(c, "stopped_early", t->stopped_early, err);
    if (!rc)
        rc = mo_ckpt_put_str(c, "fingerprint", t->fingerprint, err);
    if (!rc) {
        const char *names[2 * (MO_METRIC_MAX + 1)];
        for (int i = 0; i < t->n_final; i++)
            names[i] = t->final_names[i];
        rc = mo_ckpt_put_strv(c, "final_names", names, t->n_final, err);
    }
    if (!rc)
        rc = mo_ckpt_put_f64(c, "final_values", t->final_values, t->n_final, err);
    return rc;
}

int state_save(trainer_t *t, mo_error_t *err)
{
    double t0 = mo_time_mono();
    int rank0 = mo_comm_rank(t->comm) == 0;
    mo_ckpt_t *c = NULL;
    char *dir = NULL, *path = NULL;
    int rc = rank0 ? mo_ckpt_create(&c, err) : 0;
    rc = mo_comm_agree(t->comm, rc, err);
    if (!rc)
        rc = put_rank_metrics(rank0 ? c : NULL, t, err); /* collective */
    if (!rc && rank0) {
        dir = ckpt_dir(t);
        rc = dir ? device_pull(t, err) : mo_errorf(err, MO_ENOMEM, "out of memory");
        if (!rc)
            rc = build_ckpt(c, t, err);
        if (!rc)
            rc = mo_io_mkdir_p(dir, err);
        if (!rc)
            rc = mo_ckpt_save(c, dir, t->step, (int)t->spec->ckpt_keep, &path, err);
        if (!rc)
            mo_log_info("train", "checkpoint %s (step %lld)", path, (long long)t->step);
    }
    free(dir);
    free(path);
    mo_ckpt_destroy(c);
    rc = mo_comm_agree(t->comm, rc, err);
    if (!rc && rank0)
        mo_plugins_metric(t->plugins, "checkpoint_seconds", mo_time_mono() - t0, t->step, t->epoch,
                          NULL, 0);
    return rc;
}

/* Hand each rank its own partial training metrics back; with another rank count, rank 0
 * takes the sum (the run continues, no longer bitwise identical, and says so). */
static int restore_rank_metrics(trainer_t *t, const mo_ckpt_t *c, int64_t saved_ranks,
                                mo_error_t *err)
{
    const double *all;
    const int64_t *counts;
    const float *scores;
    const int32_t *labels;
    int64_t n_all, n_counts, ns, nl;
    int rc = mo_ckpt_get_f64(c, "rank_train_acc", &all, &n_all, err);
    if (!rc)
        rc = mo_ckpt_get_i64(c, "rank_score_counts", &counts, &n_counts, err);
    if (!rc)
        rc = mo_ckpt_get_f32(c, "rank_scores", &scores, &ns, err);
    if (!rc)
        rc = mo_ckpt_get_i32(c, "rank_labels", &labels, &nl, err);
    if (rc)
        return rc;
    size_t n = 0;
    double *acc = mo_metric_acc_data(t->train_acc.acc, &n);
    int64_t sum = 0;
    for (int64_t r = 0; r < n_counts; r++)
        sum += counts[r] >= 0 ? counts[r] : ns + 1; /* a negative count makes sum != ns */
    if (n_all != saved_ranks * (int64_t)n || n_counts != saved_ranks || ns != nl || sum != ns)
        return mo_errorf(err, MO_EFORMAT, "checkpoint metric state does not fit this model");
    int rank = mo_comm_rank(t->comm), same = saved_ranks == mo_comm_size(t->comm);
    eval_acc_reset(&t->train_acc);
    int64_t off = 0;
    for (int64_t r = 0; r < saved_ranks && !rc; r++) {
        int take = same ? r == rank : rank == 0;
        if (take) {
            for (size_t i = 0; i < n; i++)
                acc[i] += all[(size_t)r * n + i];
            rc = eval_acc_push_scores(&t->train_acc, scores + off, labels + off, counts[r], err);
        }
        off += counts[r];
    }
    return rc;
}

/* A float array entry of exactly `n` values into dst. */
static int get_array(float *dst, const mo_ckpt_t *c, const char *name, size_t n, const char *path,
                     mo_error_t *err)
{
    const float *p;
    int64_t got;
    int rc = mo_ckpt_get_f32(c, name, &p, &got, err);
    if (!rc && (size_t)got != n)
        rc = mo_errorf(err, MO_EFORMAT, "%s: entry '%s' holds %lld values, the model needs %zu",
                       path, name, (long long)got, n);
    if (!rc)
        memcpy(dst, p, n * sizeof *p);
    return rc;
}

static int get_final(trainer_t *t, const mo_ckpt_t *c, mo_error_t *err)
{
    const char *const *names;
    const double *values;
    int64_t nn, nv;
    int rc = mo_ckpt_get_strv(c, "final_names", &names, &nn, err);
    if (!rc)
        rc = mo_ckpt_get_f64(c, "final_values", &values, &nv, err);
    if (!rc && (nn != nv || nn > 2 * (MO_METRIC_MAX + 1)))
        rc = mo_errorf(err, MO_EFORMAT, "checkpoint final metrics are malformed");
    for (int64_t i = 0; !rc && i < nn; i++) {
        mo_strlcpy(t->final_names[i], names[i], sizeof t->final_names[i]);
        t->final_values[i] = values[i];
    }
    if (!rc)
        t->n_final = (int)nn;
    return rc;
}

int state_resume(trainer_t *t, mo_error_t *err)
{
    char *dir = ckpt_dir(t), *path = NULL;
    mo_ckpt_t *c = NULL;
    /* The newest good one: a damaged checkpoint (a crash mid-copy, a bad disk) is skipped. */
    int rc =
        dir ? mo_ckpt_load_latest(&c, &path, dir, err) : mo_errorf(err, MO_ENOMEM, "out of memory");
    const model_t *m = &t->model;
    int64_t nf = 0, nout = 0, np = 0, ranks = 0;
    if (!rc)
        rc = mo_ckpt_get_int(c, "n_features", &nf, err);
    if (!rc)
        rc = mo_ckpt_get_int(c, "n_outputs", &nout, err);
    if (!rc)
        rc = mo_ckpt_get_int(c, "n_params", &np, err);
    if (!rc)
        rc = mo_ckpt_get_int(c, "ranks", &ranks, err);
    if (!rc && nf != m->in[0])
        rc = mo_errorf(err, MO_EINVAL,
                       "cannot resume from %s: it was trained on %lld features, the data has "
                       "%lld",
                       path, (long long)nf, (long long)m->in[0]);
    if (!rc && (nout != m->n_out || np != (int64_t)m->n_params))
        rc = mo_errorf(err, MO_EINVAL,
                       "cannot resume from %s: it holds a model with %lld outputs and %lld "
                       "parameters, the spec describes %lld and %zu",
                       path, (long long)nout, (long long)np, (long long)m->n_out, m->n_params);
    const char *fp = NULL;
    if (!rc)
        rc = mo_ckpt_get_str(c, "fingerprint", &fp, err);
    if (!rc && strcmp(fp, t->fingerprint) != 0)
        rc = mo_errorf(err, MO_EINVAL,
                       "cannot resume: the checkpoint was made with %s; the spec "
                       "now says %s",
                       fp, t->fingerprint);
    if (!rc)
        rc = get_array(t->params_host, c, "params", m->n_params, path, err);
    if (!rc && t->m_host)
        rc = get_array(t->m_host, c, "opt_m", m->n_params, path, err);
    if (!rc && t->v_host)
        rc = get_array(t->v_host, c, "opt_v", m->n_params, path, err);
    /* Whichever backend wrote the checkpoint: the arrays are the same on either. */
    if (!rc)
        rc = device_push(t, err);
    if (!rc)
        rc = mo_ckpt_get_int(c, "step", &t->step, err);
    if (!rc)
        rc = mo_ckpt_get_int(c, "epoch", &t->epoch, err);
    if (!rc)
        rc = mo_ckpt_get_int(c, "epoch_step", &t->epoch_step, err);
    if (!rc)
        rc = mo_ckpt_get_double(c, "best", &t->best, err);
    if (!rc)
        rc = mo_ckpt_get_int(c, "bad_evals", &t->bad_evals, err);
    if (!rc)
        rc = get_history(c, &t->history, err);
    int64_t stopped = 0;
    if (!rc)
        rc = mo_ckpt_get_int(c, "stopped_early", &stopped, err);
    t->stopped_early = stopped != 0;
    if (!rc)
        rc = get_final(t, c, err);
    if (!rc)
        rc = restore_rank_metrics(t, c, ranks, err);
    if (!rc && mo_comm_rank(t->comm) == 0) {
        mo_log_info("train", "resumed from %s at step %lld (epoch %lld)", path, (long long)t->step,
                    (long long)t->epoch + 1);
        if (ranks != mo_comm_size(t->comm))
            mo_log_warn("train",
                        "the checkpoint was written by %lld ranks and this run has %d: training "
                        "continues, but results are not bitwise identical to an uninterrupted "
                        "run",
                        (long long)ranks, mo_comm_size(t->comm));
    }
    mo_ckpt_destroy(c);
    free(path);
    free(dir);
    return rc;
}

static const char *task_name(mo_ds_task_t t)
{
    return t == MO_DS_REGRESSION ? "regression" : "classification";
}

int state_write_run(trainer_t *t, const char *status, mo_error_t *err)
{
    if (mo_comm_rank(t->comm) != 0)
        return 0;
    static const char *const model_names[] = {"mlp", "logreg", "softmax", "linreg"};
    static const char *const act_names[] = {"none", "relu", "tanh", "sigmoid"};
    const model_t *m = &t->model;
    int rc = device_pull(t, err);
    if (rc)
        return rc;
    mo_run_layer_t layers[TRAIN_MAX_LAYERS + 1];
    for (int l = 0; l < m->n_layers; l++) {
        layers[l].W_name = NULL;
        layers[l].in = m->in[l];
        layers[l].out = m->out[l];
        layers[l].W = t->params_host + m->w_off[l];
        layers[l].b = t->params_host + m->b_off[l];
    }
    mo_run_model_t model = {model_names[t->spec->model],
                            task_name(t->spec->task),
                            act_names[m->act],
                            m->in[0],
                            m->n_out,
                            t->spec->hidden,
                            (size_t)(t->spec->model == MODEL_MLP ? t->spec->n_hidden : 0),
                            layers,
                            (size_t)m->n_layers};
    char ranks[16], start[40], end[40], mpi[256], blas[512], steps[32];
    snprintf(ranks, sizeof ranks, "%d", mo_comm_size(t->comm));
    snprintf(steps, sizeof steps, "%lld", (long long)t->step);
    mo_time_iso8601(start, sizeof start, t->start_ns);
    mo_time_iso8601(end, sizeof end, mo_time_unix_ns());
    mo_comm_library_version(mpi, sizeof mpi);
    mo_kern_cpu_blas_info(blas, sizeof blas);
    mo_run_kv_t prov[] = {
        {"maestro_version", MAESTRO_VERSION},
        {"git_commit", MAESTRO_GIT_COMMIT},
        {"ranks", ranks},
        {"hosts", t->hosts ? t->hosts : ""},
        {"start_time", start},
        {"end_time", end},
        {"steps", steps},
        {"device", t->spec->device},
        {"device_name", t->device_desc},
        {"gradient_allreduce", t->allreduce_desc},
        {"dataset_path", t->spec->data_path},
        {"dataset_sha256", t->data.sha256},
        {"validation_path", t->spec->val_path ? t->spec->val_path : ""},
        {"mpi", mpi},
        {"blas", blas},
    };
    const char *names[2 * (MO_METRIC_MAX + 1)];
    for (int i = 0; i < t->n_final; i++)
        names[i] = t->final_names[i];
    mo_run_record_t rec = {t->spec->name,
                           "train",
                           status,
                           t->spec->spec_text,
                           &model,
                           &t->history,
                           names,
                           t->final_values,
                           (size_t)t->n_final,
                           prov,
                           sizeof prov / sizeof *prov};
    char *path = NULL;
    mo_buf_t b = {0};
    mo_buf_printf(&b, "%s/run.h5", t->output_dir);
    path = mo_buf_steal(&b);
    rc = path ? mo_run_file_write(path, &rec, err) : mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc)
        mo_log_info("train", "wrote %s (status %s)", path, status);
    free(path);
    return rc;
}
