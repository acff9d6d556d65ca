/* run_plugins.c - a spec's plugins and registry request, their configuration, the run params
 *
 * Plugin names are checked at validation time against what the search path holds, so a
 * misspelt plugin is bad input (exit 2) and not a run that silently reports nowhere.
 */
#include "runner/run_plugins.h"

#include "core/alloc.h"
#include "core/str.h"
#include "runner/slurm_env.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLUGINS 16
#define MAX_OPTIONS 32

typedef struct {
    const char *name;
    maestro_kv_t options[MAX_OPTIONS];
    size_t n_options;
} plugin_entry_t;

struct mo_run_plugins {
    plugin_entry_t entries[MAX_PLUGINS];
    size_t n;
    const char *registry_model, *registry_alias;
};

static int valid_plugin_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' && *p != '_')
            return 0;
    return 1;
}

/* The names of plugins on the search path (for "did you mean" and the error's list). */
static int known_plugin(const char *name, char *hint, size_t hint_size, char *found,
                        size_t found_size)
{
    json_t *list = NULL;
    hint[0] = found[0] = '\0';
    if (mo_plugins_list(&list, NULL))
        return 0;
    int ok = 0;
    size_t i, best_d = 3, used = 0;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        const char *st = json_string_value(json_object_get(item, "status"));
        if (!n)
            continue;
        if (!strcmp(n, name) && st && !strcmp(st, "ok"))
            ok = 1;
        size_t d = mo_str_distance(name, n, 3);
        if (d < best_d) {
            best_d = d;
            snprintf(hint, hint_size, "; did you mean '%s'?", n);
        }
        int w = snprintf(found + used, found_size - used, "%s%s", used ? ", " : "", n);
        if (w > 0 && (size_t)w < found_size - used)
            used += (size_t)w;
    }
    json_decref(list);
    return ok;
}

static int parse_entry(plugin_entry_t *e, mo_cfg_node_t *item, size_t idx, mo_error_t *err)
{
    memset(e, 0, sizeof *e);
    if (mo_cfg_type(item) == MO_CFG_SCALAR) {
        e->name = mo_cfg_scalar(item);
    } else if (mo_cfg_type(item) == MO_CFG_MAP) {
        int rc = mo_cfg_get_string(item, "name", MO_CFG_REQUIRED, &e->name, err);
        if (rc)
            return rc;
        mo_cfg_allow_any(item);
        for (size_t i = 0; i < mo_cfg_len(item); i++) {
            const char *key = mo_cfg_key_at(item, i);
            mo_cfg_node_t *v = mo_cfg_at(item, i);
            if (!strcmp(key, "name"))
                continue;
            if (mo_cfg_type(v) != MO_CFG_SCALAR)
                return mo_cfg_errorf(err, MO_EINVAL, v,
                                     "plugins[%zu].%s must be a single value (plugin options are "
                                     "key: value strings)",
                                     idx, key);
            if (e->n_options == MAX_OPTIONS)
                return mo_cfg_errorf(err, MO_EINVAL, v, "plugins[%zu] has more than %d options",
                                     idx, MAX_OPTIONS);
            e->options[e->n_options].key = key;
            e->options[e->n_options++].value = mo_cfg_scalar(v);
        }
    } else {
        return mo_cfg_errorf(err, MO_EINVAL, item,
                             "plugins[%zu] must be a plugin name or {name: NAME, option: value}",
                             idx);
    }
    if (!valid_plugin_name(e->name))
        return mo_cfg_errorf(err, MO_EINVAL, item,
                             "plugins[%zu]: \"%s\" is not a plugin name (lower case letters, "
                             "digits, '-', '_')",
                             idx, e->name);
    char hint[96], found[512];
    if (!known_plugin(e->name, hint, sizeof hint, found, sizeof found)) {
        char path[1024];
        return mo_cfg_errorf(err, MO_EINVAL, item,
                             "plugins[%zu]: no plugin '%s' on the search path %s (found: %s)%s",
                             idx, e->name, mo_plugins_search_path(path, sizeof path),
                             found[0] ? found : "none", hint);
    }
    return 0;
}

