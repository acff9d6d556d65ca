/* train.h - `kind: train`: data-parallel training on CPU ranks */
#ifndef MO_JOBS_TRAIN_H
#define MO_JOBS_TRAIN_H

#include "jobs/job.h"

extern const mo_job_kind_t mo_job_train;

#endif
