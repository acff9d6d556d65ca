/* hdf5_info.c - HDF5 identification for `maestro version` and run provenance */
#include "io/hdf5_info.h"

#include <hdf5.h>
#include <stdio.h>

const char *mo_io_hdf5_version(char *buf, size_t size, int *parallel)
{
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, size, "%u.%u.%u", maj, min, rel);
#ifdef H5_HAVE_PARALLEL
    const int is_parallel = 1;
#else
    const int is_parallel = 0;
#endif
    if (parallel)
        *parallel = is_parallel;
    return buf;
}
