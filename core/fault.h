/* fault.h - deterministic fault injection for the reliability tests (tests/jobs/test_faults.sh)
 *
 * MAESTRO_FAULT="<point>:<n>[:<rank>]" makes the process kill itself with SIGKILL the n-th time
 * (1-based) it passes mo_fault_point("<point>"), on that rank only when a rank is given (the
 * rank from the launcher's environment: OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK or
 * SLURM_PROCID; 0 when run alone). Points: "allreduce" (each training step's gradient
 * allreduce), "checkpoint" (a checkpoint's temp file written, not yet renamed), "run_file"
 * (run.h5's temp file written, not yet renamed), "store_block" (a feature-store block written),
 * "sweep_journal" (sweep.h5's temp file written, not yet renamed), "sweep_log" (half of a
 * sweep.h5.log record written: a torn record).
 * The same variable makes a fail point (mo_fault_fail) return an error instead: a failure on
 * one rank in the middle of parallel work, which every rank must end on together rather than
 * wait for the one that left. Fail points: "dataset_lookup" (a rank's point-in-time lookups
 * start), "store_fill" (a block of feature values to compute for the offline store).
 * MAESTRO_FAULT_DELAY="<point>:<ms>" makes every pass of that point sleep ms milliseconds, on
 * every rank: a run slowed to a known pace without burning CPU, so a test can inject service
 * faults while it trains (tests/plugins/test_service_faults.sh).
 * Unset, a point costs one comparison. Never set it in production.
 */
#ifndef MO_CORE_FAULT_H
#define MO_CORE_FAULT_H

#include "core/status.h"

void mo_fault_point(const char *point);
/* For a point that must leave work half done: 1 when this pass is the one to die at (the
 * caller does its half and then calls mo_fault_kill), else 0. */
int mo_fault_due(const char *point);
void mo_fault_kill(const char *point);
/* 0, or MO_ERUNTIME with "MAESTRO_FAULT: failing at <point> #<n>" when this pass is the one. */
int mo_fault_fail(const char *point, mo_error_t *err);

#endif
