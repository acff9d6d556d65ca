/* sampler.c - the sampler table's front: history of trials, argument checks, dispatch
 *
 * Every algorithm reads the same history (suggested, reported, told trials), kept here so that
 * resuming is one path for all of them: replaying the journal into this history is the whole
 * state (see sampler.h). Randomness is handed to the algorithm as a generator keyed by
 * (seed, trial number), so no algorithm can come to depend on call order by accident.
 */
#include "jobs/sweep/sampler_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mo_sampler_opts_default(mo_sampler_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof(*opts));
    opts->n_startup_trials = 10;
    opts->n_ei_candidates = 8; /* Optuna's is 24: see sampler.h */
    opts->prior_weight = 1.0;
    opts->constant_liar = 1;
    opts->min_resource = 1;
    opts->max_resource = 9;
    opts->eta = 3;
}

static const mo_sampler_ops_t *const all_ops[] = {&mo_sampler_grid_ops, &mo_sampler_random_ops,
                                                  &mo_sampler_tpe_ops, &mo_sampler_hyperband_ops};

int mo_sampler_create(mo_sampler_t **out, const char *name, const mo_space_t *space,
                      const mo_sampler_opts_t *opts, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_sampler_create: out is NULL");
    *out = NULL;
    if (!name || !space)
        return mo_errorf(err, MO_EINVAL, "mo_sampler_create: %s is NULL", !name ? "name" : "space");
    if (mo_space_dim(space) == 0)
        return mo_errorf(err, MO_EINVAL, "a sweep needs at least one parameter");
    const mo_sampler_ops_t *ops = NULL;
    for (size_t i = 0; i < sizeof(all_ops) / sizeof(all_ops[0]); i++)
        if (strcmp(all_ops[i]->name, name) == 0)
            ops = all_ops[i];
    if (!ops)
        return mo_errorf(err, MO_EINVAL,
                         "unknown algorithm '%s' (choose grid, random, tpe or hyperband)", name);
    mo_sampler_opts_t o;
    mo_sampler_opts_default(&o);
    if (opts)
        o = *opts;
    if (o.n_startup_trials < 0 || o.n_ei_candidates < 1 || !(o.prior_weight > 0))
        return mo_errorf(err, MO_EINVAL,
                         "tpe: n_startup_trials must be >= 0, n_ei_candidates >= 1 and "
                         "prior_weight > 0");
    if (o.eta < 2 || o.min_resource < 1 || o.max_resource < o.min_resource)
        return mo_errorf(err, MO_EINVAL,
                         "hyperband: eta must be >= 2 and 1 <= min_resource <= max_resource "
                         "(got eta %d, min %lld, max %lld)",
                         o.eta, (long long)o.min_resource, (long long)o.max_resource);
    mo_sampler_t *s = calloc(1, sizeof(*s));
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "mo_sampler_create: out of memory");
    s->ops = ops;
    s->space = space;
    s->opts = o;
    s->sign = o.maximize ? -1.0 : 1.0;
    s->capacity = -1;
    int rc = ops->init ? ops->init(s, err) : 0;
    if (rc) {
        mo_sampler_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void mo_sampler_destroy(mo_sampler_t *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->destroy)
        s->ops->destroy(s);
    for (size_t i = 0; i < s->n_trials; i++)
        free(s->trials[i].x);
    free(s->trials);
    free(s);
}

const char *mo_sampler_name(const mo_sampler_t *s)
{
    return s ? s->ops->name : "";
}

int64_t mo_sampler_capacity(const mo_sampler_t *s)
{
    return s ? s->capacity : -1;
}

/* Newest first: the controller mostly talks about recent trials. */
static mo_trial_rec_t *find(mo_sampler_t *s, int64_t trial)
{
    for (size_t i = s->n_trials; i-- > 0;)
        if (s->trials[i].number == trial)
            return &s->trials[i];
    return NULL;
}

static int add_trial(mo_sampler_t *s, int64_t trial, const double *x, mo_error_t *err)
{
    size_t dim = mo_space_dim(s->space);
    if (s->n_trials == s->cap_trials) {
        size_t cap = s->cap_trials ? 2 * s->cap_trials : 64;
        mo_trial_rec_t *nt = realloc(s->trials, cap * sizeof(*nt));
        if (!nt)
            return mo_errorf(err, MO_ENOMEM, "sampler: out of memory");
        s->trials = nt;
        s->cap_trials = cap;
    }
    double *copy = malloc(dim * sizeof(double));
    if (!copy)
        return mo_errorf(err, MO_ENOMEM, "sampler: out of memory");
    memcpy(copy, x, dim * sizeof(double));
    s->trials[s->n_trials++] = (mo_trial_rec_t){.number = trial,
                                                .status = MO_TRIAL_RUNNING,
                                                .value = NAN,
                                                .last_step = -1,
                                                .last_value = NAN,
                                                .x = copy};
    return 0;
}

