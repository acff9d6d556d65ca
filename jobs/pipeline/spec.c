/* spec.c - the keys of `kind: pipeline` and the checks on its graph (docs/spec.md) */
#include "core/alloc.h"
#include "core/str.h"
#include "jobs/pipeline/pipeline_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pipe_state_names[] = {"pending", "running", "ok",      "gate_failed", "failed",
                                        "skipped", "blocked", "stopped", NULL};

static long find_step(const pipe_spec_t *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n_steps; i++)
        if (strlen(s->steps[i].name) == len && !strncmp(s->steps[i].name, name, len))
            return (long)i;
    return -1;
}

/* Walk the ${...} references of `text`; for each `steps.NAME.FIELD` call fn. */
typedef int (*ref_fn)(void *ud, long step, const char *field, mo_error_t *err);

static int each_ref(const char *text, const pipe_spec_t *s, ref_fn fn, void *ud, mo_buf_t *out,
                    mo_error_t *err)
{
    const char *p = text;
    while (*p) {
        const char *open = strstr(p, "${");
        if (!open) {
            if (out)
                mo_buf_puts(out, p);
            break;
        }
        if (out)
            mo_buf_append(out, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        if (!close)
            return mo_errorf(err, MO_EINVAL, "unterminated '${' in \"%s\"", text);
        const char *ref = open + 2;
        size_t len = (size_t)(close - ref);
        const char *dot1 = memchr(ref, '.', len);
        const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(close - dot1 - 1)) : NULL;
        if (strncmp(ref, "steps.", 6) != 0 || !dot2)
            return mo_errorf(err, MO_EINVAL,
                             "unknown reference ${%.*s} (a pipeline knows "
                             "${steps.NAME.output}, ${steps.NAME.status} and "
                             "${steps.NAME.gates_passed})",
                             (int)len, ref);
        long step = find_step(s, dot1 + 1, (size_t)(dot2 - dot1 - 1));
        char field[32];
        snprintf(field, sizeof field, "%.*s", (int)(close - dot2 - 1), dot2 + 1);
        if (step < 0)
            return mo_errorf(err, MO_EINVAL, "${%.*s}: no step named '%.*s'", (int)len, ref,
                             (int)(dot2 - dot1 - 1), dot1 + 1);
        if (strcmp(field, "output") && strcmp(field, "status") && strcmp(field, "gates_passed"))
            return mo_errorf(err, MO_EINVAL,
                             "${%.*s}: a step has output, status and gates_passed, not '%s'",
                             (int)len, ref, field);
        int rc = fn(ud, step, field, err);
        if (rc)
            return rc;
        p = close + 1;
    }
    return 0;
}

typedef struct {
    const pipe_spec_t *s;
    size_t step;
    const step_result_t *r;
    mo_buf_t *out;
} ref_ud_t;

/* A step may refer only to steps it needs, directly or not: their results exist by then. */
static int reachable(const pipe_spec_t *s, size_t from, size_t to)
{
    for (size_t k = 0; k < s->steps[from].n_needs; k++)
        if (s->steps[from].needs[k] == to || reachable(s, s->steps[from].needs[k], to))
            return 1;
    return 0;
}

static int check_one(void *ud, long step, const char *field, mo_error_t *err)
{
    const ref_ud_t *u = ud;
    (void)field;
    if (!reachable(u->s, u->step, (size_t)step))
        return mo_errorf(err, MO_EINVAL,
                         "step '%s' refers to step '%s', which it does not need (add it to "
                         "needs)",
                         u->s->steps[u->step].name, u->s->steps[step].name);
    return 0;
}

int pipe_check_refs(const char *text, const pipe_spec_t *s, size_t step, mo_error_t *err)
{
    ref_ud_t u = {s, step, NULL, NULL};
    return each_ref(text, s, check_one, &u, NULL, err);
}

