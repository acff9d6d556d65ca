/* run_plugins.h - which plugins a run uses, with what configuration
 *
 * A spec names its plugins (`plugins: [prometheus, loki, {name: mlflow, experiment: churn}]`)
 * and may ask for a model registration (`registry: {model: churn, alias: champion}`). Each
 * plugin's configuration is its cluster.yml service section (prometheus -> services.pushgateway,
 * loki -> services.loki, mlflow -> services.mlflow, any other name -> services.<name>), taken
 * only when that section is written in the file, then the spec's options on top. A plugin
 * without a configured service runs its embedded default (local files).
 */
#ifndef MO_RUNNER_RUN_PLUGINS_H
#define MO_RUNNER_RUN_PLUGINS_H

#include "io/config.h"
#include "plugins/host.h"
#include "runner/cluster.h"

#include <stddef.h>

typedef struct mo_run_plugins mo_run_plugins_t;

/* Read `plugins:` and `registry:` of a spec's root map (marks them known). Names are checked
 * against the plugins on the search path (with a suggestion for a misspelt one). */
int mo_run_plugins_parse(mo_run_plugins_t **out, mo_cfg_node_t *root, mo_error_t *err);
void mo_run_plugins_free(mo_run_plugins_t *rp);

size_t mo_run_plugins_count(const mo_run_plugins_t *rp);
const char *mo_run_plugins_registry_model(const mo_run_plugins_t *rp); /* NULL when none */
const char *mo_run_plugins_registry_alias(const mo_run_plugins_t *rp);

/* Load the plugins for this rank (rp may be NULL or empty: *out = NULL, no plugins). */
int mo_run_plugins_open(mo_plugins_t **out, const mo_run_plugins_t *rp, const mo_cluster_t *c,
                        int rank, int ranks, const char *run_dir, mo_error_t *err);

/* The configuration a plugin gets from cluster.yml alone (for `maestro plugins flush`).
 * *kv and the strings it points to are owned by `c`'s document except the array (free it). */
int mo_run_plugins_service_config(maestro_kv_t **kv, size_t *n, const mo_cluster_t *c,
                                  const char *plugin, mo_error_t *err);

/* The spec flattened to "a.b.c" -> "value" pairs (lists as "[x, y]"), secrets as "***".
 * Caller frees with mo_run_params_free. */
int mo_run_params(maestro_kv_t **out, size_t *n, const mo_cfg_node_t *root, mo_error_t *err);
void mo_run_params_free(maestro_kv_t *kv, size_t n);

#endif
