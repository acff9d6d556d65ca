/* fuzz_h5.c - the HDF5 readers on mutated files: a checkpoint (io/checkpoint.c), a dataset
 * (io/dataset.c), and `maestro inspect FILE --json` (runner/cmd_inspect.c: run.h5, sweep.h5,
 * checkpoints, datasets, feature stores) are each given the input's bytes as a file. Seeds are
 * small real files; the fuzzer flips their bytes. */
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "runner/cli_impl.h"
#include "tests/fuzz/fuzz.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init(1);
    /* inspect prints its findings; the harness wants only crashes. */
    if (!freopen("/dev/null", "w", stdout))
        return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("in.h5", data, size);
    if (!path)
        return 0;
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    if (mo_ckpt_load(&c, path, &err) == 0) {
        const float *v;
        int64_t n, i;
        mo_ckpt_get_f32(c, "params", &v, &n, &err);
        mo_ckpt_get_int(c, "step", &i, &err);
        const char *s;
        mo_ckpt_get_str(c, "fingerprint", &s, &err);
        mo_ckpt_destroy(c);
    }
    mo_ds_t *ds = NULL;
    if (mo_ds_open(&ds, path, MPI_COMM_SELF, &err) == 0) {
        const mo_ds_info_t *info = mo_ds_info(ds);
        int64_t rows = info->n_rows < 4 ? info->n_rows : 4;
        if (rows > 0 && info->n_features > 0 && info->n_features < 100000) {
            float *X = malloc((size_t)(rows * info->n_features) * sizeof *X);
            int32_t *yc = malloc((size_t)rows * sizeof *yc);
            float *yv = malloc((size_t)rows * sizeof *yv);
            if (X && yc && yv)
                mo_ds_read(ds, 0, rows, X, yc, yv, &err);
            free(X);
            free(yc);
            free(yv);
        }
        mo_ds_close(ds);
    }
    char a0[] = "inspect", a2[] = "--json", *argv[] = {a0, (char *)path, a2, NULL};
    mo_cmd_inspect(3, argv);
    return 0;
}
