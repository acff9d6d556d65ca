/* cluster.c - load and check cluster.yml
 *
 * The structure is defined here for every later user (submission, services, schedules) so
 * that a mistake anywhere in the file is reported at load, not when a nightly job first
 * reaches that section.
 */
#include "runner/cluster.h"

#include "runner/secrets.h"

#include "core/alloc.h"
#include "core/str.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *mo_cluster_pick_path(const char *cli_path)
{
    if (cli_path && *cli_path)
        return cli_path;
    const char *env = getenv("MAESTRO_CLUSTER");
    if (env && *env)
        return env;
    if (access("cluster.yml", F_OK) == 0)
        return "cluster.yml";
    return NULL;
}

static void set_defaults(mo_cluster_t *c)
{
    c->name = "default";
    c->local.np = 1;
    c->slurm.nodes = 1;
    c->slurm.ntasks_per_node = 1;
    c->slurm.cpus_per_task = 1;
    c->slurm.time = "01:00:00";
    c->kubernetes.namespace_name = "default";
    c->kubernetes.image = "maestro:latest";
    c->kubernetes.workers = 1;
    c->kubernetes.slots_per_worker = 1;
    c->kubernetes.cpu = "1";
    c->kubernetes.memory = "4Gi";
    c->kubernetes.service_account = "maestro";
    c->mlflow.url = "http://localhost:30500";
    c->pushgateway.url = "http://localhost:9091";
    c->loki.url = "http://localhost:30508";
    c->redis.url = "redis://localhost:6379/0";
    c->providers[0] = MO_SECRETS_ENV;
    c->providers[1] = MO_SECRETS_FILES;
    c->n_providers = 2;
    c->secrets_files_dir = "/var/run/secrets/maestro";
}

/* A string key that must match a simple shape; `what` completes "must be ...". */
static int get_checked_string(mo_cfg_node_t *map, const char *key, const char **out,
                              int (*ok)(const char *), const char *what, mo_error_t *err)
{
    const char *v = *out;
    int rc = mo_cfg_get_string(map, key, 0, &v, err);
    if (rc)
        return rc;
    if (v != *out && !ok(v)) {
        mo_cfg_node_t *n = mo_cfg_child(map, key);
        char path[128];
        return mo_cfg_errorf(err, MO_EINVAL, n, "%s must be %s, got \"%s\"",
                             mo_cfg_path(n, path, sizeof path), what, v);
    }
    *out = v;
    return 0;
}

/* RFC 1123 label: what Kubernetes accepts for namespaces and most object names. */
static int is_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return 0;
    return 1;
}

/* Slurm --time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
static int is_slurm_time(const char *s)
{
    int fields = 0, digits = 0, dash = 0;
    for (const char *p = s;; p++) {
        if (isdigit((unsigned char)*p)) {
            digits++;
            continue;
        }
        if (digits == 0)
            return 0;
        fields++;
        digits = 0;
        if (*p == '\0')
            break;
        if (*p == '-') {
            if (dash || fields != 1)
                return 0;
            dash = 1;
        } else if (*p != ':') {
            return 0;
        }
    }
    return dash ? fields >= 2 && fields <= 4 : fields >= 1 && fields <= 3;
}

/* Kubernetes resource quantity (apimachinery's resource.Quantity): a decimal number, then
 * nothing, a decimal SI suffix (m k M G T P E), a binary one (Ki Mi Gi Ti Pi Ei) or an
 * exponent (e3, E-2). "0.5", "500m", "4Gi", "1e3" pass; "4GB", "1K", "64MiB" do not. */
static int is_quantity(const char *s)
{
    static const char *const suffixes[] = {"",   "m",  "k",  "M",  "G",  "T",  "P", "E",
                                           "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", NULL};
    const char *p = s; /* no sign: a resource request is never negative */
    int digits = 0, dot = 0;
    for (; isdigit((unsigned char)*p) || (*p == '.' && !dot); p++) {
        if (*p == '.')
            dot = 1;
        else
            digits++;
    }
    if (!digits)
        return 0;
    if ((*p == 'e' || *p == 'E') && p[1]) {
        const char *q = p + 1;
        if (*q == '+' || *q == '-')
            q++;
        if (!*q)
            return 0;
        for (; *q; q++)
            if (!isdigit((unsigned char)*q))
                return 0;
        return 1;
    }
    for (int i = 0; suffixes[i]; i++)
        if (!strcmp(p, suffixes[i]))
            return 1;
    return 0;
}

