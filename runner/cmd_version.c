/* cmd_version.c - `maestro version [--json]`: Maestro and the stack it was built with */
#include "comm/info.h"
#include "core/build_info.h"
#include "io/hdf5_info.h"
#include "kernels/backend.h"
#include "kernels/cpu/blas_info.h"
#include "runner/cli_impl.h"
#include "runner/kinds.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cuda_status(void)
{
    if (MAESTRO_HAVE_CUDA_BACKEND)
        return "built (cuBLAS, NCCL)";
    return MAESTRO_HAVE_CUDA_TOOLKIT ? "not built (nvcc found, cuBLAS or NCCL missing)"
                                     : "not built (no CUDA toolkit at build time)";
}

/* The devices this process sees, one per line, or why there are none. */
static int cuda_devices(char *buf, size_t len)
{
    int n = mo_kern_cuda_devices(buf, len);
    if (n == 0) {
        char why[256];
        snprintf(why, sizeof why, "%.200s", buf);
        snprintf(buf, len, "no CUDA device visible (%s)", why);
    }
    return n;
}

static int print_json(const char *mpi, int smaj, int smin, const char *h5, int par,
                      const char *blas)
{
    json_t *o = json_object(), *kinds = json_object();
    json_object_set_new(o, "version", json_string(MAESTRO_VERSION));
    json_object_set_new(o, "commit", json_string(MAESTRO_GIT_COMMIT));
    json_object_set_new(o, "build_type", json_string(MAESTRO_BUILD_TYPE));
    json_object_set_new(o, "sanitize", json_string(MAESTRO_SANITIZE));
    char std[16];
    snprintf(std, sizeof std, "%d.%d", smaj, smin);
    json_object_set_new(o, "mpi", json_pack("{s:s,s:s}", "library", mpi, "standard", std));
    json_object_set_new(o, "hdf5", json_pack("{s:s,s:b}", "version", h5, "parallel", par));
    json_object_set_new(o, "blas", json_string(blas));
    char devs[2048];
    int ndev = cuda_devices(devs, sizeof devs);
    json_t *dl = json_array();
    for (char *line = ndev > 0 ? devs : NULL, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        json_array_append_new(dl, json_string(line));
    }
    json_object_set_new(o, "cuda",
                        json_pack("{s:b,s:b,s:s,s:o,s:s}", "toolkit", MAESTRO_HAVE_CUDA_TOOLKIT,
                                  "backend", MAESTRO_HAVE_CUDA_BACKEND, "status", cuda_status(),
                                  "devices", dl, "devices_note", ndev > 0 ? "" : devs));
    json_object_set_new(o, "libslurm", json_boolean(MAESTRO_HAVE_LIBSLURM));
    size_t n;
    const mo_kind_entry_t *all = mo_kinds(&n);
    for (size_t i = 0; i < n; i++)
        json_object_set_new(kinds, all[i].name,
                            json_string(all[i].kind ? "built" : "not built yet"));
    json_object_set_new(o, "kinds", kinds);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return 4;
    puts(s);
    free(s);
    return 0;
}

int mo_cmd_version(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: maestro version [--json]\n\n"
                   "Prints the Maestro version and the stack it was built with: MPI library,\n"
                   "HDF5 (and whether it is parallel), BLAS, CUDA (and the GPUs this process\n"
                   "sees), libslurm, and which job kinds are built. --json prints one JSON object "
                   "instead.\n");
            return 0;
        } else {
            return mo_cli_usage("version", "unexpected argument '%s'", argv[i]);
        }
    }
    char mpi[256], h5[32], blas[512];
    int smaj, smin, par;
    mo_comm_library_version(mpi, sizeof mpi);
    mo_comm_standard_version(&smaj, &smin);
    mo_io_hdf5_version(h5, sizeof h5, &par);
    mo_kern_cpu_blas_info(blas, sizeof blas);
    if (json)
        return print_json(mpi, smaj, smin, h5, par, blas);
    printf("maestro %s (commit %s, %s%s%s)\n", MAESTRO_VERSION, MAESTRO_GIT_COMMIT,
           MAESTRO_BUILD_TYPE, MAESTRO_SANITIZE[0] ? ", sanitize=" : "", MAESTRO_SANITIZE);
    printf("  MPI       %s (MPI standard %d.%d)\n", mpi, smaj, smin);
    printf("  HDF5      %s, %s\n", h5, par ? "parallel (MPI-IO)" : "serial");
    printf("  BLAS      %s\n", blas);
    printf("  CUDA      %s\n", cuda_status());
    if (MAESTRO_HAVE_CUDA_BACKEND) {
        char devs[2048];
        int ndev = cuda_devices(devs, sizeof devs);
        for (char *line = devs, *next; line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            printf("  %s%s\n", ndev > 0 ? "GPU " : "          ", line);
        }
    }
    printf("  libslurm  %s\n", MAESTRO_HAVE_LIBSLURM ? "found at build time"
                                                     : "not found at build time (sbatch is used)");
    size_t n;
    const mo_kind_entry_t *all = mo_kinds(&n);
    printf("  kinds    ");
    for (size_t i = 0; i < n; i++)
        printf(" %s%s%s", all[i].name, all[i].kind ? "" : " (not built yet)", i + 1 < n ? "," : "");
    printf("\n");
    return 0;
}
