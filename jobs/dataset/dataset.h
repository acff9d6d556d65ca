/* dataset.h - `kind: dataset`: point-in-time-correct training sets from the feature store */
#ifndef MO_JOBS_DATASET_H
#define MO_JOBS_DATASET_H

#include "jobs/job.h"

extern const mo_job_kind_t mo_job_dataset;

#endif
