/* pipeline.c - `kind: pipeline`: steps in dependency order inside one MPI job
 *
 * Every rank takes part in every step: a step is an ordinary spec run through the runner
 * (ctx->run_spec), with its `set:` overrides, into the output its spec names, reporting to the
 * pipeline's plugins. A registry step registers the model of the step it needs. The journal
 * <output>/pipeline.json (rank 0, atomic) records each step's state after every change, so
 * `--resume` skips finished steps and continues a stopped one from its checkpoint.
 *
 * A failed step blocks the steps that need it, directly or not; the others still run. A step
 * whose gates failed is finished (its dependents decide with `when`), but the pipeline then
 * exits 3, so a nightly job whose model did not pass is noticed.
 */
#include "jobs/pipeline/pipeline.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/atomic.h"
#include "jobs/pipeline/pipeline_impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(void **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    pipe_spec_t *s = NULL;
    int rc = pipe_spec_parse(&s, spec, err);
    *out = s;
    return rc;
}

static void destroy(void *job)
{
    pipe_spec_free(job);
}

/* Spec files must exist and be readable before anything runs; their own checks happen when
 * the step runs (a step may need files an earlier step makes). */
static int check_children(void *job,
                          int (*check)(void *, const mo_job_child_spec_t *, mo_error_t *), void *ud,
                          mo_error_t *err)
{
    const pipe_spec_t *s = job;
    (void)check;
    (void)ud;
    for (size_t i = 0; i < s->n_steps; i++)
        if (s->steps[i].spec && access(s->steps[i].spec, R_OK) != 0)
            return mo_errorf(err, MO_EINVAL, "%s: step '%s': cannot read spec %s",
                             s->steps[i].where, s->steps[i].name, s->steps[i].spec);
    return 0;
}

/* ---- the journal -------------------------------------------------------------------------- */

static int write_journal(const pipe_spec_t *s, const step_result_t *r, const char *path,
                         mo_error_t *err)
{
    json_t *o = json_object(), *steps = json_array();
    json_object_set_new(o, "kind", json_string("pipeline_journal"));
    json_object_set_new(o, "format_version", json_integer(1));
    for (size_t i = 0; i < s->n_steps; i++) {
        json_t *st = json_object();
        json_object_set_new(st, "name", json_string(s->steps[i].name));
        json_object_set_new(st, "state", json_string(pipe_state_names[r[i].state]));
        json_object_set_new(st, "output", json_string(r[i].output));
        json_object_set_new(st, "gates_passed", json_boolean(r[i].gates_passed));
        json_object_set_new(st, "seconds", json_real(r[i].seconds));
        if (r[i].error[0])
            json_object_set_new(st, "error", json_string(r[i].error));
        json_array_append_new(steps, st);
    }
    json_object_set_new(o, "steps", steps);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = mo_io_write_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

static int read_journal(const pipe_spec_t *s, step_result_t *r, const char *path, mo_error_t *err)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    json_t *steps = o ? json_object_get(o, "steps") : NULL;
    if (!json_is_array(steps) || json_array_size(steps) != s->n_steps) {
        json_decref(o);
        return mo_errorf(err, MO_EINVAL,
                         "--resume: %s is not the journal of this pipeline (its steps differ)",
                         path);
    }
    for (size_t i = 0; i < s->n_steps; i++) {
        json_t *st = json_array_get(steps, i);
        const char *name = json_string_value(json_object_get(st, "name"));
        const char *state = json_string_value(json_object_get(st, "state"));
        if (!name || strcmp(name, s->steps[i].name) || !state) {
            json_decref(o);
            return mo_errorf(err, MO_EINVAL,
                             "--resume: %s is not the journal of this pipeline (step %zu is '%s', "
                             "not '%s')",
                             path, i + 1, name ? name : "?", s->steps[i].name);
        }
        for (int k = 0; pipe_state_names[k]; k++)
            if (!strcmp(state, pipe_state_names[k]))
                r[i].state = (step_state_t)k;
        const char *out = json_string_value(json_object_get(st, "output"));
        mo_strlcpy(r[i].output, out ? out : "", sizeof r[i].output);
        r[i].gates_passed = json_is_true(json_object_get(st, "gates_passed"));
        r[i].seconds = json_real_value(json_object_get(st, "seconds"));
    }
    json_decref(o);
    return 0;
}

/* ---- one step ----------------------------------------------------------------------------- */

typedef struct {
    const pipe_spec_t *s;
    mo_job_ctx_t *ctx;
    step_result_t *r;
    char journal[4096];
    int resume;
} pipe_run_t;

static int truthy(const char *v)
{
    return !strcmp(v, "true") || !strcmp(v, "ok") || !strcmp(v, "1") || !strcmp(v, "yes");
}

