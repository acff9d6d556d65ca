/* comm.c - the world handle: MPI start and stop, ranks, node-local split, errors, abort
 *
 * MPI is initialised only when nobody has done it yet, and the handle that initialised it is
 * the one that finalises it, so Maestro can also run inside a host program that owns MPI.
 * The handle works on a dup of MPI_COMM_WORLD with MPI_ERRORS_RETURN: every MPI failure comes
 * back as MO_EMPI with MPI's own text instead of the default abort. Node-local ranks come from
 * MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), which is what "ranks on this node" means to MPI.
 */
#include "comm/comm_impl.h"

#include "comm/info.h"
#include "core/alloc.h"
#include "core/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static size_t chunk_limit = INT_MAX;

static const char *read_env(const char *name)
{
    return getenv(name);
}

size_t mo_comm_set_chunk_limit(size_t elems)
{
    size_t old = chunk_limit;
    if (elems == 0 || elems > INT_MAX)
        elems = INT_MAX;
    chunk_limit = elems;
    return old;
}

size_t mo_comm_chunk_limit(void)
{
    return chunk_limit;
}

int mo_comm_mpi_error(mo_error_t *err, int mpi_rc, const char *op)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS || len <= 0)
        snprintf(text, sizeof text, "MPI error code %d", mpi_rc);
    return mo_errorf(err, MO_EMPI, "%s: %s", op, text);
}

/* 1 while MPI calls are allowed: initialised and not yet finalised. */
static int mpi_is_up(void)
{
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    return inited && !finalized;
}

int mo_comm_check(const mo_comm_t *c, const char *fn, mo_error_t *err)
{
    if (!c)
        return mo_errorf(err, MO_EINVAL, "%s: communicator is NULL", fn);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized)
        return mo_errorf(err, MO_EMPI, "%s: MPI has already been finalised", fn);
    return 0;
}

MPI_Datatype mo_comm_mpi_dtype(mo_dtype_t dtype)
{
    switch (dtype) {
    case MO_DT_INT32:
        return MPI_INT32_T;
    case MO_DT_INT64:
        return MPI_INT64_T;
    case MO_DT_FLOAT:
        return MPI_FLOAT;
    case MO_DT_DOUBLE:
        return MPI_DOUBLE;
    case MO_DT_BYTE:
        return MPI_BYTE;
    }
    return MPI_DATATYPE_NULL;
}

size_t mo_dtype_size(mo_dtype_t dtype)
{
    switch (dtype) {
    case MO_DT_INT32:
        return sizeof(int32_t);
    case MO_DT_INT64:
        return sizeof(int64_t);
    case MO_DT_FLOAT:
        return sizeof(float);
    case MO_DT_DOUBLE:
        return sizeof(double);
    case MO_DT_BYTE:
        return 1;
    }
    return 0;
}

/* Dup MPI_COMM_WORLD with MPI_ERRORS_RETURN already in force, so that a failing dup returns
 * too; the world's own handler is put back afterwards, leaving a host program's MPI state
 * as we found it. */
static int dup_world(MPI_Comm *out, mo_error_t *err)
{
    MPI_Errhandler saved = MPI_ERRHANDLER_NULL;
    int rc = MPI_Comm_get_errhandler(MPI_COMM_WORLD, &saved);
    if (rc != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "MPI_Comm_get_errhandler");
    int ret = 0;
    rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, rc, "MPI_Comm_set_errhandler");
        goto out;
    }
    rc = MPI_Comm_dup(MPI_COMM_WORLD, out);
    if (rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, rc, "MPI_Comm_dup");
        goto out;
    }
    rc = MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS)
        ret = mo_comm_mpi_error(err, rc, "MPI_Comm_set_errhandler");
out:
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, saved);
    MPI_Errhandler_free(&saved);
    return ret;
}

