/* blas_info.c - OpenBLAS identification for `maestro version` and run provenance */
#include "kernels/cpu/blas_info.h"

#include <cblas.h>
#include <stdio.h>

const char *mo_kern_cpu_blas_info(char *buf, size_t size)
{
    /* openblas_get_config() already starts with "OpenBLAS <version>". */
    snprintf(buf, size, "%s; %d threads", openblas_get_config(), openblas_get_num_threads());
    return buf;
}