int mo_sampler_suggest(mo_sampler_t *s, int64_t trial, double *x, mo_error_t *err)
{
    if (!s || !x || trial < 0)
        return mo_errorf(err, MO_EINVAL, "mo_sampler_suggest: %s",
                         !s   ? "sampler is NULL"
                         : !x ? "x is NULL"
                              : "trial number < 0");
    if (find(s, trial))
        return mo_errorf(err, MO_EINVAL, "trial %lld was already suggested", (long long)trial);
    if (s->capacity >= 0 && trial >= s->capacity)
        return mo_errorf(err, MO_ENOTFOUND, "%s: all %lld points were suggested", s->ops->name,
                         (long long)s->capacity);
    /* Sub-stream per trial: the trial number goes above the byte the stream id uses. */
    mo_rng_t rng;
    mo_rng_init(&rng, s->opts.seed, MO_RNG_STREAM_SAMPLER | ((uint64_t)trial << 8), 0);
    int rc = s->ops->suggest(s, trial, &rng, x, err);
    return rc ? rc : add_trial(s, trial, x, err);
}

int mo_sampler_restore(mo_sampler_t *s, int64_t trial, const double *x, mo_error_t *err)
{
    if (!s || !x || trial < 0)
        return mo_errorf(err, MO_EINVAL, "mo_sampler_restore: bad argument");
    if (find(s, trial))
        return mo_errorf(err, MO_EINVAL, "trial %lld is already known", (long long)trial);
    for (size_t i = 0; i < mo_space_dim(s->space); i++)
        if (!isfinite(x[i]))
            return mo_errorf(err, MO_EINVAL, "trial %lld: parameter %zu is not finite",
                             (long long)trial, i);
    return add_trial(s, trial, x, err);
}

int mo_sampler_report(mo_sampler_t *s, int64_t trial, int64_t step, double value,
                      mo_decision_t *decision, mo_error_t *err)
{
    if (decision)
        *decision = MO_DECISION_CONTINUE;
    if (!s)
        return mo_errorf(err, MO_EINVAL, "mo_sampler_report: sampler is NULL");
    mo_trial_rec_t *t = find(s, trial);
    if (!t)
        return mo_errorf(err, MO_ENOTFOUND, "trial %lld was never suggested", (long long)trial);
    if (t->status != MO_TRIAL_RUNNING)
        return mo_errorf(err, MO_EINVAL, "trial %lld has already ended", (long long)trial);
    if (step < 0 || step <= t->last_step)
        return mo_errorf(err, MO_EINVAL, "trial %lld: step %lld after step %lld", (long long)trial,
                         (long long)step, (long long)t->last_step);
    if (isnan(value))
        return mo_errorf(err, MO_EINVAL, "trial %lld: intermediate value is NaN", (long long)trial);
    t->last_step = step;
    t->last_value = s->sign * value;
    mo_decision_t d = MO_DECISION_CONTINUE;
    int rc = s->ops->report ? s->ops->report(s, t, step, t->last_value, &d, err) : 0;
    if (decision)
        *decision = d;
    return rc;
}

int mo_sampler_tell(mo_sampler_t *s, int64_t trial, mo_trial_status_t status, double objective,
                    mo_error_t *err)
{
    if (!s)
        return mo_errorf(err, MO_EINVAL, "mo_sampler_tell: sampler is NULL");
    mo_trial_rec_t *t = find(s, trial);
    if (!t)
        return mo_errorf(err, MO_ENOTFOUND, "trial %lld was never suggested", (long long)trial);
    if (status == MO_TRIAL_RUNNING || (int)status < 0 || status > MO_TRIAL_FAILED)
        return mo_errorf(err, MO_EINVAL, "trial %lld: tell needs completed, pruned or failed",
                         (long long)trial);
    if (status == MO_TRIAL_COMPLETED && !isfinite(objective))
        return mo_errorf(err, MO_EINVAL, "trial %lld: completed with a non-finite objective",
                         (long long)trial);
    t->status = status;
    if (status == MO_TRIAL_PRUNED)
        t->value = isfinite(objective) ? s->sign * objective : t->last_value;
    else
        t->value = s->sign * objective;
    return 0;
}