static int parse_registry(mo_run_plugins_t *rp, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *reg = NULL;
    int rc = mo_cfg_get_map(root, "registry", 0, &reg, err);
    if (rc || !reg)
        return rc;
    rc = mo_cfg_get_string(reg, "model", MO_CFG_REQUIRED, &rp->registry_model, err);
    if (!rc)
        rc = mo_cfg_get_string(reg, "alias", 0, &rp->registry_alias, err);
    if (rc)
        return rc;
    /* It names a folder of the local registry: no '/', and no leading '.' (".." would be
     * the registry folder's parent). */
    const char *mn = rp->registry_model;
    int bad = !*mn || mn[0] == '.' || strlen(mn) > 200;
    for (const char *p = mn; *p && !bad; p++)
        bad = !isalnum((unsigned char)*p) && !strchr("-_. ", *p);
    if (bad)
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(reg, "model"),
                             "registry.model \"%.64s\" must be 1-200 letters, digits, '-', '_', "
                             "'.' and spaces, not starting with '.'",
                             mn);
    const char *a = rp->registry_alias;
    int reserved = a && (!strcmp(a, "latest") ||
                         (a[0] == 'v' && a[1] && strspn(a + 1, "0123456789") == strlen(a + 1)));
    for (const char *p = a; p && *p && !reserved; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            reserved = 1;
    if (reserved)
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(reg, "alias"),
                             "registry.alias \"%s\" must be letters, digits, '_' or '-', and not "
                             "'latest' or v<digits> (reserved by MLflow)",
                             a);
    return 0;
}

int mo_run_plugins_parse(mo_run_plugins_t **out, mo_cfg_node_t *root, mo_error_t *err)
{
    *out = NULL;
    mo_cfg_node_t *list = NULL;
    mo_run_plugins_t *rp = mo_calloc(1, sizeof *rp);
    if (!rp)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = mo_cfg_get_list(root, "plugins", 0, &list, err);
    size_t n = list ? mo_cfg_len(list) : 0;
    if (!rc && n > MAX_PLUGINS)
        rc = mo_cfg_errorf(err, MO_EINVAL, list, "plugins lists %zu plugins; at most %d", n,
                           MAX_PLUGINS);
    for (size_t i = 0; !rc && i < n; i++) {
        rc = parse_entry(&rp->entries[i], mo_cfg_at(list, i), i, err);
        for (size_t j = 0; !rc && j < i; j++)
            if (!strcmp(rp->entries[j].name, rp->entries[i].name))
                rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_at(list, i),
                                   "plugins[%zu]: '%s' is listed twice", i, rp->entries[i].name);
        rp->n = i + 1;
    }
    if (!rc)
        rc = parse_registry(rp, root, err);
    if (rc) {
        free(rp);
        return rc;
    }
    *out = rp;
    return 0;
}

void mo_run_plugins_free(mo_run_plugins_t *rp)
{
    free(rp);
}

size_t mo_run_plugins_count(const mo_run_plugins_t *rp)
{
    return rp ? rp->n : 0;
}

const char *mo_run_plugins_registry_model(const mo_run_plugins_t *rp)
{
    return rp ? rp->registry_model : NULL;
}

const char *mo_run_plugins_registry_alias(const mo_run_plugins_t *rp)
{
    return rp ? rp->registry_alias : NULL;
}

static const char *service_of(const char *plugin)
{
    if (!strcmp(plugin, "prometheus"))
        return "pushgateway";
    return plugin;
}

int mo_run_plugins_service_config(maestro_kv_t **kv, size_t *n, const mo_cluster_t *c,
                                  const char *plugin, mo_error_t *err)
{
    *kv = NULL;
    *n = 0;
    if (!c || !c->doc)
        return 0;
    char path[128];
    snprintf(path, sizeof path, "services.%s", service_of(plugin));
    mo_cfg_node_t *svc = mo_cfg_lookup(mo_cfg_root(c->doc), path);
    if (!svc || mo_cfg_type(svc) != MO_CFG_MAP)
        return 0;
    size_t count = mo_cfg_len(svc);
    maestro_kv_t *out = mo_calloc(count ? count : 1, sizeof *out);
    if (!out)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        const char *v = mo_cfg_scalar(mo_cfg_at(svc, i));
        if (v) {
            out[k].key = mo_cfg_key_at(svc, i);
            out[k++].value = v;
        }
    }
    *kv = out;
    *n = k;
    return 0;
}

