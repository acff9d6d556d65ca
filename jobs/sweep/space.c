/* space.c - sweep parameters: validation, grids, snapping, text, and the spec parser
 *
 * The space owns copies of everything handed to it, so a parsed space outlives the config
 * document. Validation lives in mo_space_add, not in the parser, so parameters built in code
 * (tests, built-in objectives) meet the same rules as those read from a spec; the parser only
 * adds file:line:col in front of the message.
 */
#include "jobs/sweep/space.h"

#include "core/str.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parameters as mo_param_t, with owned storage behind the const pointers. */
typedef struct {
    mo_param_t p;
    char *name;
    double *numbers;
    char **texts;
} param_slot_t;

struct mo_space {
    param_slot_t *params;
    size_t n, cap;
};

static const char *const type_names[] = {"double", "int", "discrete", "categorical", NULL};
static const char *const scale_names[] = {"linear", "log", NULL};

int mo_space_create(mo_space_t **out, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_space_create: out is NULL");
    *out = calloc(1, sizeof(mo_space_t));
    return *out ? 0 : mo_errorf(err, MO_ENOMEM, "mo_space_create: out of memory");
}

static void slot_free(param_slot_t *s)
{
    free(s->name);
    free(s->numbers);
    if (s->texts)
        for (size_t i = 0; i < s->p.n_values; i++)
            free(s->texts[i]);
    free(s->texts);
}

void mo_space_destroy(mo_space_t *space)
{
    if (!space)
        return;
    for (size_t i = 0; i < space->n; i++)
        slot_free(&space->params[i]);
    free(space->params);
    free(space);
}