static int run_spec_step(pipe_run_t *p, size_t i, int resume, mo_error_t *err)
{
    const pipe_step_t *st = &p->s->steps[i];
    char *sets[PIPE_MAX_SETS] = {0};
    int rc = 0;
    for (size_t k = 0; k < st->n_sets && !rc; k++) {
        char *v = NULL;
        rc = pipe_expand(&v, st->set_values[k], p->s, p->r, err);
        if (!rc) {
            mo_buf_t b = {0};
            mo_buf_printf(&b, "%s=%s", st->set_keys[k], v);
            sets[k] = mo_buf_steal(&b);
            rc = sets[k] ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
        }
        free(v);
    }
    mo_job_ctx_t child = {.comm = p->ctx->comm,
                          .run_name = st->name,
                          .output_dir = NULL,
                          .resume = resume,
                          .plugins = p->ctx->plugins,
                          .gates_passed = 1};
    mo_job_child_spec_t cs = {st->spec, (const char *const *)sets, st->n_sets};
    if (!rc)
        rc = p->ctx->run_spec(p->ctx, &cs, &child, err);
    for (size_t k = 0; k < st->n_sets; k++)
        free(sets[k]);
    if (child.output_dir)
        mo_strlcpy(p->r[i].output, child.output_dir, sizeof p->r[i].output);
    p->r[i].gates_passed = child.gates_passed;
    if (!rc || rc == MO_EGATE) {
        p->ctx->n_final = child.n_final;
        memcpy(p->ctx->final_names, child.final_names, sizeof child.final_names);
        memcpy(p->ctx->final_values, child.final_values, sizeof child.final_values);
    }
    return rc;
}

/* Register the model of the first needed step that has one. */
static int run_registry_step(pipe_run_t *p, size_t i, mo_error_t *err)
{
    const pipe_step_t *st = &p->s->steps[i];
    const char *from = NULL;
    for (size_t k = 0; k < st->n_needs && !from; k++) {
        char model[4200];
        snprintf(model, sizeof model, "%s/run.h5", p->r[st->needs[k]].output);
        if (access(model, R_OK) == 0)
            from = p->r[st->needs[k]].output;
    }
    if (!from)
        return mo_errorf(err, MO_EINVAL,
                         "%s: registry step '%s': no step it needs left a model "
                         "(run.h5)",
                         st->where, st->name);
    if (!p->ctx->plugins || !p->ctx->child_begin)
        return mo_errorf(err, MO_EINVAL,
                         "%s: registry step '%s' registers through the mlflow plugin: add "
                         "plugins: [mlflow] to the pipeline",
                         st->where, st->name);
    mo_strlcpy(p->r[i].output, from, sizeof p->r[i].output);
    mo_job_ctx_t child = {.comm = p->ctx->comm,
                          .run_name = st->name,
                          .output_dir = p->r[i].output,
                          .gates_passed = 1,
                          .registry_model = st->registry_model,
                          .registry_alias = st->registry_alias};
    void *handle = NULL;
    int rc = p->ctx->child_begin(p->ctx, &child, "registry", NULL, 0, &handle, err);
    if (!rc)
        p->ctx->child_end(p->ctx, &child, handle, 0);
    return rc;
}

static void set_state(pipe_run_t *p, size_t i, step_state_t state)
{
    p->r[i].state = state;
    mo_error_t e = {0};
    if (mo_comm_rank(p->ctx->comm) == 0 && write_journal(p->s, p->r, p->journal, &e))
        mo_log_warn("pipeline", "journal: %s", e.msg);
}

/* Run step i (every rank). Returns MO_ESTOPPED to stop the whole pipeline, else 0. */
static int step(pipe_run_t *p, size_t i)
{
    const pipe_step_t *st = &p->s->steps[i];
    step_result_t *r = &p->r[i];
    int rank0 = mo_comm_rank(p->ctx->comm) == 0;
    int resume = r->state == STEP_STOPPED || r->state == STEP_RUNNING;
    if (r->state == STEP_OK || r->state == STEP_GATE_FAILED || r->state == STEP_SKIPPED) {
        if (rank0)
            mo_log_info("pipeline", "step %s: %s earlier, kept", st->name,
                        pipe_state_names[r->state]);
        return 0;
    }
    r->error[0] = '\0';
    for (size_t k = 0; k < st->n_needs; k++) {
        step_state_t need = p->r[st->needs[k]].state;
        if (need == STEP_FAILED || need == STEP_BLOCKED || need == STEP_STOPPED) {
            snprintf(r->error, sizeof r->error, "step '%s' it needs %s",
                     p->s->steps[st->needs[k]].name, pipe_state_names[need]);
            set_state(p, i, STEP_BLOCKED);
            if (rank0)
                mo_log_warn("pipeline", "step %s: not run, %s", st->name, r->error);
            return 0;
        }
    }
    mo_error_t err = {0};
    if (st->when) {
        char *v = NULL;
        int rc = pipe_expand(&v, st->when, p->s, p->r, &err);
        int go = !rc && truthy(v);
        free(v);
        if (!go) {
            set_state(p, i, STEP_SKIPPED);
            if (rank0)
                mo_log_info("pipeline", "step %s: skipped (when: %s is not true)", st->name,
                            st->when);
            return 0;
        }
    }
    if (rank0)
        mo_log_info("pipeline", "step %s: %s %s", st->name, resume ? "resuming" : "running",
                    st->spec ? st->spec : "registration");
    set_state(p, i, STEP_RUNNING);
    double t0 = mo_time_mono();
    int rc =
        st->spec ? run_spec_step(p, i, resume && p->resume, &err) : run_registry_step(p, i, &err);
    rc = mo_comm_agree(p->ctx->comm, rc, &err);
    r->seconds += mo_time_mono() - t0;
    step_state_t state = rc == 0             ? STEP_OK
                         : rc == MO_EGATE    ? STEP_GATE_FAILED
                         : rc == MO_ESTOPPED ? STEP_STOPPED
                                             : STEP_FAILED;
    if (rc)
        mo_strlcpy(r->error, err.msg, sizeof r->error);
    set_state(p, i, state);
    if (rank0)
        mo_log_info("pipeline", "step %s: %s in %.1f s%s%s", st->name, pipe_state_names[state],
                    r->seconds, rc ? ": " : "", rc ? r->error : "");
    return state == STEP_STOPPED ? MO_ESTOPPED : 0;
}

