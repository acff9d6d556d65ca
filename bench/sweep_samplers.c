/* sweep_samplers.c - drive a Maestro sampler on a built-in objective, for bench/sweep_samplers.sh
 *
 * usage: sweep_samplers SAMPLER OBJECTIVE TRIALS SEEDS [FIRST_SEED]
 * One JSON line per seed: {"sampler", "objective", "seed", "trials", "best", "seconds"}.
 * Trials run one after another, each told before the next is suggested (as Optuna's
 * study.optimize with n_jobs=1), so the timing is the controller's own cost per trial: suggest,
 * objective, tell. The journal (sweep.h5) does not exist yet; its cost is not in these figures.
 */
#include "core/str.h"
#include "core/time.h"
#include "jobs/sweep/objectives.h"
#include "jobs/sweep/sampler.h"

#include <math.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    int64_t trials = 0, seeds = 0, first = 0;
    if (argc < 5 || mo_parse_int64(argv[3], &trials) || mo_parse_int64(argv[4], &seeds) ||
        (argc > 5 && mo_parse_int64(argv[5], &first)) || trials < 1 || seeds < 1) {
        fprintf(stderr, "usage: sweep_samplers SAMPLER OBJECTIVE TRIALS SEEDS [FIRST_SEED]\n");
        return 2;
    }
    const mo_objective_t *o = mo_objective_find(argv[2]);
    if (!o) {
        fprintf(stderr, "sweep_samplers: unknown objective '%s'\n", argv[2]);
        return 2;
    }
    mo_error_t err = {0};
    mo_space_t *space = NULL;
    if (mo_objective_space(&space, o, &err)) {
        fprintf(stderr, "sweep_samplers: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    for (int64_t seed = first; !rc && seed < first + seeds; seed++) {
        mo_sampler_opts_t opts;
        mo_sampler_opts_default(&opts);
        opts.seed = (uint64_t)seed;
        mo_sampler_t *s = NULL;
        double t0 = mo_time_mono(), best = INFINITY;
        rc = mo_sampler_create(&s, argv[1], space, &opts, &err);
        for (int64_t t = 0; !rc && t < trials; t++) {
            double x[MO_OBJECTIVE_MAX_DIM];
            rc = mo_sampler_suggest(s, t, x, &err);
            double y = rc ? NAN : o->fn(x);
            if (!rc)
                rc = mo_sampler_tell(s, t, MO_TRIAL_COMPLETED, y, &err);
            best = fmin(best, y);
        }
        double dt = mo_time_mono() - t0;
        mo_sampler_destroy(s);
        if (!rc)
            printf("{\"impl\": \"maestro\", \"sampler\": \"%s\", \"objective\": \"%s\", \"seed\": "
                   "%lld, \"trials\": %lld, \"best\": %.10g, \"seconds\": %.6f}\n",
                   argv[1], o->name, (long long)seed, (long long)trials, best, dt);
    }
    if (rc)
        fprintf(stderr, "sweep_samplers: %s\n", err.msg);
    mo_space_destroy(space);
    return rc ? 1 : 0;
}