static int put_value(void *ud, long step, const char *field, mo_error_t *err)
{
    const ref_ud_t *u = ud;
    const step_result_t *r = &u->r[step];
    (void)err;
    if (!strcmp(field, "output"))
        return mo_buf_puts(u->out, r->output);
    if (!strcmp(field, "status"))
        return mo_buf_puts(u->out, pipe_state_names[r->state]);
    return mo_buf_puts(u->out, r->gates_passed ? "true" : "false");
}

int pipe_expand(char **out, const char *text, const pipe_spec_t *s, const step_result_t *r,
                mo_error_t *err)
{
    mo_buf_t b = {0};
    ref_ud_t u = {s, 0, r, &b};
    int rc = each_ref(text, s, put_value, &u, &b, err);
    *out = rc ? NULL : mo_buf_steal(&b);
    mo_buf_free(&b);
    if (!rc && !*out)
        *out = mo_strdup("");
    return rc || *out ? rc : mo_errorf(err, MO_ENOMEM, "out of memory");
}

/* ---- parsing ------------------------------------------------------------------------------ */

static int read_sets(pipe_step_t *st, mo_cfg_node_t *map, mo_error_t *err)
{
    if (!map)
        return 0;
    size_t n = mo_cfg_len(map);
    if (n > PIPE_MAX_SETS)
        return mo_cfg_errorf(err, MO_EINVAL, map, "at most %d overrides in set", PIPE_MAX_SETS);
    mo_cfg_allow_any(map);
    for (size_t i = 0; i < n; i++) {
        const char *v = NULL;
        int rc = mo_cfg_as_template(mo_cfg_at(map, i), &v, err);
        if (rc)
            return rc;
        st->set_keys[i] = mo_cfg_key_at(map, i);
        st->set_values[i] = v;
    }
    st->n_sets = n;
    return 0;
}

static int read_step(pipe_spec_t *s, size_t i, mo_cfg_node_t *n, mo_error_t *err)
{
    pipe_step_t *st = &s->steps[i];
    mo_cfg_node_t *reg = NULL, *set = NULL, *when = NULL;
    if (mo_cfg_type(n) != MO_CFG_MAP)
        return mo_cfg_errorf(err, MO_EINVAL, n, "a step is a map: {name, spec, needs, set, when}");
    mo_cfg_where(n, st->where, sizeof st->where);
    int rc = mo_cfg_get_string(n, "name", MO_CFG_REQUIRED, &st->name, err);
    if (!rc)
        rc = mo_cfg_get_string(n, "spec", 0, &st->spec, err);
    if (!rc)
        rc = mo_cfg_get_map(n, "registry", 0, &reg, err);
    if (!rc && reg)
        rc = mo_cfg_get_string(reg, "model", MO_CFG_REQUIRED, &st->registry_model, err);
    if (!rc && reg)
        rc = mo_cfg_get_string(reg, "alias", 0, &st->registry_alias, err);
    if (!rc)
        rc = mo_cfg_get_map(n, "set", 0, &set, err);
    if (!rc)
        rc = read_sets(st, set, err);
    if (!rc && (when = mo_cfg_child(n, "when")))
        rc = mo_cfg_as_template(when, &st->when, err);
    mo_cfg_mark_known(n, "when");
    mo_cfg_mark_known(n, "needs");
    if (rc)
        return rc;
    if (!!st->spec == !!st->registry_model)
        return mo_cfg_errorf(err, MO_EINVAL, n,
                             "step '%s' needs exactly one of spec (a job spec file) or registry "
                             "(register a model)",
                             st->name);
    if (st->registry_model && st->n_sets)
        return mo_cfg_errorf(err, MO_EINVAL, set, "a registry step takes no set");
    for (size_t k = 0; k < i; k++)
        if (!strcmp(s->steps[k].name, st->name))
            return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(n, "name"),
                                 "step name '%s' is used twice", st->name);
    return 0;
}

