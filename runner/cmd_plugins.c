/* cmd_plugins.c - `maestro plugins list | flush`
 *
 * list shows what the search path holds without initialising anything (a plugin's init may
 * need a service; listing must not). flush delivers what a run spooled while a service was
 * away, in a later process: each plugin gets the same cluster.yml service section a run
 * would give it (runner/run_plugins.c decides the mapping), so a fixed URL or token in
 * cluster.yml is picked up. Both print once, from rank 0, when started under mpirun.
 */
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "plugins/host.h"
#include "runner/cli_impl.h"
#include "runner/cluster.h"
#include "runner/run_plugins.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char plugins_help[] =
    "usage: maestro plugins list [--json]\n"
    "       maestro plugins flush RUN_DIR [--cluster FILE]\n\n"
    "list   every maestro-<name>.so on the plugin search path: name, type, version, plugin\n"
    "       ABI, file, and whether it loads (\"ok\", or why not). Nothing is initialised.\n"
    "       The search path is $MAESTRO_PLUGIN_PATH (colon separated), then the build's and\n"
    "       the install's plugin folders; never the current folder.\n"
    "flush  deliver what plugins spooled under RUN_DIR/spool/<plugin>/ while their service\n"
    "       was away, oldest first, removing what was delivered. Each plugin is configured\n"
    "       from cluster.yml as in a run (prometheus: services.pushgateway; loki, mlflow and\n"
    "       others: services.<name>); --cluster FILE, else $MAESTRO_CLUSTER, else\n"
    "       ./cluster.yml. Exit 0 when nothing is left, 1 when payloads remain (the service\n"
    "       is still away: run it again later) or a service refused some for good (they are\n"
    "       kept in spool/<plugin>/rejected/), 2 on bad input.\n\n"
    "Writing a plugin: docs/plugins.md.\n";

/* ---- list --------------------------------------------------------------------------------- */

typedef struct {
    int json;
} list_args_t;

static size_t width(json_t *list, const char *key, size_t min)
{
    size_t i, w = min;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *s = json_string_value(json_object_get(o, key));
        if (s && strlen(s) > w)
            w = strlen(s);
    }
    return w;
}

static int list_rank0(void *ud, mo_error_t *err)
{
    const list_args_t *a = ud;
    char path[4096], abi[16];
    json_t *list = NULL;
    int rc = mo_plugins_list(&list, err);
    if (rc)
        return rc;
    mo_plugins_search_path(path, sizeof path);
    snprintf(abi, sizeof abi, "%d.%d", MAESTRO_PLUGIN_ABI_MAJOR, MAESTRO_PLUGIN_ABI_MINOR);
    if (a->json) {
        json_t *o = json_pack("{s:s, s:s, s:O}", "search_path", path, "abi", abi, "plugins", list);
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (!s)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory printing the plugin list");
        else
            puts(s);
        free(s);
        json_decref(o);
        json_decref(list);
        return rc;
    }
    printf("search path: %s\n", path[0] ? path : "(empty)");
    printf("this Maestro speaks plugin ABI %s\n\n", abi);
    if (json_array_size(list) == 0) {
        printf("no plugins found (maestro-<name>.so) on the search path\n");
        json_decref(list);
        return 0;
    }
    int wn = (int)width(list, "name", 4), wt = (int)width(list, "type", 4);
    int wv = (int)width(list, "version", 7), wa = (int)width(list, "abi", 3);
    int wf = (int)width(list, "file", 4);
    printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wt, "TYPE", wv, "VERSION", wa, "ABI",
           wf, "FILE", "STATUS");
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wn,
               json_string_value(json_object_get(o, "name")), wt,
               json_string_value(json_object_get(o, "type")), wv,
               json_string_value(json_object_get(o, "version")), wa,
               json_string_value(json_object_get(o, "abi")), wf,
               json_string_value(json_object_get(o, "file")),
               json_string_value(json_object_get(o, "status")));
    }
    json_decref(list);
    return 0;
}

/* ---- flush -------------------------------------------------------------------------------- */

typedef struct {
    const char *run_dir, *cluster;
} flush_args_t;

#define MAX_SPOOLED_PLUGINS 64

/* Payloads a service refused for good sit in spool/<plugin>/rejected/ (plugins/host_spool.c). */
static int count_rejected(const char *run_dir)
{
    char spool[4096];
    snprintf(spool, sizeof spool, "%s/spool", run_dir);
    DIR *d = opendir(spool);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char rej[4400];
        snprintf(rej, sizeof rej, "%s/%s/rejected", spool, de->d_name);
        DIR *r = opendir(rej);
        struct dirent *f;
        while (r && (f = readdir(r)))
            n += f->d_name[0] != '.';
        if (r)
            closedir(r);
    }
    if (d)
        closedir(d);
    return n;
}

