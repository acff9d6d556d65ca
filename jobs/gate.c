/* gate.c - parse and check quality gates */
#include "jobs/gate.h"

#include "core/alloc.h"
#include "core/str.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_text[] = {">=", ">", "<=", "<", "=="};

static int parse_one(mo_gate_t *g, const char *text)
{
    while (isspace((unsigned char)*text))
        text++;
    /* Two-character operators first so ">=" is not read as ">" followed by "=0.8". */
    static const int order[] = {MO_GATE_GE, MO_GATE_LE, MO_GATE_EQ, MO_GATE_GT, MO_GATE_LT};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        const char *op = op_text[order[i]];
        if (mo_str_startswith(text, op)) {
            g->op = (mo_gate_op_t)order[i];
            text += strlen(op);
            while (isspace((unsigned char)*text))
                text++;
            return mo_parse_double(text, &g->threshold);
        }
    }
    return MO_EINVAL;
}

static const char *closest(const char *name, const char *const *known)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; known && known[i]; i++) {
        size_t d = mo_str_distance(name, known[i], 3);
        if (d < best_d) {
            best_d = d;
            best = known[i];
        }
    }
    return best;
}

int mo_gates_parse(mo_gate_t **out, size_t *n, mo_cfg_node_t *map, const char *const *known,
                   mo_error_t *err)
{
    if (!out || !n)
        return mo_errorf(err, MO_EINVAL, "mo_gates_parse: NULL argument");
    *out = NULL;
    *n = 0;
    if (!map)
        return 0;
    if (mo_cfg_type(map) != MO_CFG_MAP)
        return mo_cfg_errorf(err, MO_EINVAL, map,
                             "gates must be a map like {val_accuracy: \">= 0.85\"}");
    mo_cfg_allow_any(map);
    size_t count = mo_cfg_len(map);
    mo_gate_t *g = mo_calloc(count ? count : 1, sizeof *g);
    if (!g)
        return mo_errorf(err, MO_ENOMEM, "out of memory reading gates");
    int rc = 0;
    for (size_t i = 0; i < count && !rc; i++) {
        const char *metric = mo_cfg_key_at(map, i);
        mo_cfg_node_t *v = mo_cfg_at(map, i);
        const char *text = mo_cfg_scalar(v);
        int found = 0;
        for (size_t k = 0; known && known[k]; k++)
            found |= !strcmp(known[k], metric);
        g[i].metric = metric;
        if (!found) {
            const char *best = closest(metric, known);
            mo_buf_t names = {0};
            for (size_t k = 0; known && known[k]; k++)
                mo_buf_printf(&names, "%s%s", k ? ", " : "", known[k]);
            /* The suggestion when there is one; the whole list only when there is not (it
             * would not fit in one line next to a long path). */
            if (best)
                rc = mo_cfg_errorf(err, MO_EINVAL, v,
                                   "gates.%s: this job produces no metric '%s'; did you mean "
                                   "'%s'?",
                                   metric, metric, best);
            else
                rc = mo_cfg_errorf(err, MO_EINVAL, v,
                                   "gates.%s: this job produces no metric '%s' (it produces: %s)",
                                   metric, metric, names.data ? names.data : "none");
            mo_buf_free(&names);
        } else if (!text || parse_one(&g[i], text)) {
            rc = mo_cfg_errorf(err, MO_EINVAL, v,
                               "gates.%s must be a comparison like \">= 0.85\" (>=, >, <=, <, "
                               "==), got \"%s\"",
                               metric, text ? text : "(not a string)");
        }
    }
    if (rc) {
        free(g);
        return rc;
    }
    *out = g;
    *n = count;
    return 0;
}

const char *mo_gate_describe(const mo_gate_t *g, char *buf, size_t size)
{
    snprintf(buf, size, "%s %s %g", g->metric, op_text[g->op], g->threshold);
    return buf;
}

static int holds(mo_gate_op_t op, double v, double t)
{
    switch (op) {
    case MO_GATE_GE:
        return v >= t;
    case MO_GATE_GT:
        return v > t;
    case MO_GATE_LE:
        return v <= t;
    case MO_GATE_LT:
        return v < t;
    case MO_GATE_EQ:
        return v == t;
    }
    return 0;
}

int mo_gates_check(const mo_gate_t *gates, size_t n, const char *const *names, const double *values,
                   size_t n_metrics, char *why, size_t why_size)
{
    int failed = 0;
    if (why && why_size)
        why[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const double *v = NULL;
        for (size_t m = 0; m < n_metrics; m++)
            if (!strcmp(names[m], gates[i].metric))
                v = &values[m];
        if (v && !isnan(*v) && holds(gates[i].op, *v, gates[i].threshold))
            continue;
        if (!failed++ && why && why_size) {
            char want[160];
            mo_gate_describe(&gates[i], want, sizeof want);
            if (!v)
                snprintf(why, why_size, "%s: metric not produced", want);
            else
                snprintf(why, why_size, "%s is %.6g, want %s", gates[i].metric, *v, want);
        }
    }
    return failed;
}