int mo_comm_init(mo_comm_t **out, int *argc, char ***argv, mo_error_t *err)
{
    mo_comm_t *c = NULL;
    int ret = 0, rc;
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_comm_init: out is NULL");
    *out = NULL;
    if ((argc == NULL) != (argv == NULL))
        return mo_errorf(err, MO_EINVAL, "mo_comm_init: pass both argc and argv, or neither");

    c = mo_calloc(1, sizeof *c);
    if (!c)
        return mo_errorf(err, MO_ENOMEM, "mo_comm_init: cannot allocate the handle");
    c->world = MPI_COMM_NULL;
    c->local = MPI_COMM_NULL;

    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (finalized) {
        ret = mo_errorf(err, MO_EMPI, "mo_comm_init: MPI has already been finalised");
        goto out;
    }
    if (!inited) {
        /* Only the main thread calls MPI; a lower level than FUNNELED still works for that,
         * so `provided` is not checked. Open MPI aborts by itself if this fails. */
        int provided = 0;
        const char *pml = mo_comm_single_node_pml(read_env);
        if (pml && setenv("OMPI_MCA_pml", pml, 0) != 0)
            pml = NULL;
        rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (pml) /* read by MPI_Init; not passed on to what Maestro starts (mpirun, plugins) */
            unsetenv("OMPI_MCA_pml");
        if (pml && rc == MPI_SUCCESS)
            mo_log_debug("mpi",
                         "every rank on this node: started with OMPI_MCA_pml=%s (no Omni-Path "
                         "probe; set OMPI_MCA_pml or OMPI_MCA_mtl in the environment to choose)",
                         pml);
        if (rc != MPI_SUCCESS) {
            ret = mo_comm_mpi_error(err, rc, "MPI_Init_thread");
            goto out;
        }
        c->owns_mpi = 1;
    }

    ret = dup_world(&c->world, err);
    if (ret)
        goto out;
    if ((rc = MPI_Comm_rank(c->world, &c->rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(c->world, &c->size)) != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, rc, "MPI_Comm_rank/size");
        goto out;
    }
    rc = MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &c->local);
    if (rc != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, rc, "MPI_Comm_split_type");
        goto out;
    }
    if ((rc = MPI_Comm_set_errhandler(c->local, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(c->local, &c->local_rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(c->local, &c->local_size)) != MPI_SUCCESS) {
        ret = mo_comm_mpi_error(err, rc, "node-local communicator");
        goto out;
    }

out:
    if (ret) {
        /* MPI stays initialised on failure on purpose: the caller reports through
         * mo_comm_abort(NULL, ...), which needs MPI up to stop every rank. */
        if (c) {
            if (c->local != MPI_COMM_NULL)
                MPI_Comm_free(&c->local);
            if (c->world != MPI_COMM_NULL)
                MPI_Comm_free(&c->world);
            free(c);
        }
        return ret;
    }
    *out = c;
    return 0;
}

void mo_comm_destroy(mo_comm_t *c)
{
    if (!c)
        return;
    if (mpi_is_up()) {
        if (c->local != MPI_COMM_NULL)
            MPI_Comm_free(&c->local);
        if (c->world != MPI_COMM_NULL)
            MPI_Comm_free(&c->world);
        if (c->owns_mpi)
            MPI_Finalize();
    }
    free(c);
}

int mo_comm_rank(const mo_comm_t *c)
{
    return c ? c->rank : -1;
}

int mo_comm_size(const mo_comm_t *c)
{
    return c ? c->size : -1;
}

int mo_comm_local_rank(const mo_comm_t *c)
{
    return c ? c->local_rank : -1;
}

int mo_comm_local_size(const mo_comm_t *c)
{
    return c ? c->local_size : -1;
}

MPI_Comm mo_comm_mpi(const mo_comm_t *c)
{
    return c ? c->world : MPI_COMM_NULL;
}

int mo_comm_barrier(mo_comm_t *c, mo_error_t *err)
{
    int ret = mo_comm_check(c, "mo_comm_barrier", err);
    if (ret)
        return ret;
    int rc = MPI_Barrier(c->world);
    return rc == MPI_SUCCESS ? 0 : mo_comm_mpi_error(err, rc, "MPI_Barrier");
}

void mo_comm_abort(mo_comm_t *c, int exit_code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    int up = mpi_is_up();
    int rank = -1;
    if (c)
        rank = c->rank;
    else if (up)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank >= 0)
        fprintf(stderr, "maestro: rank %d: %s\n", rank, msg);
    else
        fprintf(stderr, "maestro: %s\n", msg);
    fflush(stderr);

    /* MPI_COMM_WORLD rather than c->world: the point is to stop every rank of the job, and
     * it is valid even when `c` is NULL or half-built. */
    if (up)
        MPI_Abort(MPI_COMM_WORLD, exit_code);
    exit(exit_code); /* no MPI, or MPI_Abort returned (it should not) */
}
