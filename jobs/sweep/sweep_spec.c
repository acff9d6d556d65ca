/* sweep_spec.c - the keys of `kind: sweep` (docs/spec.md "Sweeps")
 *
 * Everything a user can get wrong is caught here, before any trial: the algorithm and its
 * settings, the search space (mo_space_parse), the trial's form (template, command or built-in
 * objective) and how they fit together (grid needs steps, hyperband owns the epochs, the
 * command's ${...} names). Whether the parameters are keys of the template is checked by the
 * runner through check_children (it loads the template with the parameters set).
 */
#include "core/alloc.h"
#include "core/str.h"
#include "jobs/sweep/command.h"
#include "jobs/sweep/sweep_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const goal_names[] = {"minimize", "maximize", NULL};
static const char *const strategy_names[] = {"latest", "min", "max", NULL};
static const char *const algorithm_names[] = {"grid", "random", "tpe", "hyperband", NULL};
static const char *const stopping_names[] = {"median", NULL};

static int read_objective(sweep_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *o = NULL;
    int goal = 0, strategy = 0;
    int rc = mo_cfg_get_map(root, "objective", MO_CFG_REQUIRED, &o, err);
    if (!rc)
        rc = mo_cfg_get_string(o, "metric", MO_CFG_REQUIRED, &s->metric, err);
    if (!rc)
        rc = mo_cfg_get_enum(o, "goal", MO_CFG_REQUIRED, goal_names, &goal, err);
    if (!rc)
        rc = mo_cfg_get_enum(o, "strategy", 0, strategy_names, &strategy, err);
    s->maximize = goal == 1;
    s->strategy = (strategy_t)strategy;
    s->target = NAN;
    if (!rc && mo_cfg_child(o, "target")) {
        rc = mo_cfg_get_double(o, "target", 0, -INFINITY, INFINITY, &s->target, err);
        s->has_target = 1;
    }
    return rc;
}

static int read_settings(sweep_spec_t *s, mo_cfg_node_t *settings, mo_error_t *err)
{
    mo_sampler_opts_t *o = &s->sampler;
    int64_t seed = 1, startup = o->n_startup_trials, cand = o->n_ei_candidates;
    int liar = o->constant_liar;
    int is_tpe = !strcmp(s->algorithm, "tpe"), is_hb = !strcmp(s->algorithm, "hyperband");
    int rc = mo_cfg_get_int(settings, "seed", 0, 0, INT64_MAX, &seed, err);
    o->seed = (uint64_t)seed;
    if (!rc && is_tpe)
        rc = mo_cfg_get_int(settings, "n_startup_trials", 0, 0, 1000000, &startup, err);
    if (!rc && is_tpe)
        rc = mo_cfg_get_int(settings, "n_ei_candidates", 0, 1, 100000, &cand, err);
    if (!rc && is_tpe)
        rc = mo_cfg_get_double(settings, "prior_weight", MO_CFG_LO_OPEN, 0, INFINITY,
                               &o->prior_weight, err);
    if (!rc && is_tpe)
        rc = mo_cfg_get_bool(settings, "constant_liar", 0, &liar, err);
    int64_t eta = o->eta;
    if (!rc && is_hb)
        rc = mo_cfg_get_int(settings, "min_resource", 0, 1, 1000000, &o->min_resource, err);
    if (!rc && is_hb)
        rc = mo_cfg_get_int(settings, "max_resource", 0, 1, 1000000, &o->max_resource, err);
    if (!rc && is_hb)
        rc = mo_cfg_get_int(settings, "eta", 0, 2, 100, &eta, err);
    if (!rc && is_hb && o->max_resource < o->min_resource)
        rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(settings, "max_resource"),
                           "algorithm.settings.max_resource (%lld) must be >= min_resource "
                           "(%lld)",
                           (long long)o->max_resource, (long long)o->min_resource);
    o->n_startup_trials = (int)startup;
    o->n_ei_candidates = (int)cand;
    o->constant_liar = liar;
    o->eta = (int)eta;
    return rc;
}