static int is_http_url(const char *s)
{
    return (mo_str_startswith(s, "http://") && s[7]) || (mo_str_startswith(s, "https://") && s[8]);
}

static int is_redis_url(const char *s)
{
    return (mo_str_startswith(s, "redis://") && s[8]) ||
           (mo_str_startswith(s, "rediss://") && s[9]) || (mo_str_startswith(s, "unix://") && s[7]);
}

static int is_nonempty(const char *s)
{
    return s[0] != '\0';
}

static int read_local(mo_cluster_t *c, mo_cfg_node_t *launch, mo_error_t *err)
{
    mo_cfg_node_t *m = NULL, *args = NULL;
    int rc = mo_cfg_get_map(launch, "local", 0, &m, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "np", 0, 1, 100000, &c->local.np, err);
    if (!rc)
        rc = mo_cfg_get_list(m, "mpirun_args", 0, &args, err);
    if (rc)
        return rc;
    size_t n = args ? mo_cfg_len(args) : 0;
    c->local.mpirun_args = mo_calloc(n + 1, sizeof(char *));
    if (!c->local.mpirun_args)
        return mo_errorf(err, MO_ENOMEM, "out of memory reading launch.local");
    for (size_t i = 0; i < n; i++) {
        const char *s;
        rc = mo_cfg_as_string(mo_cfg_at(args, i), &s, err);
        if (rc)
            return rc;
        c->local.mpirun_args[i] = (char *)s;
    }
    return 0;
}

static int read_slurm(mo_cluster_t *c, mo_cfg_node_t *launch, mo_error_t *err)
{
    mo_cfg_node_t *m = NULL;
    mo_launch_slurm_t *s = &c->slurm;
    int rc = mo_cfg_get_map(launch, "slurm", 0, &m, err);
    if (!rc)
        rc = mo_cfg_get_string(m, "partition", 0, &s->partition, err);
    if (!rc)
        rc = mo_cfg_get_string(m, "account", 0, &s->account, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "nodes", 0, 1, 100000, &s->nodes, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "ntasks_per_node", 0, 1, 100000, &s->ntasks_per_node, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "gpus_per_node", 0, 0, 64, &s->gpus_per_node, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "cpus_per_task", 0, 1, 100000, &s->cpus_per_task, err);
    if (!rc)
        rc = get_checked_string(m, "time", &s->time, is_slurm_time,
                                "a Slurm time limit like \"01:00:00\" or \"2-00:00:00\"", err);
    if (!rc)
        rc = mo_cfg_get_string(m, "maestro", 0, &s->maestro, err);
    return rc;
}

static int read_kubernetes(mo_cluster_t *c, mo_cfg_node_t *launch, mo_error_t *err)
{
    mo_cfg_node_t *m = NULL;
    mo_launch_k8s_t *k = &c->kubernetes;
    int rc = mo_cfg_get_map(launch, "kubernetes", 0, &m, err);
    if (!rc)
        rc = get_checked_string(m, "namespace", &k->namespace_name, is_dns_label,
                                "a DNS label (lower case letters, digits, '-')", err);
    if (!rc)
        rc = get_checked_string(m, "image", &k->image, is_nonempty, "an image reference", err);
    if (!rc)
        rc = mo_cfg_get_int(m, "workers", 0, 1, 100000, &k->workers, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "slots_per_worker", 0, 1, 1024, &k->slots_per_worker, err);
    if (!rc)
        rc = mo_cfg_get_int(m, "gpus_per_worker", 0, 0, 64, &k->gpus_per_worker, err);
    if (!rc)
        rc = get_checked_string(m, "cpu", &k->cpu, is_quantity,
                                "a Kubernetes quantity like \"1\" or \"500m\"", err);
    if (!rc)
        rc = get_checked_string(m, "memory", &k->memory, is_quantity,
                                "a Kubernetes quantity like \"4Gi\"", err);
    if (!rc)
        rc = get_checked_string(m, "service_account", &k->service_account, is_dns_label,
                                "a DNS label", err);
    if (!rc)
        rc = get_checked_string(m, "data_pvc", &k->data_pvc, is_dns_label, "a DNS label", err);
    if (!rc)
        rc = get_checked_string(m, "output_pvc", &k->output_pvc, is_dns_label, "a DNS label", err);
    return rc;
}

