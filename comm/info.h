/* info.h - what MPI library Maestro runs on (usable before MPI is initialised) */
#ifndef MO_COMM_INFO_H
#define MO_COMM_INFO_H

#include <stddef.h>

/* First line of MPI_Get_library_version ("Open MPI v4.1.4, ..."); returns buf. */
const char *mo_comm_library_version(char *buf, size_t size);
/* MPI standard version implemented, e.g. 3.1. */
void mo_comm_standard_version(int *major, int *minor);

#endif