static int read_algorithm(sweep_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *a = NULL, *settings = NULL;
    int which = 0;
    mo_sampler_opts_default(&s->sampler);
    int rc = mo_cfg_get_map(root, "algorithm", MO_CFG_REQUIRED, &a, err);
    if (!rc)
        rc = mo_cfg_get_enum(a, "name", MO_CFG_REQUIRED, algorithm_names, &which, err);
    if (rc)
        return rc;
    s->algorithm = algorithm_names[which];
    if ((rc = mo_cfg_get_map(a, "settings", 0, &settings, err)))
        return rc;
    rc = read_settings(s, settings, err);
    s->sampler.maximize = s->maximize;
    return rc;
}

static int read_space(sweep_spec_t *s, mo_cfg_node_t *root, mo_cfg_node_t *trial, mo_error_t *err)
{
    mo_cfg_node_t *list = NULL;
    int rc = mo_cfg_get_list(root, "parameters", s->objective ? 0 : MO_CFG_REQUIRED, &list, err);
    if (rc)
        return rc;
    if (!list) /* a built-in objective over its own box */
        return mo_objective_space(&s->space, s->objective, err);
    if ((rc = mo_space_parse(&s->space, list, err)))
        return rc;
    if (mo_space_dim(s->space) > SWEEP_MAX_DIM)
        return mo_cfg_errorf(err, MO_EINVAL, list, "a sweep has at most %d parameters, got %zu",
                             SWEEP_MAX_DIM, mo_space_dim(s->space));
    if (s->objective) {
        /* The objective reads x0, x1, ... in order. */
        int ok = mo_space_dim(s->space) == s->objective->dim;
        for (size_t i = 0; ok && i < s->objective->dim; i++) {
            char want[32];
            snprintf(want, sizeof want, "x%zu", i);
            ok = !strcmp(mo_space_param(s->space, i)->name, want);
        }
        if (!ok)
            return mo_cfg_errorf(err, MO_EINVAL, list,
                                 "objective %s takes %zu parameters named x0..x%zu in order "
                                 "(or leave parameters out to search its own box)",
                                 s->objective->name, s->objective->dim, s->objective->dim - 1);
    }
    (void)trial;
    return 0;
}

static int read_command(sweep_spec_t *s, mo_cfg_node_t *trial, mo_cfg_node_t *list, mo_error_t *err)
{
    size_t n = mo_cfg_len(list);
    if (mo_cfg_type(list) != MO_CFG_LIST || n == 0)
        return mo_cfg_errorf(err, MO_EINVAL, list,
                             "trial.command must be a non-empty list of arguments (an argv, "
                             "no shell)");
    s->command = mo_calloc(n + 1, sizeof *s->command);
    if (!s->command)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    s->command_len = n;
    for (size_t i = 0; i < n; i++) {
        const char *a = NULL;
        int rc = mo_cfg_as_template(mo_cfg_at(list, i), &a, err);
        if (rc)
            return rc;
        if (!(s->command[i] = mo_strdup(a)))
            return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    (void)trial;
    return 0;
}

/* The names a command may use: the parameters, then `trial` and `output`. */
static int check_command(const sweep_spec_t *s, mo_cfg_node_t *list, mo_error_t *err)
{
    size_t d = mo_space_dim(s->space);
    const char **names = mo_calloc(d + 2, sizeof *names);
    if (!names)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; i < d; i++)
        names[i] = mo_space_param(s->space, i)->name;
    names[d] = "trial";
    names[d + 1] = "output";
    mo_error_t why = {0};
    int rc =
        mo_trial_cmd_check((const char *const *)s->command, s->command_len, names, d + 2, &why);
    free(names);
    if (rc)
        return mo_cfg_errorf(err, rc, list, "trial.command: %s", why.msg);
    return 0;
}

