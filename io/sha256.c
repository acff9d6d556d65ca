/* sha256.c - SHA-256 of a file, for dataset provenance in run.h5 (io/run_file.h)
 *
 * OpenSSL's EVP digest interface does the hashing (no hand-written SHA). The file is streamed
 * in 1 MiB blocks, so a dataset of many gigabytes costs 1 MiB of memory; the block buffer is
 * on the heap because rank stacks (threads, MPI progress) may be small.
 */
#include "io/run_file.h"

#include "core/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_BYTES ((size_t)1 << 20)

int mo_file_sha256(char hex[65], const char *path, mo_error_t *err)
{
    return mo_file_sha256_from(hex, path, 0, err);
}

int mo_file_sha256_from(char hex[65], const char *path, int64_t offset, mo_error_t *err)
{
    int rc = 0, fd = -1;
    unsigned char *buf = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = NULL;
    struct stat st;
    if (!hex)
        return mo_errorf(err, MO_EINVAL, "mo_file_sha256: NULL output");
    hex[0] = '\0';
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_file_sha256: empty path");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = mo_errorf(err, MO_EIO, "%s: is a directory, not a file", path);
        goto out;
    }
    if (offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot seek: %s", path, strerror(errno));
        goto out;
    }
    buf = mo_mallocarray(BLOCK_BYTES, 1);
    ctx = EVP_MD_CTX_new();
    if (!buf || !ctx) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory for hashing", path);
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = mo_errorf(err, MO_EDEPEND, "%s: OpenSSL cannot start a SHA-256 digest", path);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf, BLOCK_BYTES);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = mo_errorf(err, MO_EIO, "%s: read failed: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
            rc = mo_errorf(err, MO_EDEPEND, "%s: OpenSSL SHA-256 update failed", path);
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
        rc = mo_errorf(err, MO_EDEPEND, "%s: OpenSSL SHA-256 final failed", path);
        goto out;
    }
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < md_len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}
