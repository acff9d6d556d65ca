/* sweep_impl.h - what the files of `kind: sweep` share
 *
 *   sweep_spec.c   the spec's sweep keys -> sweep_spec_t (checked at validation time)
 *   controller.c   world rank 0: suggests, journals, decides (prune/promote), counts, stops
 *   worker.c       every rank: the group loop (ask, run the trial, report, tell)
 *   sweep.c        the kind: groups, resume, the end (best model, plugins), the run's result
 *
 * The controller and a group leader talk through small messages (comm/ send_msg/recv_msg),
 * except the leader of group 0 when it is the controller's own rank: it calls the controller
 * directly (sweep_link_t hides which). The controller serves messages whenever its own rank
 * is not busy elsewhere: between its group's trials, at every training step of its trial
 * (the step hook), and while an external command runs.
 */
#ifndef MO_JOBS_SWEEP_IMPL_H
#define MO_JOBS_SWEEP_IMPL_H

#include "io/sweep_journal.h"
#include "jobs/job.h"
#include "jobs/sweep/objectives.h"
#include "jobs/sweep/pruner.h"
#include "jobs/sweep/sampler.h"
#include "jobs/sweep/space.h"

#include <stdint.h>

typedef enum { TRIAL_TEMPLATE = 0, TRIAL_COMMAND, TRIAL_OBJECTIVE } trial_kind_t;
typedef enum { STRATEGY_LATEST = 0, STRATEGY_MIN, STRATEGY_MAX } strategy_t;

typedef struct {
    /* objective */
    const char *metric;
    int maximize;
    int has_target;
    double target;
    strategy_t strategy;
    /* algorithm */
    const char *algorithm;
    mo_sampler_opts_t sampler;
    /* search space */
    mo_space_t *space;
    int64_t max_trials;
    int64_t parallel_trials;
    int64_t max_failed_trials;
    int median; /* early_stopping: {name: median} */
    mo_pruner_opts_t pruner;
    /* trial */
    trial_kind_t trial_kind;
    const char *template_path;
    char **command; /* argv template, NULL-terminated */
    size_t command_len;
    double timeout_s;
    const mo_objective_t *objective;
    const char *epochs_param; /* hyperband: the template key that holds the epochs */
    char *spec_text;          /* the resolved sweep spec, for the journal */
} sweep_spec_t;

int sweep_spec_parse(sweep_spec_t **out, mo_cfg_node_t *root, mo_error_t *err);
void sweep_spec_free(sweep_spec_t *s);
/* The --set assignments that turn the template into trial `x`'s spec ("optimizer.lr=0.01",
 * plus "training.epochs=<max_resource>" for hyperband). *sets is a malloc'd array of malloc'd
 * strings (sweep_sets_free). */
int sweep_trial_sets(char ***sets, size_t *n, const sweep_spec_t *s, const double *x,
                     mo_error_t *err);
void sweep_sets_free(char **sets, size_t n);
/* Parameter texts of x: texts[i] into buf rows of 256 bytes (dim rows). */
void sweep_param_texts(const sweep_spec_t *s, const double *x, char (*texts)[256]);

/* ---- messages ---------------------------------------------------------------------------- */
enum { TAG_ASK = 1, TAG_TRIAL, TAG_REPORT, TAG_DECISION, TAG_RESULT };

#define SWEEP_MAX_DIM 64

typedef struct {
    int64_t number; /* -1: no more trials for this group */
    double start_time;
    double x[SWEEP_MAX_DIM];
} trial_msg_t;

typedef struct {
    int64_t number, step;
    double value;
} report_msg_t;

typedef enum { RESULT_DONE = 0, RESULT_FAILED, RESULT_STOPPED, RESULT_BAD_METRIC } result_kind_t;

typedef struct {
    int64_t number;
    int32_t status; /* MO_SJ_COMPLETED, PRUNED, FAILED (meaningful for RESULT_DONE/FAILED) */
    int32_t kind;   /* result_kind_t */
    double objective, duration;
    char error[512];
} result_msg_t;

/* ---- controller (world rank 0 only) ------------------------------------------------------ */
typedef struct sweep_ctrl sweep_ctrl_t;

typedef struct {
    int code;        /* 0, or the sweep's failure (MO_ERUNTIME, MO_ESTOPPED, MO_EINVAL) */
    char error[600]; /* the message that goes with it */
    int64_t completed, pruned, failed, started;
} sweep_outcome_t;

int ctrl_create(sweep_ctrl_t **out, const sweep_spec_t *s, mo_job_ctx_t *ctx, int n_groups,
                mo_error_t *err);
void ctrl_destroy(sweep_ctrl_t *c);
/* Load <output>/sweep.h5 and replay it (resume), or refuse a journal left by an earlier run
 * when not resuming. Writes the journal once. */
int ctrl_start(sweep_ctrl_t *c, int resume, mo_error_t *err);
/* Direct calls for the controller's own group, and the same handling for messages. */
void ctrl_ask(sweep_ctrl_t *c, int group, trial_msg_t *out);
int ctrl_report(sweep_ctrl_t *c, const report_msg_t *r); /* the mo_decision_t */
void ctrl_result(sweep_ctrl_t *c, const result_msg_t *r);
/* Handle every waiting message; with `block`, wait for at least one. */
int ctrl_serve(sweep_ctrl_t *c, int block, mo_error_t *err);
/* Groups that were told there is nothing more, and how many there are. */
int ctrl_groups_done(const sweep_ctrl_t *c);
/* The end: final journal status, the outcome, the best trial (index into the journal, -1). */
void ctrl_finish(sweep_ctrl_t *c, sweep_outcome_t *out);
const mo_sweep_journal_t *ctrl_journal(const sweep_ctrl_t *c);
/* Raised by the sweep's signal handler: no new trials. */
void ctrl_note_signal(sweep_ctrl_t *c);

/* ---- worker (every rank) ----------------------------------------------------------------- */
typedef struct {
    const sweep_spec_t *spec;
    mo_job_ctx_t *ctx; /* the sweep's */
    mo_comm_t *group;  /* this rank's trial group */
    int group_index;
    sweep_ctrl_t *ctrl;   /* non-NULL on the controller's rank */
    volatile int *signal; /* the sweep's stop flag */
} sweep_worker_t;

/* Take trials until the controller says there are no more. Returns 0 or a failure of Maestro
 * itself (MPI, memory); trial outcomes go to the controller. */
int worker_run(sweep_worker_t *w, mo_error_t *err);

#endif