static int read_trial(sweep_spec_t *s, mo_cfg_node_t *root, mo_cfg_node_t **trial_out,
                      mo_error_t *err)
{
    mo_cfg_node_t *t = NULL, *cmd = NULL;
    const char *objective = NULL;
    int rc = mo_cfg_get_map(root, "trial", MO_CFG_REQUIRED, &t, err);
    if (!rc)
        rc = mo_cfg_get_string(t, "template", 0, &s->template_path, err);
    if (!rc)
        rc = mo_cfg_get_list(t, "command", 0, &cmd, err);
    if (!rc)
        rc = mo_cfg_get_string(t, "objective", 0, &objective, err);
    if (!rc)
        rc = mo_cfg_get_duration(t, "timeout", 0, 0, INFINITY, &s->timeout_s, err);
    if (rc)
        return rc;
    *trial_out = t;
    int forms = !!s->template_path + !!cmd + !!objective;
    if (forms != 1)
        return mo_cfg_errorf(err, MO_EINVAL, t,
                             "trial needs exactly one of template (a train spec), command (a "
                             "program) or objective (a built-in test function); got %d",
                             forms);
    if (mo_cfg_child(t, "timeout") && !cmd)
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(t, "timeout"),
                             "trial.timeout applies to command trials only");
    if (s->template_path) {
        s->trial_kind = TRIAL_TEMPLATE;
        if (!*s->template_path)
            return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(t, "template"),
                                 "trial.template must name a train spec file");
    } else if (cmd) {
        s->trial_kind = TRIAL_COMMAND;
        rc = read_command(s, t, cmd, err);
    } else {
        s->trial_kind = TRIAL_OBJECTIVE;
        s->objective = mo_objective_find(objective);
        if (!s->objective) {
            mo_buf_t b = {0};
            for (const char *const *n = mo_objective_names(); *n; n++)
                mo_buf_printf(&b, "%s%s", n == mo_objective_names() ? "" : ", ", *n);
            rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(t, "objective"),
                               "unknown objective '%s' (built-in: %s)", objective,
                               b.data ? b.data : "");
            mo_buf_free(&b);
        }
    }
    return rc;
}

static int read_limits(sweep_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    s->parallel_trials = 1;
    s->max_failed_trials = 3;
    s->max_trials = 0;
    int is_grid = !strcmp(s->algorithm, "grid");
    int rc = mo_cfg_get_int(root, "max_trials", is_grid ? 0 : MO_CFG_REQUIRED, 1, 100000000,
                            &s->max_trials, err);
    if (!rc)
        rc = mo_cfg_get_int(root, "parallel_trials", 0, 1, 65536, &s->parallel_trials, err);
    if (!rc)
        rc = mo_cfg_get_int(root, "max_failed_trials", 0, 0, INT64_MAX, &s->max_failed_trials, err);
    if (rc || !is_grid)
        return rc;
    mo_error_t why = {0};
    if ((rc = mo_space_check_grid(s->space, &why)))
        return mo_cfg_errorf(err, rc, mo_cfg_child(root, "parameters"), "%s", why.msg);
    int64_t size = 1;
    for (size_t i = 0; i < mo_space_dim(s->space); i++) {
        size_t k = mo_space_grid_count(s->space, i);
        if (size > 100000000 / (int64_t)k)
            return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(root, "parameters"),
                                 "the grid has more than 100000000 points; use random or tpe");
        size *= (int64_t)k;
    }
    if (s->max_trials == 0 || s->max_trials > size)
        s->max_trials = size; /* the full product */
    return 0;
}

static int read_early_stopping(sweep_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *es = NULL;
    int which = 0;
    mo_pruner_opts_default(&s->pruner);
    s->pruner.maximize = s->maximize;
    int rc = mo_cfg_get_map(root, "early_stopping", 0, &es, err);
    if (rc || !es)
        return rc;
    rc = mo_cfg_get_enum(es, "name", MO_CFG_REQUIRED, stopping_names, &which, err);
    if (!rc)
        rc = mo_cfg_get_int(es, "min_trials_required", 0, 1, INT64_MAX,
                            &s->pruner.min_trials_required, err);
    if (!rc)
        rc = mo_cfg_get_int(es, "start_step", 0, 1, INT64_MAX, &s->pruner.start_step, err);
    if (!rc && !strcmp(s->algorithm, "hyperband"))
        rc = mo_cfg_errorf(err, MO_EINVAL, es,
                           "early_stopping does not combine with algorithm hyperband, which "
                           "stops trials itself; remove one");
    if (!rc && s->trial_kind == TRIAL_OBJECTIVE)
        rc = mo_cfg_errorf(err, MO_EINVAL, es,
                           "early_stopping needs intermediate values; a built-in objective "
                           "reports one final value");
    s->median = 1;
    return rc;
}

/* Hyperband decides how many epochs a trial gets; the template's epochs are set to the
 * maximum resource and must not be a searched parameter as well. */
