/* atomic.h - write a whole file so that readers see the old file or the new one, never half
 *
 * The bytes go to `<path>.tmp.<pid>` in the same folder, are flushed to disk (fsync), and the
 * temp file is renamed over `path`. On any failure the temp file is removed.
 */
#ifndef MO_IO_ATOMIC_H
#define MO_IO_ATOMIC_H

#include "core/status.h"

#include <stddef.h>

int mo_io_write_atomic(const char *path, const void *data, size_t len, mo_error_t *err);
/* The same; durable 0 skips both fsyncs: the replacement is still atomic for every reader and
 * across a crash of the process (the page cache keeps it), not across a power cut. For files
 * rewritten many times a second (a sweep's journal), which sync every so often instead. */
int mo_io_write_atomic_ex(const char *path, const void *data, size_t len, int durable,
                          mo_error_t *err);
/* The same, passing the fault point `fault_point` (core/fault.h; NULL: none) between the temp
 * file's write and its rename. */
int mo_io_write_atomic_at(const char *path, const void *data, size_t len, int durable,
                          const char *fault_point, mo_error_t *err);

/* Create folder `path` and its parents (mode 0755), like mkdir -p; an existing folder is
 * fine, an existing non-folder is MO_EIO. */
int mo_io_mkdir_p(const char *path, mo_error_t *err);

#endif
