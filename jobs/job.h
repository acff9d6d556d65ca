/* job.h - the contract between the runner and a job kind
 *
 * Each folder under jobs/ exports one mo_job_kind_t. The runner (runner/kinds.c, the only file
 * that names every kind) finds a kind by the spec's `kind:`, lets it read its part of the spec,
 * and calls `run` with a context of services. Kinds never include each other: a composite kind
 * (sweep, pipeline) runs another spec through ctx->run_spec.
 *
 * parse() reads the keys it knows from the spec's root map with the io/config.h getters (which
 * marks them known, so misspelt keys are reported with a suggestion afterwards). It must not
 * touch the file system beyond reading: `maestro validate` calls it too, and validation never
 * writes anything.
 */
#ifndef MO_JOBS_JOB_H
#define MO_JOBS_JOB_H

#include "comm/comm.h"
#include "core/status.h"
#include "io/config.h"
#include "plugins/host.h"

typedef struct mo_job_ctx mo_job_ctx_t;

/* Hooks a parent (a sweep) sets on a child run; the child kind calls those it supports. */
typedef struct {
    /* After the evaluation at the end of each epoch (epoch counts from 1), on every rank of
     * the child's comm, with the reduced metrics (the same on every rank). Collective over that
     * comm: returns 1 on every rank to stop the run now (a pruned trial), 0 to go on, or a
     * negative code. */
    int (*epoch_end)(void *ud, int64_t epoch, const char (*names)[32], const double *values, int n,
                     mo_error_t *err);
    /* After every training step on every rank; must be cheap (the sweep controller's message
     * service runs here on world rank 0). May be NULL. */
    void (*step)(void *ud);
    void *ud;
} mo_job_hooks_t;

/* A spec file to run as a child, with overrides applied like --set. */
typedef struct {
    const char *path;
    const char *const *sets; /* "a.b=value", in order */
    size_t n_sets;
} mo_job_child_spec_t;

struct mo_job_ctx {
    mo_comm_t *comm;        /* the ranks of this run (a trial group for sweeps) */
    const char *spec_path;  /* as given on the command line */
    const char *run_name;   /* the spec's name: (or its file name) */
    mo_cfg_node_t *spec;    /* the whole spec after --set, for kinds that pass parts on */
    const char *output_dir; /* --output, else the spec's output:, else runs/<name> */
    int resume;             /* --resume was given */
    void *runner;           /* the runner's own state; kinds do not look inside */
    mo_plugins_t *plugins;  /* events go here (NULL: no plugins); every rank has one */
    /* Filled by the kind for the run's end report (plugins: MLflow, Pushgateway). */
    char final_names[32][32];
    double final_values[32];
    int n_final;
    int gates_passed; /* 1 when every gate passed or there were none */
    int pruned;       /* set by the kind when hooks->epoch_end stopped it */
    /* child_end: register <output_dir>/run.h5 under this model (and alias) through the
     * plugins, as a run's `registry:` does; NULL: no registration. */
    const char *registry_model, *registry_alias;
    /* run_spec with output_dir NULL: the output the child spec names (its `output:`, else
     * runs/<name>), created as a top-level run creates it, is copied here and used. */
    char output_buf[4096];
    const mo_job_hooks_t *hooks; /* NULL unless a parent set them */

    /* Services of the runner for composite kinds (NULL where not available).
     *
     * check_spec: load and check `child` exactly as `maestro validate` would (kind, keys,
     * values, the kind's own rules) without running it or writing anything. Any rank.
     *
     * run_spec: load `child` and run it on child->comm (every rank of that comm calls), with
     * child->output_dir, run_name, resume and hooks as the caller set them; the kind fills
     * child's final metrics, gates_passed and pruned. Returns the kind's code.
     *
     * child_begin / child_end: a nested run for plugins (MLflow child run, its own metrics
     * group) on child->comm, collective over it: begin sends run_start with this run as the
     * parent and sets child->plugins; end hands <output_dir>/run.h5 over as an artifact and
     * sends run_end with the status `rc` means and child's final metrics. */
    int (*check_spec)(mo_job_ctx_t *ctx, const mo_job_child_spec_t *child, mo_error_t *err);
    int (*run_spec)(mo_job_ctx_t *ctx, const mo_job_child_spec_t *spec, mo_job_ctx_t *child,
                    mo_error_t *err);
    int (*child_begin)(mo_job_ctx_t *ctx, mo_job_ctx_t *child, const char *kind,
                       const maestro_kv_t *params, size_t n_params, void **handle, mo_error_t *err);
    void (*child_end)(mo_job_ctx_t *ctx, mo_job_ctx_t *child, void *handle, int rc);
};

typedef struct {
    const char *name;    /* the value of `kind:` */
    const char *summary; /* one line for `maestro run --help` */
    /* Read and check this kind's keys of `spec` (the root map); *out is owned by the caller
     * and released with destroy. */
    int (*parse)(void **out, mo_cfg_node_t *spec, mo_error_t *err);
    /* Run on every rank of ctx->comm; returns 0, MO_EGATE, MO_ESTOPPED or a failure code. */
    int (*run)(void *job, mo_job_ctx_t *ctx, mo_error_t *err);
    void (*destroy)(void *job);
    /* Composite kinds: check the specs this job will run (their files, overrides, the child
     * kind's rules) with `check`, at load time, so `maestro validate` and a run's start catch
     * a bad child before anything runs. May be NULL. */
    int (*check_children)(void *job,
                          int (*check)(void *ud, const mo_job_child_spec_t *child, mo_error_t *err),
                          void *ud, mo_error_t *err);
    /* 1: the spec's `output:` is a file the job writes (a dataset), not a run folder: the
     * runner creates its parent folder and keeps no spec copy next to it. */
    int output_is_file;
} mo_job_kind_t;

#endif