static int outcome(const pipe_run_t *p, mo_error_t *err)
{
    const char *gate = NULL;
    for (size_t k = 0; k < p->s->n_steps; k++) {
        size_t i = p->s->order[k];
        if (p->r[i].state == STEP_FAILED)
            return mo_errorf(err, MO_ERUNTIME, "step '%s' failed: %s", p->s->steps[i].name,
                             p->r[i].error);
        if (p->r[i].state == STEP_STOPPED)
            return mo_errorf(err, MO_ESTOPPED,
                             "stopped by signal in step '%s'; continue with --resume",
                             p->s->steps[i].name);
        if (p->r[i].state == STEP_GATE_FAILED && !gate)
            gate = p->s->steps[i].name;
    }
    if (gate)
        return mo_errorf(err, MO_EGATE, "step '%s' did not pass its quality gates", gate);
    return 0;
}

static void summary(const pipe_run_t *p)
{
    if (mo_comm_rank(p->ctx->comm) != 0)
        return;
    for (size_t k = 0; k < p->s->n_steps; k++) {
        size_t i = p->s->order[k];
        mo_log_info("pipeline", "  %-16s %-11s %7.1f s  %s", p->s->steps[i].name,
                    pipe_state_names[p->r[i].state], p->r[i].seconds, p->r[i].output);
    }
    /* The last job step's validation metrics: what a nightly run is judged by. */
    mo_buf_t b = {0};
    for (int k = 0; k < p->ctx->n_final; k++)
        if (mo_str_startswith(p->ctx->final_names[k], "val_"))
            mo_buf_printf(&b, "%s%s %.4g", b.len ? ", " : "", p->ctx->final_names[k],
                          p->ctx->final_values[k]);
    if (b.len)
        mo_log_info("pipeline", "  metrics: %s", b.data);
    mo_buf_free(&b);
}

static int run(void *job, mo_job_ctx_t *ctx, mo_error_t *err)
{
    pipe_run_t p = {.s = job, .ctx = ctx, .resume = ctx->resume};
    p.r = mo_calloc(p.s->n_steps, sizeof *p.r);
    int rc = mo_comm_agree(ctx->comm, p.r ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory"), err);
    snprintf(p.journal, sizeof p.journal, "%s/pipeline.json", ctx->output_dir);
    int exists = access(p.journal, F_OK) == 0;
    int local = 0;
    if (!rc && !ctx->resume && exists)
        local = mo_errorf(err, MO_EINVAL,
                          "%s holds the journal of an earlier run: add --resume to continue it, "
                          "or give another --output",
                          p.journal);
    else if (!rc && ctx->resume && !exists)
        local = mo_errorf(err, MO_ENOTFOUND, "--resume: no pipeline journal at %s", p.journal);
    else if (!rc && ctx->resume)
        local = read_journal(p.s, p.r, p.journal, err);
    if (!rc)
        rc = mo_comm_agree(ctx->comm, local, err);
    if (!rc && mo_comm_rank(ctx->comm) == 0)
        mo_log_info("pipeline", "%s: %zu steps%s", ctx->run_name, p.s->n_steps,
                    ctx->resume ? " (resuming)" : "");
    for (size_t k = 0; !rc && k < p.s->n_steps; k++)
        if (step(&p, p.s->order[k]) == MO_ESTOPPED)
            break;
    if (!rc) {
        summary(&p);
        rc = outcome(&p, err);
        ctx->gates_passed = rc != MO_EGATE;
    }
    free(p.r);
    return rc;
}

const mo_job_kind_t mo_job_pipeline = {
    .name = "pipeline",
    .summary = "steps chained with quality gates",
    .parse = parse,
    .run = run,
    .destroy = destroy,
    .check_children = check_children,
};
