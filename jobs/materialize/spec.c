/* spec.c - the keys of `kind: materialize` (docs/spec.md "kind: materialize") */
#include "core/alloc.h"
#include "core/str.h"
#include "jobs/materialize/materialize_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const entity_types[] = {"string", "int64", NULL};
static const char *const compression_names[] = {"deflate", "none", NULL};

static int read_source(mat_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *src = NULL;
    int fmt = 0;
    int rc = mo_cfg_get_map(root, "source", MO_CFG_REQUIRED, &src, err);
    if (!rc)
        rc = mo_cfg_get_string(src, "path", MO_CFG_REQUIRED, &s->source.path, err);
    if (!rc)
        rc = mo_cfg_get_string(src, "entity", MO_CFG_REQUIRED, &s->source.entity, err);
    if (!rc)
        rc = mo_cfg_get_string(src, "timestamp", MO_CFG_REQUIRED, &s->source.timestamp, err);
    if (!rc)
        rc = mo_cfg_get_string(src, "created", 0, &s->source.created, err);
    if (!rc)
        rc = mo_cfg_get_enum(src, "timestamp_format", 0, mo_ts_format_names, &fmt, err);
    s->source.ts_format = (mo_ts_format_t)fmt;
    return rc;
}

static int add_column(mat_spec_t *s, const char *column, size_t *index, mo_error_t *err)
{
    for (size_t i = 0; i < s->n_columns; i++)
        if (!strcmp(s->columns[i], column)) {
            *index = i;
            return 0;
        }
    const char **grown = mo_reallocarray(s->columns, s->n_columns + 1, sizeof *grown);
    if (!grown)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    s->columns = grown;
    s->columns[s->n_columns] = column;
    *index = s->n_columns++;
    return 0;
}

static int read_window(mo_cfg_node_t *f, mat_feature_t *feat, mo_error_t *err)
{
    mo_cfg_node_t *w = mo_cfg_child(f, "window");
    double seconds = 0;
    mo_cfg_mark_known(f, "window");
    if (!w)
        return 0;
    /* A duration must be > 0; "0s" and "-1h" are refused with the rule. */
    int rc =
        mo_cfg_get_duration(f, "window", MO_CFG_LO_OPEN, 0, 100.0 * 365 * 86400, &seconds, err);
    feat->window_us = (int64_t)llround(seconds * 1e6);
    if (!rc && feat->window_us <= 0)
        rc = mo_cfg_errorf(err, MO_EINVAL, w, "window must be at least 1 microsecond");
    return rc;
}

static int read_feature(mat_spec_t *s, mat_view_t *v, mo_cfg_node_t *f, mat_feature_t *feat,
                        mo_error_t *err)
{
    int agg = 0;
    if (mo_cfg_type(f) != MO_CFG_MAP)
        return mo_cfg_errorf(err, MO_EINVAL, f, "a feature is a map: {name, column, agg, window}");
    int rc = mo_cfg_get_string(f, "name", MO_CFG_REQUIRED, &feat->name, err);
    if (!rc)
        rc = mo_cfg_get_string(f, "column", MO_CFG_REQUIRED, &feat->column, err);
    if (!rc)
        rc = mo_cfg_get_enum(f, "agg", MO_CFG_REQUIRED, mo_agg_names, &agg, err);
    if (!rc)
        rc = read_window(f, feat, err);
    if (rc)
        return rc;
    feat->agg = (mo_agg_t)agg;
    for (mat_feature_t *o = v->features; o < feat; o++)
        if (!strcmp(o->name, feat->name))
            return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(f, "name"),
                                 "feature '%s' appears twice in view '%s'", feat->name, v->name);
    if (!strcmp(feat->column, s->source.entity) || !strcmp(feat->column, s->source.timestamp))
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(f, "column"),
                             "column '%s' is the entity or the timestamp; a feature aggregates a "
                             "value column",
                             feat->column);
    return add_column(s, feat->column, &feat->col, err);
}

static int read_view(mat_spec_t *s, mo_cfg_node_t *n, mat_view_t *v, mo_error_t *err)
{
    mo_cfg_node_t *list = NULL;
    const char *entity = NULL;
    double ttl = 0;
    if (mo_cfg_type(n) != MO_CFG_MAP)
        return mo_cfg_errorf(err, MO_EINVAL, n, "a feature view is a map: {name, ttl, features}");
    int rc = mo_cfg_get_string(n, "name", MO_CFG_REQUIRED, &v->name, err);
    if (!rc)
        rc = mo_cfg_get_string(n, "entity", 0, &entity, err);
    if (!rc)
        rc = mo_cfg_get_duration(n, "ttl", 0, 0, 100.0 * 365 * 86400, &ttl, err);
    if (!rc)
        rc = mo_cfg_get_list(n, "features", MO_CFG_REQUIRED, &list, err);
    if (rc)
        return rc;
    if (entity && strcmp(entity, s->source.entity) != 0)
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(n, "entity"),
                             "view '%s': entity '%s' is not the source's entity column '%s'",
                             v->name, entity, s->source.entity);
    if (!strchr(v->name, '/') && !strchr(v->name, ':') && *v->name)
        v->ttl_us = (int64_t)llround(ttl * 1e6);
    else
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(n, "name"),
                             "view name '%s' must be non-empty without '/' or ':'", v->name);
    v->n_features = mo_cfg_len(list);
    if (v->n_features == 0)
        return mo_cfg_errorf(err, MO_EINVAL, list, "view '%s' has no features", v->name);
    v->features = mo_calloc(v->n_features, sizeof *v->features);
    if (!v->features)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; i < v->n_features && !rc; i++)
        rc = read_feature(s, v, mo_cfg_at(list, i), &v->features[i], err);
    return rc;
}

