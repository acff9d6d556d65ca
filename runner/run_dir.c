/* run_dir.c - create a run's output folder (mkdir -p) */
#include "runner/run_dir.h"

#include "io/atomic.h"

int mo_run_dir_create(const char *path, mo_error_t *err)
{
    return mo_io_mkdir_p(path, err);
}
