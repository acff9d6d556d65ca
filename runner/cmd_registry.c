/* cmd_registry.c - `maestro registry list | show NAME[@ALIAS|/VERSION]`
 *
 * Reads the local registry folder the mlflow plugin keeps when no MLflow server is configured
 * (layout in runner/cmd_registry.h). Read-only, so it takes no lock: the plugin publishes a
 * version by renaming a complete folder and replaces aliases.json by rename, so what is read
 * here is always whole. A version folder without meta.json is not a version (a crash between
 * mkdir and rename leaves only a hidden .tmp-* folder, which is skipped).
 */
#include "runner/cmd_registry.h"

#include "core/str.h"
#include "runner/cli_impl.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char registry_help[] =
    "usage: maestro registry list [--dir D] [--json]\n"
    "       maestro registry show NAME[@ALIAS|/VERSION] [--dir D] [--json]\n\n"
    "The local model registry: where a run registers its model (spec `registry: {model: NAME,\n"
    "alias: ALIAS}`) when the mlflow plugin has no MLflow url configured.\n"
    "list   every model with its latest version, version count and aliases\n"
    "show   one version's metadata: the run it came from, when, its final metrics and the\n"
    "       model file. NAME alone is the latest version, NAME@ALIAS the version the alias\n"
    "       points at, NAME/VERSION that version.\n\n"
    "--dir D  the registry folder (default $MAESTRO_REGISTRY_DIR, else ~/.maestro/registry)\n"
    "--json   one JSON object instead of text\n";

typedef struct {
    const char *dir;
    const char *ref; /* show: NAME[@ALIAS|/VERSION] */
    int json;
    char dirbuf[PATH_MAX];
} registry_args_t;

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Versions of one model, ascending: numbered folders holding meta.json. */
static json_t *model_versions(const char *dir, const char *model)
{
    char path[PATH_MAX];
    json_t *versions = json_array();
    if (!versions || snprintf(path, sizeof path, "%s/%s/versions", dir, model) >= (int)sizeof path)
        return versions;
    DIR *d = opendir(path);
    if (!d)
        return versions;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t v;
        char meta[PATH_MAX];
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || mo_parse_int64(e->d_name, &v))
            continue;
        if (snprintf(meta, sizeof meta, "%s/%s/meta.json", path, e->d_name) >= (int)sizeof meta)
            continue;
        struct stat sb;
        if (stat(meta, &sb) == 0)
            json_array_append_new(versions, json_integer(v));
    }
    closedir(d);
    /* insertion sort: a model has few versions */
    size_t n = json_array_size(versions);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            json_int_t a = json_integer_value(json_array_get(versions, j - 1));
            json_int_t b = json_integer_value(json_array_get(versions, j));
            if (a <= b)
                break;
            json_array_set_new(versions, j - 1, json_integer(b));
            json_array_set_new(versions, j, json_integer(a));
        }
    return versions;
}

/* aliases.json as an object (empty when there is none). */
static int model_aliases(json_t **out, const char *dir, const char *model, mo_error_t *err)
{
    char path[PATH_MAX];
    json_error_t jerr;
    *out = NULL;
    if (snprintf(path, sizeof path, "%s/%s/aliases.json", dir, model) >= (int)sizeof path)
        return mo_errorf(err, MO_EINVAL, "%s/%s: path too long", dir, model);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        *out = json_object();
        return *out ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    json_t *a = json_load_file(path, 0, &jerr);
    if (!json_is_object(a)) {
        json_decref(a);
        return mo_errorf(err, MO_EFORMAT, "%s: not a JSON object of alias -> version (%s)", path,
                         jerr.text);
    }
    *out = a;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int registry_list(void *ud, mo_error_t *err)
{
    const registry_args_t *a = ud;
    json_t *models = json_array();
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (!models)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    DIR *d = opendir(a->dir);
    if (!d && errno != ENOENT) {
        json_decref(models);
        return mo_errorf(err, MO_EIO, "%s: cannot read the registry folder: %s", a->dir,
                         strerror(errno));
    }
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[PATH_MAX];
        if (e->d_name[0] == '.' ||
            snprintf(path, sizeof path, "%s/%s/versions", a->dir, e->d_name) >= (int)sizeof path ||
            !is_dir(path))
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = mo_errorf(err, MO_ENOMEM, "out of memory");
                break;
            }
            names = nn;
            cap = ncap;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *aliases = NULL, *versions = model_versions(a->dir, names[i]);
        rc = model_aliases(&aliases, a->dir, names[i], err);
        if (rc) {
            json_decref(versions);
            break;
        }
        size_t nv = json_array_size(versions);
        json_t *latest = nv ? json_incref(json_array_get(versions, nv - 1)) : json_null();
        json_array_append_new(models,
                              json_pack("{s:s, s:o, s:o, s:o}", "name", names[i], "latest_version",
                                        latest, "versions", versions, "aliases", aliases));
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc) {
        json_decref(models);
        return rc;
    }
    if (a->json) {
        json_t *doc = json_pack("{s:s, s:o}", "registry_dir", a->dir, "models", models);
        char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (s)
            puts(s);
        else
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        free(s);
        json_decref(doc);
        return rc;
    }
    if (json_array_size(models) == 0) {
        printf("no models in %s\n", a->dir);
        json_decref(models);
        return 0;
    }
    printf("%-24s %-7s %-9s %s\n", "MODEL", "LATEST", "VERSIONS", "ALIASES");
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m)
    {
        json_t *latest = json_object_get(m, "latest_version");
        char lbuf[32] = "-";
        if (json_is_integer(latest))
            snprintf(lbuf, sizeof lbuf, "%" JSON_INTEGER_FORMAT, json_integer_value(latest));
        printf("%-24s %-7s %-9zu ", json_string_value(json_object_get(m, "name")), lbuf,
               json_array_size(json_object_get(m, "versions")));
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach(json_object_get(m, "aliases"), key, v)
        {
            printf("%s@%s -> %" JSON_INTEGER_FORMAT, first ? "" : ", ", key, json_integer_value(v));
            first = 0;
        }
        printf("%s\n", first ? "-" : "");
    }
    json_decref(models);
    return 0;
}

