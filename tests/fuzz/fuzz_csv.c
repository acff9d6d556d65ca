/* fuzz_csv.c - CSV import (io/csv.c): the input as a CSV file whose first column name is the
 * label, read with the task detected, as classification and as regression. */
#include "io/csv.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("in.csv", data, size);
    if (!path)
        return 0;
    static const mo_csv_task_t tasks[] = {MO_CSV_TASK_AUTO, MO_CSV_TASK_CLASSIFICATION,
                                          MO_CSV_TASK_REGRESSION};
    for (int t = 0; t < 3; t++) {
        mo_csv_opts_t opts = {"label", tasks[t], t == 2 ? ';' : 0};
        mo_csv_data_t *d = NULL;
        mo_error_t err = {0};
        if (mo_csv_read(&d, path, &opts, &err) == 0)
            mo_csv_data_free(d);
    }
    return 0;
}
