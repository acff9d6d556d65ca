/* objectives.h - built-in test objectives (`trial: {objective: branin}`)
 *
 * Standard optimisation test functions, so the samplers can be tested and benchmarked without
 * training: branin (2-D), hartmann6 (6-D on [0,1]^6) and quadratic (2-D, a sanity check).
 * Each comes with its box, its known global minimum and a point that attains it.
 */
#ifndef MO_JOBS_SWEEP_OBJECTIVES_H
#define MO_JOBS_SWEEP_OBJECTIVES_H

#include "core/status.h"
#include "jobs/sweep/space.h"

#include <stddef.h>

#define MO_OBJECTIVE_MAX_DIM 6

typedef double (*mo_objective_fn)(const double *x);

typedef struct {
    const char *name;
    size_t dim;
    double lo[MO_OBJECTIVE_MAX_DIM], hi[MO_OBJECTIVE_MAX_DIM];
    double minimum;                      /* the known global minimum */
    double argmin[MO_OBJECTIVE_MAX_DIM]; /* one point that attains it */
    mo_objective_fn fn;
} mo_objective_t;

/* NULL when unknown. */
const mo_objective_t *mo_objective_find(const char *name);
/* NULL-terminated list of the names, for messages. */
const char *const *mo_objective_names(void);
/* The objective's box as a space of doubles named x0, x1, ... Caller destroys. */
int mo_objective_space(mo_space_t **out, const mo_objective_t *o, mo_error_t *err);

#endif
