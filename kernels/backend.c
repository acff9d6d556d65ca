/* backend.c - pick a math backend by the name a spec gives (`device: cpu`)
 *
 * The names are fixed by the design (cpu, cuda) whether or not this build has the backend, so
 * a spec that asks for CUDA on a CPU-only build is told what is missing (MO_ENOTBUILT, exit 2)
 * rather than that the name is unknown.
 */
#include "kernels/backend.h"

#include <string.h>

int mo_kern_backend_get(const mo_kern_backend_t **out, const char *name, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_kern_backend_get: out is NULL");
    *out = NULL;
    if (!name || !*name)
        return mo_errorf(err, MO_EINVAL, "no device given (known: cpu, cuda)");
    if (strcmp(name, "cpu") == 0) {
        *out = mo_kern_cpu();
        return 0;
    }
    if (strcmp(name, "cuda") == 0)
        return mo_errorf(err, MO_ENOTBUILT,
                         "device 'cuda' is not built in this Maestro (CUDA backend not built yet)");
    /* The name comes from a spec: bound it so the message stays one readable line. */
    return mo_errorf(err, MO_EINVAL, "unknown device '%.64s' (known: cpu, cuda)", name);
}
