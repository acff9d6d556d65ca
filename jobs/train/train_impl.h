/* train_impl.h - what the files of jobs/train/ share
 *
 *   spec.c     the spec's train keys -> train_spec_t (checked at validation time)
 *   model.c    layer shapes over one flat parameter buffer; init; forward; backward
 *   data.c     the dataset in memory on every rank; train/validation split; batches
 *   eval.c     metrics over the training epoch and the validation set, reduced exactly
 *   state.c    checkpoints (save, resume) and the run.h5 artifact
 *   trainer.c  the step loop: shuffle, slice, allreduce, update, schedule, stop, progress
 */
#ifndef MO_JOBS_TRAIN_IMPL_H
#define MO_JOBS_TRAIN_IMPL_H

#include "comm/comm.h"
#include "io/dataset.h"
#include "io/run_file.h"
#include "jobs/gate.h"
#include "jobs/job.h"
#include "kernels/backend.h"
#include "kernels/metrics.h"

#include <stdint.h>

#define TRAIN_MAX_LAYERS 16

typedef enum { MODEL_MLP = 0, MODEL_LOGREG, MODEL_SOFTMAX, MODEL_LINREG } model_type_t;
typedef enum { OPT_SGD = 0, OPT_ADAM, OPT_ADAMW } opt_kind_t;
typedef enum { SCHED_CONSTANT = 0, SCHED_STEP, SCHED_COSINE } sched_kind_t;
typedef enum { LOSS_SOFTMAX = 0, LOSS_LOGISTIC, LOSS_MSE } loss_kind_t;

typedef struct {
    const char *device; /* "cpu" or "cuda" ("auto" resolved when the spec is read) */
    int tf32;           /* precision: tf32 (CUDA matrix products on TF32 tensor cores) */
    const char *data_path, *val_path; /* val_path may be NULL */
    int device_cache;                 /* training rows in GPU memory: 1 on, 0 off, -1 auto */
    double val_split;

    model_type_t model;
    int64_t hidden[TRAIN_MAX_LAYERS];
    int n_hidden;
    mo_act_t act;

    opt_kind_t opt;
    double lr, momentum, weight_decay, grad_clip, beta1, beta2, eps;
    int nesterov;

    sched_kind_t sched;
    int64_t warmup, step_every;
    double gamma, min_lr;

    int64_t epochs, batch, eval_every, ckpt_every, ckpt_keep, max_steps;
    uint64_t seed;
    uint64_t fusion_bytes;

    int es_enabled, es_mode_max;
    const char *es_metric;
    int64_t es_patience;
    double es_min_delta;

    mo_gate_t *gates;
    size_t n_gates;

    /* From the dataset, read at validation time. */
    mo_ds_task_t task;
    int32_t n_classes;
    int64_t n_features;
    char *spec_text;  /* the resolved spec, secrets as references */
    const char *name; /* filled by run() from ctx */
} train_spec_t;

/* ---- spec.c ---- */
int train_spec_parse(train_spec_t **out, mo_cfg_node_t *spec, mo_error_t *err);
void train_spec_free(train_spec_t *s);
/* Metric names this spec produces (train and val_), NULL-terminated, static storage. */
const char *const *train_metric_names(mo_ds_task_t task, int32_t n_classes, int has_val);

/* ---- model.c ---- */
typedef struct {
    int n_layers;
    int64_t in[TRAIN_MAX_LAYERS + 1], out[TRAIN_MAX_LAYERS + 1];
    size_t w_off[TRAIN_MAX_LAYERS + 1], b_off[TRAIN_MAX_LAYERS + 1];
    size_t n_params;
    mo_act_t act;
    loss_kind_t loss;
    int64_t n_out;
} model_t;

int model_build(model_t *m, const train_spec_t *s, mo_error_t *err);
/* Deterministic initialisation: parameter j depends only on (seed, j). */
void model_init(const model_t *m, float *params, uint64_t seed);

/* Scratch for forward/backward over at most max_rows rows. */
typedef struct {
    const mo_kern_backend_t *be;
    int64_t max_rows;
    float *act[TRAIN_MAX_LAYERS + 1]; /* act[l]: output of layer l, [rows, out[l]] */
    float *delta[2];                  /* ping-pong gradients w.r.t. layer outputs */
    float *probs;                     /* [rows, n_out] probabilities (classification) */
} model_work_t;

