/* cmd_features.c - `maestro features export | online`: read what materialisation wrote
 *
 * export writes a view's offline table as CSV sorted by (entity, event_ts, created_ts), the
 * entity compared as text (the store itself is ordered by the entity's hash, for the ranks);
 * online reads one entity's latest row from the store's online table or from Redis.
 */
#include "core/alloc.h"
#include "core/str.h"
#include "io/atomic.h"
#include "io/feature_store.h"
#include "io/redis_online.h"
#include "io/timestamp.h"
#include "runner/cli_impl.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char features_help[] =
    "usage: maestro features export STORE.h5 --view NAME -o FILE.csv\n"
    "       maestro features online STORE.h5 --view NAME --entity ID [--json]\n"
    "       maestro features online redis://HOST:PORT --store STORE.h5 --view NAME --entity ID\n"
    "                               [--project P] [--json]\n\n"
    "The feature store that `kind: materialize` writes (docs/formats.md \"Feature store\").\n"
    "export  the view's table as CSV: <entity>, event_ts, created_ts, then the features in\n"
    "        spec order; timestamps RFC 3339 UTC; sorted by (entity, event_ts, created_ts);\n"
    "        a missing value (NaN) is an empty cell. Written atomically.\n"
    "online  the entity's latest row as of the end of the materialised range, from the\n"
    "        store's online table, or from Redis in Feast's layout (the store gives the\n"
    "        feature names; --project defaults to maestro). Exit 1 when the entity is absent.\n";

typedef struct {
    const char *sub, *target, *view, *out, *entity, *store, *project;
    int json;
} feat_args_t;

static const mo_fs_rows_t *sort_rows; /* qsort has no context argument */

static int by_entity_time(const void *a, const void *b)
{
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    const mo_fs_rows_t *r = sort_rows;
    int c = strcmp(r->pool + r->key_off[i], r->pool + r->key_off[j]);
    if (c)
        return c;
    if (r->event_ts[i] != r->event_ts[j])
        return r->event_ts[i] < r->event_ts[j] ? -1 : 1;
    if (r->created_ts[i] != r->created_ts[j])
        return r->created_ts[i] < r->created_ts[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* A CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
static void csv_field(mo_buf_t *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        mo_buf_puts(b, s);
        return;
    }
    mo_buf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"')
            mo_buf_puts(b, "\"\"");
        else
            mo_buf_append(b, s, 1);
    }
    mo_buf_puts(b, "\"");
}