static int validate(const mo_space_t *space, const mo_param_t *p, mo_error_t *err)
{
    if (!p->name || !*p->name)
        return mo_errorf(err, MO_EINVAL, "parameter name must not be empty");
    if (mo_space_find(space, p->name) >= 0)
        return mo_errorf(err, MO_EINVAL, "parameter '%s' is defined twice", p->name);
    const char *nm = p->name;
    switch (p->type) {
    case MO_PARAM_DOUBLE:
    case MO_PARAM_INT:
        if (!isfinite(p->min) || !isfinite(p->max))
            return mo_errorf(err, MO_EINVAL, "parameter '%s': min and max must be finite", nm);
        if (p->min >= p->max)
            return mo_errorf(err, MO_EINVAL, "parameter '%s': min (%g) must be < max (%g)", nm,
                             p->min, p->max);
        if (p->scale == MO_SCALE_LOG && p->min <= 0)
            return mo_errorf(err, MO_EINVAL, "parameter '%s': log scale needs min > 0, got %g", nm,
                             p->min);
        if (p->type == MO_PARAM_INT && (p->min != floor(p->min) || p->max != floor(p->max)))
            return mo_errorf(err, MO_EINVAL, "parameter '%s': int bounds must be integers", nm);
        if (p->step < 0 || !isfinite(p->step) || p->step > p->max - p->min)
            return mo_errorf(err, MO_EINVAL,
                             "parameter '%s': step must be > 0 and at most max - min, got %g", nm,
                             p->step);
        if (p->type == MO_PARAM_INT && p->step != floor(p->step))
            return mo_errorf(err, MO_EINVAL, "parameter '%s': int step must be an integer", nm);
        return 0;
    case MO_PARAM_DISCRETE:
    case MO_PARAM_CATEGORICAL:
        if (p->n_values == 0)
            return mo_errorf(err, MO_EINVAL, "parameter '%s': values must not be empty", nm);
        if (p->type == MO_PARAM_DISCRETE && !p->numbers)
            return mo_errorf(err, MO_EINVAL, "parameter '%s': discrete values must be numbers", nm);
        if (p->type == MO_PARAM_CATEGORICAL && !p->texts)
            return mo_errorf(err, MO_EINVAL, "parameter '%s': categorical values missing", nm);
        for (size_t i = 0; p->type == MO_PARAM_DISCRETE && i < p->n_values; i++)
            if (!isfinite(p->numbers[i]))
                return mo_errorf(err, MO_EINVAL, "parameter '%s': value %zu is not finite", nm, i);
        return 0;
    }
    return mo_errorf(err, MO_EINVAL, "parameter '%s': unknown type %d", nm, (int)p->type);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int mo_space_add(mo_space_t *space, const mo_param_t *p, mo_error_t *err)
{
    if (!space || !p)
        return mo_errorf(err, MO_EINVAL, "mo_space_add: %s is NULL", !space ? "space" : "p");
    int rc = validate(space, p, err);
    if (rc)
        return rc;
    if (space->n == space->cap) {
        size_t cap = space->cap ? 2 * space->cap : 8;
        param_slot_t *np = realloc(space->params, cap * sizeof(*np));
        if (!np)
            return mo_errorf(err, MO_ENOMEM, "mo_space_add: out of memory");
        space->params = np;
        space->cap = cap;
    }
    param_slot_t s = {.p = *p};
    s.name = dup_str(p->name);
    int oom = !s.name;
    size_t nv = p->type >= MO_PARAM_DISCRETE ? p->n_values : 0;
    s.p.n_values = nv;
    if (nv) {
        s.texts = calloc(nv, sizeof(char *));
        oom |= !s.texts;
        if (p->type == MO_PARAM_DISCRETE) {
            s.numbers = malloc(nv * sizeof(double));
            oom |= !s.numbers;
        }
        for (size_t i = 0; !oom && i < nv; i++) {
            char num[64];
            if (s.numbers) {
                s.numbers[i] = p->numbers[i];
                snprintf(num, sizeof(num), "%.17g", p->numbers[i]);
            }
            s.texts[i] = dup_str(p->texts ? p->texts[i] : num);
            oom |= !s.texts[i];
        }
    }
    if (oom) {
        slot_free(&s);
        return mo_errorf(err, MO_ENOMEM, "mo_space_add: out of memory");
    }
    if (p->type == MO_PARAM_DISCRETE) {
        /* min/max let samplers treat a discrete parameter as a number line. */
        s.p.min = s.p.max = s.numbers[0];
        for (size_t i = 1; i < nv; i++) {
            s.p.min = fmin(s.p.min, s.numbers[i]);
            s.p.max = fmax(s.p.max, s.numbers[i]);
        }
    } else if (p->type == MO_PARAM_CATEGORICAL) {
        s.p.min = 0;
        s.p.max = (double)(nv - 1);
    }
    s.p.name = s.name;
    s.p.numbers = s.numbers;
    s.p.texts = (const char *const *)s.texts;
    space->params[space->n++] = s;
    return 0;
}

size_t mo_space_dim(const mo_space_t *space)
{
    return space ? space->n : 0;
}

const mo_param_t *mo_space_param(const mo_space_t *space, size_t i)
{
    return space && i < space->n ? &space->params[i].p : NULL;
}

long mo_space_find(const mo_space_t *space, const char *name)
{
    for (size_t i = 0; space && name && i < space->n; i++)
        if (strcmp(space->params[i].p.name, name) == 0)
            return (long)i;
    return -1;
}

size_t mo_space_grid_count(const mo_space_t *space, size_t i)
{
    const mo_param_t *p = mo_space_param(space, i);
    if (!p)
        return 0;
    switch (p->type) {
    case MO_PARAM_DOUBLE:
        /* The tolerance keeps max itself when (max - min) / step is integral up to rounding. */
        return p->step > 0 ? (size_t)floor((p->max - p->min) / p->step + 1e-9) + 1 : 0;
    case MO_PARAM_INT:
        return (size_t)((p->max - p->min) / (p->step > 0 ? p->step : 1)) + 1;
    default:
        return p->n_values;
    }
}

double mo_space_grid_value(const mo_space_t *space, size_t i, size_t k)
{
    const mo_param_t *p = mo_space_param(space, i);
    MO_ASSERT(p && k < mo_space_grid_count(space, i));
    switch (p->type) {
    case MO_PARAM_DOUBLE:
        return fmin(p->min + (double)k * p->step, p->max);
    case MO_PARAM_INT:
        return p->min + (double)k * (p->step > 0 ? p->step : 1);
    case MO_PARAM_DISCRETE:
        return p->numbers[k];
    default:
        return (double)k;
    }
}

int mo_space_check_grid(const mo_space_t *space, mo_error_t *err)
{
    if (!space)
        return mo_errorf(err, MO_EINVAL, "mo_space_check_grid: space is NULL");
    if (space->n == 0)
        return mo_errorf(err, MO_EINVAL, "grid search needs at least one parameter");
    for (size_t i = 0; i < space->n; i++)
        if (mo_space_grid_count(space, i) == 0)
            return mo_errorf(err, MO_EINVAL,
                             "grid search needs a step for double parameter '%s' "
                             "(an unbounded double has no grid)",
                             space->params[i].p.name);
    return 0;
}

double mo_space_snap(const mo_space_t *space, size_t i, double v)
{
    const mo_param_t *p = mo_space_param(space, i);
    MO_ASSERT(p);
    if (isnan(v))
        v = p->min;
    v = fmin(fmax(v, p->min), p->max);
    switch (p->type) {
    case MO_PARAM_DOUBLE:
        return p->step > 0 ? fmin(p->min + round((v - p->min) / p->step) * p->step, p->max) : v;
    case MO_PARAM_INT: {
        double st = p->step > 0 ? p->step : 1;
        return fmin(p->min + round((v - p->min) / st) * st, p->max);
    }
    case MO_PARAM_DISCRETE: {
        size_t best = 0;
        for (size_t k = 1; k < p->n_values; k++)
            if (fabs(p->numbers[k] - v) < fabs(p->numbers[best] - v))
                best = k;
        return p->numbers[best];
    }
    default:
        return round(v);
    }
}

const char *mo_space_format(const mo_space_t *space, size_t i, double v, char *buf, size_t size)
{
    const mo_param_t *p = mo_space_param(space, i);
    if (!buf || size == 0)
        return buf;
    if (!p) {
        buf[0] = '\0';
        return buf;
    }
    if (p->type == MO_PARAM_CATEGORICAL) {
        double k = mo_space_snap(space, i, v);
        mo_strlcpy(buf, p->texts[(size_t)k], size);
    } else if (p->type == MO_PARAM_INT) {
        snprintf(buf, size, "%.0f", v);
    } else {
        snprintf(buf, size, "%.17g", v);
    }
    return buf;
}

/* Undo quoted_text (below) on a whole double-quoted scalar: 1 when `t` was one and `out`
 * (at least as large as t) has its string, else 0. */
static int unquote(const char *t, char *out)
{
    size_t n = strlen(t), k = 0;
    if (n < 2 || t[0] != '"' || t[n - 1] != '"')
        return 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = t[i];
        if (c == '"')
            return 0; /* two strings, e.g. a flow list's text: not one scalar */
        if (c != '\\') {
            out[k++] = c;
            continue;
        }
        if (i + 2 >= n)
            return 0;
        c = t[++i];
        if (c == 'n')
            out[k++] = '\n';
        else if (c == 't')
            out[k++] = '\t';
        else if (c == 'r')
            out[k++] = '\r';
        else if (c == 'u' && i + 4 < n) {
            unsigned v = 0;
            if (sscanf(t + i + 1, "%4x", &v) != 1 || v > 0x7f)
                return 0;
            out[k++] = (char)v;
            i += 4;
        } else
            out[k++] = c;
    }
    out[k] = '\0';
    return 1;
}

