/* blas_info.h - which BLAS the CPU backend runs on */
#ifndef MO_KERNELS_CPU_BLAS_INFO_H
#define MO_KERNELS_CPU_BLAS_INFO_H

#include <stddef.h>

/* "OpenBLAS 0.3.21 (config: ...; 2 threads)"; returns buf. */
const char *mo_kern_cpu_blas_info(char *buf, size_t size);

#endif
