/* mlflow_impl.h - what the files of the mlflow plugin share
 *
 *   mlflow.c     descriptor, config, lifecycle (run_start / event / run_end), the spool and
 *                flush: the one place that decides between sending now and spooling
 *   client.c     HTTP to the tracking server: URLs, retries with backoff, MLflow's error
 *                bodies (JSON or HTML), experiments and runs
 *   batch.c      MLflow's names and limits: key sanitising, value truncation, the metric
 *                buffer and runs/log-batch split at 1000 entities / 100 params / ~1 MB
 *   artifacts.c  uploads through the mlflow-artifacts proxy and the model registry
 *   local.c      the embedded default: a local registry folder when no url is configured
 *   nested.c     child runs (ABI 1.1 parent_run_id): mlflow.parentRunId, found by tag
 *
 * The host calls the plugin from one thread of its own, so the state needs no lock.
 */
#ifndef MAESTRO_MLFLOW_IMPL_H
#define MAESTRO_MLFLOW_IMPL_H

/* tests/plugins/test_mlflow*.c compile these files in (through mlflow_fixtures.h), with the
 * ABI header included first. */
#ifndef MAESTRO_PLUGIN_H
#include "maestro_plugin.h"
#endif

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* MLflow's limits (mlflow/utils/validation.py, platform-protocols.md 1.2). */
#define MLF_MAX_BATCH_METRICS 1000
#define MLF_MAX_BATCH_PARAMS 100
#define MLF_MAX_BATCH_TAGS 100
#define MLF_MAX_BATCH_ENTITIES 1000
#define MLF_MAX_BATCH_BYTES 1000000 /* MAX_BATCH_LOG_REQUEST_SIZE = 1e6, the raw body */
#define MLF_MAX_KEY_LEN 250
#define MLF_MAX_PARAM_VALUE 6000 /* 2.8+; 500 on 1.28-2.7 servers (config param_value_max) */
#define MLF_MAX_TAG_VALUE 5000
#define MLF_TRUNC_MARKER "...[truncated]"

/* Outcome of one exchange with the tracking server. */
typedef enum {
    MLF_OK = 0,    /* 2xx with a JSON body */
    MLF_PERM = -1, /* an answer that retrying cannot change (4xx but 408/429) */
    MLF_RETRY = -2 /* no answer, 408, 429 or 5xx, still so after the retries */
} mlf_rc_t;

typedef struct {
    long status;         /* HTTP status, 0 when no answer */
    json_t *json;        /* the parsed body (owned), NULL when not JSON */
    char error_code[64]; /* MLflow's error_code, "" when none */
    char message[320];   /* one line saying what went wrong, for the log */
} mlf_resp_t;

typedef struct mlf_state {
    const maestro_host_t *host;

    /* Configuration (init). url NULL selects the embedded local registry. The credentials
     * are never logged nor spooled. */
    char *url;
    char *experiment;
    char *token, *username, *password;
    char *registry_dir;
    int max_tries;    /* per request when sending during the run */
    double backoff_s; /* first wait between tries, doubled each time */
    double timeout_s; /* per request; 0 lets the host choose */
    double artifact_timeout_s;
    double register_timeout_s; /* how long to wait for a model version to be READY */
    double flush_interval_s;   /* buffered metrics are sent at least this often */
    size_t param_value_max;
    size_t batch_bytes_max;

    /* The run (run_start). active: rank 0 of a started run. */
    int active;
    int rank, ranks;
    char *maestro_run_id, *run_name, *job_kind, *run_dir, *git_commit, *maestro_version;
    char *parent_run_id; /* the parent's Maestro run id; NULL for a top-level run */
    int64_t start_ms;

    /* The MLflow side of the run, once known. */
    char *experiment_id;
    char *run_id;
    char *artifact_uri;
    int artifacts_refused; /* the run's artifact store is not mlflow-artifacts: (said once) */
    int parent_linked;     /* the MLflow run carries mlflow.parentRunId (nested.c) */
    int disabled;          /* a permanent failure made the run unreachable (said once) */

    /* Spooling: once one request of the run is spooled, every later one is too, so the
     * replay keeps the run's order (a log-batch never goes before its runs/create). pending
     * counts payloads spooled and not yet delivered by flush(). */
    int spooling;
    long pending;
    int in_flush; /* flush() is replaying: one try per request, the host retries later */

    /* Metric buffer (batch.c). */
    json_t *metrics;      /* array of {key,value,timestamp,step} */
    size_t metrics_bytes; /* their compact JSON size, commas included */
    int64_t last_send_ns;
    json_t *param_keys; /* object: sanitised key -> value already sent this run */

    char *model_uploaded; /* local path already uploaded under model/, NULL when none */
} mlf_state_t;

