/* maestro_plugin.h - the whole ABI a Maestro plugin author needs
 *
 * A plugin is a shared object that exports ONE symbol, `maestro_plugin`, a const
 * maestro_plugin_t descriptor. This header includes only the C standard library: a plugin
 * builds against it alone and never links against Maestro (everything it needs from the host
 * comes through the maestro_host_t services table passed to init).
 *
 *   #include "maestro_plugin.h"
 *   static int my_event(void *state, const maestro_event_t *ev) { ... return MAESTRO_OK; }
 *   MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
 *       .abi_major = MAESTRO_PLUGIN_ABI_MAJOR, .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
 *       .struct_size = sizeof(maestro_plugin_t), .type = MAESTRO_PLUGIN_METRICS,
 *       .name = "example", .version = "1.0", .event = my_event,
 *   };
 *
 * Versioning (Open MPI MCA / Redis module style): the host refuses a plugin whose abi_major
 * differs from its own or whose struct_size is smaller than the fields that abi_minor
 * promises; it says the file and both ABI numbers. Minor versions only append fields at the
 * end of structs, so a plugin built against an older minor keeps working. The structs the
 * HOST fills (maestro_host_t, maestro_run_info_t, maestro_event_t, maestro_run_end_t) may
 * come from an older host than the plugin was built for: a plugin reads a field that minor N
 * added only when host->version >= N, since an older host's struct ends before it.
 *
 *   1.0  the first ABI
 *   1.1  maestro_run_info_t.parent_run_id: the Maestro run id of the run this one is a child
 *        of (a hyperparameter sweep's trial under the sweep's run), NULL for a top-level run
 *
 * Threading: the host calls a plugin from ONE thread of its own (not the training thread), in
 * order: init, run_start, event..., run_end, fini. Callbacks may block on the network; the
 * training loop never waits for them except at run end (bounded by a timeout). A plugin that
 * cannot deliver something hands the payload to host->spool() and returns MAESTRO_E_RETRY;
 * the host calls flush() later in the run and `maestro plugins flush RUN_DIR` after it.
 *
 * Strings passed to callbacks are valid only during the call. Config values and event
 * payloads are already redacted where they came from secrets, except the plugin's own
 * config values (a token the plugin needs to authenticate), which it must never log.
 */
#ifndef MAESTRO_PLUGIN_H
#define MAESTRO_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define MAESTRO_PLUGIN_ABI_MAJOR 1
#define MAESTRO_PLUGIN_ABI_MINOR 1
#define MAESTRO_PLUGIN_SYMBOL "maestro_plugin"

/* Put this on the descriptor: plugins are built with hidden visibility by default. */
#if defined(__GNUC__)
#define MAESTRO_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define MAESTRO_PLUGIN_EXPORT
#endif

/* Return codes of plugin callbacks and host services. */
enum {
    MAESTRO_OK = 0,
    MAESTRO_E_FAILED = -1,   /* permanent failure: logged, not retried */
    MAESTRO_E_RETRY = -2,    /* service unavailable: payload spooled, flush() retries */
    MAESTRO_E_NOTFOUND = -3, /* resolve_secret: no such secret here (try the next provider) */
    MAESTRO_E_CONFIG = -4,   /* init: bad configuration (the message says which key) */
};

typedef enum {
    MAESTRO_PLUGIN_METRICS = 1,
    MAESTRO_PLUGIN_LOGS = 2,
    MAESTRO_PLUGIN_REGISTRY = 3,
    MAESTRO_PLUGIN_SECRETS = 4,
} maestro_plugin_type_t;

typedef enum {
    MAESTRO_LOG_DEBUG = 0,
    MAESTRO_LOG_INFO = 1,
    MAESTRO_LOG_WARN = 2,
    MAESTRO_LOG_ERROR = 3,
} maestro_log_level_t;

typedef struct {
    const char *key;
    const char *value;
} maestro_kv_t;

/* ---- what the host gives a plugin --------------------------------------------------------- */

typedef struct {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const maestro_kv_t *headers; /* e.g. {"Content-Type", "application/json"} */
    size_t n_headers;
    const void *body; /* may be NULL */
    size_t body_len;
    int gzip;                                /* 1: gzip the body and send Content-Encoding: gzip */
    double timeout_s;                        /* 0: the host default (10 s) */
    const char *bearer_token;                /* may be NULL; sent as Authorization, never logged */
    const char *basic_user, *basic_password; /* may be NULL */
} maestro_http_request_t;

typedef struct {
    long status; /* HTTP status; 0 when no response (refused, timeout, DNS) */
    char *body;  /* NUL-terminated; free with host->free_response */
    size_t body_len;
    char error[256]; /* transport error text when status == 0 */
} maestro_http_response_t;

