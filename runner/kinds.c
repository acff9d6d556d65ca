/* kinds.c - the one file that names every job kind
 *
 * A kind that is designed but not built yet stays in the table with a NULL kind, so a spec
 * that names it gets "kind 'train' is not built yet" rather than "unknown kind".
 */
#include "runner/kinds.h"

#include "jobs/dataset/dataset.h"
#include "jobs/materialize/materialize.h"
#include "jobs/pipeline/pipeline.h"
#include "jobs/sweep/sweep.h"
#include "jobs/train/train.h"
#include "jobs/validate/validate.h"

#include <string.h>

static const mo_kind_entry_t kinds[] = {
    {"train", &mo_job_train, "data-parallel training on CPU ranks", "checkpoints/"},
    {"sweep", &mo_job_sweep, "hyperparameter sweep whose trials are groups of ranks", "sweep.h5"},
    {"materialize", &mo_job_materialize,
     "features from event data into the offline and online stores", NULL},
    {"dataset", &mo_job_dataset, "point-in-time-correct training set from the feature store", NULL},
    {"validate", &mo_job_validate, "checks on a dataset, table or feature view, with a report",
     NULL},
    {"pipeline", &mo_job_pipeline, "steps chained with quality gates", "pipeline.json"},
};

const mo_kind_entry_t *mo_kinds(size_t *count)
{
    if (count)
        *count = sizeof kinds / sizeof *kinds;
    return kinds;
}

const mo_kind_entry_t *mo_kind_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(kinds[i].name, name))
            return &kinds[i];
    return NULL;
}
