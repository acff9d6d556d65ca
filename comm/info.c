/* info.c - MPI library identification for `maestro version` and run provenance */
#include "comm/info.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>

const char *mo_comm_library_version(char *buf, size_t size)
{
    if (!buf || !size)
        return buf;
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    /* One of the few MPI calls allowed before MPI_Init. */
    if (MPI_Get_library_version(v, &len) != MPI_SUCCESS || len <= 0) {
        snprintf(buf, size, "unknown");
        return buf;
    }
    v[len < MPI_MAX_LIBRARY_VERSION_STRING ? len : MPI_MAX_LIBRARY_VERSION_STRING - 1] = '\0';
    char *nl = strchr(v, '\n');
    if (nl)
        *nl = '\0';
    snprintf(buf, size, "%s", v);
    return buf;
}

void mo_comm_standard_version(int *major, int *minor)
{
    int maj = 0, min = 0;
    if (MPI_Get_version(&maj, &min) != MPI_SUCCESS)
        maj = min = 0;
    if (major)
        *major = maj;
    if (minor)
        *minor = min;
}

const char *mo_comm_single_node_pml(const char *(*get)(const char *name))
{
    if (!get || get("OMPI_MCA_pml") || get("OMPI_MCA_mtl"))
        return NULL; /* chosen by the user, even as "" */
    const char *world = get("OMPI_COMM_WORLD_SIZE"), *local = get("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (world || local) /* mpirun: all on this node? */
        return world && local && !strcmp(world, local) ? "^cm" : NULL;
    const char *nodes = get("SLURM_STEP_NUM_NODES");
    if (nodes)
        return !strcmp(nodes, "1") ? "^cm" : NULL;
    /* Another launcher (PMIx, Hydra): their number of nodes is not known before MPI_Init. */
    if (get("PMIX_RANK") || get("PMI_RANK") || get("PMI_SIZE") || get("SLURM_PROCID"))
        return NULL;
    return "^cm"; /* a singleton */
}
