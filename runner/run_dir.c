/* run_dir.c - create a run's output folder (mkdir -p) */
#include "runner/run_dir.h"

#include "core/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int make_one(const char *path, mo_error_t *err)
{
    struct stat st;
    if (mkdir(path, 0755) == 0)
        return 0;
    int e = errno; /* stat() below may overwrite it */
    if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (e == EEXIST)
        return mo_errorf(err, MO_EIO, "%s: exists and is not a folder", path);
    return mo_errorf(err, MO_EIO, "cannot create %s: %s", path, strerror(e));
}

int mo_run_dir_create(const char *path, mo_error_t *err)
{
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "empty output folder");
    char *p = mo_strdup(path);
    if (!p)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = 0;
    for (char *s = p + 1; *s && !rc; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        rc = make_one(p, err);
        *s = '/';
    }
    if (!rc)
        rc = make_one(p, err);
    free(p);
    return rc;
}