const char *mo_space_arg(const mo_space_t *space, size_t i, double v, char *buf, size_t size)
{
    mo_space_format(space, i, v, buf, size);
    const mo_param_t *p = mo_space_param(space, i);
    if (p && p->type == MO_PARAM_CATEGORICAL && size) {
        char *raw = malloc(size);
        if (raw && unquote(buf, raw))
            memcpy(buf, raw, strlen(raw) + 1);
        free(raw);
    }
    return buf;
}

/* ---- the spec parser ------------------------------------------------------------------------ */

/* s as a YAML double-quoted scalar (also a JSON string): quotes, backslashes and control
 * characters escaped, so that parsing it back gives s byte for byte (a raw line break inside
 * double quotes would be folded into a space). */
static void quoted_text(mo_buf_t *b, const char *s)
{
    mo_buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            mo_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            mo_buf_puts(b, "\\n");
        else if (c == '\t')
            mo_buf_puts(b, "\\t");
        else if (c == '\r')
            mo_buf_puts(b, "\\r");
        else if (c < 0x20 || c == 0x7f)
            mo_buf_printf(b, "\\u%04x", c);
        else
            mo_buf_append(b, s, 1);
    }
    mo_buf_puts(b, "\"");
}

/* Flow text of a YAML value, so `[128, 128]` reaches the trial as written. Quoted scalars keep
 * JSON quotes: they are strings, and a template substitution must not turn "1" into 1. */