static int flush_rank0(void *ud, mo_error_t *err)
{
    const flush_args_t *a = ud;
    mo_cluster_t *c = NULL;
    mo_plugin_request_t req[MAX_SPOOLED_PLUGINS];
    maestro_kv_t *cfg[MAX_SPOOLED_PLUGINS] = {0};
    char *names[MAX_SPOOLED_PLUGINS] = {0};
    size_t n = 0;
    int delivered = 0, left = 0;
    DIR *d = NULL;
    int rc = mo_cluster_load(&c, mo_cluster_pick_path(a->cluster), err);
    if (rc)
        goto out;
    /* Configuration for every plugin that has a spool folder; the host loads only those
     * with payloads waiting. */
    mo_buf_t b = {0};
    mo_buf_printf(&b, "%s/spool", a->run_dir);
    char *spool = mo_buf_steal(&b);
    d = spool ? opendir(spool) : NULL;
    free(spool);
    struct dirent *de;
    while (d && (de = readdir(d)) && n < MAX_SPOOLED_PLUGINS) {
        if (de->d_name[0] == '.')
            continue;
        size_t nk = 0;
        names[n] = mo_strdup(de->d_name);
        if (!names[n]) {
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            goto out;
        }
        rc = mo_run_plugins_service_config(&cfg[n], &nk, c, names[n], err);
        if (rc)
            goto out;
        req[n].name = names[n];
        req[n].config = cfg[n];
        req[n].n_config = nk;
        n++;
    }
    rc = mo_plugins_flush_dir(a->run_dir, req, n, &delivered, &left, err);
    if (rc && (delivered || left))
        printf("%s: delivered %d spooled payloads, %d left\n", a->run_dir, delivered, left);
    if (rc)
        goto out;
    printf("%s: delivered %d spooled payloads, %d left\n", a->run_dir, delivered, left);
    int rejected = count_rejected(a->run_dir);
    if (rejected && !left)
        rc = mo_errorf(err, MO_ESERVICE,
                       "%d payloads were refused by their service for good and are kept under "
                       "%s/spool/*/rejected/ (see the warnings above); move them back into the "
                       "spool folder once the cause is fixed",
                       rejected, a->run_dir);
    if (left)
        rc = mo_errorf(err, MO_ESERVICE,
                       "%d payloads still spooled under %s/spool (their service is still away); "
                       "run `maestro plugins flush %s` again later",
                       left, a->run_dir, a->run_dir);
out:
    if (d)
        closedir(d);
    for (size_t i = 0; i < MAX_SPOOLED_PLUGINS; i++) {
        free(cfg[i]);
        free(names[i]);
    }
    mo_cluster_destroy(c);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static int is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help");
}

static int cmd_list(int argc, char **argv)
{
    list_args_t a = {0};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            a.json = 1;
        else if (is_help(argv[i])) {
            fputs(plugins_help, stdout);
            return 0;
        } else
            return mo_cli_usage("plugins list", "unexpected argument '%s'", argv[i]);
    }
    return mo_cli_rank0(&argc, &argv, list_rank0, &a);
}

static int cmd_flush(int argc, char **argv)
{
    flush_args_t a = {NULL, NULL};
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(plugins_help, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--cluster")) {
            if (i + 1 >= argc)
                return mo_cli_usage("plugins flush", "--cluster needs a file");
            a.cluster = argv[++i];
        } else if (mo_str_startswith(argv[i], "--cluster=")) {
            a.cluster = argv[i] + 10;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return mo_cli_usage("plugins flush", "unknown option '%s'", argv[i]);
        } else if (a.run_dir) {
            return mo_cli_usage("plugins flush", "unexpected argument '%s'", argv[i]);
        } else {
            a.run_dir = argv[i];
        }
    }
    if (!a.run_dir)
        return mo_cli_usage("plugins flush", "no run folder given");
    return mo_cli_rank0(&argc, &argv, flush_rank0, &a);
}

int mo_cmd_plugins(int argc, char **argv)
{
    if (argc < 2)
        return mo_cli_usage("plugins", "say list or flush");
    if (is_help(argv[1])) {
        fputs(plugins_help, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "list"))
        return cmd_list(argc, argv);
    if (!strcmp(argv[1], "flush"))
        return cmd_flush(argc, argv);
    return mo_cli_usage("plugins", "unknown subcommand '%s' (list or flush)", argv[1]);
}
