/* spec.c - the keys of `kind: train`, checked at validation time
 *
 * The dataset is opened (metadata only) while the spec is read, so that a missing file, a
 * regression target under a classification model, or validation labels outside the
 * training classes are bad input reported by `maestro validate`, before a run writes
 * anything.
 */
#include "jobs/train/train_impl.h"

#include "core/alloc.h"
#include "core/str.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const model_names[] = {"mlp", "logreg", "softmax", "linreg", NULL};
static const char *const act_names[] = {"relu", "tanh", "sigmoid", NULL};
static const char *const opt_names[] = {"sgd", "adam", "adamw", NULL};
static const char *const sched_names[] = {"constant", "step", "cosine", NULL};
static const char *const mode_names[] = {"min", "max", NULL};
static const char *const device_names[] = {"cpu", "cuda", "auto", NULL};
static const char *const precision_names[] = {"fp32", "tf32", NULL};

static int read_data(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_cfg_node_t *data = NULL;
    int rc = mo_cfg_get_map(spec, "data", MO_CFG_REQUIRED, &data, err);
    if (!rc)
        rc = mo_cfg_get_string(data, "path", MO_CFG_REQUIRED, &s->data_path, err);
    if (!rc)
        rc = mo_cfg_get_string(data, "validation_path", 0, &s->val_path, err);
    s->val_split = s->val_path ? 0.0 : 0.1;
    if (!rc)
        rc = mo_cfg_get_double(data, "validation_split", MO_CFG_HI_OPEN, 0, 1, &s->val_split, err);
    if (!rc && s->val_path && s->val_split > 0 && mo_cfg_child(data, "validation_split"))
        rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(data, "validation_split"),
                           "data: give validation_path or validation_split, not both");
    static const char *const cache_names[] = {"auto", "on", "off", NULL};
    int cache = 0;
    if (!rc)
        rc = mo_cfg_get_enum(data, "device_cache", 0, cache_names, &cache, err);
    s->device_cache = cache == 0 ? -1 : cache == 1;
    return rc;
}

static int read_model(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_cfg_node_t *model = NULL, *hidden = NULL;
    int type = MODEL_MLP, act = 0;
    int rc = mo_cfg_get_map(spec, "model", MO_CFG_REQUIRED, &model, err);
    if (!rc)
        rc = mo_cfg_get_enum(model, "type", MO_CFG_REQUIRED, model_names, &type, err);
    if (!rc)
        rc = mo_cfg_get_list(model, "hidden", 0, &hidden, err);
    if (!rc)
        rc = mo_cfg_get_enum(model, "activation", 0, act_names, &act, err);
    if (rc)
        return rc;
    s->model = (model_type_t)type;
    s->act = (mo_act_t)(MO_ACT_RELU + act);
    if (s->model == MODEL_MLP && !hidden)
        return mo_cfg_errorf(err, MO_EINVAL, model,
                             "model.hidden is required for an mlp, e.g. hidden: [256, 256]");
    if (s->model != MODEL_MLP && mo_cfg_child(model, "activation"))
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(model, "activation"),
                             "model.activation applies to type mlp only (%s is linear)",
                             model_names[type]);
    if (s->model != MODEL_MLP && hidden)
        return mo_cfg_errorf(err, MO_EINVAL, hidden,
                             "model.hidden applies to type mlp only (%s has no hidden layers)",
                             model_names[type]);
    size_t n = hidden ? mo_cfg_len(hidden) : 0;
    if (hidden && (n == 0 || n > TRAIN_MAX_LAYERS - 1))
        return mo_cfg_errorf(err, MO_EINVAL, hidden, "model.hidden must list 1 to %d layer sizes",
                             TRAIN_MAX_LAYERS - 1);
    for (size_t i = 0; i < n; i++) {
        rc = mo_cfg_as_int(mo_cfg_at(hidden, i), 0, 1, 1 << 20, &s->hidden[i], err);
        if (rc)
            return rc;
    }
    s->n_hidden = (int)n;
    return 0;
}

