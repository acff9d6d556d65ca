/* spec.c - the keys of `kind: dataset` (docs/spec.md "kind: dataset") */
#include "core/alloc.h"
#include "core/str.h"
#include "jobs/dataset/dataset_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int read_entities(ds_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *e = NULL;
    int fmt = 0;
    int rc = mo_cfg_get_map(root, "entities", MO_CFG_REQUIRED, &e, err);
    if (!rc)
        rc = mo_cfg_get_string(e, "path", MO_CFG_REQUIRED, &s->entities.path, err);
    if (!rc)
        rc = mo_cfg_get_string(e, "entity", MO_CFG_REQUIRED, &s->entities.entity, err);
    if (!rc)
        rc = mo_cfg_get_string(e, "timestamp", MO_CFG_REQUIRED, &s->entities.timestamp, err);
    if (!rc)
        rc = mo_cfg_get_string(e, "label", MO_CFG_REQUIRED, &s->label, err);
    if (!rc)
        rc = mo_cfg_get_enum(e, "timestamp_format", 0, mo_ts_format_names, &fmt, err);
    s->entities.ts_format = (mo_ts_format_t)fmt;
    s->entities.label = s->label;
    return rc;
}

static int read_refs(ds_spec_t *s, mo_cfg_node_t *root, mo_error_t *err)
{
    mo_cfg_node_t *list = NULL;
    int rc = mo_cfg_get_list(root, "features", MO_CFG_REQUIRED, &list, err);
    if (rc)
        return rc;
    s->n_features = mo_cfg_len(list);
    if (s->n_features == 0)
        return mo_cfg_errorf(err, MO_EINVAL, list, "features is empty");
    s->features = mo_calloc(s->n_features, sizeof *s->features);
    if (!s->features)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_features && !rc; i++) {
        mo_cfg_node_t *n = mo_cfg_at(list, i);
        const char *text = NULL;
        if ((rc = mo_cfg_as_string(n, &text, err)))
            break;
        const char *colon = strchr(text, ':');
        if (!colon || colon == text || !colon[1] || strchr(colon + 1, ':'))
            return mo_cfg_errorf(err, MO_EINVAL, n,
                                 "feature '%s' must be written view:feature "
                                 "(customer_activity:txn_count_1h)",
                                 text);
        /* The text lives as long as the document; split it into two copies kept in where. */
        ds_ref_t *r = &s->features[i];
        mo_cfg_where(n, r->where, sizeof r->where);
        char *view = mo_strdup(text);
        if (!view)
            return mo_errorf(err, MO_ENOMEM, "out of memory");
        view[colon - text] = '\0';
        r->view = view;
        r->feature = view + (colon - text) + 1;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(s->features[k].view, r->view) &&
                !strcmp(s->features[k].feature, r->feature))
                return mo_cfg_errorf(err, MO_EINVAL, n, "feature '%s' is listed twice", text);
    }
    return rc;
}

int ds_spec_parse(ds_spec_t **out, mo_cfg_node_t *root, mo_error_t *err)
{
    *out = NULL;
    ds_spec_t *s = mo_calloc(1, sizeof *s);
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    s->fill = NAN;
    int rc = read_entities(s, root, err);
    if (!rc)
        rc = read_refs(s, root, err);
    if (!rc)
        rc = mo_cfg_get_string(root, "store", MO_CFG_REQUIRED, &s->store, err);
    mo_cfg_node_t *fill = mo_cfg_child(root, "fill");
    mo_cfg_mark_known(root, "fill");
    if (!rc && fill && !(mo_cfg_scalar(fill) && !strcmp(mo_cfg_scalar(fill), "nan")))
        rc = mo_cfg_as_double(fill, 0, -INFINITY, INFINITY, &s->fill, err);
    if (!rc && !mo_cfg_child(root, "output"))
        rc = mo_cfg_errorf(err, MO_EINVAL, root,
                           "missing required key 'output' (the dataset file to write)");
    if (rc) {
        ds_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ds_spec_free(ds_spec_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->features && i < s->n_features; i++)
        free((char *)s->features[i].view);
    free(s->features);
    free(s);
}
