/* backend.c - pick a math backend by the name a spec gives (`device: cpu | cuda | auto`)
 *
 * The names are fixed by the design (cpu, cuda) whether or not this build has the backend, so
 * a spec that asks for CUDA on a CPU-only build is told what is missing (MO_ENOTBUILT, exit 2)
 * rather than that the name is unknown; a CUDA build on a machine without a GPU says so
 * (exit 2 as well: the spec asks for something this machine does not have).
 */
#include "kernels/backend.h"

#include <string.h>

#ifndef MAESTRO_HAVE_CUDA
/* A build without CUDA: the backend and its queries answer "not here". */
const mo_kern_backend_t *mo_kern_cuda(void)
{
    return NULL;
}

int mo_kern_cuda_devices(char *buf, size_t len)
{
    if (buf && len)
        strncpy(buf, "built without CUDA", len - 1)[len - 1] = '\0';
    return -1;
}

void *mo_kern_cuda_stream(void)
{
    return NULL;
}
#endif

int mo_kern_backend_get(const mo_kern_backend_t **out, const char *name, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_kern_backend_get: out is NULL");
    *out = NULL;
    if (!name || !*name)
        return mo_errorf(err, MO_EINVAL, "no device given (known: cpu, cuda, auto)");
    if (strcmp(name, "cpu") == 0) {
        *out = mo_kern_cpu();
        return 0;
    }
    int is_auto = strcmp(name, "auto") == 0;
    if (strcmp(name, "cuda") == 0 || is_auto) {
        char why[256] = "";
        int n = mo_kern_cuda_devices(why, sizeof why);
        if (n > 0) {
            *out = mo_kern_cuda();
            return 0;
        }
        if (is_auto) {
            *out = mo_kern_cpu();
            return 0;
        }
        if (n < 0)
            return mo_errorf(err, MO_ENOTBUILT,
                             "device 'cuda': this Maestro was built without CUDA (rebuild with "
                             "nvcc on PATH, or use device: cpu)");
        return mo_errorf(err, MO_EINVAL, "device 'cuda': no CUDA device visible (%s)", why);
    }
    /* The name comes from a spec: bound it so the message stays one readable line. */
    return mo_errorf(err, MO_EINVAL, "unknown device '%.64s' (known: cpu, cuda, auto)", name);
}
