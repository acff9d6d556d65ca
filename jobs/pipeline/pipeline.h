/* pipeline.h - `kind: pipeline`: steps chained with quality gates, in one MPI job */
#ifndef MO_JOBS_PIPELINE_H
#define MO_JOBS_PIPELINE_H

#include "jobs/job.h"

extern const mo_job_kind_t mo_job_pipeline;

#endif
