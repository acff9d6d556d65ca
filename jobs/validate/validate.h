/* validate.h - `kind: validate`: checks on a dataset, with a report */
#ifndef MO_JOBS_VALIDATE_H
#define MO_JOBS_VALIDATE_H

#include "jobs/job.h"

extern const mo_job_kind_t mo_job_validate;

#endif
