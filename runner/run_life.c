/* run_life.c - run id, spec copy, plugins and their run_start / run_end around a job
 *
 * Plugins are loaded on every rank: run-level events come from rank 0, per-rank ones
 * (throughput, allreduce time) from each rank with its rank label. Whatever happens in a
 * plugin, the run's exit code is the job's own.
 */
#include "runner/run_life.h"

#include "core/alloc.h"
#include "core/build_info.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/str.h"
#include "core/time.h"
#include "io/atomic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void log_to_plugins(const mo_log_record_t *rec, void *ud)
{
    /* mo_log_level_t and maestro_log_level_t share their numbering. */
    mo_plugins_log(ud, (maestro_log_level_t)rec->level, rec->component, rec->msg);
}

/* <name>-<UTC yyyymmddThhmmssZ>-<6 hex>: sortable, unique across reruns of one spec. */
static void make_run_id(char *buf, size_t size, const char *name, int64_t now_ns)
{
    time_t secs = (time_t)(now_ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    mo_rng_t r;
    mo_rng_init(&r, (uint64_t)now_ns ^ ((uint64_t)getpid() << 32), MO_RNG_STREAM_SAMPLER, 0);
    snprintf(buf, size, "%s-%s-%06x", name, stamp, (unsigned)(mo_rng_u32(&r) & 0xffffff));
}

static int write_spec_copy(const mo_spec_t *spec, char *text, mo_error_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/spec.yml", spec->output);
    return mo_io_write_atomic(path, text, strlen(text), err);
}

/* Rank 0 of comm makes the id, every rank gets it. */
static int agree_run_id(mo_run_life_t *rl, mo_comm_t *comm, const char *name, mo_error_t *err)
{
    char *id = NULL;
    rl->start_ns = mo_time_unix_ns();
    if (mo_comm_rank(comm) == 0) {
        make_run_id(rl->run_id, sizeof rl->run_id, name, rl->start_ns);
        id = rl->run_id;
    }
    int rc = mo_comm_bcast_string(comm, &id, 0, err);
    if (rc)
        return rc;
    if (mo_comm_rank(comm) != 0) {
        mo_strlcpy(rl->run_id, id ? id : "", sizeof rl->run_id);
        free(id);
    }
    return 0;
}

int mo_run_life_begin(mo_run_life_t *rl, mo_comm_t *comm, const mo_spec_t *spec,
                      const mo_cluster_t *cluster, mo_error_t *err)
{
    memset(rl, 0, sizeof *rl);
    int rank = mo_comm_rank(comm), size = mo_comm_size(comm);
    int rc = agree_run_id(rl, comm, spec->name, err);
    if (rc)
        return rc;
    rl->spec_text = mo_cfg_dump_yaml(mo_cfg_root(spec->doc));
    int local = rl->spec_text ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!local && rank == 0 && !spec->kind->kind->output_is_file)
        local = write_spec_copy(spec, rl->spec_text, err);
    if (!local)
        local = mo_run_params(&rl->params, &rl->n_params, mo_cfg_root(spec->doc), err);
    /* A job whose output is a file (a dataset) keeps its plugins' spool next to that file. */
    char run_dir[4096];
    snprintf(run_dir, sizeof run_dir, "%s", spec->output);
    char *slash = spec->kind->kind->output_is_file ? strrchr(run_dir, '/') : NULL;
    if (spec->kind->kind->output_is_file)
        snprintf(run_dir, sizeof run_dir, "%.*s", slash ? (int)(slash - run_dir) : 1,
                 slash ? spec->output : ".");
    if (!local)
        local = mo_run_plugins_open(&rl->plugins, spec->plugins, cluster, rank, size, run_dir, err);
    rc = mo_comm_agree(comm, local, err);
    if (rc)
        return rc;
    if (rl->plugins)
        mo_log_set_sink(log_to_plugins, rl->plugins);
    maestro_run_info_t info = {.run_id = rl->run_id,
                               .run_name = spec->name,
                               .job_kind = spec->kind->name,
                               .run_dir = run_dir,
                               .spec_text = rl->spec_text,
                               .git_commit = MAESTRO_GIT_COMMIT,
                               .maestro_version = MAESTRO_VERSION,
                               .rank = rank,
                               .ranks = size,
                               .start_ns = rl->start_ns,
                               .params = rl->params,
                               .n_params = rl->n_params};
    mo_plugins_run_start(rl->plugins, &info);
    if (rank == 0)
        mo_log_info("runner", "run id %s", rl->run_id);
    return 0;
}

