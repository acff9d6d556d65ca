/* csv.h - CSV to Maestro dataset: `maestro data import FILE.csv --label COLUMN -o FILE.h5`
 *
 * RFC 4180 (libcsv): a header row naming every column is required; fields may be quoted,
 * with doubled quotes, delimiters and line breaks inside quotes; LF or CRLF line ends; a UTF-8
 * byte order mark is skipped; blank lines are ignored; spaces around unquoted fields are
 * trimmed. Every column but the label is a feature and must hold finite numbers (float32).
 *
 * Labels (docs/formats.md, "CSV import"), with task auto:
 *   - all integers ("3", "-1")        classification, class names are the label texts in
 *                                      numeric order;
 *   - all numbers, some non-integer   regression;
 *   - anything else (strings)         classification, class names in byte order (strcmp).
 * Class ids are 0..k-1 in the order of the class names, which are stored in the file.
 *
 * Every error is one line `file.csv:LINE:COLUMN: message`, LINE the physical line in the
 * file (quoted line breaks counted), COLUMN the 1-based field number. Nothing is written on
 * error; the output appears atomically (io/h5.h).
 */
#ifndef MO_IO_CSV_H
#define MO_IO_CSV_H

#include "core/status.h"
#include "io/dataset.h"

#include <stdint.h>

typedef enum {
    MO_CSV_TASK_AUTO = 0,
    MO_CSV_TASK_CLASSIFICATION,
    MO_CSV_TASK_REGRESSION,
} mo_csv_task_t;

typedef struct {
    const char *label;  /* name of the label column (required) */
    mo_csv_task_t task; /* auto: from the labels, see above */
    char delimiter;     /* 0: ',' */
} mo_csv_opts_t;

/* A parsed CSV in memory: info (names owned) and row-major X, labels per info.task. */
typedef struct {
    mo_ds_info_t info;
    float *X;         /* n_rows * n_features */
    int32_t *y_class; /* classification, else NULL */
    float *y_value;   /* regression, else NULL */
} mo_csv_data_t;

/* Parse `csv_path`. The caller owns *out: mo_csv_data_free. */
int mo_csv_read(mo_csv_data_t **out, const char *csv_path, const mo_csv_opts_t *opts,
                mo_error_t *err);
void mo_csv_data_free(mo_csv_data_t *data);

/* Parse `csv_path` and write it as a dataset to `h5_path` (atomically). `summary` (may be
 * NULL) receives the dataset's info, names included; free it with mo_ds_info_free. */
int mo_csv_import(mo_ds_info_t *summary, const char *csv_path, const char *h5_path,
                  const mo_csv_opts_t *opts, mo_error_t *err);

#endif
