/* objectives.c - Branin, Hartmann6 and a quadratic, with their known optima
 *
 * Constants are those of the usual references (Surjanovic & Bingham's virtual library of
 * simulation experiments; the same as Optuna's and BoTorch's test functions), so regrets here
 * compare with published ones.
 */
#include "jobs/sweep/objectives.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double branin(const double *x)
{
    const double pi = 3.14159265358979323846;
    const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
    double u = x[1] - b * x[0] * x[0] + c * x[0] - 6;
    return u * u + 10 * (1 - t) * cos(x[0]) + 10;
}

static double hartmann6(const double *x)
{
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                   {2329, 4135, 8307, 3736, 1004, 9991},
                                   {2348, 1451, 3522, 2883, 3047, 6650},
                                   {4047, 8828, 8732, 5743, 1091, 381}};
    double f = 0;
    for (int i = 0; i < 4; i++) {
        double s = 0;
        for (int j = 0; j < 6; j++) {
            double d = x[j] - 1e-4 * P[i][j];
            s += A[i][j] * d * d;
        }
        f -= alpha[i] * exp(-s);
    }
    return f;
}

static double quadratic(const double *x)
{
    return (x[0] - 1) * (x[0] - 1) + (x[1] + 2) * (x[1] + 2);
}

static const mo_objective_t objectives[] = {
    {"branin", 2, {-5, 0}, {10, 15}, 0.397887357729739, {-3.14159265358979323846, 12.275}, branin},
    {"hartmann6",
     6,
     {0, 0, 0, 0, 0, 0},
     {1, 1, 1, 1, 1, 1},
     -3.32236801141551,
     {0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573},
     hartmann6},
    {"quadratic", 2, {-5, -5}, {5, 5}, 0.0, {1, -2}, quadratic},
};

static const char *const names[] = {"branin", "hartmann6", "quadratic", NULL};

const mo_objective_t *mo_objective_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(objectives) / sizeof(objectives[0]); i++)
        if (strcmp(objectives[i].name, name) == 0)
            return &objectives[i];
    return NULL;
}

const char *const *mo_objective_names(void)
{
    return names;
}

int mo_objective_space(mo_space_t **out, const mo_objective_t *o, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_objective_space: out is NULL");
    *out = NULL;
    if (!o)
        return mo_errorf(err, MO_EINVAL, "mo_objective_space: objective is NULL");
    mo_space_t *s = NULL;
    int rc = mo_space_create(&s, err);
    for (size_t i = 0; !rc && i < o->dim; i++) {
        char name[32];
        snprintf(name, sizeof(name), "x%zu", i);
        mo_param_t p = {.name = name, .type = MO_PARAM_DOUBLE, .min = o->lo[i], .max = o->hi[i]};
        rc = mo_space_add(s, &p, err);
    }
    if (rc) {
        mo_space_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}
