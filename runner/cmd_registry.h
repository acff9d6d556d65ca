/* cmd_registry.h - `maestro registry list | show`: the local model registry folder
 *
 * The folder is what the mlflow plugin writes when no MLflow url is configured (its embedded
 * default, plugins/mlflow/local.c):
 *
 *   <dir>/<model>/versions/<n>/run.h5, <dir>/<model>/versions/<n>/meta.json,
 *   <dir>/<model>/aliases.json  ({"alias": n})
 *
 * <dir> is --dir, else $MAESTRO_REGISTRY_DIR, else ~/.maestro/registry.
 */
#ifndef MO_RUNNER_CMD_REGISTRY_H
#define MO_RUNNER_CMD_REGISTRY_H

/* `maestro registry ARGS...` (argv[0] is "registry"); returns the process exit code. */
int mo_cmd_registry(int argc, char **argv);

#endif
