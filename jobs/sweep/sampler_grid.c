/* sampler_grid.c - the full product of every parameter's grid
 *
 * Order: row-major over the parameters as declared, the LAST parameter varying fastest (like
 * itertools.product and nested loops written in declaration order). Trial t is grid point t,
 * a mixed-radix decoding of t, so the enumeration needs no state, parallel groups never get
 * the same point, and a resumed sweep continues where it was. Per-parameter grids: a double
 * min, min + step, ... up to max; an int every step (1 by default) from min; discrete and
 * categorical their values in the order written. Trial numbers past the product's size are
 * refused with MO_ENOTFOUND (the front checks mo_sampler_capacity).
 */
#include "jobs/sweep/sampler_impl.h"

#include <stdint.h>

static int grid_init(mo_sampler_t *s, mo_error_t *err)
{
    int rc = mo_space_check_grid(s->space, err);
    if (rc)
        return rc;
    int64_t total = 1;
    for (size_t i = 0; i < mo_space_dim(s->space); i++) {
        size_t n = mo_space_grid_count(s->space, i);
        if ((uint64_t)total > (uint64_t)INT64_MAX / n)
            return mo_errorf(err, MO_EINVAL, "grid search: the product of the grids is too large");
        total *= (int64_t)n;
    }
    s->capacity = total;
    return 0;
}

static int grid_suggest(mo_sampler_t *s, int64_t trial, mo_rng_t *rng, double *x, mo_error_t *err)
{
    (void)rng;
    (void)err;
    uint64_t rest = (uint64_t)trial;
    for (size_t i = mo_space_dim(s->space); i-- > 0;) {
        size_t n = mo_space_grid_count(s->space, i);
        x[i] = mo_space_grid_value(s->space, i, (size_t)(rest % n));
        rest /= n;
    }
    return 0;
}

const mo_sampler_ops_t mo_sampler_grid_ops = {
    .name = "grid",
    .init = grid_init,
    .suggest = grid_suggest,
};