typedef struct maestro_host {
    uint32_t version;     /* MAESTRO_PLUGIN_ABI_MINOR of the host */
    uint32_t struct_size; /* sizeof(maestro_host_t) in the host */
    void *ctx;            /* pass back as the first argument of every service */

    /* A log line attributed to the plugin (redacted by the host). */
    void (*log)(void *ctx, maestro_log_level_t level, const char *message);
    /* A config value of this plugin (cluster.yml services.<name>, then the spec's plugin
     * options); NULL when absent. Valid until fini. */
    const char *(*config)(void *ctx, const char *key);
    /* Nanoseconds since the Unix epoch. */
    int64_t (*now_ns)(void);
    /* One HTTP exchange through libcurl (TLS verification on). Returns MAESTRO_OK when a
     * response arrived (whatever its status), MAESTRO_E_RETRY when none did. */
    int (*http)(void *ctx, const maestro_http_request_t *req, maestro_http_response_t *resp);
    void (*free_response)(void *ctx, maestro_http_response_t *resp);
    /* Keep a payload that could not be delivered: written atomically under
     * <run dir>/spool/<plugin>/, named `<seq>-<kind>` (kind: a short tag of the plugin's). */
    int (*spool)(void *ctx, const char *kind, const void *data, size_t len);
    /* Mark a value as secret: the host masks it in every log line and message from now on. */
    void (*register_secret)(void *ctx, const char *value);
} maestro_host_t;

/* ---- what the host tells a plugin ---------------------------------------------------------- */

typedef struct {
    const char *run_id;     /* unique per run: <name>-<UTC time>-<random> */
    const char *run_name;   /* the spec's name */
    const char *job_kind;   /* "train", ... */
    const char *run_dir;    /* the run's output folder */
    const char *spec_text;  /* the resolved spec, secrets as references */
    const char *git_commit; /* Maestro's */
    const char *maestro_version;
    int rank, ranks; /* this process, and the run's rank count */
    int64_t start_ns;
    const maestro_kv_t *params; /* the flattened spec ("optimizer.lr" -> "0.05") */
    size_t n_params;
    /* ABI 1.1 (read only when host->version >= 1): the parent run's run_id, NULL when this
     * run is top-level. The parent's run_start came first, but to another instance of the
     * plugin (every run, child runs too, has a host of its own, each with its own thread):
     * what that instance sends for the parent may not have arrived yet. */
    const char *parent_run_id;
} maestro_run_info_t;

typedef enum {
    MAESTRO_EV_METRIC = 1,
    MAESTRO_EV_LOG = 2,
    MAESTRO_EV_ARTIFACT = 3,
    MAESTRO_EV_MODEL = 4,
} maestro_event_kind_t;

typedef struct {
    maestro_event_kind_t kind;
    int64_t time_ns;
    int rank; /* the rank it comes from; run-level events come from rank 0 */

    /* METRIC: name (e.g. "train_loss", "val_accuracy", "samples_per_second"), value, the step
     * and epoch it belongs to, extra labels. */
    const char *name;
    double value;
    int64_t step, epoch;
    const maestro_kv_t *labels;
    size_t n_labels;

    /* LOG: level, component and message (already redacted). */
    maestro_log_level_t level;
    const char *component;
    const char *message;

    /* ARTIFACT / MODEL: a file of the run (run.h5, the spec) and the name it goes under. */
    const char *path;
    const char *artifact_name;
} maestro_event_t;

typedef struct {
    const char *status; /* "ok", "gate_failed", "failed", "preempted" */
    int exit_code;
    int64_t end_ns;
    const char *const *metric_names; /* final metrics */
    const double *metric_values;
    size_t n_metrics;
    int gates_passed;           /* 1 when every gate passed (or there were none) */
    const char *model_path;     /* run.h5, or NULL when the run made no model */
    const char *registry_model; /* spec registry.model, or NULL */
    const char *registry_alias; /* spec registry.alias, or NULL */
} maestro_run_end_t;

/* ---- the descriptor ------------------------------------------------------------------------ */

typedef struct maestro_plugin {
    uint32_t abi_major, abi_minor;
    uint32_t struct_size; /* sizeof(maestro_plugin_t) in the plugin */
    maestro_plugin_type_t type;
    const char *name; /* what specs write in plugins: [...] */
    const char *version;
    const char *description;

    /* All callbacks but init are optional (NULL). errbuf receives one line on failure. */
    int (*init)(void **state, const maestro_host_t *host, char *errbuf, size_t errlen);
    void (*fini)(void *state);
    int (*run_start)(void *state, const maestro_run_info_t *run);
    int (*event)(void *state, const maestro_event_t *ev);
    int (*run_end)(void *state, const maestro_run_end_t *end);
    /* Deliver spooled payloads: `data` is what the plugin gave host->spool under `kind`.
     * Return MAESTRO_OK when delivered (the host removes it), MAESTRO_E_RETRY to keep it. */
    int (*flush)(void *state, const char *kind, const void *data, size_t len);
    /* Secrets providers: resolve `name`/`key` into buf (NUL-terminated). *needed gets the
     * length + 1; when buflen is smaller, return MAESTRO_E_RETRY and the host calls again with
     * a buffer of *needed bytes. MAESTRO_E_NOTFOUND passes to the next provider. */
    int (*resolve_secret)(void *state, const char *name, const char *key, char *buf, size_t buflen,
                          size_t *needed);
} maestro_plugin_t;

#endif