/* Settings a service section may hold besides url: they become the configuration of the
 * plugin that talks to that service (docs/plugins.md lists what each one means). */
static const char *const *service_keys(const char *service)
{
    static const char *const mlflow[] = {"experiment",   "token",   "username",  "password",
                                         "registry_dir", "ca_file", "timeout_s", "retries",
                                         "tls_verify",   NULL};
    static const char *const pushgateway[] = {
        "job", "interval", "delete_on_success", "textfile_dir", "ca_file", "tls_verify", NULL};
    static const char *const loki[] = {"tenant",  "batch_bytes",    "batch_wait", "output",
                                       "labels",  "token",          "username",   "password",
                                       "ca_file", "max_line_bytes", "tls_verify", NULL};
    static const char *const none[] = {NULL};
    if (!strcmp(service, "mlflow"))
        return mlflow;
    if (!strcmp(service, "pushgateway"))
        return pushgateway;
    if (!strcmp(service, "loki"))
        return loki;
    return none;
}

static int read_service(mo_cfg_node_t *services, const char *key, mo_service_t *svc,
                        int (*ok)(const char *), const char *what, mo_error_t *err)
{
    mo_cfg_node_t *m = NULL;
    int rc = mo_cfg_get_map(services, key, 0, &m, err);
    if (rc || !m)
        return rc;
    svc->configured = 1;
    rc = get_checked_string(m, "url", &svc->url, ok, what, err);
    const char *const *keys = service_keys(key);
    for (size_t i = 0; !rc && keys[i]; i++) {
        const char *v = NULL;
        rc = mo_cfg_get_string(m, keys[i], 0, &v, err);
    }
    int verify = 1; /* said with its position here; the plugin host reads the string */
    if (!rc && keys[0])
        rc = mo_cfg_get_bool(m, "tls_verify", 0, &verify, err);
    return rc;
}

static int read_secrets_kubernetes(mo_cluster_t *c, mo_cfg_node_t *secrets, mo_error_t *err)
{
    mo_cfg_node_t *m = NULL;
    mo_secrets_k8s_t *k = &c->secrets_kubernetes;
    int rc = mo_cfg_get_map(secrets, "kubernetes", 0, &m, err);
    if (!rc)
        rc = get_checked_string(m, "namespace", &k->namespace_name, is_dns_label,
                                "a DNS label (lower case letters, digits, '-')", err);
    if (!rc)
        rc = get_checked_string(m, "api_url", &k->api_url, is_http_url, "an http(s) URL", err);
    if (!rc)
        rc = get_checked_string(m, "token_file", &k->token_file, is_nonempty, "a file path", err);
    if (!rc)
        rc = get_checked_string(m, "ca_file", &k->ca_file, is_nonempty, "a file path", err);
    if (!rc)
        rc = mo_cfg_get_bool(m, "insecure_http", 0, &k->insecure_http, err);
    int verify = 1; /* zero-initialised clusters (no secrets section) keep verifying */
    if (!rc)
        rc = mo_cfg_get_bool(m, "tls_verify", 0, &verify, err);
    k->tls_no_verify = !verify;
    /* Plain http would hand the service account token to anyone on the path; said here with
     * the file position rather than later by the plugin. */
    if (!rc && k->api_url && mo_str_startswith(k->api_url, "http://") && !k->insecure_http)
        rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(m, "api_url"),
                           "secrets.kubernetes.api_url is plain http, which would send the "
                           "service account token in the clear: use https (insecure_http: true "
                           "exists only for tests against a local fake)");
    return rc;
}

