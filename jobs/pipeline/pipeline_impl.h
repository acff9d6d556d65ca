/* pipeline_impl.h - what the files of `kind: pipeline` share
 *
 *   spec.c      steps, needs, set, when, registry -> pipe_spec_t; the graph checks (cycles,
 *               unknown needs, unknown ${steps...} references) before anything runs
 *   pipeline.c  the kind: steps in dependency order on every rank, the journal, resume
 */
#ifndef MO_JOBS_PIPELINE_IMPL_H
#define MO_JOBS_PIPELINE_IMPL_H

#include "jobs/job.h"

#include <stddef.h>

#define PIPE_MAX_SETS 64

typedef struct {
    const char *name;
    const char *spec;           /* a spec file, or NULL for a registry step */
    const char *registry_model; /* registry steps: the model name */
    const char *registry_alias; /* may be NULL */
    size_t *needs;              /* indices of the steps it needs */
    size_t n_needs;
    const char *set_keys[PIPE_MAX_SETS]; /* `set:` overrides: key -> template value */
    const char *set_values[PIPE_MAX_SETS];
    size_t n_sets;
    const char *when; /* template; NULL: always */
    char where[128];  /* file:line:col of the step, for messages */
} pipe_step_t;

typedef struct {
    pipe_step_t *steps;
    size_t n_steps;
    size_t *order; /* a topological order, stable by declaration */
} pipe_spec_t;

int pipe_spec_parse(pipe_spec_t **out, mo_cfg_node_t *root, mo_error_t *err);
void pipe_spec_free(pipe_spec_t *s);

/* A step's state, kept in the journal. */
typedef enum {
    STEP_PENDING = 0,
    STEP_RUNNING,
    STEP_OK,
    STEP_GATE_FAILED,
    STEP_FAILED,
    STEP_SKIPPED, /* `when` was false */
    STEP_BLOCKED, /* a step it needs failed */
    STEP_STOPPED, /* a signal stopped it; --resume continues it from its checkpoint */
} step_state_t;

extern const char *const pipe_state_names[];

typedef struct {
    step_state_t state;
    char output[4096];
    int gates_passed;
    double seconds;
    char error[512];
} step_result_t;

/* ${steps.NAME.output|status|gates_passed} in `text` replaced from the results; MO_EINVAL for
 * a reference to an unknown step or field (names the reference). *out is malloc'd. */
int pipe_expand(char **out, const char *text, const pipe_spec_t *s, const step_result_t *r,
                mo_error_t *err);
/* Check every reference of a template without values (parse time). */
int pipe_check_refs(const char *text, const pipe_spec_t *s, size_t step, mo_error_t *err);

#endif