static int read_optimizer(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_cfg_node_t *o = NULL, *betas = NULL;
    int opt = OPT_SGD;
    int rc = mo_cfg_get_map(spec, "optimizer", MO_CFG_REQUIRED, &o, err);
    if (!rc)
        rc = mo_cfg_get_enum(o, "name", MO_CFG_REQUIRED, opt_names, &opt, err);
    if (rc)
        return rc;
    s->opt = (opt_kind_t)opt;
    s->lr = opt == OPT_SGD ? 0.01 : 0.001;
    s->weight_decay = opt == OPT_ADAMW ? 0.01 : 0.0;
    s->beta1 = 0.9;
    s->beta2 = 0.999;
    s->eps = 1e-8;
    rc = mo_cfg_get_double(o, "lr", MO_CFG_LO_OPEN, 0, 10, &s->lr, err);
    if (!rc)
        rc = mo_cfg_get_double(o, "weight_decay", 0, 0, 1, &s->weight_decay, err);
    if (!rc)
        rc = mo_cfg_get_double(o, "grad_clip", 0, 0, INFINITY, &s->grad_clip, err);
    if (!rc && s->opt == OPT_SGD) {
        rc = mo_cfg_get_double(o, "momentum", MO_CFG_HI_OPEN, 0, 1, &s->momentum, err);
        if (!rc)
            rc = mo_cfg_get_bool(o, "nesterov", 0, &s->nesterov, err);
        if (!rc && s->nesterov && s->momentum == 0)
            rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(o, "nesterov"),
                               "optimizer.nesterov needs momentum > 0");
    } else if (!rc) {
        rc = mo_cfg_get_list(o, "betas", 0, &betas, err);
        if (!rc && betas && mo_cfg_len(betas) != 2)
            rc = mo_cfg_errorf(err, MO_EINVAL, betas, "optimizer.betas must be [beta1, beta2]");
        if (!rc && betas)
            rc = mo_cfg_as_double(mo_cfg_at(betas, 0), MO_CFG_HI_OPEN, 0, 1, &s->beta1, err);
        if (!rc && betas)
            rc = mo_cfg_as_double(mo_cfg_at(betas, 1), MO_CFG_HI_OPEN, 0, 1, &s->beta2, err);
        if (!rc)
            rc = mo_cfg_get_double(o, "eps", MO_CFG_LO_OPEN, 0, 1, &s->eps, err);
    }
    return rc;
}

static int read_schedule(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_cfg_node_t *m = NULL;
    int kind = SCHED_CONSTANT;
    s->gamma = 0.1;
    int rc = mo_cfg_get_map(spec, "schedule", 0, &m, err);
    if (!rc)
        rc = mo_cfg_get_enum(m, "name", m ? MO_CFG_REQUIRED : 0, sched_names, &kind, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "warmup_steps", 0, 0, INT64_MAX, &s->warmup, err);
    s->sched = (sched_kind_t)kind;
    if (!rc && kind == SCHED_STEP) {
        rc = mo_cfg_get_int(m, "every", MO_CFG_REQUIRED, 1, INT64_MAX, &s->step_every, err);
        if (!rc)
            rc = mo_cfg_get_double(m, "gamma", MO_CFG_LO_OPEN, 0, 1, &s->gamma, err);
    }
    if (!rc && kind == SCHED_COSINE)
        rc = mo_cfg_get_double(m, "min_lr", 0, 0, 10, &s->min_lr, err);
    if (!rc && s->min_lr > s->lr)
        rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(m, "min_lr"),
                           "schedule.min_lr %g is above optimizer.lr %g", s->min_lr, s->lr);
    return rc;
}

