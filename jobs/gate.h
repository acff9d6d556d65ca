/* gate.h - quality gates: `gates: {val_accuracy: ">= 0.85"}`
 *
 * A gate compares one final metric with a threshold. Job kinds that produce metrics (train,
 * and pipeline steps later) parse their `gates:` map with mo_gates_parse, passing the metric
 * names they will produce, so a misspelt metric is bad input at validation time and not a
 * gate that silently never passes.
 */
#ifndef MO_JOBS_GATE_H
#define MO_JOBS_GATE_H

#include "core/status.h"
#include "io/config.h"

#include <stddef.h>

typedef enum { MO_GATE_GE = 0, MO_GATE_GT, MO_GATE_LE, MO_GATE_LT, MO_GATE_EQ } mo_gate_op_t;

typedef struct {
    const char *metric; /* borrowed from the config document */
    mo_gate_op_t op;
    double threshold;
} mo_gate_t;

/* Parse `map` (may be NULL: no gates). Each value is "OP NUMBER" with OP one of >=, >, <=, <,
 * ==. `known` lists the metrics the job produces (NULL-terminated); others are errors with a
 * suggestion. *out is malloc'd (free it); *n may be 0. */
int mo_gates_parse(mo_gate_t **out, size_t *n, mo_cfg_node_t *map, const char *const *known,
                   mo_error_t *err);

/* Check every gate against final metrics (names[i] -> values[i]). Returns the number of gates
 * not met; a description of the first ("val_accuracy 0.81 < 0.85") goes to why. A metric that
 * is missing or NaN fails its gate. */
int mo_gates_check(const mo_gate_t *gates, size_t n, const char *const *names, const double *values,
                   size_t n_metrics, char *why, size_t why_size);

/* "val_accuracy >= 0.85" into buf. */
const char *mo_gate_describe(const mo_gate_t *g, char *buf, size_t size);

#endif