/* Split NAME[@ALIAS|/VERSION]. */
static int parse_ref(const char *ref, char *name, size_t size, const char **alias, int64_t *version,
                     mo_error_t *err)
{
    size_t n = strcspn(ref, "@/");
    *alias = NULL;
    *version = 0;
    if (n == 0 || n >= size)
        return mo_errorf(err, MO_EINVAL, "\"%s\" is not NAME, NAME@ALIAS or NAME/VERSION", ref);
    memcpy(name, ref, n);
    name[n] = '\0';
    if (name[0] == '.')
        return mo_errorf(err, MO_EINVAL, "\"%s\" is not a model name", name);
    if (ref[n] == '@') {
        *alias = ref + n + 1;
        if (!**alias)
            return mo_errorf(err, MO_EINVAL, "\"%s\": no alias after '@'", ref);
    } else if (ref[n] == '/') {
        if (mo_parse_int64(ref + n + 1, version) || *version < 1)
            return mo_errorf(err, MO_EINVAL, "\"%s\": the version must be a number >= 1", ref);
    }
    return 0;
}

static void print_meta(const json_t *meta, const json_t *aliases_of, const char *vdir)
{
    const char *name = json_string_value(json_object_get(meta, "model"));
    json_int_t version = json_integer_value(json_object_get(meta, "version"));
    printf("%s/%" JSON_INTEGER_FORMAT, name ? name : "?", version);
    size_t i;
    json_t *v;
    json_array_foreach(aliases_of, i, v) printf(" @%s", json_string_value(v));
    printf("\n");
    static const char *const fields[][2] = {
        {"run_id", "run id"},
        {"run_name", "run name"},
        {"job_kind", "job kind"},
        {"created", "created"},
        {"source_run_dir", "source run dir"},
        {"git_commit", "git commit"},
        {"maestro_version", "maestro version"},
    };
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        const char *s = json_string_value(json_object_get(meta, fields[f][0]));
        if (s)
            printf("  %-16s %s\n", fields[f][1], s);
    }
    printf("  %-16s %s/%s (%" JSON_INTEGER_FORMAT " bytes)\n", "model file", vdir,
           json_string_value(json_object_get(meta, "artifact"))
               ? json_string_value(json_object_get(meta, "artifact"))
               : "run.h5",
           json_integer_value(json_object_get(meta, "artifact_bytes")));
    const json_t *metrics = json_object_get(meta, "final_metrics");
    if (json_object_size(metrics)) {
        printf("  final metrics:\n");
        const char *key;
        json_object_foreach((json_t *)metrics, key, v)
        {
            if (json_is_number(v))
                printf("    %-20s %.6g\n", key, json_number_value(v));
            else
                printf("    %-20s n/a\n", key);
        }
    }
}

