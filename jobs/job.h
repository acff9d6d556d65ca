/* job.h - the contract between the runner and a job kind
 *
 * Each folder under jobs/ exports one mo_job_kind_t. The runner (runner/kinds.c, the only file
 * that names every kind) finds a kind by the spec's `kind:`, lets it read its part of the spec,
 * and calls `run` with a context of services. Kinds never include each other: a composite kind
 * (sweep, pipeline) runs another through ctx->run_child.
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

struct mo_job_ctx {
    mo_comm_t *comm;        /* the ranks of this run (a trial group for sweeps) */
    const char *spec_path;  /* as given on the command line */
    const char *run_name;   /* the spec's name: (or its file name) */
    mo_cfg_node_t *spec;    /* the whole spec after --set, for kinds that pass parts on */
    const char *output_dir; /* --output, else the spec's output:, else runs/<name> */
    int resume;             /* --resume was given */
    /* Run another kind with `spec` (a map in the same document) on ctx->comm. */
    int (*run_child)(mo_job_ctx_t *ctx, const char *kind, mo_cfg_node_t *spec, mo_error_t *err);
    void *runner;          /* the runner's own state; kinds do not look inside */
    mo_plugins_t *plugins; /* events go here (NULL: no plugins); every rank has one */
    /* Filled by the kind for the run's end report (plugins: MLflow, Pushgateway). */
    char final_names[32][32];
    double final_values[32];
    int n_final;
    int gates_passed; /* 1 when every gate passed or there were none */
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
} mo_job_kind_t;

#endif