static int read_secrets(mo_cluster_t *c, mo_cfg_node_t *root, mo_error_t *err)
{
    static const char *const names[] = {"env", "files", "kubernetes", NULL};
    mo_cfg_node_t *m = NULL, *list = NULL;
    int rc = mo_cfg_get_map(root, "secrets", 0, &m, err);
    if (!rc)
        rc = mo_cfg_get_list(m, "providers", 0, &list, err);
    if (!rc)
        rc = mo_cfg_get_string(m, "files_dir", 0, &c->secrets_files_dir, err);
    if (!rc)
        rc = read_secrets_kubernetes(c, m, err);
    if (rc || !list)
        return rc;
    size_t n = mo_cfg_len(list);
    if (n == 0 || n > 3)
        return mo_cfg_errorf(err, MO_EINVAL, list,
                             "secrets.providers must list 1 to 3 of env, files, kubernetes");
    c->n_providers = 0;
    for (size_t i = 0; i < n; i++) {
        mo_cfg_node_t *item = mo_cfg_at(list, i);
        const char *s = mo_cfg_scalar(item);
        int found = -1;
        for (int j = 0; s && names[j]; j++)
            if (!strcmp(s, names[j]))
                found = j;
        if (found < 0)
            return mo_cfg_errorf(err, MO_EINVAL, item,
                                 "secrets.providers[%zu] must be one of env, files, kubernetes, "
                                 "got \"%s\"",
                                 i, s ? s : "(not a string)");
        c->providers[c->n_providers++] = (mo_secret_provider_t)found;
    }
    return 0;
}

static int is_cron(const char *s)
{
    /* Five whitespace-separated fields; the full grammar is checked by the scheduler. */
    int fields = 0, in_field = 0;
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p)) {
            in_field = 0;
        } else if (!in_field) {
            in_field = 1;
            fields++;
        }
    }
    return fields == 5;
}

static int read_schedules(mo_cluster_t *c, mo_cfg_node_t *root, mo_error_t *err)
{
    static const char *const targets[] = {"local", "slurm", "kubernetes", "cron", NULL};
    mo_cfg_node_t *m = NULL;
    int rc = mo_cfg_get_map(root, "schedules", 0, &m, err);
    if (rc || !m)
        return rc;
    size_t n = mo_cfg_len(m);
    c->schedules = mo_calloc(n, sizeof *c->schedules);
    if (!c->schedules)
        return mo_errorf(err, MO_ENOMEM, "out of memory reading schedules");
    for (size_t i = 0; i < n; i++) {
        mo_schedule_t *s = &c->schedules[i];
        mo_cfg_node_t *item = NULL;
        s->name = mo_cfg_key_at(m, i);
        s->timezone = "UTC";
        s->target = "local";
        int target = 0;
        rc = mo_cfg_get_map(m, s->name, MO_CFG_REQUIRED, &item, err);
        if (!rc)
            rc = get_checked_string(item, "cron", &s->cron, is_cron,
                                    "a 5-field cron expression like \"0 2 * * *\"", err);
        if (!rc && !s->cron)
            rc = mo_cfg_errorf(err, MO_EINVAL, item, "missing required key 'cron' in schedules.%s",
                               s->name);
        if (!rc)
            rc = mo_cfg_get_string(item, "timezone", 0, &s->timezone, err);
        if (!rc)
            rc = mo_cfg_get_string(item, "spec", MO_CFG_REQUIRED, &s->spec, err);
        if (!rc)
            rc = mo_cfg_get_enum(item, "target", 0, targets, &target, err);
        if (rc)
            return rc;
        s->target = targets[target];
        c->n_schedules++;
    }
    return 0;
}