int mo_run_plugins_open(mo_plugins_t **out, const mo_run_plugins_t *rp, const mo_cluster_t *c,
                        int rank, int ranks, const char *run_dir, mo_error_t *err)
{
    *out = NULL;
    if (!rp || rp->n == 0)
        return 0;
    mo_plugin_request_t req[MAX_PLUGINS];
    maestro_kv_t *merged[MAX_PLUGINS] = {0};
    int rc = 0;
    for (size_t i = 0; i < rp->n && !rc; i++) {
        maestro_kv_t *svc = NULL;
        size_t ns = 0;
        rc = mo_run_plugins_service_config(&svc, &ns, c, rp->entries[i].name, err);
        if (rc)
            break;
        /* Service settings first, spec options after: the host's lookup takes the last. */
        merged[i] = mo_calloc(ns + rp->entries[i].n_options + 1, sizeof(maestro_kv_t));
        if (!merged[i]) {
            free(svc);
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            break;
        }
        if (ns) /* memcpy from NULL is undefined even for 0 bytes */
            memcpy(merged[i], svc, ns * sizeof *svc);
        if (rp->entries[i].n_options)
            memcpy(merged[i] + ns, rp->entries[i].options,
                   rp->entries[i].n_options * sizeof(maestro_kv_t));
        free(svc);
        req[i].name = rp->entries[i].name;
        req[i].config = merged[i];
        req[i].n_config = ns + rp->entries[i].n_options;
    }
    if (!rc) {
        mo_plugins_opts_t opts = {rank, ranks, run_dir, 0};
        rc = mo_plugins_open(out, req, rp->n, &opts, err);
        /* The Slurm job's labels go on every metric of the run (runner/slurm_env.h). */
        maestro_kv_t labels[MO_SLURM_MAX_LABELS];
        size_t nl = mo_slurm_env_labels(mo_slurm_env(), labels, MO_SLURM_MAX_LABELS);
        if (!rc && nl && (rc = mo_plugins_set_labels(*out, labels, nl, err))) {
            mo_plugins_close(*out);
            *out = NULL;
        }
    }
    for (size_t i = 0; i < rp->n; i++)
        free(merged[i]);
    return rc;
}

/* ---- flattened params --------------------------------------------------------------------- */

typedef struct {
    maestro_kv_t *kv;
    size_t n, cap;
    int failed;
} params_t;

static void add_param(params_t *p, const char *key, char *value)
{
    if (p->failed || !value) {
        free(value);
        p->failed = 1;
        return;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        maestro_kv_t *kv = mo_reallocarray(p->kv, cap, sizeof *kv);
        if (!kv) {
            free(value);
            p->failed = 1;
            return;
        }
        p->kv = kv;
        p->cap = cap;
    }
    p->kv[p->n].key = mo_strdup(key);
    p->kv[p->n].value = value;
    if (!p->kv[p->n].key) {
        free(value);
        p->failed = 1;
        return;
    }
    p->n++;
}

/* A list of scalars as "[a, b]"; nested structures are flattened by path instead. */
static char *scalar_list(const mo_cfg_node_t *list)
{
    mo_buf_t b = {0};
    mo_buf_puts(&b, "[");
    for (size_t i = 0; i < mo_cfg_len(list); i++) {
        const mo_cfg_node_t *it = mo_cfg_at(list, i);
        const char *s = mo_cfg_is_secret(it) ? "***" : mo_cfg_scalar(it);
        mo_buf_printf(&b, "%s%s", i ? ", " : "", s ? s : "...");
    }
    mo_buf_puts(&b, "]");
    return mo_buf_steal(&b);
}

static int all_scalars(const mo_cfg_node_t *list)
{
    for (size_t i = 0; i < mo_cfg_len(list); i++)
        if (mo_cfg_type(mo_cfg_at(list, i)) != MO_CFG_SCALAR)
            return 0;
    return 1;
}

static void flatten(params_t *p, const mo_cfg_node_t *n, const char *prefix)
{
    char key[512];
    switch (mo_cfg_type(n)) {
    case MO_CFG_SCALAR:
        add_param(p, prefix, mo_strdup(mo_cfg_is_secret(n) ? "***" : mo_cfg_scalar(n)));
        break;
    case MO_CFG_NULL:
        add_param(p, prefix, mo_strdup(""));
        break;
    case MO_CFG_MAP:
        for (size_t i = 0; i < mo_cfg_len(n); i++) {
            snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", mo_cfg_key_at(n, i));
            flatten(p, mo_cfg_at(n, i), key);
        }
        break;
    case MO_CFG_LIST:
        if (all_scalars(n)) {
            add_param(p, prefix, scalar_list(n));
            break;
        }
        for (size_t i = 0; i < mo_cfg_len(n); i++) {
            snprintf(key, sizeof key, "%s.%zu", prefix, i);
            flatten(p, mo_cfg_at(n, i), key);
        }
        break;
    }
}

int mo_run_params(maestro_kv_t **out, size_t *n, const mo_cfg_node_t *root, mo_error_t *err)
{
    params_t p = {0};
    flatten(&p, root, "");
    if (p.failed) {
        mo_run_params_free(p.kv, p.n);
        return mo_errorf(err, MO_ENOMEM, "out of memory flattening the spec");
    }
    *out = p.kv;
    *n = p.n;
    return 0;
}

void mo_run_params_free(maestro_kv_t *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free((char *)kv[i].key);
        free((char *)kv[i].value);
    }
    free(kv);
}
