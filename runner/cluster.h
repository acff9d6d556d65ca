/* cluster.h - cluster.yml: where and how Maestro launches, which services it reports to
 *
 * Every section is optional; absent sections take the defaults below (the platform's minikube
 * NodePorts for services). The file is found by `--cluster FILE`, else $MAESTRO_CLUSTER, else
 * ./cluster.yml when it exists, else the built-in defaults apply. The same config code as for
 * specs checks it, so errors carry file:line:col and unknown keys get suggestions.
 */
#ifndef MO_RUNNER_CLUSTER_H
#define MO_RUNNER_CLUSTER_H

#include "core/status.h"
#include "io/config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t np;
    char **mpirun_args; /* NULL-terminated */
} mo_launch_local_t;

typedef struct {
    const char *partition, *account, *time, *maestro;
    int64_t nodes, ntasks_per_node, gpus_per_node, cpus_per_task;
} mo_launch_slurm_t;

typedef struct {
    const char *namespace_name, *image, *cpu, *memory, *service_account, *data_pvc, *output_pvc;
    int64_t workers, slots_per_worker, gpus_per_worker;
} mo_launch_k8s_t;

typedef struct {
    const char *url; /* NULL when the service is not configured */
    int configured;  /* 1 when the section was written in the file */
} mo_service_t;

typedef enum { MO_SECRETS_ENV = 0, MO_SECRETS_FILES, MO_SECRETS_KUBERNETES } mo_secret_provider_t;

/* secrets.kubernetes: settings of the kubernetes secrets plugin. NULL strings leave the
 * plugin's in-cluster defaults (service account files, KUBERNETES_SERVICE_HOST). */
typedef struct {
    const char *namespace_name, *api_url, *token_file, *ca_file;
    int insecure_http; /* 1: api_url may be plain http:// (tests against a local fake only) */
    int tls_no_verify; /* tls_verify: false: the API server's certificate is not checked */
} mo_secrets_k8s_t;

typedef struct {
    const char *name;
    const char *cron, *timezone, *spec, *target;
} mo_schedule_t;

typedef struct {
    const char *name;
    const char *path; /* the file read, or NULL for built-in defaults */
    mo_launch_local_t local;
    mo_launch_slurm_t slurm;
    mo_launch_k8s_t kubernetes;
    mo_service_t mlflow, pushgateway, loki, redis;
    mo_secret_provider_t providers[3];
    size_t n_providers;
    const char *secrets_files_dir;
    mo_secrets_k8s_t secrets_kubernetes;
    mo_schedule_t *schedules;
    size_t n_schedules;
    mo_cfg_t *doc; /* owns every string above */
} mo_cluster_t;

/* Which file `--cluster` (may be NULL) resolves to; NULL when none (built-in defaults). */
const char *mo_cluster_pick_path(const char *cli_path);

/* Load and check `path` (NULL: built-in defaults). Caller owns *out (mo_cluster_destroy).
 * `${secret:...}` works anywhere but in the secrets section itself: the file is read twice,
 * first for its secrets section (references left as written), then in full with those
 * providers. */
int mo_cluster_load(mo_cluster_t **out, const char *path, mo_error_t *err);
/* The same, also handing over the secrets plugins it opened (for the spec's references);
 * *secrets may be NULL when cluster.yml names none. Caller closes them (mo_plugins_close). */
struct mo_plugins;
int mo_cluster_load_ex(mo_cluster_t **out, struct mo_plugins **secrets, const char *path,
                       mo_error_t *err);
void mo_cluster_destroy(mo_cluster_t *c);

#endif
