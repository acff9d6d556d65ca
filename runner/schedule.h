/* schedule.h - `maestro schedule NAME --target kubernetes|slurm|cron`: render a schedule
 *
 * cmd_schedule.c resolves the schedule of cluster.yml, its spec and the times; the renderers in
 * schedule_render.c turn that into one document. Every user value is quoted for the consumer
 * that reads it (YAML double quotes, shell single quotes), so names holding quotes, spaces or
 * `$(...)` stay literal.
 */
#ifndef MO_RUNNER_SCHEDULE_H
#define MO_RUNNER_SCHEDULE_H

#include "core/cron.h"
#include "core/status.h"
#include "core/str.h"
#include "runner/cluster.h"

#include <stdint.h>

typedef struct {
    const mo_schedule_t *sched;
    const mo_cron_t *cron;
    const mo_cluster_t *cluster;
    const char *cluster_path; /* absolute */
    const char *spec_path;    /* absolute */
    const char *maestro;      /* absolute path of the maestro binary */
    int tz_set;               /* timezone: was written for this schedule */
    int64_t begin;            /* slurm: the next run time (Unix seconds) */
    const char *spec_text;    /* kubernetes: the spec file's text, for the ConfigMap */
    const char *cluster_text; /* kubernetes: cluster.yml's text */
} mo_sched_render_t;

/* Each appends its document to `out`; 0 or MO_ENOMEM / MO_EINVAL with a message. */
int mo_sched_render_kubernetes(mo_buf_t *out, const mo_sched_render_t *r, mo_error_t *err);
int mo_sched_render_slurm(mo_buf_t *out, const mo_sched_render_t *r, mo_error_t *err);
int mo_sched_render_cron(mo_buf_t *out, const mo_sched_render_t *r, mo_error_t *err);

/* Append `s` as one shell word in single quotes ('it'\''s'). */
int mo_sched_shell_quote(mo_buf_t *out, const char *s);

#endif