int model_work_create(model_work_t *w, const mo_kern_backend_t *be, const model_t *m,
                      int64_t max_rows, mo_error_t *err);
void model_work_free(model_work_t *w);
/* Forward over X [rows, in[0]]; logits end in w->act[n_layers - 1]. */
void model_forward(const model_t *m, model_work_t *w, const float *params, const float *X,
                   int64_t rows);
/* Loss over the logits (sum over rows), its gradient into w->delta, probs into w->probs;
 * scale multiplies the gradient. yc/yv per task. */
double model_loss(const model_t *m, model_work_t *w, const int32_t *yc, const float *yv,
                  int64_t rows, float scale);
/* Called by model_backward as soon as a layer's gradients (W and b, one contiguous block
 * grads[off, off + n)) are queued, last layer first: a device run starts their allreduce. */
typedef int (*model_grad_ready_fn)(void *ud, size_t off, size_t n, mo_error_t *err);
/* Backward from the loss gradient; writes every parameter's gradient into grads (flat).
 * ready may be NULL. */
int model_backward(const model_t *m, model_work_t *w, const float *params, const float *X,
                   int64_t rows, float *grads, model_grad_ready_fn ready, void *ud,
                   mo_error_t *err);
/* The outputs of the last forward as host memory: probabilities (classification) or the
 * predictions (regression), [rows, n_out]. A device backend copies them into host (room for
 * rows * n_out floats); the CPU backend returns its own buffer. */
const float *model_outputs(const model_t *m, const model_work_t *w, int64_t rows, float *host);
/* Where those outputs are in the backend's memory. */
const float *model_output_buffer(const model_t *m, const model_work_t *w);
/* Predicted class per row (argmax of probs, or prob > 0.5 for logistic) and, for binary
 * tasks, the positive-class score. score may be NULL. probs from model_outputs. */
void model_predict(const model_t *m, const float *probs, int64_t rows, int32_t *pred, float *score);

/* ---- data.c ---- */
typedef struct {
    int64_t n_features;
    mo_ds_task_t task;
    int32_t n_classes;
    /* All rows of the training file (and of the validation file, when given), on every rank. */
    float *X, *vX;
    int32_t *yc, *vyc;
    float *yv, *vyv;
    int64_t *train_idx, *val_idx; /* row ids into X (or vX when val_from_file) */
    int64_t n_train, n_val;
    int val_from_file;
    char sha256[65];
} train_data_t;

int train_data_load(train_data_t *d, const train_spec_t *s, mo_comm_t *comm, mo_error_t *err);
void train_data_free(train_data_t *d);
/* The shuffled order of training rows for `epoch` (same on every rank, for any rank count). */
void train_data_epoch_order(const train_data_t *d, uint64_t seed, int64_t epoch, int64_t *order);

/* ---- eval.c ---- */
typedef struct {
    mo_metric_acc_t *acc;
    float *scores;   /* binary tasks: positive-class scores of rows seen, for AUC */
    int32_t *labels; /* their labels */
    int64_t n_scores, cap_scores;
    int binary;
} eval_acc_t;

int eval_acc_create(eval_acc_t *e, const train_data_t *d, int64_t max_rows, mo_error_t *err);
void eval_acc_free(eval_acc_t *e);
void eval_acc_reset(eval_acc_t *e);
/* Add the rows just forwarded (preds from model_predict, loss sum from model_loss). */
int eval_acc_add(eval_acc_t *e, const int32_t *pred, const float *score, const int32_t *yc,
                 const float *yv_pred, const float *yv, int64_t rows, double loss_sum,
                 mo_error_t *err);
/* Append binary (score, label) pairs without touching the counts (restoring a checkpoint). */
int eval_acc_push_scores(eval_acc_t *e, const float *score, const int32_t *labels, int64_t n,
                         mo_error_t *err);
/* Reduce across ranks and finish: metrics named with `prefix` ("" or "val_") into names and
 * values (at most MO_METRIC_MAX + 1). Returns the count or a negative error. */
int eval_acc_finish(eval_acc_t *e, mo_comm_t *comm, const char *prefix, char names[][32],
                    double *values, mo_error_t *err);
