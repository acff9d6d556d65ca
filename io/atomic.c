/* atomic.c - whole-file writes (temp file + fsync + rename) and mkdir -p */
#include "io/atomic.h"

#include "core/fault.h"

#include "core/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Make the rename itself durable: fsync the folder holding `path` (best effort). */
static void sync_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int mo_io_write_atomic(const char *path, const void *data, size_t len, mo_error_t *err)
{
    return mo_io_write_atomic_ex(path, data, len, 1, err);
}

int mo_io_write_atomic_ex(const char *path, const void *data, size_t len, int durable,
                          mo_error_t *err)
{
    return mo_io_write_atomic_at(path, data, len, durable, NULL, err);
}

int mo_io_write_atomic_at(const char *path, const void *data, size_t len, int durable,
                          const char *fault_point, mo_error_t *err)
{
    if (!path || !*path || (!data && len))
        return mo_errorf(err, MO_EINVAL, "mo_io_write_atomic: bad arguments");
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return mo_errorf(err, MO_EINVAL, "path too long (%zu bytes): %.64s...", strlen(path), path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return mo_errorf(err, MO_EIO, "cannot create %s: %s", tmp, strerror(errno));
    int rc = 0;
    const char *p = data;
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = mo_errorf(err, MO_EIO, "cannot write %s: %s", tmp, strerror(errno));
            break;
        }
        done += (size_t)n;
    }
    if (!rc && durable && fsync(fd) != 0)
        rc = mo_errorf(err, MO_EIO, "cannot flush %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = mo_errorf(err, MO_EIO, "cannot close %s: %s", tmp, strerror(errno));
    if (!rc && fault_point)
        mo_fault_point(fault_point); /* the temp written, not renamed */
    if (!rc && rename(tmp, path) != 0)
        rc = mo_errorf(err, MO_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc)
        unlink(tmp);
    else if (durable)
        sync_parent(path);
    return rc;
}

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

int mo_io_mkdir_p(const char *path, mo_error_t *err)
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
