/* config_set.c - `--set a.b.c=value` overrides applied to a loaded document
 *
 * The value is parsed by the loader itself (lines off), so `[64, 64]` is a list, `${env:X}`
 * expands, and every node it makes reports the `--set ...` text as its location. The path only
 * walks maps: missing ones are created, a null on the way becomes a map, anything else is an
 * error before the tree is touched. Whether the key is known is left to the readers and
 * mo_cfg_check_unknown, exactly as for keys in the file.
 */
#include "io/config_impl.h"

#include "core/alloc.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

static int keep_origin(mo_cfg_t *cfg, const char *assignment, const char **origin)
{
    char **o = mo_reallocarray(cfg->origins, cfg->norigins + 1, sizeof *o);
    if (!o)
        return MO_ENOMEM;
    cfg->origins = o;
    mo_buf_t b = {0};
    mo_buf_printf(&b, "--set %s", assignment);
    if (!(o[cfg->norigins] = mo_buf_steal(&b)))
        return MO_ENOMEM;
    *origin = o[cfg->norigins++];
    return 0;
}

static int check_set_path(const char *origin, const char *path, mo_error_t *err)
{
    int segs = 1;
    for (const char *p = path; *p; p++)
        segs += *p == '.';
    if (segs > CFG_MAX_DEPTH)
        return mo_errorf(err, MO_EINVAL, "%s: key path deeper than %d levels", origin,
                         CFG_MAX_DEPTH);
    if (path[0] == '.' || path[strlen(path) - 1] == '.' || strstr(path, ".."))
        return mo_errorf(err, MO_EINVAL, "%s: empty key in path '%s'", origin, path);
    return 0;
}

/* Replace the value of entry `e`; the old node stays alive (see mo_cfg.retired). */
static void replace_value(mo_cfg_t *cfg, mo_cfg_node_t *map, cfg_entry_t *e, mo_cfg_node_t *val)
{
    cfg->retired[cfg->nretired++] = e->val;
    e->val->parent = NULL;
    e->val = val;
    val->parent = map;
}

/* Walk `path` from the root creating maps; hang `val` at its end. Takes `val`. */
static int set_path(mo_cfg_t *cfg, const char *origin, char *path, mo_cfg_node_t *val,
                    mo_error_t *err)
{
    mo_cfg_node_t *map = cfg->root;
    char *seg = path;
    for (;;) {
        char *dot = strchr(seg, '.');
        if (dot)
            *dot = '\0';
        cfg_entry_t *e = cfg_find(map, seg);
        mo_cfg_node_t *next = val;
        if (dot && e && e->val->type == MO_CFG_MAP) {
            map = e->val;
            seg = dot + 1;
            continue;
        }
        if (dot && e && e->val->type != MO_CFG_NULL) {
            char where[160], p[160];
            cfg_node_free(cfg, val);
            return mo_errorf(err, MO_EINVAL, "%s: %s is a %s (%s), not a map", origin,
                             mo_cfg_path(e->val, p, sizeof p),
                             e->val->type == MO_CFG_LIST ? "list" : "scalar",
                             mo_cfg_where(e->val, where, sizeof where));
        }
        if (dot && !(next = cfg_node_new(cfg, MO_CFG_MAP, origin, 0, 0)))
            goto nomem;
        if (e) {
            replace_value(cfg, map, e, next);
        } else {
            char *key = mo_strdup(seg);
            if (!key || cfg_push(map, key, origin, 0, 0, next)) {
                free(key);
                if (next != val)
                    cfg_node_free(cfg, next);
                goto nomem;
            }
        }
        if (!dot)
            return 0;
        map = next;
        seg = dot + 1;
    }
nomem:
    cfg_node_free(cfg, val);
    return mo_errorf(err, MO_ENOMEM, "%s: out of memory", origin);
}

int mo_cfg_set(mo_cfg_t *cfg, const char *assignment, mo_error_t *err)
{
    if (!cfg || !assignment)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_set: %s is NULL", !cfg ? "cfg" : "assignment");
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return mo_errorf(err, MO_EINVAL, "--set %s: expected key.path=value", assignment);
    if (eq == assignment)
        return mo_errorf(err, MO_EINVAL, "--set %s: empty key path before '='", assignment);
    const char *origin = NULL;
    char *path = NULL;
    mo_cfg_node_t *val = NULL;
    int rc = keep_origin(cfg, assignment, &origin);
    if (rc || !(path = mo_strndup(assignment, (size_t)(eq - assignment))))
        goto nomem;
    if ((rc = check_set_path(origin, path, err)))
        goto out;
    /* At most one node is replaced per --set: reserve its slot before touching the tree. */
    mo_cfg_node_t **r = mo_reallocarray(cfg->retired, cfg->nretired + 1, sizeof *r);
    if (!r)
        goto nomem;
    cfg->retired = r;
    if ((rc = cfg_parse(cfg, origin, 0, eq + 1, strlen(eq + 1), 1, &val, err)))
        goto out;
    rc = set_path(cfg, origin, path, val, err);
    goto out;
nomem:
    rc = mo_errorf(err, MO_ENOMEM, "--set %s: out of memory", assignment);
out:
    free(path);
    return rc;
}
