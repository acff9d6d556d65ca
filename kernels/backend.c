/* backend.c - pick a math backend by the name a spec gives (`device: cpu | cuda | auto`)
 *
 * The names are fixed by the design (cpu, cuda) whether or not this build has the backend, so
 * a spec that asks for CUDA on a CPU-only build is told what is missing (MO_ENOTBUILT, exit 2)
 * rather than that the name is unknown; a CUDA build on a machine without a GPU says so
 * (exit 2 as well: the spec asks for something this machine does not have). The CUDA backend
 * lives in a module loaded on first use (kernels/cuda_module.h); its loader is here.
 */
#include "kernels/backend.h"

#include "core/str.h"
#include "kernels/cuda_module.h"

#include <stdio.h>
#include <string.h>

#ifdef MAESTRO_HAVE_CUDA
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* The CUDA module (kernels/cuda_module.h), loaded once. */
static const mo_cuda_module_t *cuda_mod;
static char cuda_why[640];
static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;

/* 1 when `path` held a usable module (cuda_mod set), else 0 with the reason in cuda_why. */
static int try_module(const char *path)
{
    if (access(path, F_OK) != 0)
        return 0;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(cuda_why, sizeof cuda_why, "cannot load %.200s: %.300s", path, e ? e : "?");
        return 0;
    }
    mo_cuda_module_fn fn = NULL;
    void *sym = dlsym(h, MO_CUDA_MODULE_SYMBOL);
    memcpy(&fn, &sym, sizeof fn); /* a data pointer to a function pointer, as POSIX allows */
    const mo_cuda_module_t *m = fn ? fn() : NULL;
    if (!m || m->abi != MO_CUDA_MODULE_ABI) {
        snprintf(cuda_why, sizeof cuda_why, "%.300s is not a Maestro CUDA module of ABI %d", path,
                 MO_CUDA_MODULE_ABI);
        dlclose(h);
        return 0;
    }
    cuda_mod = m; /* kept loaded for the life of the process */
    return 1;
}

static void load_module(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    const char *env = getenv("MAESTRO_CUDA_MODULE");
    snprintf(cuda_why, sizeof cuda_why,
             "the CUDA module " MO_CUDA_MODULE_FILE " was not found next to the maestro binary, "
             "in ../lib/maestro/ or at $MAESTRO_CUDA_MODULE");
    if (env && *env) {
        try_module(env);
        return; /* set on purpose: no other place is tried */
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(path, sizeof path, "%s/%s", exe, MO_CUDA_MODULE_FILE);
        if (try_module(path))
            return;
        snprintf(path, sizeof path, "%s/../lib/maestro/%s", exe, MO_CUDA_MODULE_FILE);
        if (try_module(path))
            return;
    }
    try_module(MAESTRO_CUDA_MODULE_BUILD_PATH); /* test programs run from the build tree */
}

const mo_cuda_module_t *mo_kern_cuda_module(void)
{
    pthread_once(&cuda_once, load_module);
    return cuda_mod;
}

const mo_kern_backend_t *mo_kern_cuda(void)
{
    const mo_cuda_module_t *m = mo_kern_cuda_module();
    return m ? m->backend() : NULL;
}

int mo_kern_cuda_devices(char *buf, size_t len)
{
    const mo_cuda_module_t *m = mo_kern_cuda_module();
    if (m)
        return m->devices(buf, len);
    if (buf && len)
        mo_strlcpy(buf, cuda_why, len);
    return 0;
}

void *mo_kern_cuda_stream(void)
{
    const mo_cuda_module_t *m = mo_kern_cuda_module();
    return m ? m->stream() : NULL;
}
#else
/* A build without CUDA: the backend and its queries answer "not here". */
const mo_cuda_module_t *mo_kern_cuda_module(void)
{
    return NULL;
}

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
