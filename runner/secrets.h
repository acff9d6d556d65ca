/* secrets.h - resolving `${secret:NAME}` in specs through the configured providers
 *
 * The built-in providers are `env` (variable MAESTRO_SECRET_<NAME>, upper-cased, '-' and '.'
 * as '_') and `files` (the file <files_dir>/<NAME>, trailing newline dropped, as Kubernetes
 * mounts a Secret). `kubernetes` (the Secrets API) comes with the plugins. Providers are tried
 * in the order cluster.yml lists them. Every resolved value is registered with the log's
 * redaction before it is returned, so it can never be printed.
 */
#ifndef MO_RUNNER_SECRETS_H
#define MO_RUNNER_SECRETS_H

#include "runner/cluster.h"

/* An mo_cfg_resolve_fn; `ud` is the mo_cluster_t. */
int mo_secrets_resolve(char **out, const char *scheme, const char *name, void *ud, mo_error_t *err);

#endif
