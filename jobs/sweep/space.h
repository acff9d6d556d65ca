/* space.h - the search space of a sweep: typed, bounded, validated parameters
 *
 * A parameter is a dotted path into the trial template (`optimizer.lr`) with Katib's types:
 * double and int (min/max, linear or log scale; a double may have a `step` for grid search),
 * discrete (a list of numbers) and categorical (a list of opaque YAML values, kept as their
 * flow text: "[128, 128]", "adam", "0.5"). A trial's parameters travel as one double per
 * parameter: the value itself for double, int and discrete, the value's index for categorical,
 * so samplers and the journal share one compact form; mo_space_format() turns it into text.
 */
#ifndef MO_JOBS_SWEEP_SPACE_H
#define MO_JOBS_SWEEP_SPACE_H

#include "core/status.h"
#include "io/config.h"

#include <stddef.h>

typedef enum {
    MO_PARAM_DOUBLE = 0,
    MO_PARAM_INT,
    MO_PARAM_DISCRETE,
    MO_PARAM_CATEGORICAL,
} mo_param_type_t;

typedef enum { MO_SCALE_LINEAR = 0, MO_SCALE_LOG } mo_scale_t;

/* A parameter as given to mo_space_add (borrowed) and as returned by mo_space_param (owned by
 * the space). For discrete, `numbers` holds the values and `texts` their spelling; for
 * categorical only `texts`. min/max of a discrete parameter are the smallest/largest value. */
typedef struct {
    const char *name;
    mo_param_type_t type;
    double min, max;
    mo_scale_t scale;
    double step; /* 0: none; grid over a double needs one */
    size_t n_values;
    const double *numbers;    /* discrete */
    const char *const *texts; /* discrete (may be NULL: formatted from numbers), categorical */
} mo_param_t;

typedef struct mo_space mo_space_t;

int mo_space_create(mo_space_t **out, mo_error_t *err);
/* NULL accepted. */
void mo_space_destroy(mo_space_t *space);

/* Validate `p` and append a copy. MO_EINVAL (message names the parameter) for: empty or
 * duplicate name, min >= max, log scale with min <= 0, a step <= 0 or wider than the range,
 * an int bound that is not an integer, empty values, a non-finite number. */
int mo_space_add(mo_space_t *space, const mo_param_t *p, mo_error_t *err);

size_t mo_space_dim(const mo_space_t *space);
/* Parameter i (borrowed), NULL when out of range. */
const mo_param_t *mo_space_param(const mo_space_t *space, size_t i);
/* Index of the parameter named `name`, or -1. */
long mo_space_find(const mo_space_t *space, const char *name);

/* Number of grid points of parameter i (a double needs a step), or 0 when it has no finite
 * grid. mo_space_grid_value gives point k of it (k < that number). */
size_t mo_space_grid_count(const mo_space_t *space, size_t i);
double mo_space_grid_value(const mo_space_t *space, size_t i, size_t k);
/* MO_EINVAL naming the first double without a step ("grid search needs a step for ...'). */
int mo_space_check_grid(const mo_space_t *space, mo_error_t *err);

/* Clamp and snap a value to parameter i's domain: ints rounded, doubles with a step snapped to
 * the nearest step from min, discrete to the nearest value, categorical to a valid index. */
double mo_space_snap(const mo_space_t *space, size_t i, double v);

/* Longest text of a categorical value, as written in flow style ("[128, 128]"), plus its NUL:
 * a longer one is refused by mo_space_parse. */
#define MO_SPACE_TEXT_MAX 256

/* Text of value `v` of parameter i: "0.001", "5", "[128, 128]", "\"adam\"" (a quoted YAML
 * string keeps its quotes and escapes, so a template substitution reads it back as the same
 * string). Returns buf. */
const char *mo_space_format(const mo_space_t *space, size_t i, double v, char *buf, size_t size);
/* The same as one program argument: a categorical value that is a quoted string comes without
 * its quotes and escapes (`it's "q"` rather than `"it's \"q\""`); lists and maps stay flow
 * text. Returns buf. */
const char *mo_space_arg(const mo_space_t *space, size_t i, double v, char *buf, size_t size);

/* The spec's `parameters:` list. `list` must be a list node; each item a map with name, type,
 * and min/max[/scale/step] or values. Errors carry file:line:col. */
int mo_space_parse(mo_space_t **out, mo_cfg_node_t *list, mo_error_t *err);

#endif
