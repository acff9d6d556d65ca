/* nested.c - child runs: the parent's MLflow run as mlflow.parentRunId
 *
 * A run with a parent (ABI 1.1 parent_run_id: a sweep's trial under the sweep's run) becomes
 * an MLflow nested run: its runs/create carries mlflow.parentRunId, MLflow's own convention,
 * set to the MLflow id of the run tagged maestro.run_id = parent in the same experiment (the
 * UI nests runs within one experiment only). It also always carries maestro.parent_run_id,
 * the Maestro id, so the link is never lost even when the MLflow one cannot be made.
 *
 * The parent's run_start went to another plugin instance on another thread (every run has a
 * host of its own), so the parent may not be in MLflow yet when the child is created, and a
 * flush may replay the child's spool before the parent's. Such a child is created top-level
 * with a warning and linked by runs/set-tag later: at its run end, or at the replay of its
 * spooled runs/update. Tags overwrite, so linking twice is harmless.
 */
#include "mlflow_impl.h"

#include <stdlib.h>
#include <string.h>

#define PARENT_TAG "mlflow.parentRunId"

int mlf_parent_tagged(const json_t *create_body)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(create_body, "tags"), i, t)
    {
        const char *k = json_string_value(json_object_get(t, "key"));
        if (k && !strcmp(k, PARENT_TAG))
            return 1;
    }
    return 0;
}

mlf_rc_t mlf_parent_tag(mlf_state_t *st, const char *parent, json_t *create_body)
{
    json_t *tags = json_object_get(create_body, "tags");
    if (!parent || !json_is_array(tags) || mlf_parent_tagged(create_body))
        return MLF_OK;
    char *id = NULL;
    mlf_rc_t rc = mlf_run_lookup(st, parent, &id);
    if (rc != MLF_OK)
        return rc; /* no answer: runs/create is spooled and the replay looks again */
    if (!id) {
        mlf_log(st, MAESTRO_LOG_WARN,
                "parent run %s has no MLflow run in experiment id %s yet; this run starts "
                "top-level and is linked to it at run end",
                parent, st->experiment_id);
        return MLF_OK;
    }
    json_t *t = json_pack("{s:s, s:s}", "key", PARENT_TAG, "value", id);
    free(id);
    return t && !json_array_append_new(tags, t) ? MLF_OK : MLF_PERM;
}

mlf_rc_t mlf_parent_link(mlf_state_t *st, const char *parent)
{
    if (!parent || st->parent_linked || !st->run_id)
        return MLF_OK;
    char *id = NULL;
    mlf_rc_t rc = mlf_run_lookup(st, parent, &id);
    if (rc != MLF_OK)
        return rc;
    if (!id) {
        mlf_log(st, MAESTRO_LOG_WARN,
                "parent run %s has no MLflow run in experiment id %s; MLflow shows run %s "
                "top-level (its tag maestro.parent_run_id names the parent)",
                parent, st->experiment_id, st->run_id);
        return MLF_OK;
    }
    if (!strcmp(id, st->run_id)) {
        free(id); /* a run cannot be its own parent: MLflow's UI would loop */
        return MLF_OK;
    }
    rc = mlf_run_set_tag(st, PARENT_TAG, id);
    if (rc == MLF_OK) {
        st->parent_linked = 1;
        mlf_log(st, MAESTRO_LOG_INFO, "MLflow run %s nested under %s (run %s)", st->run_id, id,
                parent);
    }
    free(id);
    return rc;
}
