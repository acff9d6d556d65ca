/* store.c - the offline feature store written by every rank together (store.h)
 *
 * The order of io/feature_store.h's steps, with an agreement after each one that can fail on
 * one rank only: a failure anywhere becomes a failure everywhere at the same point, so no rank
 * waits in an HDF5 collective that another never joins, and all ranks close the file together
 * before rank 0 renames it into place or removes it.
 */
#include "jobs/materialize/store.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The metadata's fingerprint x as x and ~x: both maxima are this rank's values only when
 * every rank has the same x. */
static int same_views(const char *path, mo_comm_t *comm, const mo_fs_view_t *views, size_t n_views,
                      mo_error_t *err)
{
    int64_t fp = (int64_t)(mo_fs_fingerprint(views, n_views) >> 1), fps[2] = {fp, ~fp};
    int rc = mo_comm_allreduce(comm, fps, 2, MO_DT_INT64, MO_OP_MAX, err);
    if (!rc && (!fp || fps[0] != fp || fps[1] != ~fp))
        rc = mo_errorf(err, MO_EINVAL,
                       "%s: the ranks passed different views (names, features or ranges), or "
                       "one is out of memory",
                       path);
    return rc;
}

/* This rank's plan for view v, from every rank's record. */
static int plan_view(mo_fs_plan_t **p, const char *path, mo_comm_t *comm, const mo_fs_view_t *v,
                     size_t width, mo_error_t *err)
{
    void *all = NULL;
    size_t size = 0, got = 0;
    int rc = mo_comm_agree(comm, mo_fs_plan_create(p, path, v, width, err), err);
    if (rc)
        return rc;
    const void *rec = mo_fs_plan_record(*p, &size);
    if (!(rc = mo_comm_allgatherv(comm, rec, size, MO_DT_BYTE, &all, &got, err))) {
        MO_ASSERT(got == size * (size_t)mo_comm_size(comm));
        rc = mo_fs_plan_finish(*p, path, v, all, mo_comm_rank(comm), mo_comm_size(comm), err);
        rc = mo_comm_agree(comm, rc, err);
    }
    free(all);
    return rc;
}

/* Fail before the file exists when its file system plainly cannot hold it: a disk that fills
 * in the middle of a parallel HDF5 write leaves ranks in collectives that never complete and
 * files HDF5 cannot close (found by tests/jobs/test_faults.sh). The estimate is every table's
 * uncompressed bytes; a compressed store is assumed to take at least a quarter of that. */
static int check_space(const char *path, const mo_fs_view_t *views, mo_fs_plan_t *const *plans,
                       size_t n_views, mo_error_t *err)
{
    double need = 1 << 20; /* attributes, groups, the B-trees of chunked datasets */
    for (size_t i = 0; i < n_views; i++) {
        const mo_fs_part_t *pt = mo_fs_plan_part(plans[i]);
        double row = (double)pt->width + 24.0 + 8.0 * (double)views[i].n_features;
        need += (double)pt->total * row + (double)pt->entities * (row + (double)pt->width + 24.0);
    }
    if (!views[0].no_compression)
        need /= 4;
    char *dir = mo_strdup(path);
    if (!dir)
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0';
    struct statvfs st;
    int unknown = statvfs(slash ? dir : ".", &st) != 0; /* unknown: let the write try */
    double free_b = unknown ? 0 : (double)st.f_bavail * (double)st.f_frsize;
    free(dir);
    if (!unknown && free_b < need)
        return mo_errorf(err, MO_EIO,
                         "%s: not enough disk space: the store needs about %.1f MiB and its file "
                         "system has %.1f MiB free",
                         path, need / 1048576.0, free_b / 1048576.0);
    return 0;
}

/* After a failed write: say so when the store's file system has (next to) no room left, the
 * usual reason, which HDF5's own message does not tell. */
