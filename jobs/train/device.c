/* device.c - the trainer's path on a backend with its own memory (CUDA)
 *
 * Parameters, gradients and optimiser moments live on the device; the host keeps mirrors of
 * the parameters and moments for checkpoints and run.h5 only (device_pull / device_push), so a
 * checkpoint is the same file whichever backend wrote it and resumes on either.
 *
 * Batches: this rank's rows of a step are gathered on the host into one of two page-locked
 * slots, laid out [labels | rows], and copied to the device on the backend's copy stream.
 * While step s computes, the host gathers step s + 1 into the other slot and queues its copy
 * (double buffering); a slot is refilled only after the backward that read it. The first step
 * of an epoch is staged when it is reached, since the epoch's order is drawn at its start.
 *
 * Gradients: model_backward reports each layer's block as soon as it is queued, and
 * comm/devcomm starts its allreduce then (NCCL on its own stream), so the sums of the last
 * layers overlap the backward of the first. The loss and the stop flag go by MPI meanwhile.
 */
#include "comm/devcomm.h"
#include "core/alloc.h"
#include "core/log.h"
#include "jobs/train/train_impl.h"

#include <stdlib.h>
#include <string.h>

/* Node-local rank for the device choice: Slurm's own when srun started us. */
static int local_rank(const trainer_t *t)
{
    const char *s = getenv("SLURM_LOCALID");
    char *end = NULL;
    long v = s && *s ? strtol(s, &end, 10) : -1;
    if (s && *s && end && !*end && v >= 0 && v < 1 << 20)
        return (int)v;
    return mo_comm_local_rank(t->comm);
}

int device_setup(trainer_t *t, int64_t per_rank, mo_error_t *err)
{
    const mo_kern_backend_t *be = t->be;
    size_t np = t->model.n_params, bytes = np * sizeof(float);
    int rc = be->bind(local_rank(t), t->device_desc, sizeof t->device_desc, err);
    if (rc)
        return rc;
    be->set_tf32(t->spec->tf32);
    t->params = be->alloc(bytes);
    t->grads = be->alloc(bytes);
    t->params_host = mo_calloc(np, sizeof(float));
    int need_m = t->spec->opt != OPT_SGD || t->spec->momentum > 0;
    int need_v = t->spec->opt != OPT_SGD;
    if (need_m) {
        t->opt_m = be->alloc(bytes);
        t->m_host = mo_calloc(np, sizeof(float));
    }
    if (need_v) {
        t->opt_v = be->alloc(bytes);
        t->v_host = mo_calloc(np, sizeof(float));
    }
    t->stage.label_bytes = (size_t)per_rank * 4;
    size_t slot = t->stage.label_bytes + (size_t)(per_rank * t->data.n_features) * sizeof(float);
    for (int i = 0; i < 2; i++) {
        t->stage.host[i] = be->host_alloc(slot);
        t->stage.dev[i] = be->alloc(slot);
        t->stage.key[i] = -1;
    }
    t->out_host = be->host_alloc((size_t)(per_rank * t->model.n_out) * sizeof(float));
    if (!t->params || !t->grads || !t->params_host || (need_m && (!t->opt_m || !t->m_host)) ||
        (need_v && (!t->opt_v || !t->v_host)) || !t->stage.host[0] || !t->stage.host[1] ||
        !t->stage.dev[0] || !t->stage.dev[1] || !t->out_host) {
        rc = be->check(err);
        return rc ? rc
                  : mo_errorf(err, MO_ENOMEM,
                              "out of device or host memory for a model of %zu parameters", np);
    }
    return mo_devcomm_create(&t->dc, t->comm, be, np, t->allreduce_desc,
                             sizeof t->allreduce_desc, err);
}

void device_free(trainer_t *t)
{
    const mo_kern_backend_t *be = t->be;
    mo_devcomm_destroy(t->dc);
    t->dc = NULL;
    float **dev[] = {&t->params, &t->grads, &t->opt_m, &t->opt_v};
    for (size_t i = 0; i < sizeof dev / sizeof *dev; i++) {
        if (*dev[i])
            be->free(*dev[i]);
        *dev[i] = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (t->stage.host[i])
            be->host_free(t->stage.host[i]);
        if (t->stage.dev[i])
            be->free(t->stage.dev[i]);
        t->stage.host[i] = t->stage.dev[i] = NULL;
    }
    free(t->params_host);
    free(t->m_host);
    free(t->v_host);
    if (t->out_host)
        be->host_free(t->out_host);
    t->params_host = t->m_host = t->v_host = t->out_host = NULL;
}