static int read_all(mo_cluster_t *c, mo_error_t *err)
{
    mo_cfg_node_t *root = mo_cfg_root(c->doc), *launch = NULL, *services = NULL;
    int rc = mo_cfg_get_string(root, "name", 0, &c->name, err);
    if (!rc)
        rc = mo_cfg_get_map(root, "launch", 0, &launch, err);
    if (!rc)
        rc = read_local(c, launch, err);
    if (!rc)
        rc = read_slurm(c, launch, err);
    if (!rc)
        rc = read_kubernetes(c, launch, err);
    if (!rc)
        rc = mo_cfg_get_map(root, "services", 0, &services, err);
    if (!rc)
        rc = read_service(services, "mlflow", &c->mlflow, is_http_url, "an http(s) URL", err);
    if (!rc)
        rc = read_service(services, "pushgateway", &c->pushgateway, is_http_url, "an http(s) URL",
                          err);
    if (!rc)
        rc = read_service(services, "loki", &c->loki, is_http_url, "an http(s) URL", err);
    if (!rc)
        rc = read_service(services, "redis", &c->redis, is_redis_url, "a redis://host:port/db URL",
                          err);
    if (!rc)
        rc = read_secrets(c, root, err);
    if (!rc)
        rc = read_schedules(c, root, err);
    if (!rc)
        rc = mo_cfg_check_unknown(root, err);
    return rc;
}

/* A cluster with its defaults and the document at `path` loaded with `opts`. */
static int load_doc(mo_cluster_t **out, const char *path, const mo_cfg_opts_t *opts,
                    mo_error_t *err)
{
    *out = NULL;
    int rc;
    mo_cluster_t *c = mo_calloc(1, sizeof *c);
    if (!c)
        return mo_errorf(err, MO_ENOMEM, "out of memory loading cluster config");
    set_defaults(c);
    if (path) {
        rc = mo_cfg_load_file(&c->doc, path, opts, err);
        if (rc == MO_EIO) /* a cluster file the user named cannot be read: bad input */
            rc = err ? (err->code = MO_EINVAL) : MO_EINVAL;
    } else {
        rc = mo_cfg_load_string(&c->doc, "(built-in cluster defaults)", "{}", opts, err);
    }
    if (rc) {
        mo_cluster_destroy(c);
        return rc;
    }
    c->path = path ? mo_cfg_file(c->doc) : NULL;
    *out = c;
    return 0;
}

int mo_cluster_load_ex(mo_cluster_t **out, struct mo_plugins **secrets, const char *path,
                       mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_cluster_load: NULL out");
    *out = NULL;
    if (secrets)
        *secrets = NULL;
    mo_cluster_t *pre = NULL, *c = NULL;
    mo_plugins_t *plugins = NULL;
    /* Pass 1: the secrets section only, other references left as written. */
    mo_cfg_opts_t keep = {NULL, NULL, 0, 1};
    int rc = load_doc(&pre, path, &keep, err);
    if (!rc)
        rc = read_secrets(pre, mo_cfg_root(pre->doc), err);
    if (!rc)
        rc = mo_secrets_open_plugins(&plugins, pre, err);
    /* Pass 2: everything, references resolved by those providers. */
    mo_secrets_ctx_t ctx = {pre, plugins};
    mo_cfg_opts_t full = {mo_secrets_resolve_ctx, &ctx, 0, 0};
    if (!rc)
        rc = load_doc(&c, path, &full, err);
    if (!rc)
        rc = read_all(c, err);
    mo_cluster_destroy(pre);
    if (rc) {
        mo_cluster_destroy(c);
        mo_plugins_close(plugins);
        return rc;
    }
    if (secrets)
        *secrets = plugins;
    else
        mo_plugins_close(plugins);
    *out = c;
    return 0;
}

int mo_cluster_load(mo_cluster_t **out, const char *path, mo_error_t *err)
{
    return mo_cluster_load_ex(out, NULL, path, err);
}

void mo_cluster_destroy(mo_cluster_t *c)
{
    if (!c)
        return;
    free(c->local.mpirun_args);
    free(c->schedules);
    mo_cfg_destroy(c->doc);
    free(c);
}
