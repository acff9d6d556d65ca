/* spec.h - loading and checking a job spec before anything runs
 *
 * Order: read the YAML (env and secret references resolved), apply every --set, pick the kind
 * from the registry, read the keys every spec shares (kind, name, description, output, labels,
 * plugins, registry),
 * let the kind read its own, then report any key nobody read. All of it happens before a file
 * is written, so bad input leaves nothing behind (exit 2).
 */
#ifndef MO_RUNNER_SPEC_H
#define MO_RUNNER_SPEC_H

#include "io/config.h"
#include "runner/cluster.h"
#include "runner/kinds.h"
#include "runner/run_plugins.h"
#include "runner/secrets.h"

#include <stddef.h>

typedef struct {
    mo_cfg_t *doc;
    const mo_kind_entry_t *kind;
    char *name;                /* `name:`, default: the spec file's base name without .yml */
    const char *description;   /* may be NULL */
    char *output;              /* --output, else `output:`, else runs/<name> */
    void *job;                 /* the kind's parsed spec */
    mo_run_plugins_t *plugins; /* `plugins:` and `registry:` */
    mo_secrets_ctx_t secrets;  /* the resolver's context; lives as long as the document */
} mo_spec_t;

typedef struct {
    const char *const *sets; /* "--set" assignments, in order */
    size_t n_sets;
    const char *output; /* --output, may be NULL */
    const mo_cluster_t *cluster;
    mo_plugins_t *secrets_plugins; /* secrets providers cluster.yml asks for; may be NULL */
} mo_spec_opts_t;

/* Load, check and parse. Caller owns *out (mo_spec_destroy). */
int mo_spec_load(mo_spec_t **out, const char *path, const mo_spec_opts_t *opts, mo_error_t *err);
void mo_spec_destroy(mo_spec_t *spec);

/* Load and check a child spec (a sweep's trial template with its overrides) with the same
 * cluster and secrets as `opts`, keep nothing: 0 when it would run. */
int mo_spec_check_child(const mo_spec_opts_t *opts, const mo_job_child_spec_t *child,
                        mo_error_t *err);

#endif