static int registry_show(void *ud, mo_error_t *err)
{
    const registry_args_t *a = ud;
    char name[256], vdir[PATH_MAX], path[PATH_MAX];
    const char *alias;
    int64_t version;
    json_t *aliases = NULL, *versions = NULL, *meta = NULL, *of = NULL;
    int rc = parse_ref(a->ref, name, sizeof name, &alias, &version, err);
    if (rc)
        return rc;
    if (snprintf(path, sizeof path, "%s/%s/versions", a->dir, name) >= (int)sizeof path)
        return mo_errorf(err, MO_EINVAL, "%s/%s: path too long", a->dir, name);
    if (!is_dir(path))
        return mo_errorf(err, MO_ENOTFOUND, "no model \"%s\" in %s", name, a->dir);
    versions = model_versions(a->dir, name);
    rc = model_aliases(&aliases, a->dir, name, err);
    if (rc)
        goto out;
    size_t nv = json_array_size(versions);
    if (alias) {
        json_t *v = json_object_get(aliases, alias);
        if (!json_is_integer(v)) {
            char known[200] = "";
            size_t o = 0;
            const char *key;
            json_t *x;
            json_object_foreach(aliases, key, x)
            {
                int w = snprintf(known + o, sizeof known - o, "%s%s", o ? ", " : "", key);
                if (w < 0 || (size_t)w >= sizeof known - o)
                    break;
                o += (size_t)w;
            }
            rc = mo_errorf(err, MO_ENOTFOUND, "model %s has no alias \"%s\" (aliases: %s)", name,
                           alias, o ? known : "none");
            goto out;
        }
        version = json_integer_value(v);
    } else if (!version) {
        if (!nv) {
            rc = mo_errorf(err, MO_ENOTFOUND, "model %s has no versions yet", name);
            goto out;
        }
        version = json_integer_value(json_array_get(versions, nv - 1));
    }
    if (snprintf(vdir, sizeof vdir, "%s/%" PRId64, path, version) >= (int)sizeof vdir ||
        snprintf(path, sizeof path, "%s/meta.json", vdir) >= (int)sizeof path) {
        rc = mo_errorf(err, MO_EINVAL, "%s: path too long", vdir);
        goto out;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        json_int_t latest = nv ? json_integer_value(json_array_get(versions, nv - 1)) : 0;
        if (alias)
            rc =
                mo_errorf(err, MO_EFORMAT,
                          "model %s: alias @%s points at version %" PRId64 ", which does not exist",
                          name, alias, version);
        else if (latest)
            rc = mo_errorf(err, MO_ENOTFOUND,
                           "model %s has no version %" PRId64 " (latest is %" JSON_INTEGER_FORMAT
                           ")",
                           name, version, latest);
        else
            rc = mo_errorf(err, MO_ENOTFOUND, "model %s has no versions yet", name);
        goto out;
    }
    json_error_t jerr;
    meta = json_load_file(path, 0, &jerr);
    if (!json_is_object(meta)) {
        rc = mo_errorf(err, MO_EFORMAT, "%s:%d: not a version's metadata (%s)", path, jerr.line,
                       jerr.text);
        goto out;
    }
    of = json_array();
    const char *key;
    json_t *x;
    json_object_foreach(aliases, key, x) if (json_integer_value(x) == version)
        json_array_append_new(of, json_string(key));
    if (a->json) {
        json_object_set(meta, "aliases", of);
        json_object_set_new(meta, "path", json_string(vdir));
        char *s = json_dumps(meta, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        else
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        free(s);
    } else {
        print_meta(meta, of, vdir);
    }
out:
    json_decref(aliases);
    json_decref(versions);
    json_decref(meta);
    json_decref(of);
    return rc;
}

static int resolve_dir(registry_args_t *a, const char *cmd)
{
    if (a->dir)
        return 0;
    const char *env = getenv("MAESTRO_REGISTRY_DIR");
    const char *home = getenv("HOME");
    if (env && *env) {
        a->dir = env;
        return 0;
    }
    if (!home || !*home ||
        snprintf(a->dirbuf, sizeof a->dirbuf, "%s/.maestro/registry", home) >=
            (int)sizeof a->dirbuf)
        return mo_cli_usage(cmd, "no registry folder: give --dir, or set MAESTRO_REGISTRY_DIR");
    a->dir = a->dirbuf;
    return 0;
}

int mo_cmd_registry(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(registry_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? MO_EXIT_BADINPUT : 0;
    }
    const char *sub = argv[1];
    int show = !strcmp(sub, "show");
    if (!show && strcmp(sub, "list"))
        return mo_cli_usage("registry", "unknown subcommand '%s' (list, show)", sub);
    const char *cmd = show ? "registry show" : "registry list";
    registry_args_t a;
    memset(&a, 0, sizeof a);
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(registry_help, stdout);
            return 0;
        } else if (!strcmp(s, "--json")) {
            a.json = 1;
        } else if (!strcmp(s, "--dir") || mo_str_startswith(s, "--dir=")) {
            const char *v = s[5] == '=' ? s + 6 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || !*v)
                return mo_cli_usage(cmd, "--dir needs a folder");
            a.dir = v;
        } else if (s[0] == '-' && s[1]) {
            return mo_cli_usage(cmd, "unknown option '%s'", s);
        } else if (show && !a.ref) {
            a.ref = s;
        } else {
            return mo_cli_usage(cmd, "unexpected argument '%s'", s);
        }
    }
    if (show && !a.ref)
        return mo_cli_usage(cmd, "no model given (NAME, NAME@ALIAS or NAME/VERSION)");
    int rc = resolve_dir(&a, cmd);
    if (rc)
        return rc;
    return mo_cli_rank0(&argc, &argv, show ? registry_show : registry_list, &a);
}