static int read_views(mat_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *list = NULL;
    int rc = mo_cfg_get_list(root, "feature_views", MO_CFG_REQUIRED, &list, err);
    if (rc)
        return rc;
    s->n_views = mo_cfg_len(list);
    if (s->n_views == 0)
        return mo_cfg_errorf(err, MO_EINVAL, list, "feature_views is empty");
    s->views = mo_calloc(s->n_views, sizeof *s->views);
    if (!s->views)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_views && !rc; i++) {
        rc = read_view(s, mo_cfg_at(list, i), &s->views[i], err);
        for (size_t j = 0; j < i && !rc; j++)
            if (!strcmp(s->views[j].name, s->views[i].name))
                rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_at(list, i), "view '%s' appears twice",
                                   s->views[i].name);
    }
    return rc;
}

static int read_time(mo_cfg_node_t *range, const char *key, int *has, int64_t *us, mo_error_t *err)
{
    const char *text = NULL;
    int rc = mo_cfg_get_string(range, key, 0, &text, err);
    if (rc || !text)
        return rc;
    mo_error_t why = {0};
    if (mo_ts_parse(text, strlen(text), MO_TS_AUTO, us, &why))
        return mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(range, key), "range.%s: %s", key,
                             why.msg);
    *has = 1;
    return 0;
}

static int read_stores(mat_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *range = NULL, *off = NULL, *on = NULL;
    int type = 0;
    s->project = "maestro";
    int rc = mo_cfg_get_map(root, "range", 0, &range, err);
    if (!rc)
        rc = read_time(range, "start", &s->has_start, &s->start_us, err);
    if (!rc)
        rc = read_time(range, "end", &s->has_end, &s->end_us, err);
    if (!rc && s->has_start && s->has_end && s->start_us >= s->end_us)
        rc = mo_cfg_errorf(err, MO_EINVAL, range, "range.start must be before range.end");
    if (!rc)
        rc = mo_cfg_get_bool(root, "incremental", 0, &s->incremental, err);
    if (!rc)
        rc = mo_cfg_get_map(root, "offline", MO_CFG_REQUIRED, &off, err);
    if (!rc)
        rc = mo_cfg_get_string(off, "path", MO_CFG_REQUIRED, &s->offline_path, err);
    /* Uncompressed by default: zlib was over half of a materialisation's CPU time, and plain
     * datasets are written by each rank independently (docs/spec.md has the sizes). */
    int comp = 1;
    if (!rc)
        rc = mo_cfg_get_enum(off, "compression", 0, compression_names, &comp, err);
    s->no_compression = comp == 1;
    if (!rc)
        rc = mo_cfg_get_int(off, "block_rows", 0, 1, INT64_C(1) << 30, &s->block_rows, err);
    if (!rc)
        rc = mo_cfg_get_map(root, "online", 0, &on, err);
    if (!rc)
        rc = mo_cfg_get_string(on, "redis", 0, &s->redis_url, err);
    s->redis_retry_s = 120;
    if (!rc)
        rc = mo_cfg_get_duration(on, "retry_s", 0, 0, 7 * 86400.0, &s->redis_retry_s, err);
    if (!rc)
        rc = mo_cfg_get_string(on, "project", 0, &s->project, err);
    if (!rc)
        rc = mo_cfg_get_enum(on, "entity_type", 0, entity_types, &type, err);
    s->entity_type = (mo_entity_type_t)type;
    if (!rc && s->incremental && s->has_start)
        rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(range, "start"),
                           "incremental: true starts where the store ends; remove range.start");
    return rc;
}

int mat_spec_parse(mat_spec_t **out, mo_cfg_node_t *root, mo_error_t *err)
{
    *out = NULL;
    mat_spec_t *s = mo_calloc(1, sizeof *s);
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = read_source(s, root, err);
    if (!rc)
        rc = read_views(s, root, err);
    if (!rc)
        rc = read_stores(s, root, err);
    s->source.values = s->columns;
    s->source.n_values = s->n_columns;
    if (rc) {
        mat_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void mat_spec_free(mat_spec_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_views; i++)
        free(s->views[i].features);
    free(s->views);
    free(s->columns);
    free(s);
}
