/* sampler_random.c - uniform random search
 *
 * A trial's parameters are a pure function of (seed, trial number): the generator the front
 * hands over is keyed by both, so the same seed gives the same trials whatever the number of
 * parallel groups or the order in which they ask. Log scales are uniform in log space; ints
 * on a log scale are drawn over [min - 0.5, max + 0.5] in log space and rounded, as Optuna.
 */
#include "jobs/sweep/sampler_impl.h"

#include <math.h>

void mo_sampler_draw_uniform(const mo_space_t *space, mo_rng_t *rng, double *x)
{
    for (size_t i = 0; i < mo_space_dim(space); i++) {
        const mo_param_t *p = mo_space_param(space, i);
        double u = mo_rng_uniform(rng), v;
        switch (p->type) {
        case MO_PARAM_DOUBLE:
            if (p->scale == MO_SCALE_LOG)
                v = exp(log(p->min) + u * (log(p->max) - log(p->min)));
            else
                v = p->min + u * (p->max - p->min);
            /* A step turns the draw into a uniform pick among the steps. */
            if (p->step > 0 && p->scale != MO_SCALE_LOG)
                v = mo_space_grid_value(space, i,
                                        (size_t)mo_rng_below(rng, mo_space_grid_count(space, i)));
            break;
        case MO_PARAM_INT:
            if (p->scale == MO_SCALE_LOG) {
                double lo = log(p->min - 0.5 > 0 ? p->min - 0.5 : p->min), hi = log(p->max + 0.5);
                v = exp(lo + u * (hi - lo));
            } else {
                v = mo_space_grid_value(space, i,
                                        (size_t)mo_rng_below(rng, mo_space_grid_count(space, i)));
            }
            break;
        case MO_PARAM_DISCRETE:
            v = p->numbers[mo_rng_below(rng, p->n_values)];
            break;
        default:
            v = (double)mo_rng_below(rng, p->n_values);
        }
        x[i] = mo_space_snap(space, i, v);
    }
}

static int random_suggest(mo_sampler_t *s, int64_t trial, mo_rng_t *rng, double *x, mo_error_t *err)
{
    (void)trial;
    (void)err;
    mo_sampler_draw_uniform(s->space, rng, x);
    return 0;
}

const mo_sampler_ops_t mo_sampler_random_ops = {
    .name = "random",
    .suggest = random_suggest,
};
