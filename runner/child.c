/* child.c - check_spec, run_spec, child_begin and child_end for composite kinds */
#include "runner/child.h"

#include "core/alloc.h"
#include "core/log.h"
#include "io/atomic.h"
#include "runner/run_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mo_spec_opts_t child_opts(const mo_runner_state_t *st, const mo_job_child_spec_t *child)
{
    mo_spec_opts_t o = {child->sets, child->n_sets, NULL, st->cluster, st->secrets};
    return o;
}

static int check_spec(mo_job_ctx_t *ctx, const mo_job_child_spec_t *child, mo_error_t *err)
{
    const mo_runner_state_t *st = ctx->runner;
    mo_spec_opts_t o = child_opts(st, child);
    return mo_spec_check_child(&o, child, err);
}

static int run_spec(mo_job_ctx_t *ctx, const mo_job_child_spec_t *child_spec, mo_job_ctx_t *child,
                    mo_error_t *err)
{
    const mo_runner_state_t *st = ctx->runner;
    mo_spec_opts_t o = child_opts(st, child_spec);
    mo_spec_t *spec = NULL;
    /* Every rank loads the spec: an error is the same everywhere, but agree anyway so that a
     * rank that could not read the file does not leave the others waiting. */
    int rc = mo_comm_agree(child->comm, mo_spec_load(&spec, child_spec->path, &o, err), err);
    if (!rc && !child->output_dir) {
        /* The child's own output, created as `maestro run` creates it. */
        snprintf(child->output_buf, sizeof child->output_buf, "%s", spec->output);
        child->output_dir = child->output_buf;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", spec->output);
        char *slash = strrchr(dir, '/');
        if (spec->kind->kind->output_is_file) {
            if (slash)
                *slash = '\0';
            else
                snprintf(dir, sizeof dir, ".");
        }
        int local = mo_comm_rank(child->comm) == 0 ? mo_run_dir_create(dir, err) : 0;
        rc = mo_comm_agree(child->comm, local, err);
    }
    if (!rc && mo_comm_rank(child->comm) == 0 && !spec->kind->kind->output_is_file) {
        /* The child's resolved spec next to its results, as a top-level run keeps its own. */
        char path[4096];
        char *text = mo_cfg_dump_yaml(mo_cfg_root(spec->doc));
        snprintf(path, sizeof path, "%s/spec.yml", child->output_dir);
        if (!text || mo_io_write_atomic(path, text, strlen(text), NULL))
            mo_log_warn("runner", "could not write %s", path);
        free(text);
    }
    if (!rc) {
        child->spec_path = child_spec->path;
        child->spec = mo_cfg_root(spec->doc);
        child->runner = ctx->runner;
        mo_runner_bind(child, ctx->runner);
        child->gates_passed = 1;
        rc = spec->kind->kind->run(spec->job, child, err);
    }
    mo_spec_destroy(spec);
    child->spec = NULL;
    return rc;
}

static int child_begin(mo_job_ctx_t *ctx, mo_job_ctx_t *child, const char *kind,
                       const maestro_kv_t *params, size_t n_params, void **handle, mo_error_t *err)
{
    const mo_runner_state_t *st = ctx->runner;
    *handle = NULL;
    mo_run_life_t *rl = mo_calloc(1, sizeof *rl);
    int rc = mo_comm_agree(child->comm, rl ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory"), err);
    if (rc) {
        free(rl);
        return rc;
    }
    rc = mo_run_life_begin_child(rl, child->comm, st->life, st->spec, st->cluster, child->run_name,
                                 kind, child->output_dir, params, n_params, err);
    if (rc) {
        free(rl);
        return rc;
    }
    child->plugins = rl->plugins;
    *handle = rl;
    return 0;
}

static void child_end(mo_job_ctx_t *ctx, mo_job_ctx_t *child, void *handle, int rc)
{
    (void)ctx;
    mo_run_life_t *rl = handle;
    if (!rl)
        return;
    mo_run_life_end_child(rl, child->comm, child->output_dir, rc, child);
    child->plugins = NULL;
    free(rl);
}

void mo_runner_bind(mo_job_ctx_t *ctx, mo_runner_state_t *state)
{
    ctx->runner = state;
    ctx->check_spec = check_spec;
    ctx->run_spec = run_spec;
    ctx->child_begin = child_begin;
    ctx->child_end = child_end;
}
