/* cmd_inspect.c - `maestro inspect FILE.h5 [--json]`
 *
 * io/ describes the file as one JSON object (keys documented in docs/formats.md); this file
 * prints it as is for --json, or as a short human summary.
 */
#include "io/h5.h"
#include "runner/cli_impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char inspect_help[] =
    "usage: maestro inspect FILE.h5 [--json]\n\n"
    "Shows what any Maestro HDF5 file holds: its kind, format_version, datasets with dtypes\n"
    "and shapes, and the kind's own summary (rows, features and classes of a dataset; the\n"
    "best trial and the trials best first of a sweep journal).\n"
    "--json prints one JSON object with stable keys (docs/formats.md).\n";

typedef struct {
    const char *path;
    int json;
} inspect_args_t;

static void print_shape(const json_t *shape)
{
    size_t i;
    json_t *v;
    printf("[");
    json_array_foreach(shape, i, v)
        printf("%s%" JSON_INTEGER_FORMAT, i ? ", " : "", json_integer_value(v));
    printf("]");
}

static void print_names(const char *label, const json_t *names)
{
    if (!json_is_array(names) || json_array_size(names) == 0)
        return;
    size_t i, n = json_array_size(names);
    json_t *v;
    printf("  %-15s", label);
    json_array_foreach(names, i, v)
    {
        if (i == 8 && n > 10) {
            printf(", ... (%zu in all)", n);
            break;
        }
        printf("%s%s", i ? ", " : "", json_string_value(v));
    }
    printf("\n");
}

static const char *str_or(const json_t *o, const char *key, const char *none)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : none;
}

/* "lr=0.01, layers=[64, 64]" */
static void print_params(json_t *params)
{
    const char *key;
    json_t *v;
    int first = 1;
    json_object_foreach(params, key, v)
    {
        printf("%s%s=%s", first ? "" : ", ", key, json_is_string(v) ? json_string_value(v) : "?");
        first = 0;
    }
}

/* A sweep journal: the sweep, its best trial, and the first trials best first (io/ sorts). */
static void print_sweep(const json_t *d)
{
    enum { SHOWN = 20 };
    json_t *o = json_object_get(d, "objective"), *c = json_object_get(d, "counts");
    json_t *best = json_object_get(d, "best"), *trials = json_object_get(d, "trials"), *t;
    if (!json_is_object(o) || !json_is_array(trials)) {
        printf("  the journal cannot be read (maestro inspect --json shows what is there)\n");
        return;
    }
    printf("  %-15s%s\n", "name", str_or(d, "name", "?"));
    printf("  %-15s%s\n", "algorithm", str_or(d, "algorithm", "?"));
    printf("  %-15s%s %s\n", "objective", str_or(o, "goal", "?"), str_or(o, "metric", "?"));
    printf("  %-15s%s\n", "status", str_or(d, "status", "?"));
    printf("  %-15s%zu: %" JSON_INTEGER_FORMAT " running, %" JSON_INTEGER_FORMAT
           " completed, %" JSON_INTEGER_FORMAT " pruned, %" JSON_INTEGER_FORMAT " failed\n",
           "trials", json_array_size(trials), json_integer_value(json_object_get(c, "running")),
           json_integer_value(json_object_get(c, "completed")),
           json_integer_value(json_object_get(c, "pruned")),
           json_integer_value(json_object_get(c, "failed")));
    if (json_is_object(best)) {
        const char *key;
        json_t *v;
        json_t *bo = json_object_get(best, "objective");
        printf("  %-15strial %" JSON_INTEGER_FORMAT ", %s = ", "best",
               json_integer_value(json_object_get(best, "number")), str_or(o, "metric", "?"));
        if (json_is_number(bo))
            printf("%.6g\n", json_number_value(bo));
        else
            printf("n/a\n"); /* +-Inf: JSON has none */
        json_object_foreach(json_object_get(best, "params"), key, v)
            printf("    %-20s %s\n", key, json_is_string(v) ? json_string_value(v) : "?");
    } else {
        printf("  %-15snone yet\n", "best");
    }
    size_t i, n = json_array_size(trials);
    if (n)
        printf("  %8s  %-9s  %12s  %10s  %s\n", "trial", "status", "objective", "duration",
               "parameters");
    json_array_foreach(trials, i, t)
    {
        if (i == SHOWN) {
            printf("  ... (%zu more; --json for all)\n", n - SHOWN);
            break;
        }
        json_t *obj = json_object_get(t, "objective");
        printf("  %8" JSON_INTEGER_FORMAT "  %-9s  ",
               json_integer_value(json_object_get(t, "number")), str_or(t, "status", "?"));
        if (json_is_number(obj))
            printf("%12.6g", json_number_value(obj));
        else
            printf("%12s", "-");
        printf("  %9.1fs  ", json_number_value(json_object_get(t, "duration")));
        print_params(json_object_get(t, "params"));
        printf("\n");
    }
}