/* Forward the validation rows of this rank (sharded), accumulate, reduce. */
int eval_validation(const model_t *m, model_work_t *w, const float *params, const train_data_t *d,
                    eval_acc_t *e, mo_comm_t *comm, char names[][32], double *values,
                    mo_error_t *err);

/* ---- trainer state (trainer.c, state.c) ---- */
typedef struct {
    train_spec_t *spec;
    mo_comm_t *comm;
    const mo_kern_backend_t *be;
    model_t model;
    model_work_t work;
    train_data_t data;
    const char *output_dir;
    mo_plugins_t *plugins; /* run events (may be NULL) */

    /* In the backend's memory. On the CPU grads has n_params + 2 slots (loss, stop ride in
     * the one allreduce); on a device n_params (loss and stop go by MPI beside NCCL). */
    float *params, *grads, *opt_m, *opt_v;
    /* Host views for checkpoints and run.h5: the same pointers on the CPU, mirrors filled by
     * device_pull on a device. */
    float *params_host, *m_host, *v_host;
    int dev; /* the backend has its own memory (CUDA) */
    struct {
        /* [labels (4 bytes a row) | rows | row ids (8 bytes a row)], page-locked on the host */
        void *host[2], *dev[2];
        int64_t key[2]; /* epoch * steps_per_epoch + epoch_step staged, or -1 */
        size_t label_bytes, ids_offset;
        /* The device cache: every row of the training file and its labels in device memory;
         * a step then sends only its row ids and gathers on the device. NULL: not cached. */
        float *X;
        void *y;
    } stage;
    float *out_host; /* model outputs copied back for metrics */
    struct mo_devcomm *dc;
    char device_desc[160], allreduce_desc[192], cache_desc[64];
    float last_loss;                 /* mean loss of the last step's global batch */
    int64_t step, epoch, epoch_step; /* steps done in all, epoch index, steps in epoch */
    int64_t steps_per_epoch, total_steps;
    double best;
    int64_t bad_evals;
    int stopped_early;
    int pruned;                  /* stopped by the parent's epoch hook (a sweep) */
    const mo_job_hooks_t *hooks; /* the parent's, or NULL */

    mo_history_t history;
    eval_acc_t train_acc, val_acc;
    char final_names[2 * (MO_METRIC_MAX + 1)][32];
    double final_values[2 * (MO_METRIC_MAX + 1)];
    int n_final;

    int64_t *order;
    float *bx, *byv, *score;
    int32_t *byc, *pred;

    double t_start, t_allreduce, t_steps; /* seconds */
    int64_t start_ns;
    char *hosts; /* comma-separated hostnames of the ranks */
    /* What a checkpoint must match to be resumed: model, optimiser, batch, seed, data shape. */
    char fingerprint[512];
} trainer_t;

/* ---- device.c: the path of a backend with its own memory ---- */
/* Bind the device, allocate parameters, gradients, moments, batch slots and the allreduce. */
int device_setup(trainer_t *t, int64_t per_rank, mo_error_t *err);
void device_free(trainer_t *t);
/* This rank's forward and backward for the step at epoch position pos; starts the gradient
 * allreduce layer by layer. */
int device_step(trainer_t *t, int64_t pos, int64_t batch, double *loss_sum, mo_error_t *err);
/* Sum ls (loss, stop flag) over ranks by MPI and finish the gradient allreduce. */
int device_reduce(trainer_t *t, float ls[2], mo_error_t *err);
/* Parameters and moments: device -> host views (before a checkpoint or run.h5), and back
 * (after a resume). No-ops on the CPU. */
int device_pull(trainer_t *t, mo_error_t *err);
int device_push(trainer_t *t, mo_error_t *err);

/* ---- state.c ---- */
/* Save a checkpoint of `t` (collective: gathers rank-local metric state to rank 0). */
int state_save(trainer_t *t, mo_error_t *err);
/* Restore from the newest checkpoint in the output folder (collective). MO_ENOTFOUND when
 * there is none; MO_EINVAL when it does not fit the spec (features, model size). */
int state_resume(trainer_t *t, mo_error_t *err);
/* Write run.h5 (rank 0 only; call on every rank, others return 0). */
int state_write_run(trainer_t *t, const char *status, mo_error_t *err);

#endif
