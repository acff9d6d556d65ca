/* synth.h - synthetic datasets: `maestro data synth` (docs/formats.md, "Synthetic data")
 *
 * Classification follows scikit-learn's make_classification: one Gaussian cluster (unit
 * variance) per class, centred on a distinct vertex of a hypercube of side 2 * class_sep in
 * the informative features; the remaining features are pure N(0, 1) noise. `noise` is the
 * fraction of labels replaced by a class drawn uniformly at random (sklearn's flip_y), so
 * noise 0 gives clusters a linear model separates well above chance.
 *
 * Regression follows make_regression: every feature N(0, 1); y = X[:, :informative] . w with
 * w uniform in [0, 100), plus Gaussian noise of standard deviation `noise`.
 *
 * Every value comes from the counter-based RNG keyed by (seed, MO_RNG_STREAM_SYNTH): row i
 * reads a fixed window of the stream that depends only on i, so a row is the same whatever
 * generates it (one process, blocks, or ranks in parallel), and the output for a seed is the
 * same bytes on every machine. Rows are produced in blocks of about 4 MiB.
 */
#ifndef MO_IO_SYNTH_H
#define MO_IO_SYNTH_H

#include "core/status.h"
#include "io/dataset.h"

#include <stdint.h>

#define MO_SYNTH_MAX_CLASSES 1000

typedef struct {
    int64_t rows;     /* >= 1 */
    int64_t features; /* >= 1 */
    int32_t classes;  /* classification: 2..MO_SYNTH_MAX_CLASSES; unused for regression */
    uint64_t seed;
    double noise; /* classification: label flip fraction in [0, 1]; regression: std >= 0 */
    mo_ds_task_t task;
    int64_t informative; /* informative features, 1..features; 0: max(ceil(features / 2),
                            ceil(log2(classes))) capped at features */
    double class_sep;    /* half the hypercube side; 0: 1.0 (sklearn's default) */
} mo_synth_opts_t;

/* Check `opts` before anything is written; the message names the option as the CLI spells it
 * ("--classes must be >= 2 for classification, got 1"). */
int mo_synth_check(const mo_synth_opts_t *opts, mo_error_t *err);

/* The informative feature count `opts` resolves to (after defaults); 0 if opts is invalid. */
int64_t mo_synth_informative(const mo_synth_opts_t *opts);

/* Generate rows [row0, row0 + nrows) into X (nrows * features floats) and y_class or y_value
 * (per task; the other may be NULL). Same values whatever the split into calls. */
int mo_synth_rows(const mo_synth_opts_t *opts, int64_t row0, int64_t nrows, float *X,
                  int32_t *y_class, float *y_value, mo_error_t *err);

/* Write the whole dataset to `path` atomically (a Maestro dataset, io/dataset.h), with
 * feature_names f0..f{d-1} and, for classification, class_names "0".."k-1". */
int mo_synth_write(const char *path, const mo_synth_opts_t *opts, mo_error_t *err);

#endif
