/* slurm_env.c - Slurm's environment as run labels, and where a requeued run resumes from
 *
 * Read once per process: the values cannot change under a running job, and the log fields,
 * the plugins of every (child) run and the resume decision must all see the same ones.
 */
#include "runner/slurm_env.h"

#include "core/str.h"
#include "io/checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A value worth a label: printable ASCII, no quotes or backslashes (Slurm's ids and host
 * lists never hold them). NULL when absent or unfit. */
static const char *sane(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return NULL;
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\'' || *p == '\\')
            return NULL;
    return v;
}

static void add(mo_slurm_env_t *e, const char *key, const char *value)
{
    if (!value || e->n_labels == MO_SLURM_MAX_LABELS)
        return;
    mo_strlcpy(e->keys[e->n_labels], key, sizeof e->keys[0]);
    size_t len = strlen(value);
    if (len > MO_SLURM_NODELIST_MAX)
        snprintf(e->values[e->n_labels], sizeof e->values[0], "%.*s...", MO_SLURM_NODELIST_MAX - 3,
                 value);
    else
        mo_strlcpy(e->values[e->n_labels], value, sizeof e->values[0]);
    e->n_labels++;
}

void mo_slurm_env_read(mo_slurm_env_t *out)
{
    memset(out, 0, sizeof *out);
    const char *job = sane("SLURM_JOB_ID");
    if (!job)
        return;
    out->present = 1;
    const char *rc = getenv("SLURM_RESTART_COUNT");
    if (rc && *rc) {
        char *end = NULL;
        errno = 0;
        long v = strtol(rc, &end, 10);
        if (!errno && end && !*end && v > 0)
            out->restart_count = v;
    }
    add(out, "slurm_job_id", job);
    const char *task = sane("SLURM_ARRAY_TASK_ID");
    if (task) {
        add(out, "slurm_array_job_id", sane("SLURM_ARRAY_JOB_ID"));
        add(out, "slurm_array_task_id", task);
    }
    const char *nodes = sane("SLURM_JOB_NODELIST");
    add(out, "slurm_nodelist", nodes ? nodes : sane("SLURM_NODELIST"));
}

size_t mo_slurm_env_labels(const mo_slurm_env_t *env, maestro_kv_t *kv, size_t cap)
{
    size_t n = 0;
    for (; env && kv && n < env->n_labels && n < cap; n++) {
        kv[n].key = env->keys[n];
        kv[n].value = env->values[n];
    }
    return n;
}

static mo_slurm_env_t process_env;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void read_once(void)
{
    mo_slurm_env_read(&process_env);
}

const mo_slurm_env_t *mo_slurm_env(void)
{
    pthread_once(&process_once, read_once);
    return &process_env;
}

int mo_slurm_resume_point(const mo_kind_entry_t *kind, const char *output, char *what,
                          size_t what_size)
{
    if (what_size)
        what[0] = '\0';
    if (!kind || !kind->resume_from || !output)
        return 0;
    size_t len = strlen(kind->resume_from);
    char path[4096];
    if (len && kind->resume_from[len - 1] == '/') {
        snprintf(path, sizeof path, "%s/%.*s", output, (int)(len - 1), kind->resume_from);
        char *found = NULL;
        if (mo_ckpt_latest(&found, path, NULL) != 0)
            return 0;
        snprintf(what, what_size, "checkpoint %s", found);
        free(found);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", output, kind->resume_from);
    if (access(path, F_OK) != 0)
        return 0;
    snprintf(what, what_size, "%s journal %s", kind->name, path);
    return 1;
}