static int read_needs(pipe_spec_t *s, size_t i, mo_cfg_node_t *n, mo_error_t *err)
{
    mo_cfg_node_t *list = mo_cfg_child(n, "needs");
    if (!list)
        return 0;
    if (mo_cfg_type(list) != MO_CFG_LIST)
        return mo_cfg_errorf(err, MO_EINVAL, list, "needs is a list of step names");
    pipe_step_t *st = &s->steps[i];
    st->needs = mo_calloc(mo_cfg_len(list) + 1, sizeof *st->needs);
    if (!st->needs)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t k = 0; k < mo_cfg_len(list); k++) {
        const char *name = NULL;
        int rc = mo_cfg_as_string(mo_cfg_at(list, k), &name, err);
        if (rc)
            return rc;
        long j = find_step(s, name, strlen(name));
        if (j < 0)
            return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_at(list, k),
                                 "step '%s' needs '%s', which is not a step of this pipeline",
                                 st->name, name);
        st->needs[st->n_needs++] = (size_t)j;
    }
    return 0;
}

/* Kahn's algorithm, always taking the first ready step in declaration order. */
static int topo_order(pipe_spec_t *s, mo_cfg_node_t *list, mo_error_t *err)
{
    size_t n = s->n_steps, done = 0;
    char *placed = mo_calloc(n, 1);
    s->order = mo_calloc(n, sizeof *s->order);
    if (!placed || !s->order) {
        free(placed);
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    while (done < n) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++) {
            if (placed[i])
                continue;
            int ready = 1;
            for (size_t k = 0; k < s->steps[i].n_needs; k++)
                ready &= placed[s->steps[i].needs[k]];
            if (ready)
                pick = i;
        }
        if (pick == n) {
            mo_buf_t b = {0};
            for (size_t i = 0; i < n; i++)
                if (!placed[i])
                    mo_buf_printf(&b, "%s%s", b.len ? ", " : "", s->steps[i].name);
            int rc = mo_cfg_errorf(err, MO_EINVAL, list, "the steps' needs form a cycle among: %s",
                                   b.data ? b.data : "");
            mo_buf_free(&b);
            free(placed);
            return rc;
        }
        placed[pick] = 1;
        s->order[done++] = pick;
    }
    free(placed);
    return 0;
}

int pipe_spec_parse(pipe_spec_t **out, mo_cfg_node_t *root, mo_error_t *err)
{
    *out = NULL;
    pipe_spec_t *s = mo_calloc(1, sizeof *s);
    mo_cfg_node_t *list = NULL;
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = mo_cfg_get_list(root, "steps", MO_CFG_REQUIRED, &list, err);
    if (!rc && mo_cfg_len(list) == 0)
        rc = mo_cfg_errorf(err, MO_EINVAL, list, "steps is empty");
    if (!rc) {
        s->n_steps = mo_cfg_len(list);
        if (!(s->steps = mo_calloc(s->n_steps, sizeof *s->steps)))
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < s->n_steps; i++)
        rc = read_step(s, i, mo_cfg_at(list, i), err);
    for (size_t i = 0; !rc && i < s->n_steps; i++)
        rc = read_needs(s, i, mo_cfg_at(list, i), err);
    if (!rc)
        rc = topo_order(s, list, err);
    /* Every ${steps...} reference names a step this one needs, and a field a step has. */
    for (size_t i = 0; !rc && i < s->n_steps; i++) {
        const pipe_step_t *st = &s->steps[i];
        mo_error_t why = {0};
        for (size_t k = 0; !rc && k < st->n_sets; k++)
            if (pipe_check_refs(st->set_values[k], s, i, &why))
                rc = mo_errorf(err, MO_EINVAL, "%s: set %s: %s", st->where, st->set_keys[k],
                               why.msg);
        if (!rc && st->when && pipe_check_refs(st->when, s, i, &why))
            rc = mo_errorf(err, MO_EINVAL, "%s: when: %s", st->where, why.msg);
    }
    if (rc) {
        pipe_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void pipe_spec_free(pipe_spec_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->steps && i < s->n_steps; i++)
        free(s->steps[i].needs);
    free(s->steps);
    free(s->order);
    free(s);
}
