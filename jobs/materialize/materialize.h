/* materialize.h - `kind: materialize`: windowed features into the offline and online stores */
#ifndef MO_JOBS_MATERIALIZE_H
#define MO_JOBS_MATERIALIZE_H

#include "jobs/job.h"

extern const mo_job_kind_t mo_job_materialize;

#endif