static int check_hyperband(sweep_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    if (strcmp(s->algorithm, "hyperband") != 0)
        return 0;
    if (s->trial_kind == TRIAL_OBJECTIVE)
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(root, "algorithm"),
                             "hyperband needs trials that report every epoch (a template or a "
                             "command); a built-in objective reports one value");
    s->epochs_param = "training.epochs";
    if (mo_space_find(s->space, s->epochs_param) >= 0)
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(root, "parameters"),
                             "parameter training.epochs: hyperband sets the epochs itself "
                             "(algorithm.settings.max_resource); remove it from parameters");
    return 0;
}

int sweep_spec_parse(sweep_spec_t **out, mo_cfg_node_t *root, mo_error_t *err)
{
    *out = NULL;
    sweep_spec_t *s = mo_calloc(1, sizeof *s);
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    mo_cfg_node_t *trial = NULL;
    int rc = read_objective(s, root, err);
    if (!rc)
        rc = read_algorithm(s, root, err);
    if (!rc)
        rc = read_trial(s, root, &trial, err);
    if (!rc)
        rc = read_space(s, root, trial, err);
    if (!rc && s->trial_kind == TRIAL_COMMAND)
        rc = check_command(s, mo_cfg_child(trial, "command"), err);
    if (!rc)
        rc = read_limits(s, root, err);
    if (!rc)
        rc = read_early_stopping(s, root, err);
    if (!rc)
        rc = check_hyperband(s, root, err);
    if (!rc) {
        /* Check the sampler's settings exactly as the run will use them. */
        mo_sampler_t *probe = NULL;
        mo_error_t why = {0};
        rc = mo_sampler_create(&probe, s->algorithm, s->space, &s->sampler, &why);
        mo_sampler_destroy(probe);
        if (rc)
            rc = mo_cfg_errorf(err, rc, mo_cfg_child(root, "algorithm"), "%s", why.msg);
    }
    if (!rc && !(s->spec_text = mo_cfg_dump_yaml(root)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    if (rc) {
        sweep_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sweep_spec_free(sweep_spec_t *s)
{
    if (!s)
        return;
    mo_space_destroy(s->space);
    for (size_t i = 0; s->command && i < s->command_len; i++)
        free(s->command[i]);
    free(s->command);
    free(s->spec_text);
    free(s);
}

void sweep_param_texts(const sweep_spec_t *s, const double *x, char (*texts)[256])
{
    for (size_t i = 0; i < mo_space_dim(s->space); i++)
        mo_space_format(s->space, i, x[i], texts[i], 256);
}

int sweep_trial_sets(char ***sets, size_t *n, const sweep_spec_t *s, const double *x,
                     mo_error_t *err)
{
    size_t d = mo_space_dim(s->space);
    char(*texts)[256] = mo_calloc(d ? d : 1, sizeof *texts);
    char **v = mo_calloc(d + 2, sizeof *v);
    *sets = NULL;
    *n = 0;
    if (!texts || !v) {
        free(texts);
        free(v);
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    sweep_param_texts(s, x, texts);
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < d && !rc; i++) {
        /* The value goes through the template's interpolation: a `${` in it must stay
         * literal (a parameter value never reads the environment or a secret). */
        mo_buf_t b = {0};
        mo_buf_printf(&b, "%s=", mo_space_param(s->space, i)->name);
        for (const char *t = texts[i]; *t; t++) {
            if (t[0] == '$' && t[1] == '{')
                mo_buf_puts(&b, "$");
            mo_buf_append(&b, t, 1);
        }
        if (!(v[k++] = mo_buf_steal(&b)))
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    if (!rc && s->epochs_param) {
        mo_buf_t b = {0};
        mo_buf_printf(&b, "%s=%lld", s->epochs_param, (long long)s->sampler.max_resource);
        if (!(v[k++] = mo_buf_steal(&b)))
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    free(texts);
    if (rc) {
        sweep_sets_free(v, k);
        return rc;
    }
    *sets = v;
    *n = k;
    return 0;
}

void sweep_sets_free(char **sets, size_t n)
{
    for (size_t i = 0; sets && i < n; i++)
        free(sets[i]);
    free(sets);
}
