/* h5_sum.c - checksums in the user block of Maestro's own HDF5 files (io/h5.h)
 *
 * The first MO_H5_SUM_BLOCK bytes of a checksummed file are HDF5's user block, which the
 * library skips. Maestro writes there, after HDF5 has closed the file:
 *
 *   MAESTRO-SHA256 1\n<bytes after the block, decimal>\n<SHA-256 of those bytes, hex>\n
 *
 * then NULs to the end of the block. Reading checks the length first (a truncated file is
 * caught without hashing) and then the digest, before HDF5 opens the file, so a damaged file
 * never reaches HDF5's parser (which is not hardened against malformed files).
 */
#include "core/str.h"
#include "io/h5.h"
#include "io/io_impl.h"
#include "io/run_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "MAESTRO-SHA256 1\n"

int mo_h5_sum_write(const char *tmp_path, const char *path, mo_error_t *err)
{
    struct stat st;
    if (stat(tmp_path, &st) != 0 || st.st_size < MO_H5_SUM_BLOCK)
        return mo_errorf(err, MO_EIO, "%s: %s is shorter than its user block", path, tmp_path);
    char hex[65];
    int rc = mo_file_sha256_from(hex, tmp_path, MO_H5_SUM_BLOCK, err);
    if (rc)
        return rc;
    char block[MO_H5_SUM_BLOCK];
    memset(block, 0, sizeof block);
    snprintf(block, sizeof block, MAGIC "%" PRId64 "\n%s\n", (int64_t)st.st_size - MO_H5_SUM_BLOCK,
             hex);
    int fd = open(tmp_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return mo_errorf(err, MO_EIO, "%s: cannot open %s: %s", path, tmp_path, strerror(errno));
    ssize_t put = pwrite(fd, block, sizeof block, 0);
    int saved = errno;
    if (close(fd) != 0 && put == (ssize_t)sizeof block)
        return mo_errorf(err, MO_EIO, "%s: cannot write %s: %s", path, tmp_path, strerror(errno));
    if (put != (ssize_t)sizeof block)
        return mo_errorf(err, MO_EIO, "%s: cannot write the checksum into %s: %s", path, tmp_path,
                         put < 0 ? strerror(saved) : "short write");
    return 0;
}

int mo_h5_verify(const char *path, int required, mo_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    char block[MO_H5_SUM_BLOCK + 1];
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mo_errorf(err, MO_EFORMAT, "%s: not a regular file", path);
    }
    ssize_t got = read(fd, block, MO_H5_SUM_BLOCK);
    close(fd);
    if (got < 0)
        return mo_errorf(err, MO_EIO, "%s: cannot read: %s", path, strerror(errno));
    block[got > 0 ? got : 0] = '\0';
    if (got < (ssize_t)strlen(MAGIC) || memcmp(block, MAGIC, strlen(MAGIC)) != 0) {
        if (!required)
            return 0;
        static const char hdf5_sig[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
        if (got >= 8 && memcmp(block, hdf5_sig, 8) == 0)
            return mo_errorf(err, MO_EFORMAT,
                             "%s: an HDF5 file without a Maestro checksum (not written by this "
                             "Maestro, or by one before checksums)",
                             path);
        return mo_errorf(err, MO_EFORMAT,
                         "%s: not an HDF5 file written by Maestro (no checksum header: damaged "
                         "at its start, or another kind of file)",
                         path);
    }
    int64_t len = -1;
    char want[65] = "";
    if (sscanf(block + strlen(MAGIC), "%" SCNd64 "\n%64[0-9a-f]", &len, want) != 2 ||
        strlen(want) != 64 || len < 0)
        return mo_errorf(err, MO_EFORMAT, "%s: damaged: its checksum header is unreadable", path);
    if ((int64_t)st.st_size != len + MO_H5_SUM_BLOCK)
        return mo_errorf(err, MO_EFORMAT,
                         "%s: damaged: %lld bytes where %lld were written (truncated or "
                         "extended)",
                         path, (long long)st.st_size, (long long)(len + MO_H5_SUM_BLOCK));
    char have[65];
    int rc = mo_file_sha256_from(have, path, MO_H5_SUM_BLOCK, err);
    if (rc)
        return rc;
    if (strcmp(have, want) != 0)
        return mo_errorf(err, MO_EFORMAT,
                         "%s: damaged: checksum mismatch (the file changed after it was "
                         "written)",
                         path);
    return 0;
}
