/* checkpoint_dir.c - the checkpoint folder: naming, pruning, the latest (io/checkpoint.h)
 *
 * A folder holds `ckpt-<step, 12 digits>.h5` files and may hold anything else. Only names of
 * exactly that form (a run of digits) count: the temp files of an interrupted save end in
 * `.tmp.<pid>` and never match, so a crash mid-write leaves the previous checkpoint the latest.
 * Order is by step number, not by name or mtime (ckpt-10 is newer than ckpt-9). The file itself
 * (atomic write, entries, attributes) is io/checkpoint.c's business: mo_ckpt_write.
 */
#include "io/checkpoint.h"

#include "core/log.h"
#include "core/str.h"
#include "io/io_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The step of `ckpt-<digits>.h5`, or -1 for any other name (temp files included). */
static int64_t parse_step(const char *name)
{
    size_t len = strlen(name), nd = 0;
    char digits[24];
    int64_t step = -1;
    if (len < 9 || strncmp(name, "ckpt-", 5) || strcmp(name + len - 3, ".h5"))
        return -1;
    while (name[5 + nd] >= '0' && name[5 + nd] <= '9')
        nd++;
    if (nd != len - 8 || nd >= sizeof digits)
        return -1;
    memcpy(digits, name + 5, nd);
    digits[nd] = '\0';
    return mo_parse_int64(digits, &step) == 0 ? step : -1;
}

static int is_ckpt(const struct dirent *d)
{
    return parse_step(d->d_name) >= 0;
}

/* Newest first; ties (ckpt-7.h5 beside ckpt-000000000007.h5) by name, so the order is stable. */
static int newest_first(const struct dirent **a, const struct dirent **b)
{
    int64_t x = parse_step((*a)->d_name), y = parse_step((*b)->d_name);
    return x != y ? (x < y ? 1 : -1) : -strcmp((*a)->d_name, (*b)->d_name);
}

/* The checkpoint files of `dir`, newest first (free with list_free). MO_ENOTFOUND when `dir`
 * does not exist. */
static int list_dir(struct dirent ***out, int *n, const char *dir, mo_error_t *err)
{
    *n = scandir(dir, out, is_ckpt, newest_first);
    if (*n >= 0)
        return 0;
    *out = NULL;
    *n = 0;
    if (errno == ENOENT || errno == ENOTDIR)
        return mo_errorf(err, MO_ENOTFOUND, "%s: no such directory", dir);
    return mo_errorf(err, MO_EIO, "%s: cannot list: %s", dir, strerror(errno));
}

static void list_free(struct dirent **l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* `dir/name` with a single slash between; caller frees. */
static char *join(const char *dir, const char *name)
{
    mo_buf_t b = {0};
    size_t len = strlen(dir);
    mo_buf_printf(&b, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", name);
    return mo_buf_steal(&b);
}

/* Remove all but the `keep` newest, never the one just written (`self`): a save at a step below
 * existing ones (a resumed run that went back) must not delete what it just wrote. A file that
 * cannot be removed is a warning: the checkpoint itself is safe. */
static void prune(const char *dir, const char *self, int keep)
{
    struct dirent **l = NULL;
    int n = 0, kept = 1;
    mo_error_t err = {0};
    if (list_dir(&l, &n, dir, &err))
        mo_log_warn("io", "checkpoint: cannot prune old checkpoints: %s", err.msg);
    for (int i = 0; i < n; i++) {
        if (!strcmp(l[i]->d_name, self) || kept++ < keep)
            continue;
        char *p = join(dir, l[i]->d_name);
        if (p && unlink(p) != 0 && errno != ENOENT)
            mo_log_warn("io", "checkpoint: cannot remove %s: %s", p, strerror(errno));
        free(p);
    }
    list_free(l, n);
}

int mo_ckpt_save(const mo_ckpt_t *c, const char *dir, int64_t step, int keep, char **written,
                 mo_error_t *err)
{
    int rc = 0;
    char *path = NULL, name[64];
    struct stat st;
    if (written)
        *written = NULL;
    if (!c || !dir || !*dir)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_save: %s", c ? "empty directory" : "NULL");
    if (step < 0 || keep < 1)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_save: %s must be %s, got %lld",
                         step < 0 ? "step" : "keep", step < 0 ? ">= 0" : ">= 1",
                         step < 0 ? (long long)step : (long long)keep);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mo_errorf(err, MO_ENOTFOUND, "%s: no such directory", dir);
    snprintf(name, sizeof name, "ckpt-%012lld.h5", (long long)step);
    if (!(path = join(dir, name))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    if ((rc = mo_ckpt_write(c, path, step, err)))
        goto out;
    prune(dir, name, keep);
    if (written) {
        *written = path;
        path = NULL;
    }
out:
    free(path);
    return rc;
}

int mo_ckpt_latest(char **path, const char *dir, mo_error_t *err)
{
    int rc = 0, n = 0;
    struct dirent **l = NULL;
    if (!path)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_latest: NULL output");
    *path = NULL;
    if (!dir || !*dir)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_latest: empty directory");
    if ((rc = list_dir(&l, &n, dir, err))) {
        if (rc == MO_ENOTFOUND)
            rc = mo_errorf(err, MO_ENOTFOUND, "no checkpoint in %s (no such directory)", dir);
        goto out;
    }
    if (n == 0) {
        rc = mo_errorf(err, MO_ENOTFOUND, "no checkpoint in %s", dir);
        goto out;
    }
    if (!(*path = join(dir, l[0]->d_name)))
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", dir);
out:
    list_free(l, n);
    return rc;
}

int mo_ckpt_load_latest(mo_ckpt_t **out, char **path, const char *dir, mo_error_t *err)
{
    int rc = 0, n = 0;
    struct dirent **l = NULL;
    if (!out || !path)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_load_latest: NULL output");
    *out = NULL;
    *path = NULL;
    if (!dir || !*dir)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_load_latest: empty directory");
    if ((rc = list_dir(&l, &n, dir, err))) {
        if (rc == MO_ENOTFOUND)
            rc = mo_errorf(err, MO_ENOTFOUND, "no checkpoint in %s (no such directory)", dir);
        goto out;
    }
    int damaged = 0;
    for (int i = 0; i < n; i++) {
        char *p = join(dir, l[i]->d_name);
        if (!p) {
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", dir);
            goto out;
        }
        mo_error_t why = {0};
        rc = mo_ckpt_load(out, p, &why);
        if (rc == MO_EFORMAT) { /* damaged, or not ours: the one before may be good */
            mo_log_warn("checkpoint", "skipping %s", why.msg);
            damaged++;
            free(p);
            continue;
        }
        if (rc) {
            if (err)
                *err = why;
            free(p);
            goto out;
        }
        *path = p;
        goto out;
    }
    rc = damaged ? mo_errorf(err, MO_EFORMAT, "no good checkpoint in %s (%d damaged)", dir, damaged)
                 : mo_errorf(err, MO_ENOTFOUND, "no checkpoint in %s", dir);
out:
    list_free(l, n);
    return rc;
}
