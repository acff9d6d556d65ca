/* device.c - the trainer's path on a backend with its own memory (CUDA)
 *
 * Parameters, gradients and optimiser moments live on the device; the host keeps mirrors of
 * the parameters and moments for checkpoints and run.h5 only (device_pull / device_push), so a
 * checkpoint is the same file whichever backend wrote it and resumes on either.
 *
 * Batches: with the device cache (data.device_cache, by default when the training rows take
 * at most half the free device memory) every row is uploaded once at start; a step sends only
 * its row ids and gathers its rows on the device. Otherwise this rank's rows of a step are
 * gathered on the host into one of two page-locked slots, laid out [labels | rows | ids], and
 * copied to the device on the backend's copy stream.
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cache_setup(trainer_t *t, mo_error_t *err);

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
    t->stage.ids_offset =
        t->stage.label_bytes + (size_t)(per_rank * t->data.n_features) * sizeof(float);
    t->stage.ids_offset = (t->stage.ids_offset + 7) / 8 * 8;
    size_t slot = t->stage.ids_offset + (size_t)per_rank * sizeof(int64_t);
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
    rc = cache_setup(t, err);
    if (!rc)
        rc = mo_devcomm_create(&t->dc, t->comm, be, np, t->allreduce_desc, sizeof t->allreduce_desc,
                               err);
    return rc;
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
    if (t->stage.X)
        be->free(t->stage.X);
    if (t->stage.y)
        be->free(t->stage.y);
    t->stage.X = NULL;
    t->stage.y = NULL;
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

/* Gather this rank's rows of the step at epoch_step into host slot `slot` and queue the copy:
 * the labels always (the host's metrics read them), then either the rows themselves or, with
 * the device cache, only their ids. */
static void stage(trainer_t *t, int64_t epoch_step, int slot)
{
    const train_data_t *d = &t->data;
    int64_t pos = epoch_step * t->spec->batch;
    int64_t batch = d->n_train - pos < t->spec->batch ? d->n_train - pos : t->spec->batch;
    int64_t begin, rows, nf = d->n_features;
    mo_ds_shard_range(batch, mo_comm_rank(t->comm), mo_comm_size(t->comm), &begin, &rows);
    const int64_t *order = t->order + pos + begin;
    t->be->host_wait(slot); /* its previous copy has read the slot */
    char *h = t->stage.host[slot], *dv = t->stage.dev[slot];
    int32_t *yc = (int32_t *)h;
    float *yv = (float *)h, *x = (float *)(h + t->stage.label_bytes);
    for (int64_t i = 0; i < rows; i++) {
        if (d->yc)
            yc[i] = d->yc[order[i]];
        else
            yv[i] = d->yv[order[i]];
    }
    if (t->stage.X) {
        size_t off = t->stage.ids_offset;
        memcpy(h + off, order, (size_t)rows * sizeof *order);
        t->be->prefetch(dv + off, h + off, (size_t)rows * sizeof *order, slot);
    } else {
        for (int64_t i = 0; i < rows; i++)
            memcpy(x + i * nf, d->X + order[i] * nf, (size_t)nf * sizeof *x);
        t->be->prefetch(dv, h, t->stage.label_bytes + (size_t)(rows * nf) * sizeof(float), slot);
    }
    t->stage.key[slot] = t->epoch * t->steps_per_epoch + epoch_step;
}

/* The device cache (data.device_cache): on, off, or auto = when the rows take at most half of
 * the device memory still free once the model is there. Collective: every rank caches or none
 * does, so they all take the same path. */
static int cache_setup(trainer_t *t, mo_error_t *err)
{
    const train_data_t *d = &t->data;
    const mo_kern_backend_t *be = t->be;
    int64_t n = d->n_train + (d->val_from_file ? 0 : d->n_val); /* rows of X */
    size_t xb = (size_t)(n * d->n_features) * sizeof(float), yb = (size_t)n * 4;
    size_t free_b = 0, total_b = 0;
    int want = t->spec->device_cache, rc = be->mem_info(&free_b, &total_b, err);
    if (!rc && want < 0)
        want = xb + yb <= free_b / 2;
    if (!rc && want) {
        t->stage.X = be->alloc(xb);
        t->stage.y = be->alloc(yb);
        if (!t->stage.X || !t->stage.y)
            rc = be->check(err)
                     ? be->check(err)
                     : mo_errorf(err, MO_ENOMEM,
                                 "data.device_cache: %.1f GiB of rows do not fit in "
                                 "the device's %.1f GiB free (set device_cache: off)",
                                 (double)(xb + yb) / 1073741824.0, (double)free_b / 1073741824.0);
    }
    /* The upload goes in pieces of at most 256 MiB: one pageable copy of gigabytes would hold
     * a second copy of the rows in the driver's staging. */
    const size_t piece = (size_t)256 << 20;
    for (size_t off = 0; !rc && t->stage.X && off < xb; off += piece)
        be->upload((char *)t->stage.X + off, (const char *)d->X + off,
                   xb - off < piece ? xb - off : piece);
    if (!rc && t->stage.y)
        be->upload(t->stage.y, d->yc ? (const void *)d->yc : (const void *)d->yv, yb);
    if (!rc)
        rc = be->check(err);
    int cached = t->stage.X != NULL && !rc, all = cached;
    int arc = mo_comm_allreduce(t->comm, &all, 1, MO_DT_INT32, MO_OP_MIN, err);
    rc = mo_comm_agree(t->comm, rc ? rc : arc, err);
    if (!rc && cached && !all) { /* some rank could not: none caches */
        be->free(t->stage.X);
        be->free(t->stage.y);
        t->stage.X = NULL;
        t->stage.y = NULL;
    }
    if (!rc)
        snprintf(t->cache_desc, sizeof t->cache_desc, "%s",
                 t->stage.X ? "training rows cached in device memory"
                            : "batches copied from host memory");
    return rc;
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
    char *dslot = t->stage.dev[slot];
    float *X = (float *)(dslot + t->stage.label_bytes);
    if (t->stage.X) { /* the rows and labels from the cache, by the ids that came */
        const int64_t *ids = (const int64_t *)(dslot + t->stage.ids_offset);
        be->gather_rows(X, t->stage.X, ids, rows, d->n_features);
        be->gather_rows(dslot, t->stage.y, ids, rows, 1);
    }
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
        rc = eval_acc_add(&t->train_acc, t->pred, t->score, d->yc ? (const int32_t *)hslot : NULL,
                          t->out_host, (const float *)hslot, rows, *loss_sum, err);
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
