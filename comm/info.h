/* info.h - what MPI library Maestro runs on (usable before MPI is initialised) */
#ifndef MO_COMM_INFO_H
#define MO_COMM_INFO_H

#include <stddef.h>

/* First line of MPI_Get_library_version ("Open MPI v4.1.4, ..."); returns buf. */
const char *mo_comm_library_version(char *buf, size_t size);
/* MPI standard version implemented, e.g. 3.1. */
void mo_comm_standard_version(int *major, int *minor);

/* Before MPI_Init, for Open MPI: the OMPI_MCA_pml value to start with, or NULL to leave the
 * choice to Open MPI. "^cm" (every PML but cm) when every rank is on this node and nobody
 * chose a PML or MTL: cm opens the Omni-Path/PSM libraries, which spend ~0.2 s of every
 * start probing for hardware (on machines without it too), and on one node ob1 (or UCX)
 * carries everything over shared memory anyway. One node: mpirun says so
 * (OMPI_COMM_WORLD_LOCAL_SIZE = OMPI_COMM_WORLD_SIZE), or srun (SLURM_STEP_NUM_NODES=1), or
 * there is no launcher at all (a singleton). Only the environment counts as a choice: being
 * an environment variable, ^cm overrides a pml or mtl set in an MCA parameter file (set it in
 * the environment to keep it). `get` reads a variable (getenv). */
const char *mo_comm_single_node_pml(const char *(*get)(const char *name));

#endif
