/* kinds.h - the registry of job kinds */
#ifndef MO_RUNNER_KINDS_H
#define MO_RUNNER_KINDS_H

#include "jobs/job.h"

#include <stddef.h>

typedef struct {
    const char *name;
    const mo_job_kind_t *kind; /* NULL: designed, not built yet */
    const char *summary;
    /* What --resume continues from, inside the output folder: a file ("sweep.h5"), or a
     * folder of checkpoints ("checkpoints/"); NULL when the kind does not resume. A Slurm
     * requeue resumes by itself when it is there (runner/slurm_env.h). */
    const char *resume_from;
} mo_kind_entry_t;

/* All kinds Maestro knows, built or not, in a stable order. */
const mo_kind_entry_t *mo_kinds(size_t *count);
/* The entry named `name`, or NULL when Maestro has no such kind. */
const mo_kind_entry_t *mo_kind_find(const char *name);

#endif