static const char *status_of(int rc)
{
    switch (rc) {
    case 0:
        return "ok";
    case MO_EGATE:
        return "gate_failed";
    case MO_ESTOPPED:
        return "preempted";
    default:
        return "failed";
    }
}

int mo_run_life_begin_child(mo_run_life_t *rl, mo_comm_t *comm, const mo_run_life_t *parent,
                            const mo_spec_t *parent_spec, const mo_cluster_t *cluster,
                            const char *name, const char *kind, const char *output,
                            const maestro_kv_t *params, size_t n_params, mo_error_t *err)
{
    memset(rl, 0, sizeof *rl);
    int rank = mo_comm_rank(comm), size = mo_comm_size(comm);
    int rc = agree_run_id(rl, comm, name, err);
    if (rc)
        return rc;
    int local = 0;
    rl->params = mo_calloc(n_params ? n_params : 1, sizeof *rl->params);
    if (!rl->params)
        local = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; !local && i < n_params; i++) {
        rl->params[i].key = mo_strdup(params[i].key);
        rl->params[i].value = mo_strdup(params[i].value);
        rl->n_params = i + 1;
        if (!rl->params[i].key || !rl->params[i].value)
            local = mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    if (!local && parent->plugins)
        local = mo_run_plugins_open(&rl->plugins, parent_spec->plugins, cluster, rank, size, output,
                                    err);
    rc = mo_comm_agree(comm, local, err);
    if (rc)
        return rc;
    maestro_run_info_t info = {.run_id = rl->run_id,
                               .run_name = name,
                               .job_kind = kind,
                               .run_dir = output,
                               .spec_text = parent->spec_text,
                               .git_commit = MAESTRO_GIT_COMMIT,
                               .maestro_version = MAESTRO_VERSION,
                               .rank = rank,
                               .ranks = size,
                               .start_ns = rl->start_ns,
                               .params = rl->params,
                               .n_params = rl->n_params,
                               .parent_run_id = parent->run_id};
    mo_plugins_run_start(rl->plugins, &info);
    return 0;
}

/* run_end and close, shared by runs and child runs. */
static void finish(mo_run_life_t *rl, mo_comm_t *comm, const char *output, int rc,
                   const mo_job_ctx_t *ctx, const char *registry_model, const char *registry_alias)
{
    char run_h5[4096], spec_yml[4096];
    snprintf(run_h5, sizeof run_h5, "%s/run.h5", output);
    snprintf(spec_yml, sizeof spec_yml, "%s/spec.yml", output);
    int have_model = access(run_h5, R_OK) == 0;
    if (rl->plugins && mo_comm_rank(comm) == 0) {
        if (have_model)
            mo_plugins_artifact(rl->plugins, run_h5, "model/run.h5");
        if (access(spec_yml, R_OK) == 0)
            mo_plugins_artifact(rl->plugins, spec_yml, "spec.yml");
    }
    const char *names[32];
    for (int i = 0; ctx && i < ctx->n_final; i++)
        names[i] = ctx->final_names[i];
    maestro_run_end_t end = {status_of(rc),
                             mo_status_exit_code(rc),
                             mo_time_unix_ns(),
                             names,
                             ctx ? ctx->final_values : NULL,
                             ctx ? (size_t)ctx->n_final : 0,
                             ctx ? ctx->gates_passed : 0,
                             have_model ? run_h5 : NULL,
                             registry_model,
                             registry_alias};
    mo_plugins_run_end(rl->plugins, &end);
    mo_plugins_close(rl->plugins);
    rl->plugins = NULL;
    mo_run_params_free(rl->params, rl->n_params);
    rl->params = NULL;
    free(rl->spec_text);
    rl->spec_text = NULL;
}

void mo_run_life_end(mo_run_life_t *rl, mo_comm_t *comm, const mo_spec_t *spec, int rc,
                     const mo_job_ctx_t *ctx)
{
    /* Log lines stop going to plugins before they close. */
    mo_log_set_sink(NULL, NULL);
    finish(rl, comm, spec->output, rc, ctx, mo_run_plugins_registry_model(spec->plugins),
           mo_run_plugins_registry_alias(spec->plugins));
}

void mo_run_life_end_child(mo_run_life_t *rl, mo_comm_t *comm, const char *output, int rc,
                           const mo_job_ctx_t *ctx)
{
    finish(rl, comm, output, rc, ctx, ctx ? ctx->registry_model : NULL,
           ctx ? ctx->registry_alias : NULL);
}