static void print_human(const json_t *d)
{
    const json_t *fv = json_object_get(d, "format_version");
    printf("%s: %s", json_string_value(json_object_get(d, "path")),
           json_string_value(json_object_get(d, "kind")));
    if (json_is_integer(fv))
        printf(" (format_version %" JSON_INTEGER_FORMAT ")", json_integer_value(fv));
    printf("\n");
    if (json_object_get(d, "rows")) {
        printf("  %-15s%" JSON_INTEGER_FORMAT "\n", "rows",
               json_integer_value(json_object_get(d, "rows")));
        printf("  %-15s%" JSON_INTEGER_FORMAT "\n", "features",
               json_integer_value(json_object_get(d, "features")));
        printf("  %-15s%s\n", "task", json_string_value(json_object_get(d, "task")));
        if (json_integer_value(json_object_get(d, "n_classes")) > 0)
            printf("  %-15s%" JSON_INTEGER_FORMAT "\n", "classes",
                   json_integer_value(json_object_get(d, "n_classes")));
        print_names("class names", json_object_get(d, "class_names"));
        print_names("feature names", json_object_get(d, "feature_names"));
    }
    if (!strcmp(str_or(d, "kind", ""), "sweep")) {
        print_sweep(d);
    } else if (json_object_get(d, "status")) {
        const json_t *model = json_object_get(d, "model");
        printf("  %-15s%s\n", "status", json_string_value(json_object_get(d, "status")));
        printf("  %-15s%s\n", "job kind", json_string_value(json_object_get(d, "job_kind")));
        if (json_is_object(model))
            printf("  %-15s%s (%s), %" JSON_INTEGER_FORMAT " features -> %" JSON_INTEGER_FORMAT
                   " outputs, %" JSON_INTEGER_FORMAT " parameters\n",
                   "model", json_string_value(json_object_get(model, "type")),
                   json_string_value(json_object_get(model, "task")),
                   json_integer_value(json_object_get(model, "n_features")),
                   json_integer_value(json_object_get(model, "n_outputs")),
                   json_integer_value(json_object_get(model, "n_params")));
        printf("  %-15s%" JSON_INTEGER_FORMAT " records\n", "history",
               json_integer_value(json_object_get(d, "history_length")));
        const char *key;
        json_t *v;
        printf("  final metrics:\n");
        json_object_foreach(json_object_get(d, "final_metrics"), key, v)
        {
            if (json_is_number(v))
                printf("    %-20s %.6g\n", key, json_number_value(v));
            else
                printf("    %-20s n/a\n", key);
        }
    }
    if (json_object_get(d, "step") && json_object_get(d, "entries"))
        printf("  %-15s%" JSON_INTEGER_FORMAT "\n", "step",
               json_integer_value(json_object_get(d, "step")));
    size_t i;
    json_t *ds;
    printf("  datasets:\n");
    json_array_foreach(json_object_get(d, "datasets"), i, ds)
    {
        printf("    %-20s %-8s ", json_string_value(json_object_get(ds, "name")),
               json_string_value(json_object_get(ds, "dtype")));
        print_shape(json_object_get(ds, "shape"));
        printf("\n");
    }
}

static int inspect_rank0(void *ud, mo_error_t *err)
{
    const inspect_args_t *a = ud;
    json_t *d = NULL;
    int rc = mo_h5_describe(&d, a->path, err);
    if (rc)
        return rc;
    if (a->json) {
        char *s = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory printing %s", a->path);
        else
            puts(s);
        free(s);
    } else {
        print_human(d);
    }
    json_decref(d);
    return rc;
}

int mo_cmd_inspect(int argc, char **argv)
{
    inspect_args_t a = {NULL, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            a.json = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(inspect_help, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return mo_cli_usage("inspect", "unknown option '%s'", argv[i]);
        } else if (a.path) {
            return mo_cli_usage("inspect", "unexpected argument '%s'", argv[i]);
        } else {
            a.path = argv[i];
        }
    }
    if (!a.path)
        return mo_cli_usage("inspect", "no file given");
    return mo_cli_rank0(&argc, &argv, inspect_rank0, &a);
}