/* ---- mlflow.c ---- */
void mlf_log(mlf_state_t *st, maestro_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hand `payload` (owned, consumed) to the host spool under `kind`; pending++ and spooling on.
 * Returns MAESTRO_E_RETRY when spooled, MAESTRO_E_FAILED when even the spool failed. */
int mlf_spool(mlf_state_t *st, const char *kind, json_t *payload);
/* A payload skeleton naming this run, for mlf_spool. */
json_t *mlf_spool_payload(mlf_state_t *st);
char *mlf_strdup(const char *s);
int64_t mlf_now_ms(mlf_state_t *st);

/* ---- client.c ---- */
void mlf_resp_clear(mlf_resp_t *r);
/* One call to the REST API 2.0: `endpoint` like "runs/create"; body (POST) or query (GET,
 * already encoded, may be NULL). Retries per st->max_tries (1 during flush). */
mlf_rc_t mlf_call(mlf_state_t *st, const char *method, const char *endpoint, const json_t *body,
                  const char *query, mlf_resp_t *r);
/* Lower level: any URL, raw body; `label` names the call in messages. */
mlf_rc_t mlf_request(mlf_state_t *st, const char *label, const char *method, const char *url,
                     const char *ctype, const void *body, size_t len, double timeout_s,
                     mlf_resp_t *r);
/* Percent-encode for a query value (`keep_slash` 0) or a URL path (`keep_slash` 1). Caller
 * frees. */
char *mlf_urlencode(const char *s, int keep_slash);
/* get-by-name, create on 404, re-get on the create race. Sets st->experiment_id. */
mlf_rc_t mlf_experiment_resolve(mlf_state_t *st, const char *name);
/* The run tagged maestro.run_id = id in st->experiment_id, or create it from `create_body`
 * (runs/create request without experiment_id; when parent_run_id is not NULL, the parent's
 * MLflow id is added to its tags if found, see mlf_parent_tag). Sets st->run_id and
 * st->artifact_uri; *resumed = 1 when an existing run was found. */
mlf_rc_t mlf_run_find_or_create(mlf_state_t *st, const char *maestro_run_id,
                                const char *parent_run_id, json_t *create_body, int *resumed);
/* The MLflow id of the run tagged maestro.run_id = id in st->experiment_id, without touching
 * st->run_id: MLF_OK and *mlflow_run_id (caller frees) when found, MLF_OK and NULL when not. */
mlf_rc_t mlf_run_lookup(mlf_state_t *st, const char *maestro_run_id, char **mlflow_run_id);
/* runs/set-tag on st->run_id. */
mlf_rc_t mlf_run_set_tag(mlf_state_t *st, const char *key, const char *value);
/* Fill st->run_id / artifact_uri from the payload or by looking the run up by its tag. */
mlf_rc_t mlf_run_locate(mlf_state_t *st, const json_t *payload);
/* runs/get: refresh st->run_id's artifact_uri. */
mlf_rc_t mlf_run_get(mlf_state_t *st);
mlf_rc_t mlf_run_update(mlf_state_t *st, const char *status, int64_t end_ms);
/* A string or integer JSON value as a malloc'd string (MLflow ids / int64 may be either). */
char *mlf_json_idstr(const json_t *v);

/* ---- batch.c ---- */
/* The more serious of two callback results: FAILED over RETRY over OK. */
int mlf_worse(int a, int b);
/* An MLflow-valid key from `name`: characters outside [/\w.\- ] become '_', no leading '/',
 * no "..", at most 250 bytes. Returns 1 when it had to change it. Caller frees *out. */
int mlf_sanitize_key(const char *name, char **out);
/* `value` cut to at most `max_chars` characters (code points, as MLflow counts) with the
 * truncation marker at the end. Returns 1 when cut. Caller frees *out. */
int mlf_truncate_value(const char *value, size_t max_chars, char **out);
/* Params from run_start: sanitised, truncated, each once, then sent in log-batch requests of
 * at most 100 and ~1 MB. */
int mlf_params_send(mlf_state_t *st, const maestro_kv_t *params, size_t n);
int mlf_metric_add(mlf_state_t *st, const maestro_event_t *ev);
/* Send the buffered metrics (all of them, split by the limits). */
int mlf_metrics_flush(mlf_state_t *st);
/* Split `entries` (array of log-batch entries for `field`) into request bodies within
 * max_count entries and max_bytes of JSON each; returns an array of bodies (caller decrefs)
 * without run_id. Entries larger than max_bytes on their own are dropped and counted. */
json_t *mlf_batch_split(const json_t *entries, const char *field, size_t max_count,
                        size_t max_bytes, size_t *dropped);
/* Deliver one log-batch body now (adds run_id) or spool it. */
int mlf_log_batch(mlf_state_t *st, json_t *body);
/* flush() of a spooled "runs-log-batch". */
int mlf_log_batch_replay(mlf_state_t *st, const json_t *payload);

/* ---- artifacts.c ---- */
/* Upload local `path` as `artifact_name` (may hold '/') of the run, now or spooled. */
int mlf_artifact_upload(mlf_state_t *st, const char *path, const char *artifact_name);
int mlf_artifact_replay(mlf_state_t *st, const json_t *payload);
/* Register the run's model/ folder as a new version of `model` and point `alias` at it. */
int mlf_register(mlf_state_t *st, const char *model, const char *alias);
int mlf_register_replay(mlf_state_t *st, const json_t *payload);
/* 1 when `alias` is a name MLflow accepts for an alias (^[\w\-]*$, <= 255, not reserved). */
int mlf_alias_valid(const char *alias);

/* ---- nested.c ---- */
/* Before runs/create: add mlflow.parentRunId = the MLflow id of the run tagged
 * maestro.run_id = parent to create_body's tags (unless there already). A parent not found is
 * a warning and MLF_OK: the run is created top-level and linked later. MLF_RETRY when the
 * server did not answer. NULL parent: nothing. */
mlf_rc_t mlf_parent_tag(mlf_state_t *st, const char *parent, json_t *create_body);
/* 1 when the request body's tags hold mlflow.parentRunId. */
int mlf_parent_tagged(const json_t *create_body);
/* After the fact (a resumed run, a parent that was not there at runs/create): look the parent
 * up again and set mlflow.parentRunId on st->run_id. Sets st->parent_linked on success. */
mlf_rc_t mlf_parent_link(mlf_state_t *st, const char *parent);

/* ---- local.c ---- */
/* The embedded default: register run_end's model in the local registry folder. */
int mlf_local_register(mlf_state_t *st, const maestro_run_end_t *end);

#endif