static void say_if_full(const char *path, mo_error_t *err)
{
    char *dir = mo_strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    struct statvfs st;
    if (slash)
        slash[slash == dir] = '\0';
    if (dir && err && statvfs(slash ? dir : ".", &st) == 0 &&
        (double)st.f_bavail * (double)st.f_frsize < 1048576.0) {
        static const char note[] = " (its file system is full)";
        size_t len = strnlen(err->msg, sizeof err->msg), keep = sizeof err->msg - sizeof note;
        memcpy(err->msg + (len < keep ? len : keep), note, sizeof note);
    }
    free(dir);
}

int mat_store_write(const char *path, mo_comm_t *comm, const mo_fs_view_t *views, size_t n_views,
                    mo_error_t *err)
{
    int rc = 0, crc, made = 0; /* made: the file exists on every rank */
    char *tmp = NULL;
    mo_fs_plan_t **plans = NULL;
    mo_fs_writer_t *w = NULL;
    int64_t *width = NULL;
    if (!comm)
        return mo_errorf(err, MO_EINVAL, "mat_store_write: NULL communicator");
    int rank = mo_comm_rank(comm);
    /* Every check is made on every rank and agreed on before the first collective that could
     * be left waiting. */
    if (!(plans = mo_calloc(n_views + 1, sizeof *plans)) ||
        !(width = mo_calloc(n_views + 1, sizeof *width)))
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path ? path : "mat_store_write");
    else
        rc = mo_fs_check(path, views, n_views, width, err);
    /* Then the longest key of each view, over all ranks: the keys' width in the file. */
    if ((rc = mo_comm_agree(comm, rc, err)) || (rc = same_views(path, comm, views, n_views, err)) ||
        (rc = mo_comm_allreduce(comm, width, n_views, MO_DT_INT64, MO_OP_MAX, err)))
        goto out;
    for (size_t i = 0; i < n_views; i++)
        if ((rc = plan_view(&plans[i], path, comm, &views[i], (size_t)(width[i] ? width[i] : 1),
                            err)))
            goto out;
    if (rank == 0 && !(rc = check_space(path, views, plans, n_views, err)))
        rc = mo_fs_temp_create(&tmp, path, err);
    if ((rc = mo_comm_agree(comm, rc, err)) || (rc = mo_comm_bcast_string(comm, &tmp, 0, err)))
        goto out;
    rc = mo_fs_writer_open(&w, path, tmp, mo_comm_mpi(comm), views, plans, n_views, err);
    if ((rc = mo_comm_agree(comm, rc, err)))
        goto out;
    made = 1;
    for (int done = 0; !rc && !done;)
        rc = mo_comm_agree(comm, mo_fs_writer_step(w, &done, err), err);
    if (rc)
        say_if_full(path, err);
out:
    /* Collective: once the file exists every rank comes here at the same point (failures are
     * agreed), closes it, and only then may rank 0 rename or remove it. After a failure the
     * temp is emptied first: when the disk filled up during the write, closing flushes
     * metadata, and a flush that fails on rank 0 alone sends the ranks to different barriers
     * inside HDF5 (a hang); emptied, the file has room again for the few KiB the close writes. */
    if (rc && made && rank == 0 && tmp && truncate(tmp, 0) != 0)
        mo_log_debug("materialize", "%s: cannot empty before closing: %s", tmp, strerror(errno));
    if ((crc = mo_fs_writer_close(w, rc ? NULL : err)) && !rc)
        rc = crc;
    if (made && !(rc = mo_comm_agree(comm, rc, err)) && rank == 0)
        rc = mo_fs_commit(tmp, path, err);
    if (made)
        rc = mo_comm_agree(comm, rc, err);
    if (rc && tmp && rank == 0)
        unlink(tmp);
    for (size_t i = 0; plans && i < n_views; i++)
        mo_fs_plan_destroy(plans[i]);
    free(plans);
    free(width);
    free(tmp);
    return rc;
}