static int read_training(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_cfg_node_t *t = NULL, *es = NULL;
    int64_t seed = 42;
    int mode = 0;
    s->epochs = 1;
    s->batch = 256;
    s->ckpt_every = 500;
    s->ckpt_keep = 2;
    s->fusion_bytes = 64ull << 20;
    int rc = mo_cfg_get_map(spec, "training", 0, &t, err);
    if (!rc)
        rc = mo_cfg_get_int(t, "epochs", 0, 1, 1000000, &s->epochs, err);
    if (!rc)
        rc = mo_cfg_get_int(t, "batch_size", 0, 1, 1 << 24, &s->batch, err);
    if (!rc)
        rc = mo_cfg_get_int(t, "seed", 0, 0, INT64_MAX, &seed, err);
    if (!rc)
        rc = mo_cfg_get_int(t, "eval_every", 0, 0, INT64_MAX, &s->eval_every, err);
    if (!rc)
        rc = mo_cfg_get_int(t, "checkpoint_every", 0, 0, INT64_MAX, &s->ckpt_every, err);
    if (!rc)
        rc = mo_cfg_get_int(t, "checkpoint_keep", 0, 1, 1000, &s->ckpt_keep, err);
    if (!rc)
        rc = mo_cfg_get_int(t, "max_steps", 0, 0, INT64_MAX, &s->max_steps, err);
    if (!rc)
        rc = mo_cfg_get_bytes(t, "fusion_threshold", 0, 1024, UINT64_MAX, &s->fusion_bytes, err);
    if (!rc)
        rc = mo_cfg_get_map(t, "early_stopping", 0, &es, err);
    s->seed = (uint64_t)seed;
    if (rc || !es)
        return rc;
    s->es_enabled = 1;
    s->es_metric = "val_loss";
    s->es_patience = 3;
    rc = mo_cfg_get_string(es, "metric", 0, &s->es_metric, err);
    /* Losses and errors improve downwards, scores upwards: the default follows the metric. */
    const char *base = mo_str_startswith(s->es_metric, "val_") ? s->es_metric + 4 : s->es_metric;
    static const char *const lower_better[] = {"loss", "log_loss", "mse", "mae", NULL};
    mode = 1;
    for (int i = 0; lower_better[i]; i++)
        if (!strcmp(base, lower_better[i]))
            mode = 0;
    if (!rc)
        rc = mo_cfg_get_enum(es, "mode", 0, mode_names, &mode, err);
    if (!rc)
        rc = mo_cfg_get_int(es, "patience", 0, 1, INT64_MAX, &s->es_patience, err);
    if (!rc)
        rc = mo_cfg_get_double(es, "min_delta", 0, 0, INFINITY, &s->es_min_delta, err);
    s->es_mode_max = mode;
    return rc;
}

/* Model type against the data's task: a mismatch is bad input, said at the model.type key. */
static int check_task(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_cfg_node_t *type = mo_cfg_lookup(spec, "model.type");
    int regression = s->task == MO_DS_REGRESSION;
    if (regression && (s->model == MODEL_LOGREG || s->model == MODEL_SOFTMAX))
        return mo_cfg_errorf(err, MO_EINVAL, type,
                             "model.type %s is a classification model but %s holds regression "
                             "targets (float32 /y); use linreg or mlp",
                             model_names[s->model], s->data_path);
    if (!regression && s->model == MODEL_LINREG)
        return mo_cfg_errorf(err, MO_EINVAL, type,
                             "model.type linreg is a regression model but %s holds class ids; "
                             "use logreg, softmax or mlp",
                             s->data_path);
    if (s->model == MODEL_LOGREG && s->n_classes != 2)
        return mo_cfg_errorf(err, MO_EINVAL, type,
                             "model.type logreg is binary but %s has %d classes; use softmax",
                             s->data_path, (int)s->n_classes);
    return 0;
}

static int open_info(mo_ds_info_t *info, const char *path, mo_cfg_node_t *node, mo_error_t *err)
{
    mo_ds_t *ds = NULL;
    int rc = mo_ds_open(&ds, path, MPI_COMM_NULL, err);
    if (rc) {
        char where[256];
        mo_error_prefix(err, "%s: %s", mo_cfg_where(node, where, sizeof where),
                        mo_cfg_path(node, (char[128]){0}, 128));
        return rc;
    }
    *info = *mo_ds_info(ds);
    info->feature_names = info->class_names = NULL; /* owned by ds */
    mo_ds_close(ds);
    return 0;
}

static int read_dataset_info(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_ds_info_t info, vinfo;
    int rc = open_info(&info, s->data_path, mo_cfg_lookup(spec, "data.path"), err);
    if (rc)
        return rc;
    s->task = info.task;
    s->n_classes = info.n_classes;
    s->n_features = info.n_features;
    if (s->val_path) {
        mo_cfg_node_t *vnode = mo_cfg_lookup(spec, "data.validation_path");
        rc = open_info(&vinfo, s->val_path, vnode, err);
        if (rc)
            return rc;
        if (vinfo.task != info.task || vinfo.n_features != info.n_features)
            return mo_cfg_errorf(err, MO_EINVAL, vnode,
                                 "data.validation_path: %s has %lld features (%s) but %s has "
                                 "%lld (%s)",
                                 s->val_path, (long long)vinfo.n_features,
                                 vinfo.task ? "regression" : "classification", s->data_path,
                                 (long long)info.n_features,
                                 info.task ? "regression" : "classification");
        if (vinfo.n_classes > info.n_classes)
            return mo_cfg_errorf(err, MO_EINVAL, vnode,
                                 "data.validation_path: %s has class ids up to %d but the model "
                                 "has %d classes (from %s)",
                                 s->val_path, (int)vinfo.n_classes - 1, (int)info.n_classes,
                                 s->data_path);
    }
    if (s->task == MO_DS_CLASSIFICATION && s->n_classes < 2)
        return mo_errorf(err, MO_EINVAL, "%s: a classification dataset needs at least 2 classes",
                         s->data_path);
    return check_task(s, spec, err);
}

