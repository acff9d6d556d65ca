/* host.h - the plugin host: load plugins, hand them the run's events, never let them fail it
 *
 * The runner opens the host with the plugins a spec names (and the secrets providers
 * cluster.yml names); jobs emit events through it. Every plugin runs on one worker thread of
 * the host fed by a bounded queue, so an event costs the training thread a copy and a
 * mutex, never a network round trip. A plugin failure is logged as a warning and never
 * changes the run's exit code; what a plugin could not deliver is spooled under
 * <run dir>/spool/<plugin>/ and retried (during the run, at run end, and by
 * `maestro plugins flush RUN_DIR`).
 *
 * Search path for `plugins: [name]` -> maestro-<name>.so: $MAESTRO_PLUGIN_PATH (colon
 * separated), then the build's plugin folder, then the install folder. Never the current
 * folder implicitly.
 */
#ifndef MO_PLUGINS_HOST_H
#define MO_PLUGINS_HOST_H

#include "core/status.h"
#include "plugins/maestro_plugin.h"

#include <jansson.h>
#include <stddef.h>

typedef struct mo_plugins mo_plugins_t;

typedef struct {
    const char *name;           /* "prometheus" */
    const maestro_kv_t *config; /* cluster services.<name> first, then spec options */
    size_t n_config;
} mo_plugin_request_t;

typedef struct {
    int rank, ranks;
    const char *run_dir;  /* spool and embedded defaults go here; may be NULL (no spooling) */
    double end_timeout_s; /* how long run end waits for queued events (0: 30 s) */
} mo_plugins_opts_t;

/* Load and init the requested plugins. A plugin that cannot be found, has a wrong ABI, or
 * whose init fails is an error naming it (bad configuration is the user's to fix before the
 * run starts). Caller owns *out (mo_plugins_close). n may be 0. */
int mo_plugins_open(mo_plugins_t **out, const mo_plugin_request_t *req, size_t n,
                    const mo_plugins_opts_t *opts, mo_error_t *err);

/* Run labels (the Slurm job, ...): from now on every metric event reaches the metrics plugins
 * (type MAESTRO_PLUGIN_METRICS) with these after its own labels; an event's own label of the
 * same name wins. Other plugin types get events as emitted (MLflow would fold labels into its
 * metric keys). Copied, values redacted. Call before the first event (right after open): the
 * plugins' thread reads them without a lock. `p` may be NULL (0); n = 0 clears. MO_EINVAL for
 * a label without a name or value. */
int mo_plugins_set_labels(mo_plugins_t *p, const maestro_kv_t *labels, size_t n, mo_error_t *err);

/* Lifecycle and events. All return quickly (queue); `p` may be NULL (no plugins). Strings are
 * copied. When the queue (4096 events) is full the caller waits at most ~5 ms once, then the
 * oldest queued metric (or the new metric/log) is dropped and counted; artifacts, models,
 * run_start and run_end are never dropped. mo_plugins_log may be called from a log sink
 * (mo_log_set_sink): it never logs; log lines produced on the plugins' own thread are not
 * forwarded to plugins (a failing logs plugin would feed itself). Remove such a sink before
 * mo_plugins_close. */
void mo_plugins_run_start(mo_plugins_t *p, const maestro_run_info_t *run);
void mo_plugins_metric(mo_plugins_t *p, const char *name, double value, int64_t step, int64_t epoch,
                       const maestro_kv_t *labels, size_t n_labels);
void mo_plugins_log(mo_plugins_t *p, maestro_log_level_t level, const char *component,
                    const char *message);
void mo_plugins_artifact(mo_plugins_t *p, const char *path, const char *artifact_name);
/* A model file of the run (MAESTRO_EV_MODEL), e.g. run.h5 under "model/run.h5". Added in the
 * host (not the ABI): the event kind existed with no way to emit it. */
void mo_plugins_model(mo_plugins_t *p, const char *path, const char *artifact_name);
/* Run end: drain the queue (bounded by end_timeout_s; what is still queued then is dropped
 * with a warning), retry spooled payloads once, call each plugin's run_end (bounded by another
 * end_timeout_s). Logs what is left in the spool and the `maestro plugins flush` command. */
void mo_plugins_run_end(mo_plugins_t *p, const maestro_run_end_t *end);
/* Wait for queued events (end_timeout_s, unless run end already gave up), call every fini on
 * the plugins' thread, join it and unload. Accepts NULL. */
void mo_plugins_close(mo_plugins_t *p);

/* Secrets through the loaded secrets plugins, in load order: 0 and a malloc'd value,
 * MO_ENOTFOUND when none has it (or p is NULL), MO_ESERVICE / MO_EPLUGIN when a provider
 * that might have it failed. The value is registered for redaction; the message never holds
 * it. Runs on the plugins' thread, ahead of queued events. */
int mo_plugins_resolve_secret(mo_plugins_t *p, const char *name, const char *key, char **value,
                              mo_error_t *err);

/* `maestro plugins list`: every plugin found on the search path, as a JSON array of
 * {name, type, version, abi, file, status} ("ok" or why it cannot load). */
int mo_plugins_list(json_t **out, mo_error_t *err);

/* `maestro plugins flush RUN_DIR`: deliver what is spooled under RUN_DIR/spool/, loading each
 * plugin with `config`. *delivered / *left count payloads. For every spool/<name>/ holding
 * payloads: load <name> with the config of the request of that name (none: empty), init,
 * flush each payload in sequence order (removing delivered ones; stopping at the first
 * MAESTRO_E_RETRY), fini. No run_start is called. A plugin that cannot load leaves its
 * payloads counted in *left and its error is returned after the others were tried. */
int mo_plugins_flush_dir(const char *run_dir, const mo_plugin_request_t *req, size_t n,
                         int *delivered, int *left, mo_error_t *err);

/* The search path as one string (for messages and `plugins list`). */
const char *mo_plugins_search_path(char *buf, size_t size);

#endif