static void flow_text(mo_buf_t *b, const mo_cfg_node_t *n)
{
    switch (mo_cfg_type(n)) {
    case MO_CFG_SCALAR: {
        const char *s = mo_cfg_scalar(n);
        if (!mo_cfg_is_quoted(n)) {
            mo_buf_puts(b, s);
            break;
        }
        quoted_text(b, s);
        break;
    }
    case MO_CFG_LIST:
    case MO_CFG_MAP: {
        int map = mo_cfg_type(n) == MO_CFG_MAP;
        mo_buf_puts(b, map ? "{" : "[");
        for (size_t i = 0; i < mo_cfg_len(n); i++) {
            if (i)
                mo_buf_puts(b, ", ");
            if (map) {
                const char *k = mo_cfg_key_at(n, i);
                if (*k && strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789_.-") == strlen(k))
                    mo_buf_puts(b, k);
                else
                    quoted_text(b, k);
                mo_buf_puts(b, ": ");
            }
            flow_text(b, mo_cfg_at(n, i));
        }
        mo_buf_puts(b, map ? "}" : "]");
        break;
    }
    default:
        mo_buf_puts(b, "null");
    }
}

static int parse_values(mo_param_t *p, mo_cfg_node_t *item, double **numbers, char ***texts,
                        mo_error_t *err)
{
    mo_cfg_node_t *list = NULL;
    int rc = mo_cfg_get_list(item, "values", MO_CFG_REQUIRED, &list, err);
    if (rc)
        return rc;
    size_t n = mo_cfg_len(list);
    if (n == 0)
        return mo_cfg_errorf(err, MO_EINVAL, list, "parameter '%s': values must not be empty",
                             p->name);
    *numbers = calloc(n, sizeof(double));
    *texts = calloc(n, sizeof(char *));
    if (!*numbers || !*texts)
        return mo_errorf(err, MO_ENOMEM, "mo_space_parse: out of memory");
    p->n_values = n;
    for (size_t i = 0; i < n; i++) {
        mo_cfg_node_t *v = mo_cfg_at(list, i);
        if (p->type == MO_PARAM_DISCRETE) {
            rc = mo_cfg_as_double(v, 0, -INFINITY, INFINITY, &(*numbers)[i], err);
            if (rc)
                return rc;
        }
        mo_buf_t b = {0};
        flow_text(&b, v);
        if (b.len >= MO_SPACE_TEXT_MAX) {
            mo_buf_free(&b);
            return mo_cfg_errorf(err, MO_EINVAL, v,
                                 "parameter '%s': value %zu is longer than %d characters as "
                                 "written",
                                 p->name, i + 1, MO_SPACE_TEXT_MAX - 1);
        }
        (*texts)[i] = mo_buf_steal(&b);
        if (!(*texts)[i])
            return mo_errorf(err, MO_ENOMEM, "mo_space_parse: out of memory");
    }
    return 0;
}

static int parse_one(mo_space_t *space, mo_cfg_node_t *item, mo_error_t *err)
{
    mo_param_t p = {0};
    double *numbers = NULL;
    char **texts = NULL;
    int type = 0, scale = 0, rc;
    if (mo_cfg_type(item) != MO_CFG_MAP)
        return mo_cfg_errorf(err, MO_EINVAL, item, "a parameter must be a map with name and type");
    if ((rc = mo_cfg_get_string(item, "name", MO_CFG_REQUIRED, &p.name, err)) ||
        (rc = mo_cfg_get_enum(item, "type", MO_CFG_REQUIRED, type_names, &type, err)))
        return rc;
    p.type = (mo_param_type_t)type;
    if (p.type == MO_PARAM_DOUBLE || p.type == MO_PARAM_INT) {
        if ((rc = mo_cfg_get_double(item, "min", MO_CFG_REQUIRED, -INFINITY, INFINITY, &p.min,
                                    err)) ||
            (rc = mo_cfg_get_double(item, "max", MO_CFG_REQUIRED, -INFINITY, INFINITY, &p.max,
                                    err)) ||
            (rc = mo_cfg_get_enum(item, "scale", 0, scale_names, &scale, err)) ||
            (rc = mo_cfg_get_double(item, "step", 0, 0, INFINITY, &p.step, err)))
            return rc;
        p.scale = (mo_scale_t)scale;
    } else {
        rc = parse_values(&p, item, &numbers, &texts, err);
        p.numbers = numbers;
        p.texts = (const char *const *)texts;
    }
    if (!rc) {
        rc = mo_space_add(space, &p, err);
        if (rc == MO_EINVAL) {
            /* mo_space_add knows the rule, the node knows where the user wrote it. */
            char where[128];
            mo_error_prefix(err, "%s", mo_cfg_where(item, where, sizeof(where)));
        }
    }
    for (size_t i = 0; texts && i < p.n_values; i++)
        free(texts[i]);
    free(texts);
    free(numbers);
    return rc;
}

int mo_space_parse(mo_space_t **out, mo_cfg_node_t *list, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_space_parse: out is NULL");
    *out = NULL;
    if (!list)
        return mo_errorf(err, MO_EINVAL, "mo_space_parse: parameters list is NULL");
    if (mo_cfg_type(list) != MO_CFG_LIST || mo_cfg_len(list) == 0)
        return mo_cfg_errorf(err, MO_EINVAL, list, "parameters must be a non-empty list");
    mo_space_t *space = NULL;
    int rc = mo_space_create(&space, err);
    for (size_t i = 0; !rc && i < mo_cfg_len(list); i++)
        rc = parse_one(space, mo_cfg_at(list, i), err);
    if (rc) {
        mo_space_destroy(space);
        return rc;
    }
    *out = space;
    return 0;
}
