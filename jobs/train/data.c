/* data.c - the training data on every rank, the validation split, the epoch order
 *
 * Every rank holds every training row: the per-epoch shuffle is global (the same permutation
 * for any rank count, from the counter-based RNG), so over an epoch each rank touches rows
 * from everywhere. Rows are read through parallel HDF5 in blocks; the validation split is a
 * seeded permutation too, so train and validation rows do not depend on the rank count.
 */
#include "jobs/train/train_impl.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/rng.h"
#include "io/run_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int read_all(const char *path, mo_comm_t *comm, float **X, int32_t **yc, float **yv,
                    int64_t *n, const train_spec_t *s, mo_error_t *err)
{
    mo_ds_t *ds = NULL;
    int rc = mo_comm_agree(comm, mo_ds_open(&ds, path, mo_comm_mpi(comm), err), err);
    if (rc)
        return rc;
    const mo_ds_info_t *info = mo_ds_info(ds);
    *n = info->n_rows;
    int local = 0;
    if (info->n_features != s->n_features || info->task != s->task)
        local = mo_errorf(err, MO_EINVAL, "%s changed since the spec was checked", path);
    int cls = info->task == MO_DS_CLASSIFICATION;
    if (!local) {
        *X = mo_mallocarray((size_t)(info->n_rows * info->n_features), sizeof(float));
        *yc = cls ? mo_mallocarray((size_t)info->n_rows, sizeof(int32_t)) : NULL;
        *yv = cls ? NULL : mo_mallocarray((size_t)info->n_rows, sizeof(float));
        if (!*X || (cls ? !*yc : !*yv))
            local = mo_errorf(err, MO_ENOMEM, "out of memory for %lld rows of %s",
                              (long long)info->n_rows, path);
    }
    /* Blocks of about 32 MiB keep each read well inside MPI-IO's int counts. */
    int64_t block = (32 << 20) / (info->n_features * 4) + 1;
    for (int64_t r = 0; !local && r < info->n_rows; r += block) {
        int64_t k = info->n_rows - r < block ? info->n_rows - r : block;
        local = mo_ds_read(ds, r, k, *X + r * info->n_features, cls ? *yc + r : NULL,
                           cls ? NULL : *yv + r, err);
    }
    if (!local && cls && info->n_classes > s->n_classes)
        local = mo_errorf(err, MO_EINVAL, "%s has %d classes but the model has %d", path,
                          (int)info->n_classes, (int)s->n_classes);
    mo_ds_close(ds);
    return mo_comm_agree(comm, local, err);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int split(train_data_t *d, int64_t n, const train_spec_t *s, mo_error_t *err)
{
    int64_t n_val = d->val_from_file ? 0 : (int64_t)llround((double)n * s->val_split);
    if (!d->val_from_file && s->val_split > 0 && n_val == 0)
        n_val = 1;
    if (n - n_val < 1)
        return mo_errorf(err, MO_EINVAL,
                         "%s: %lld rows leave no training rows after a "
                         "validation split of %g",
                         s->data_path, (long long)n, s->val_split);
    int64_t *perm = mo_mallocarray((size_t)n, sizeof *perm);
    d->train_idx = mo_mallocarray((size_t)(n - n_val), sizeof(int64_t));
    if (!perm || !d->train_idx) {
        free(perm);
        return mo_errorf(err, MO_ENOMEM, "out of memory splitting %lld rows", (long long)n);
    }
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    if (n_val) {
        mo_rng_t r;
        mo_rng_init(&r, s->seed, MO_RNG_STREAM_SPLIT, 0);
        mo_rng_shuffle(&r, (uint64_t *)perm, (uint64_t)n);
    }
    /* Sorted index lists: validation reads then stream through memory in order. */
    qsort(perm, (size_t)n_val, sizeof *perm, cmp_i64);
    qsort(perm + n_val, (size_t)(n - n_val), sizeof *perm, cmp_i64);
    memcpy(d->train_idx, perm + n_val, (size_t)(n - n_val) * sizeof *perm);
    d->n_train = n - n_val;
    if (!d->val_from_file) {
        d->n_val = n_val;
        d->val_idx = perm; /* first n_val entries used */
    } else {
        free(perm);
    }
    return 0;
}

int train_data_load(train_data_t *d, const train_spec_t *s, mo_comm_t *comm, mo_error_t *err)
{
    memset(d, 0, sizeof *d);
    d->n_features = s->n_features;
    d->task = s->task;
    d->n_classes = s->n_classes;
    int64_t n = 0, nv = 0;
    int rc = read_all(s->data_path, comm, &d->X, &d->yc, &d->yv, &n, s, err);
    if (!rc && s->val_path) {
        d->val_from_file = 1;
        rc = read_all(s->val_path, comm, &d->vX, &d->vyc, &d->vyv, &nv, s, err);
    }
    if (!rc)
        rc = mo_comm_agree(comm, split(d, n, s, err), err);
    if (!rc && d->val_from_file) {
        d->val_idx = mo_mallocarray((size_t)(nv ? nv : 1), sizeof(int64_t));
        rc = d->val_idx ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
        for (int64_t i = 0; !rc && i < nv; i++)
            d->val_idx[i] = i;
        d->n_val = nv;
        rc = mo_comm_agree(comm, rc, err);
    }
    if (!rc) {
        /* Every rank got here (the agrees above), so every rank joins this one. */
        int local = mo_comm_rank(comm) == 0 ? mo_file_sha256(d->sha256, s->data_path, err) : 0;
        rc = mo_comm_agree(comm, local, err);
    }
    if (rc)
        train_data_free(d);
    return rc;
}

void train_data_free(train_data_t *d)
{
    if (!d)
        return;
    free(d->X);
    free(d->vX);
    free(d->yc);
    free(d->vyc);
    free(d->yv);
    free(d->vyv);
    free(d->train_idx);
    free(d->val_idx);
    memset(d, 0, sizeof *d);
}

void train_data_epoch_order(const train_data_t *d, uint64_t seed, int64_t epoch, int64_t *order)
{
    memcpy(order, d->train_idx, (size_t)d->n_train * sizeof *order);
    mo_rng_t r;
    /* One stream per epoch: resuming at epoch e needs no draws from earlier epochs. */
    mo_rng_init(&r, seed, MO_RNG_STREAM_SHUFFLE | ((uint64_t)epoch << 8), 0);
    mo_rng_shuffle(&r, (uint64_t *)order, (uint64_t)d->n_train);
}