static int read_gates_and_stopping(train_spec_t *s, mo_cfg_node_t *spec, mo_error_t *err)
{
    mo_cfg_node_t *gates = NULL;
    int has_val = s->val_path || s->val_split > 0;
    const char *const *known = train_metric_names(s->task, s->n_classes, has_val);
    int rc = mo_cfg_get_map(spec, "gates", 0, &gates, err);
    if (!rc)
        rc = mo_gates_parse(&s->gates, &s->n_gates, gates, known, err);
    if (rc || !s->es_enabled)
        return rc;
    for (size_t i = 0; known[i]; i++)
        if (!strcmp(known[i], s->es_metric))
            return 0;
    return mo_cfg_errorf(err, MO_EINVAL,
                         mo_cfg_lookup(spec, "training.early_stopping.metric")
                             ? mo_cfg_lookup(spec, "training.early_stopping.metric")
                             : mo_cfg_lookup(spec, "training.early_stopping"),
                         "training.early_stopping.metric: this run produces no metric '%s'%s",
                         s->es_metric,
                         has_val ? ""
                                 : " (no validation data: set "
                                   "data.validation_split)");
}

int train_spec_parse(train_spec_t **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    *out = NULL;
    train_spec_t *s = mo_calloc(1, sizeof *s);
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int device = 0;
    const mo_kern_backend_t *be;
    int rc = mo_cfg_get_enum(spec, "device", 0, device_names, &device, err);
    s->device = device_names[device];
    mo_error_t why = {0};
    if (!rc && (rc = mo_kern_backend_get(&be, s->device, &why)))
        rc = mo_cfg_errorf(err, rc, mo_cfg_child(spec, "device"), "%s", why.msg);
    if (!rc)
        s->device = be->name; /* auto resolved: every rank of a node sees the same devices */
    int precision = 0;
    if (!rc)
        rc = mo_cfg_get_enum(spec, "precision", 0, precision_names, &precision, err);
    s->tf32 = precision == 1;
    if (!rc && s->tf32 && device == 0) /* auto on a CPU-only machine keeps fp32, exact */
        rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(spec, "precision"),
                           "precision tf32 needs device: cuda (the CPU computes in fp32)");
    if (!rc)
        rc = read_data(s, spec, err);
    if (!rc)
        rc = read_model(s, spec, err);
    if (!rc)
        rc = read_optimizer(s, spec, err);
    if (!rc)
        rc = read_schedule(s, spec, err);
    if (!rc)
        rc = read_training(s, spec, err);
    if (!rc)
        rc = read_dataset_info(s, spec, err);
    if (!rc)
        rc = read_gates_and_stopping(s, spec, err);
    if (!rc && !(s->spec_text = mo_cfg_dump_yaml(spec)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    if (rc) {
        train_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void train_spec_free(train_spec_t *s)
{
    if (!s)
        return;
    free(s->gates);
    free(s->spec_text);
    free(s);
}

const char *const *train_metric_names(mo_ds_task_t task, int32_t n_classes, int has_val)
{
    static const char *const cls[] = {"loss",         "accuracy",      "precision",  "recall",
                                      "f1",           "log_loss",      "auc",        "val_loss",
                                      "val_accuracy", "val_precision", "val_recall", "val_f1",
                                      "val_log_loss", "val_auc",       NULL};
    static const char *const cls_train_only[] = {"loss", "accuracy", "precision", "recall",
                                                 "f1",   "log_loss", "auc",       NULL};
    static const char *const multi[] = {
        "loss",     "accuracy",     "precision",     "recall",     "f1",     "log_loss",
        "val_loss", "val_accuracy", "val_precision", "val_recall", "val_f1", "val_log_loss",
        NULL};
    static const char *const multi_train_only[] = {"loss", "accuracy", "precision", "recall",
                                                   "f1",   "log_loss", NULL};
    static const char *const reg[] = {"loss",    "mse",     "mae",    "r2", "val_loss",
                                      "val_mse", "val_mae", "val_r2", NULL};
    static const char *const reg_train_only[] = {"loss", "mse", "mae", "r2", NULL};
    if (task == MO_DS_REGRESSION)
        return has_val ? reg : reg_train_only;
    if (n_classes == 2)
        return has_val ? cls : cls_train_only;
    return has_val ? multi : multi_train_only;
}
