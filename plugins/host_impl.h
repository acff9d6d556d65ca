/* host_impl.h - what the files of the plugin host share (not part of the public API)
 *
 *   host.c          open/close, the services table, the worker thread (init, dispatch, retries,
 *                   run end, fini)
 *   host_queue.c    the bounded queue: deep copies, backpressure, the producers' entry points
 *   host_load.c     search path, dlopen + ABI checks, `plugins list`
 *   host_spool.c    the spool folder: atomic writes, flush passes, counts, `plugins flush`
 *   host_secrets.c  resolve_secret through the secrets plugins
 *   host_http.c     the http service (libcurl, zlib)
 *
 * Only the worker thread calls into a plugin (init included) and only it touches the retry
 * fields of plugin_t; everything the producers share with it is under mo_plugins_t.lock.
 */
#ifndef MO_PLUGINS_HOST_IMPL_H
#define MO_PLUGINS_HOST_IMPL_H

#include "plugins/host.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MO_PLUGINS_QUEUE_CAP 4096 /* queued events; lifecycle items do not count */
#define MO_PLUGINS_BLOCK_MS 5     /* the longest a producer waits for room, once per overflow */

typedef struct mo_plugin {
    struct mo_plugins *host;
    char *name;
    char *file;                   /* the shared object it came from */
    void *dl;                     /* dlopen handle */
    const maestro_plugin_t *desc; /* checked: ABI major, struct_size, init present */
    void *state;                  /* what init gave back */
    int inited;
    maestro_kv_t *config; /* deep copy of the request's config (last key wins) */
    size_t n_config;
    maestro_host_t services; /* this plugin's services table: ctx points back here */

    /* Spool: <run_dir>/spool/<name>; next_seq under spool_lock (a plugin may spool from a
     * thread of its own). NULL spool_dir: the run has no folder, nothing is spooled. */
    char *spool_dir;
    pthread_mutex_t spool_lock;
    uint64_t next_seq; /* 0: not scanned yet */
    uint64_t spooled;
    /* File names of the payloads THIS process spooled and has not delivered, in order. The
     * in-run retries and run end flush only these: other ranks share the folder and flush
     * their own, and two processes delivering one payload would send it twice. */
    char **own;
    size_t n_own, cap_own;

    /* Retry schedule (worker thread only). */
    int retry_pending;
    double retry_at;   /* mo_time_mono() */
    double backoff_s;  /* 1, 2, 4 ... 30 */
    int failing;       /* in a streak of failed callbacks (warned once per streak) */
    uint64_t n_failed; /* failed callbacks in the current streak */
    int warned_no_flush;

    /* http: one easy handle reused (keeps connections alive); a call that finds it busy
     * (a plugin thread of its own) uses a fresh one. */
    void *curl;
    pthread_mutex_t curl_lock;
    int tls_insecure; /* config tls_verify: false: certificates are not checked (warned) */
} plugin_t;

typedef enum { ITEM_START, ITEM_EVENT, ITEM_END, ITEM_CALL } item_kind_t;

/* One queued unit of work, with its deep-copied strings and arrays in the same allocation
 * (free() releases all of it). */
typedef struct item {
    struct item *next;
    item_kind_t kind;
    int done, abandoned; /* END and CALL items: the producer waits for done */
    void (*call)(struct mo_plugins *p, void *arg);
    void *arg;
    union {
        maestro_run_info_t run;
        maestro_event_t ev;
        maestro_run_end_t end;
    } u;
} item_t;

struct mo_plugins {
    plugin_t *pl;
    size_t n;
    char *run_dir;
    int rank, ranks;
    double end_timeout_s;
    maestro_kv_t *labels; /* run labels for metrics plugins (redacted copies) */
    size_t n_labels;

    pthread_mutex_t lock;
    pthread_cond_t work;  /* worker: an item arrived or stop */
    pthread_cond_t space; /* producers: the queue has room */
    pthread_cond_t done;  /* producers: an item finished (drain, END, CALL, init) */
    item_t *head, *tail;
    size_t n_events; /* EVENT items queued (the bounded ones) */
    int busy, stop, started, overflowing, gave_up;
    int init_state; /* 0 running, 1 ok, -1 failed */
    int init_rc;
    mo_error_t init_err;
    uint64_t dropped, dropped_reported; /* reported: worker only */
    double last_drop_report;            /* worker only */
    int ended; /* worker only: run end done, so no more background retries (its report stands) */
    pthread_t thread;
};

/* ---- host.c ------------------------------------------------------------------------------- */

/* 1 when the calling thread is p's worker (the one thread that may call into plugins). */
int mo_plugins_on_worker(const mo_plugins_t *p);
const char *mo_plugins_rc_name(int rc);

/* ---- host_queue.c (functions marked "locked" need p->lock held) --------------------------- */

/* Locked: the next item for the worker (NULL when empty); wakes producers waiting for room. */
item_t *mo_plugins_pop(mo_plugins_t *p);
/* Locked: drop every queued event (run end gave up waiting); returns how many. */
size_t mo_plugins_drop_events(mo_plugins_t *p);
/* Locked: wait until the queue is empty and the worker idle, or the deadline; 1 when drained. */
int mo_plugins_wait_drained(mo_plugins_t *p, const struct timespec *until);
/* A CLOCK_MONOTONIC deadline `seconds` from now (the conds use that clock). */
struct timespec mo_plugins_deadline(double seconds);
/* Run fn(p, arg) on the worker, ahead of queued events, and wait for it. 0 or MO_ENOMEM. */
int mo_plugins_call(mo_plugins_t *p, void (*fn)(mo_plugins_t *p, void *arg), void *arg);

/* ---- host_load.c -------------------------------------------------------------------------- */

/* Find maestro-<name>.so on the search path, dlopen it and check the descriptor. Fills
 * pl->name, file, dl, desc. On failure pl holds nothing to free. */
int mo_plugins_load(plugin_t *pl, const char *name, mo_error_t *err);
void mo_plugins_unload(plugin_t *pl);
/* 1 when `name` is acceptable as a plugin name (also a spool folder name): [a-z0-9_-]. */
int mo_plugins_valid_name(const char *name);

/* ---- host_spool.c ------------------------------------------------------------------------- */

/* The host->spool service (ctx is the plugin_t). */
int mo_plugins_spool_service(void *ctx, const char *kind, const void *data, size_t len);
/* One pass through pl->desc->flush, in seq order, over this process's own payloads (all = 0:
 * during and at the end of a run) or over every payload in the folder (all = 1: `plugins
 * flush`, after the run). Delivered payloads are removed. Stops at the first MAESTRO_E_RETRY
 * (*stalled = 1: the service is still away). Counts may be NULL. */
void mo_plugins_spool_flush(plugin_t *pl, int all, int *delivered, int *left, int *stalled);
/* This process's payloads still waiting. */
int mo_plugins_spool_pending(plugin_t *pl);
/* Payloads waiting in `dir` (0 when it does not exist). */
int mo_plugins_spool_count(const char *dir);

/* ---- host_http.c -------------------------------------------------------------------------- */

/* Once per process, before any thread uses libcurl. */
void mo_plugins_http_global_init(void);
int mo_plugins_http_service(void *ctx, const maestro_http_request_t *req,
                            maestro_http_response_t *resp);
void mo_plugins_http_free(void *ctx, maestro_http_response_t *resp);
/* Release pl's cached handle. */
void mo_plugins_http_release(plugin_t *pl);

#endif
