/* secrets.h - resolving `${secret:NAME/KEY}` through the providers cluster.yml lists
 *
 * NAME/KEY is a Kubernetes Secret and one of its keys. Providers are tried in the order of
 * `secrets.providers`:
 *   env         the variable MAESTRO_SECRET_<NAME>_<KEY>: upper-cased, '-', '.' and '/' as
 *               '_' (so db/password and db-password both read MAESTRO_SECRET_DB_PASSWORD)
 *   files       the Kubernetes secret volume layout <files_dir>/<NAME>/<KEY>, read through
 *               the volume's `..data` link when there is one, so a rotation (an atomic swap
 *               of that link) is seen whole or not at all
 *   kubernetes  the Secrets API, through the `kubernetes` secrets plugin
 *               (mo_secrets_open_plugins)
 * The older single-part `${secret:NAME}` is still accepted: env MAESTRO_SECRET_<NAME>, files
 * <files_dir>/<NAME>; the Kubernetes API needs a key, so it is not asked for those.
 * Values from files and from the API lose trailing newlines (kubectl create secret
 * --from-file keeps the one most files end with). Every value is registered with the log's
 * redaction before it is returned, so it can never be printed; messages name references only.
 */
#ifndef MO_RUNNER_SECRETS_H
#define MO_RUNNER_SECRETS_H

#include "plugins/host.h"
#include "runner/cluster.h"

/* What the resolver needs; pass its address as the mo_cfg_opts_t resolve_ud of
 * mo_secrets_resolve_ctx. Both members may be NULL (no providers; no kubernetes plugin). */
typedef struct {
    const mo_cluster_t *cluster;
    mo_plugins_t *plugins; /* from mo_secrets_open_plugins; borrowed */
} mo_secrets_ctx_t;

/* An mo_cfg_resolve_fn; `ud` is a mo_secrets_ctx_t * (may be NULL). */
int mo_secrets_resolve_ctx(char **out, const char *scheme, const char *name, void *ud,
                           mo_error_t *err);

/* An mo_cfg_resolve_fn for callers without a plugin host; `ud` is a const mo_cluster_t *
 * (may be NULL). The kubernetes provider then reports "plugin not loaded". */
int mo_secrets_resolve(char **out, const char *scheme, const char *name, void *ud, mo_error_t *err);

/* Load the secrets plugins `c` asks for: "kubernetes" when it is in secrets.providers,
 * configured from secrets.kubernetes. *out is NULL (and 0 returned) when none is needed.
 * Caller owns *out (mo_plugins_close). */
int mo_secrets_open_plugins(mo_plugins_t **out, const mo_cluster_t *c, mo_error_t *err);

#endif
