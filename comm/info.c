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
