/* spec.c - load a job spec, pick its kind, check every key */
#include "runner/spec.h"

#include "core/alloc.h"
#include "core/str.h"
#include "runner/secrets.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names end up in paths and metric labels; submission derives Kubernetes object names from
 * them (lower-cased, '_' and '.' as '-'). */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".yml"))
        n -= 4;
    else if (n > 5 && !strcmp(base + n - 5, ".yaml"))
        n -= 5;
    return mo_strndup(base, n);
}

static int pick_kind(mo_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    const char *kind = NULL;
    int rc = mo_cfg_get_string(root, "kind", MO_CFG_REQUIRED, &kind, err);
    if (rc)
        return rc;
    mo_cfg_node_t *node = mo_cfg_child(root, "kind");
    s->kind = mo_kind_find(kind);
    size_t n;
    const mo_kind_entry_t *all = mo_kinds(&n);
    if (!s->kind) {
        mo_buf_t names = {0};
        const char *best = NULL;
        size_t best_d = 3;
        for (size_t i = 0; i < n; i++) {
            mo_buf_printf(&names, "%s%s", i ? ", " : "", all[i].name);
            size_t d = mo_str_distance(kind, all[i].name, 3);
            if (d < best_d) {
                best_d = d;
                best = all[i].name;
            }
        }
        char hint[64] = "";
        if (best)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", best);
        rc = mo_cfg_errorf(err, MO_EINVAL, node, "unknown kind '%s' (kinds: %s)%s", kind,
                           names.data ? names.data : "", hint);
        mo_buf_free(&names);
        return rc;
    }
    if (!s->kind->kind) {
        mo_buf_t built = {0};
        for (size_t i = 0; i < n; i++)
            if (all[i].kind)
                mo_buf_printf(&built, "%s%s", built.len ? ", " : "", all[i].name);
        rc = mo_cfg_errorf(err, MO_ENOTBUILT, node,
                           "kind '%s' is not built yet in this Maestro (built kinds: %s)", kind,
                           built.data ? built.data : "none");
        mo_buf_free(&built);
        return rc;
    }
    return 0;
}

static int read_common(mo_spec_t *s, const char *path, const mo_spec_opts_t *opts, mo_error_t *err)
{
    mo_cfg_node_t *root = mo_cfg_root(s->doc), *labels = NULL;
    const char *name = NULL, *output = NULL;
    int rc = mo_cfg_get_string(root, "name", 0, &name, err);
    if (rc)
        return rc;
    if (name && !valid_name(name))
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(root, "name"),
                             "name must be 1-63 letters, digits, '-', '_' or '.', starting with "
                             "a letter or digit, got \"%s\"",
                             name);
    s->name = name ? mo_strdup(name) : default_name(path);
    if (!s->name)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!name && !valid_name(s->name))
        return mo_errorf(err, MO_EINVAL,
                         "%s: the spec has no name: and its file name \"%s\" is not a valid "
                         "one; add name: to the spec",
                         path, s->name);
    rc = mo_cfg_get_string(root, "description", 0, &s->description, err);
    if (!rc)
        rc = mo_cfg_get_string(root, "output", 0, &output, err);
    if (!rc)
        rc = mo_cfg_get_map(root, "labels", 0, &labels, err);
    if (rc)
        return rc;
    if (labels)
        mo_cfg_allow_any(labels);
    rc = mo_run_plugins_parse(&s->plugins, root, err);
    if (rc)
        return rc;
    mo_buf_t b = {0};
    if (opts && opts->output)
        mo_buf_puts(&b, opts->output);
    else if (output)
        mo_buf_puts(&b, output);
    else
        mo_buf_printf(&b, "runs/%s", s->name);
    s->output = mo_buf_steal(&b);
    return s->output ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
}

/* A composite kind's child spec is loaded with the parent's cluster, secrets and checks, and
 * thrown away: what is kept is only that it loads. Children of children are checked too. */
static int check_child(void *ud, const mo_job_child_spec_t *child, mo_error_t *err)
{
    static int depth; /* a template naming its own sweep would recurse for ever */
    if (depth >= 4)
        return mo_errorf(err, MO_EINVAL,
                         "%s: specs nest more than 4 deep (a sweep whose trial "
                         "template runs the sweep again?)",
                         child->path);
    const mo_spec_opts_t *parent = ud;
    mo_spec_opts_t o = {child->sets, child->n_sets, NULL, parent ? parent->cluster : NULL,
                        parent ? parent->secrets_plugins : NULL};
    mo_spec_t *s = NULL;
    depth++;
    int rc = mo_spec_load(&s, child->path, &o, err);
    depth--;
    mo_spec_destroy(s);
    return rc;
}

int mo_spec_check_child(const mo_spec_opts_t *opts, const mo_job_child_spec_t *child,
                        mo_error_t *err)
{
    return check_child((void *)opts, child, err);
}

int mo_spec_load(mo_spec_t **out, const char *path, const mo_spec_opts_t *opts, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_spec_load: NULL out");
    *out = NULL;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "no spec file given");
    mo_spec_t *s = mo_calloc(1, sizeof *s);
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    s->secrets.cluster = opts ? opts->cluster : NULL;
    s->secrets.plugins = opts ? opts->secrets_plugins : NULL;
    mo_cfg_opts_t copts = {mo_secrets_resolve_ctx, &s->secrets, 0, 0};
    int rc = mo_cfg_load_file(&s->doc, path, &copts, err);
    if (rc == MO_EIO) /* the spec named on the command line cannot be read: bad input */
        rc = err ? (err->code = MO_EINVAL) : MO_EINVAL;
    for (size_t i = 0; !rc && opts && i < opts->n_sets; i++)
        rc = mo_cfg_set(s->doc, opts->sets[i], err);
    mo_cfg_node_t *root = rc ? NULL : mo_cfg_root(s->doc);
    if (!rc)
        rc = pick_kind(s, root, err);
    if (!rc)
        rc = read_common(s, path, opts, err);
    if (!rc)
        rc = s->kind->kind->parse(&s->job, root, err);
    if (!rc)
        rc = mo_cfg_check_unknown(root, err);
    if (!rc && s->kind->kind->check_children)
        rc = s->kind->kind->check_children(s->job, check_child, (void *)opts, err);
    if (rc) {
        mo_spec_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void mo_spec_destroy(mo_spec_t *spec)
{
    if (!spec)
        return;
    if (spec->job && spec->kind && spec->kind->kind)
        spec->kind->kind->destroy(spec->job);
    free(spec->name);
    mo_run_plugins_free(spec->plugins);
    free(spec->output);
    mo_cfg_destroy(spec->doc);
    free(spec);
}
