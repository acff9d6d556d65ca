/* run_file.h - run.h5: what a run leaves behind (docs/formats.md "Run")
 *
 *   root attributes  kind = "run", format_version, name, job_kind, status
 *                    (ok | gate_failed | failed | preempted | pruned: a sweep stopped it)
 *   /spec            the resolved spec text (secrets as their ${secret:...} references)
 *   /model           group: attributes describe the architecture (type, task, activation,
 *                    n_features, n_outputs, hidden[]); layer_<i>/W [in, out] and layer_<i>/b
 *   /history         step int64[n], epoch int64[n], name_id int32[n], value float64[n];
 *                    attribute names (string[]) maps name_id to a metric name
 *   /final_metrics   group whose float64 attributes are the final metrics (val_accuracy, ...)
 *   /provenance      group of string attributes (maestro_version, git_commit, ranks, hosts,
 *                    start_time, end_time, dataset_path, dataset_sha256, mpi, blas, ...)
 *
 * Written atomically by rank 0 at the end of a run (also when it fails or is preempted, so a
 * failed run still says why). `maestro inspect run.h5 --json` shows kind, status,
 * final_metrics, history_length, provenance and the model summary.
 */
#ifndef MO_IO_RUN_FILE_H
#define MO_IO_RUN_FILE_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#define MO_RUN_FORMAT_VERSION 1

/* A metric history: rows of (step, epoch, metric, value). Growable; zero-initialise. */
typedef struct {
    int64_t n, cap;
    int64_t *step, *epoch;
    int32_t *name_id;
    double *value;
    char **names; /* name_id -> name */
    int32_t n_names;
} mo_history_t;

int mo_history_add(mo_history_t *h, int64_t step, int64_t epoch, const char *name, double value);
void mo_history_free(mo_history_t *h);

typedef struct {
    const char *W_name; /* unused by the writer; for symmetry with readers */
    int64_t in, out;
    const float *W; /* [in, out] row-major */
    const float *b; /* [out] */
} mo_run_layer_t;

typedef struct {
    const char *type;       /* "mlp", "logreg", "softmax", "linreg" */
    const char *task;       /* "classification" | "regression" */
    const char *activation; /* "relu", ...; "none" for linear models */
    int64_t n_features, n_outputs;
    const int64_t *hidden;
    size_t n_hidden;
    const mo_run_layer_t *layers;
    size_t n_layers;
} mo_run_model_t;

typedef struct {
    const char *key, *value;
} mo_run_kv_t;

typedef struct {
    const char *name, *job_kind, *status;
    const char *spec_text;          /* may be NULL */
    const mo_run_model_t *model;    /* may be NULL (a run that failed before training) */
    const mo_history_t *history;    /* may be NULL */
    const char *const *final_names; /* n_final names and values */
    const double *final_values;
    size_t n_final;
    const mo_run_kv_t *provenance;
    size_t n_provenance;
} mo_run_record_t;

/* Write run.h5 at `path` atomically. */
int mo_run_file_write(const char *path, const mo_run_record_t *r, mo_error_t *err);

/* SHA-256 of a file's bytes as 64 hex digits into hex[65] (dataset provenance). */
int mo_file_sha256(char hex[65], const char *path, mo_error_t *err);
/* The same over the bytes from `offset` to the end. */
int mo_file_sha256_from(char hex[65], const char *path, int64_t offset, mo_error_t *err);

#endif
