/* run_dir.h - the output folder of a run */
#ifndef MO_RUNNER_RUN_DIR_H
#define MO_RUNNER_RUN_DIR_H

#include "core/status.h"

/* Create `path` and its parents (mode 0755); an existing folder is fine, an existing file is
 * MO_EIO. Called on rank 0 after validation, so a bad spec never creates it. */
int mo_run_dir_create(const char *path, mo_error_t *err);

#endif