static int do_export(void *ud, mo_error_t *err)
{
    const feat_args_t *a = ud;
    mo_fs_t *fs = NULL;
    mo_fs_view_info_t info;
    mo_fs_rows_t rows = {0};
    int64_t *order = NULL;
    mo_buf_t b = {0};
    int rc = mo_fs_open(&fs, a->target, err);
    if (!rc)
        rc = mo_fs_view(fs, a->view, &info, err);
    if (!rc)
        rc = mo_fs_read_rows(fs, a->view, 0, info.rows, &rows, err);
    if (!rc && !(order = mo_calloc(rows.n ? (size_t)rows.n : 1, sizeof *order)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc) {
        for (int64_t i = 0; i < rows.n; i++)
            order[i] = i;
        sort_rows = &rows;
        qsort(order, (size_t)rows.n, sizeof *order, by_entity_time);
        csv_field(&b, info.entity);
        mo_buf_puts(&b, ",event_ts,created_ts");
        for (size_t f = 0; f < info.n_features; f++) {
            mo_buf_puts(&b, ",");
            csv_field(&b, info.features[f]);
        }
        mo_buf_puts(&b, "\n");
        for (int64_t k = 0; k < rows.n; k++) {
            int64_t i = order[k];
            char t1[40], t2[40];
            csv_field(&b, rows.pool + rows.key_off[i]);
            mo_buf_printf(&b, ",%s,%s", mo_ts_format(rows.event_ts[i], t1, sizeof t1),
                          mo_ts_format(rows.created_ts[i], t2, sizeof t2));
            for (size_t f = 0; f < info.n_features; f++) {
                double v = rows.values[(size_t)i * rows.n_features + f];
                if (isnan(v))
                    mo_buf_puts(&b, ",");
                else
                    mo_buf_printf(&b, ",%.17g", v);
            }
            mo_buf_puts(&b, "\n");
        }
        if (b.len && !b.data)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = mo_io_write_atomic(a->out, b.data ? b.data : "", b.len, err);
    if (!rc)
        fprintf(stderr, "%s: %lld rows of view %s (%zu features)\n", a->out, (long long)rows.n,
                a->view, info.n_features);
    mo_buf_free(&b);
    free(order);
    mo_fs_rows_free(&rows);
    mo_fs_close(fs);
    return rc;
}

static int print_row(const feat_args_t *a, const mo_fs_view_info_t *info, int64_t ts,
                     const double *v)
{
    char t[40];
    mo_ts_format(ts, t, sizeof t);
    if (a->json) {
        json_t *o = json_object(), *feats = json_object();
        json_object_set_new(o, "view", json_string(a->view));
        json_object_set_new(o, "entity", json_string(a->entity));
        json_object_set_new(o, "event_ts", json_string(t));
        for (size_t f = 0; f < info->n_features; f++)
            json_object_set_new(feats, info->features[f],
                                isnan(v[f]) ? json_null() : json_real(v[f]));
        json_object_set_new(o, "features", feats);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s ? s : "{}");
        free(s);
        json_decref(o);
        return 0;
    }
    printf("%s %s (event_ts %s)\n", a->view, a->entity, t);
    for (size_t f = 0; f < info->n_features; f++)
        printf("  %-24s %.17g\n", info->features[f], v[f]);
    return 0;
}

static int do_online(void *ud, mo_error_t *err)
{
    const feat_args_t *a = ud;
    int redis = mo_str_startswith(a->target, "redis://");
    mo_fs_t *fs = NULL;
    mo_fs_view_info_t info;
    double *v = NULL;
    int found = 0;
    int64_t ts = 0;
    int rc = mo_fs_open(&fs, redis ? a->store : a->target, err);
    if (!rc)
        rc = mo_fs_view(fs, a->view, &info, err);
    if (!rc && !(v = mo_calloc(info.n_features ? info.n_features : 1, sizeof *v)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc && !redis)
        rc = mo_fs_online_get(fs, a->view, a->entity, &found, &ts, v, err);
    if (!rc && redis) {
        mo_redis_t *r = NULL;
        mo_redis_view_t rv = {a->project ? a->project : "maestro",
                              a->view,
                              info.entity,
                              MO_ENTITY_STRING,
                              info.features,
                              info.n_features};
        rc = mo_redis_connect(&r, a->target, 10.0, err);
        if (!rc)
            rc = mo_redis_read(r, &rv, a->entity, &found, &ts, v, err);
        mo_redis_close(r);
    }
    if (!rc && !found)
        rc = mo_errorf(err, MO_ERUNTIME, "entity '%s' is not in the online store of view '%s'",
                       a->entity, a->view);
    if (!rc)
        rc = print_row(a, &info, ts, v);
    free(v);
    mo_fs_close(fs);
    return rc;
}

int mo_cmd_features(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(features_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? MO_EXIT_BADINPUT : 0;
    }
    feat_args_t a = {.sub = argv[1]};
    int is_export = !strcmp(a.sub, "export");
    if (!is_export && strcmp(a.sub, "online"))
        return mo_cli_usage("features", "unknown subcommand '%s' (export, online)", a.sub);
    const char *cmd = is_export ? "features export" : "features online";
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = !strcmp(s, "--view")      ? &a.view
                            : !strcmp(s, "-o")        ? &a.out
                            : !strcmp(s, "--entity")  ? &a.entity
                            : !strcmp(s, "--store")   ? &a.store
                            : !strcmp(s, "--project") ? &a.project
                                                      : NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(features_help, stdout);
            return 0;
        } else if (!strcmp(s, "--json") && !is_export) {
            a.json = 1;
        } else if (slot) {
            if (i + 1 >= argc)
                return mo_cli_usage(cmd, "option '%s' needs a value", s);
            *slot = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            return mo_cli_usage(cmd, "unknown option '%s'", s);
        } else if (!a.target) {
            a.target = s;
        } else {
            return mo_cli_usage(cmd, "unexpected argument '%s'", s);
        }
    }
    if (!a.target)
        return mo_cli_usage(cmd, "no store given");
    if (!a.view)
        return mo_cli_usage(cmd, "--view is required");
    if (is_export && !a.out)
        return mo_cli_usage(cmd, "-o FILE.csv is required");
    if (!is_export && !a.entity)
        return mo_cli_usage(cmd, "--entity is required");
    if (!is_export && mo_str_startswith(a.target, "redis://") && !a.store)
        return mo_cli_usage(cmd, "reading Redis needs --store STORE.h5 for the feature names");
    return mo_cli_rank0(&argc, &argv, is_export ? do_export : do_online, &a);
}