/* Gather this rank's rows of the step at epoch_step into host slot `slot`; queue the copy. */
static void stage(trainer_t *t, int64_t epoch_step, int slot)
{
    const train_data_t *d = &t->data;
    int64_t pos = epoch_step * t->spec->batch;
    int64_t batch = d->n_train - pos < t->spec->batch ? d->n_train - pos : t->spec->batch;
    int64_t begin, rows, nf = d->n_features;
    mo_ds_shard_range(batch, mo_comm_rank(t->comm), mo_comm_size(t->comm), &begin, &rows);
    t->be->host_wait(slot); /* its previous copy has read the slot */
    char *h = t->stage.host[slot];
    int32_t *yc = (int32_t *)h;
    float *yv = (float *)h, *x = (float *)(h + t->stage.label_bytes);
    for (int64_t i = 0; i < rows; i++) {
        int64_t row = t->order[pos + begin + i];
        memcpy(x + i * nf, d->X + row * nf, (size_t)nf * sizeof *x);
        if (d->yc)
            yc[i] = d->yc[row];
        else
            yv[i] = d->yv[row];
    }
    t->be->prefetch(t->stage.dev[slot], h,
                    t->stage.label_bytes + (size_t)(rows * nf) * sizeof(float), slot);
    t->stage.key[slot] = t->epoch * t->steps_per_epoch + epoch_step;
}

static int grad_ready(void *ud, size_t off, size_t n, mo_error_t *err)
{
    trainer_t *t = ud;
    return mo_devcomm_start(t->dc, t->grads, off, n, err);
}

int device_step(trainer_t *t, int64_t pos, int64_t batch, double *loss_sum, mo_error_t *err)
{
    const train_data_t *d = &t->data;
    const model_t *m = &t->model;
    const mo_kern_backend_t *be = t->be;
    int64_t begin, rows;
    mo_ds_shard_range(batch, mo_comm_rank(t->comm), mo_comm_size(t->comm), &begin, &rows);
    (void)pos;
    int slot = (int)(t->step & 1);
    if (t->stage.key[slot] != t->epoch * t->steps_per_epoch + t->epoch_step)
        stage(t, t->epoch_step, slot);
    /* Everything of this step is queued first (forward, loss, outputs back to the host,
     * backward with its allreduces); the host then gathers the next step's rows while the
     * device works, and only then waits for the loss. */
    be->use_slot(slot);
    const char *dslot = t->stage.dev[slot];
    const float *X = (const float *)(dslot + t->stage.label_bytes);
    model_forward(m, &t->work, t->params, X, rows);
    be->defer_loss(1);
    model_loss(m, &t->work, d->yc ? (const int32_t *)dslot : NULL,
               d->yc ? NULL : (const float *)dslot, rows, 1.0f / (float)batch);
    be->defer_loss(0);
    be->download_async(t->out_host, model_output_buffer(m, &t->work),
                       (size_t)(rows * m->n_out) * sizeof(float));
    int rc = model_backward(m, &t->work, t->params, X, rows, t->grads, grad_ready, t, err);
    be->release_slot(slot);
    /* The next step's rows while this one computes (same epoch only: see the header). */
    if (!rc && t->epoch_step + 1 < t->steps_per_epoch && t->step + 1 < t->total_steps)
        stage(t, t->epoch_step + 1, 1 - slot);
    *loss_sum = be->loss_result();
    if (!rc)
        rc = be->check(err);
    const char *hslot = t->stage.host[slot];
    if (!rc && d->yc)
        model_predict(m, t->out_host, rows, t->pred, t->score);
    if (!rc)
        rc = eval_acc_add(&t->train_acc, t->pred, t->score,
                          d->yc ? (const int32_t *)hslot : NULL, t->out_host,
                          (const float *)hslot, rows, *loss_sum, err);
    return rc;
}

int device_reduce(trainer_t *t, float ls[2], mo_error_t *err)
{
    int rc = mo_comm_allreduce(t->comm, ls, 2, MO_DT_FLOAT, MO_OP_SUM, err);
    if (!rc)
        rc = mo_devcomm_finish(t->dc, t->grads, t->model.n_params, err);
    return rc;
}

int device_pull(trainer_t *t, mo_error_t *err)
{
    if (!t->dev)
        return 0;
    size_t bytes = t->model.n_params * sizeof(float);
    t->be->download(t->params_host, t->params, bytes);
    if (t->opt_m)
        t->be->download(t->m_host, t->opt_m, bytes);
    if (t->opt_v)
        t->be->download(t->v_host, t->opt_v, bytes);
    return t->be->check(err);
}

int device_push(trainer_t *t, mo_error_t *err)
{
    if (!t->dev)
        return 0;
    size_t bytes = t->model.n_params * sizeof(float);
    t->be->upload(t->params, t->params_host, bytes);
    if (t->opt_m)
        t->be->upload(t->opt_m, t->m_host, bytes);
    if (t->opt_v)
        t->be->upload(t->opt_v, t->v_host, bytes);
    return t->be->check(err);
}
