/* hdf5_info.h - which HDF5 Maestro runs on */
#ifndef MO_IO_HDF5_INFO_H
#define MO_IO_HDF5_INFO_H

#include <stddef.h>

/* "1.10.8"; *parallel = 1 when the library was built with MPI-IO. Returns buf. */
const char *mo_io_hdf5_version(char *buf, size_t size, int *parallel);

#endif
