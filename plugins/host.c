/* host.c - the plugin host: open/close, the services table, one worker thread
 *
 * Every call into a plugin (init, run_start, event, flush, run_end, resolve_secret, fini)
 * happens on ONE worker thread per host, in the order the producers asked for it, so plugin
 * authors never think about locks. init runs there too: open() waits for it, so a bad
 * configuration is still an error of open(). The worker never holds the host's mutex while it
 * calls a plugin or logs, and producers never log (host_queue.c), so the log sink that feeds
 * mo_plugins_log cannot deadlock against it.
 *
 * Failures: a callback's error is a warning (once per streak of failures, component
 * "plugins"), never a failed run. MAESTRO_E_RETRY means the plugin spooled its payload; the
 * worker then retries that plugin's spool between events with backoff 1, 2, 4 ... 30 s. Run
 * end (queued behind the events) flushes every spool once, calls run_end and says what is
 * still spooled and how to deliver it later.
 *
 * Log events produced ON the worker thread (a plugin's own log lines and the host's warnings,
 * through a log sink feeding mo_plugins_log) are not queued: a failing logs plugin would
 * otherwise warn about itself forever. They still reach stderr and the run's log.
 */
#include "plugins/host_impl.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"

#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_FIRST_S 1.0
#define RETRY_MAX_S 30.0
#define DEFAULT_END_TIMEOUT_S 30.0
#define DROP_REPORT_EVERY_S 10.0

/* The host whose worker this thread is (NULL on other threads). */
static _Thread_local const mo_plugins_t *worker_of;

int mo_plugins_on_worker(const mo_plugins_t *p)
{
    return p && worker_of == p;
}

/* ---- services given to plugins ------------------------------------------------------------ */

static void log_service(void *ctx, maestro_log_level_t level, const char *message)
{
    plugin_t *pl = ctx;
    char comp[80];
    snprintf(comp, sizeof comp, "plugin:%s", pl ? pl->name : "?");
    mo_log_level_t l = level <= MAESTRO_LOG_DEBUG   ? MO_LOG_DEBUG
                       : level >= MAESTRO_LOG_ERROR ? MO_LOG_ERROR
                                                    : (mo_log_level_t)level;
    mo_log(l, comp, "%s", message ? message : "");
}

static const char *config_service(void *ctx, const char *key)
{
    plugin_t *pl = ctx;
    if (!pl || !key)
        return NULL;
    /* Later entries override earlier ones: cluster.yml first, spec options after. */
    for (size_t i = pl->n_config; i-- > 0;)
        if (!strcmp(pl->config[i].key, key))
            return pl->config[i].value;
    return NULL;
}

static void secret_service(void *ctx, const char *value)
{
    (void)ctx;
    mo_log_add_secret(value);
}

/* ---- the worker --------------------------------------------------------------------------- */

const char *mo_plugins_rc_name(int rc)
{
    switch (rc) {
    case MAESTRO_E_FAILED:
        return "failed";
    case MAESTRO_E_RETRY:
        return "service unavailable, payload spooled";
    case MAESTRO_E_NOTFOUND:
        return "not found";
    case MAESTRO_E_CONFIG:
        return "bad configuration";
    }
    return "unknown error code";
}

/* Account for a callback's answer: warn once per streak of failures, schedule spool retries. */
static void note(plugin_t *pl, const char *what, int rc)
{
    if (rc == MAESTRO_OK) {
        if (!pl->failing)
            return;
        /* OK while this process still has payloads spooled: the plugin queued this one behind
         * them (order), the service may well still be away. Not back until they are out. */
        pthread_mutex_lock(&pl->spool_lock);
        size_t waiting = pl->n_own;
        pthread_mutex_unlock(&pl->spool_lock);
        if (waiting)
            return;
        mo_log_info("plugins", "%s: %s works again after %llu failed callbacks", pl->name, what,
                    (unsigned long long)pl->n_failed);
        pl->failing = 0;
        pl->n_failed = 0;
        return;
    }
    pl->n_failed++;
    if (!pl->failing)
        mo_log_warn("plugins", "%s: %s: %s (%d); the run goes on", pl->name, what,
                    mo_plugins_rc_name(rc), rc);
    else
        mo_log_debug("plugins", "%s: %s: %s (%d)", pl->name, what, mo_plugins_rc_name(rc), rc);
    pl->failing = 1;
    if (rc == MAESTRO_E_RETRY && !pl->retry_pending && !pl->host->ended && pl->spool_dir &&
        pl->desc->flush) {
        pl->retry_pending = 1;
        pl->backoff_s = RETRY_FIRST_S;
        pl->retry_at = mo_time_mono() + pl->backoff_s;
    }
}

/* Retry the spools that are due (worker only). */
static void run_retries(mo_plugins_t *p)
{
    double now = mo_time_mono();
    for (size_t i = 0; i < p->n; i++) {
        plugin_t *pl = &p->pl[i];
        if (!pl->retry_pending || now < pl->retry_at)
            continue;
        int delivered = 0, left = 0, stalled = 0;
        mo_plugins_spool_flush(pl, 0, &delivered, &left, &stalled);
        if (delivered)
            mo_log_info("plugins", "%s: delivered %d spooled payloads (%d left)", pl->name,
                        delivered, left);
        if (stalled) {
            pl->backoff_s = pl->backoff_s * 2 > RETRY_MAX_S ? RETRY_MAX_S : pl->backoff_s * 2;
            pl->retry_at = mo_time_mono() + pl->backoff_s;
        } else {
            pl->retry_pending = 0;
        }
    }
}

/* The earliest retry due (mo_time_mono), or a negative number when none is pending. */
static double next_retry(const mo_plugins_t *p)
{
    double due = -1;
    for (size_t i = 0; i < p->n; i++)
        if (p->pl[i].retry_pending && (due < 0 || p->pl[i].retry_at < due))
            due = p->pl[i].retry_at;
    return due;
}

static void report_drops(mo_plugins_t *p, int final)
{
    pthread_mutex_lock(&p->lock);
    uint64_t d = p->dropped;
    pthread_mutex_unlock(&p->lock);
    double now = mo_time_mono();
    if (d <= p->dropped_reported ||
        (!final && p->dropped_reported && now - p->last_drop_report < DROP_REPORT_EVERY_S))
        return;
    mo_log_warn("plugins",
                "dropped %llu events so far: the plugins are slower than the run (queue of %d "
                "events full)",
                (unsigned long long)d, MO_PLUGINS_QUEUE_CAP);
    p->dropped_reported = d;
    p->last_drop_report = now;
}

static void process_end(mo_plugins_t *p, const maestro_run_end_t *end)
{
    for (size_t i = 0; i < p->n; i++) {
        plugin_t *pl = &p->pl[i];
        int delivered = 0, left = 0;
        mo_plugins_spool_flush(pl, 0, &delivered, &left, NULL);
        if (delivered)
            mo_log_info("plugins", "%s: delivered %d spooled payloads at run end", pl->name,
                        delivered);
        pl->retry_pending = 0;
    }
    p->ended = 1;
    for (size_t i = 0; i < p->n; i++)
        if (p->pl[i].desc->run_end)
            note(&p->pl[i], "run_end", p->pl[i].desc->run_end(p->pl[i].state, end));
    /* What run_end itself could not send (a short run's only batch goes out there) gets a few
     * more tries: a service that answered 503 a moment ago is often back a second later. */
    for (int attempt = 0, wait_ms = 500; attempt < 2; attempt++, wait_ms *= 3) {
        int pending = 0;
        for (size_t i = 0; i < p->n; i++)
            pending += mo_plugins_spool_pending(&p->pl[i]);
        if (!pending)
            break;
        struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        for (size_t i = 0; i < p->n; i++) {
            int delivered = 0, left = 0, stalled = 0;
            if (mo_plugins_spool_pending(&p->pl[i]))
                mo_plugins_spool_flush(&p->pl[i], 0, &delivered, &left, &stalled);
            if (delivered)
                mo_log_info("plugins", "%s: delivered %d spooled payloads after run end",
                            p->pl[i].name, delivered);
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        int left = mo_plugins_spool_pending(&p->pl[i]);
        if (left)
            mo_log_warn("plugins",
                        "%s: %d payloads left in %s; deliver later with `maestro plugins flush "
                        "%s`",
                        p->pl[i].name, left, p->pl[i].spool_dir, p->run_dir);
    }
}

/* A metric event with the run labels after its own (an own label of the same name wins).
 * *ev is left as it was when nothing is added; *heap is what to free after the call. */
static void add_run_labels(const mo_plugins_t *p, maestro_event_t *ev, maestro_kv_t *stack,
                           size_t stack_cap, maestro_kv_t **heap)
{
    *heap = NULL;
    size_t total = ev->n_labels + p->n_labels;
    maestro_kv_t *kv = stack;
    if (total > stack_cap && !(kv = *heap = mo_calloc(total, sizeof *kv)))
        return; /* out of memory: the event goes out with its own labels */
    size_t n = 0;
    for (size_t i = 0; i < ev->n_labels; i++)
        kv[n++] = ev->labels[i];
    for (size_t r = 0; r < p->n_labels; r++) {
        int own = 0;
        for (size_t i = 0; i < ev->n_labels && !own; i++)
            own = ev->labels[i].key && !strcmp(ev->labels[i].key, p->labels[r].key);
        if (!own)
            kv[n++] = p->labels[r];
    }
    ev->labels = kv;
    ev->n_labels = n;
}

static void process_event(mo_plugins_t *p, const maestro_event_t *ev)
{
    maestro_kv_t stack[32], *heap = NULL;
    maestro_event_t labelled = *ev;
    if (ev->kind == MAESTRO_EV_METRIC && p->n_labels)
        add_run_labels(p, &labelled, stack, sizeof stack / sizeof *stack, &heap);
    for (size_t i = 0; i < p->n; i++) {
        const maestro_plugin_t *d = p->pl[i].desc;
        if (d->event)
            note(&p->pl[i], "event",
                 d->event(p->pl[i].state, d->type == MAESTRO_PLUGIN_METRICS ? &labelled : ev));
    }
    free(heap);
}

static void process(mo_plugins_t *p, item_t *it)
{
    switch (it->kind) {
    case ITEM_START:
        for (size_t i = 0; i < p->n; i++)
            if (p->pl[i].desc->run_start)
                note(&p->pl[i], "run_start", p->pl[i].desc->run_start(p->pl[i].state, &it->u.run));
        break;
    case ITEM_EVENT:
        process_event(p, &it->u.ev);
        break;
    case ITEM_END:
        process_end(p, &it->u.end);
        break;
    case ITEM_CALL:
        it->call(p, it->arg);
        break;
    }
}

static int init_all(mo_plugins_t *p, mo_error_t *err)
{
    for (size_t i = 0; i < p->n; i++) {
        plugin_t *pl = &p->pl[i];
        char msg[256] = "";
        void *state = NULL;
        int rc = pl->desc->init(&state, &pl->services, msg, sizeof msg);
        msg[sizeof msg - 1] = '\0'; /* the plugin may not have terminated it */
        if (rc != MAESTRO_OK)
            return mo_errorf(err, rc == MAESTRO_E_CONFIG ? MO_EINVAL : MO_EPLUGIN,
                             "plugin %s: init failed: %s", pl->name,
                             msg[0] ? msg : mo_plugins_rc_name(rc));
        pl->state = state;
        pl->inited = 1;
    }
    return 0;
}

static void fini_all(mo_plugins_t *p)
{
    for (size_t i = p->n; i-- > 0;)
        if (p->pl[i].inited && p->pl[i].desc->fini)
            p->pl[i].desc->fini(p->pl[i].state);
    for (size_t i = 0; i < p->n; i++)
        p->pl[i].inited = 0;
}

static void *worker_main(void *arg)
{
    mo_plugins_t *p = arg;
    worker_of = p;
    mo_error_t err = {0};
    int rc = init_all(p, &err);
    pthread_mutex_lock(&p->lock);
    p->init_rc = rc;
    p->init_err = err;
    p->init_state = rc ? -1 : 1;
    pthread_cond_broadcast(&p->done);
    while (!rc) {
        if (!p->head) {
            if (p->stop)
                break;
            double due = next_retry(p);
            if (due >= 0 && due <= mo_time_mono()) {
                pthread_mutex_unlock(&p->lock);
                run_retries(p);
                pthread_mutex_lock(&p->lock);
            } else if (due >= 0) {
                struct timespec ts = mo_plugins_deadline(due - mo_time_mono());
                pthread_cond_timedwait(&p->work, &p->lock, &ts);
            } else {
                pthread_cond_wait(&p->work, &p->lock);
            }
            continue;
        }
        item_t *it = mo_plugins_pop(p);
        p->busy = 1;
        pthread_mutex_unlock(&p->lock);
        process(p, it);
        run_retries(p);
        report_drops(p, it->kind == ITEM_END);
        pthread_mutex_lock(&p->lock);
        p->busy = 0;
        if (it->kind == ITEM_END || it->kind == ITEM_CALL) {
            it->done = 1;
            if (it->abandoned)
                free(it);
        } else {
            free(it);
        }
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    report_drops(p, 1);
    fini_all(p);
    worker_of = NULL;
    return NULL;
}

/* ---- open / close ------------------------------------------------------------------------- */

static void free_labels(mo_plugins_t *p)
{
    for (size_t k = 0; k < p->n_labels; k++) {
        free((char *)p->labels[k].key);
        free((char *)p->labels[k].value);
    }
    free(p->labels);
    p->labels = NULL;
    p->n_labels = 0;
}

static void destroy(mo_plugins_t *p)
{
    for (size_t i = 0; p->pl && i < p->n; i++) {
        plugin_t *pl = &p->pl[i];
        mo_plugins_http_release(pl);
        mo_plugins_unload(pl);
        for (size_t k = 0; k < pl->n_config; k++) {
            free((char *)pl->config[k].key);
            free((char *)pl->config[k].value);
        }
        free(pl->config);
        free(pl->spool_dir);
        for (size_t k = 0; k < pl->n_own; k++)
            free(pl->own[k]);
        free(pl->own);
        pthread_mutex_destroy(&pl->spool_lock);
        pthread_mutex_destroy(&pl->curl_lock);
    }
    for (item_t *it = p->head, *next; it; it = next) {
        next = it->next;
        free(it);
    }
    free(p->pl);
    free(p->run_dir);
    free_labels(p);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->space);
    pthread_cond_destroy(&p->done);
    free(p);
}

static int setup_plugin(mo_plugins_t *p, plugin_t *pl, const mo_plugin_request_t *r,
                        mo_error_t *err)
{
    int rc = mo_plugins_load(pl, r->name, err);
    if (rc)
        return rc;
    pl->host = p;
    pl->services = (maestro_host_t){
        .version = MAESTRO_PLUGIN_ABI_MINOR,
        .struct_size = sizeof(maestro_host_t),
        .ctx = pl,
        .log = log_service,
        .config = config_service,
        .now_ns = mo_time_unix_ns,
        .http = mo_plugins_http_service,
        .free_response = mo_plugins_http_free,
        .spool = mo_plugins_spool_service,
        .register_secret = secret_service,
    };
    size_t n = r->config ? r->n_config : 0;
    pl->config = mo_calloc(n ? n : 1, sizeof *pl->config);
    if (!pl->config)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        if (!r->config[k].key || !r->config[k].value)
            continue;
        maestro_kv_t *kv = &pl->config[pl->n_config];
        kv->key = mo_strdup(r->config[k].key);
        kv->value = mo_strdup(r->config[k].value);
        pl->n_config++; /* before the check, so destroy() frees a half-copied pair */
        if (!kv->key || !kv->value)
            return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    /* TLS verification is on unless the configuration turns it off by name, and then every
     * process says so: a man in the middle would see the plugin's credentials. */
    const char *tv = config_service(pl, "tls_verify");
    int verify = 1;
    if (tv && mo_parse_bool(tv, &verify))
        return mo_errorf(err, MO_EINVAL, "plugin %s: tls_verify must be true or false", pl->name);
    pl->tls_insecure = !verify;
    if (pl->tls_insecure)
        mo_log_warn("plugins",
                    "%s: tls_verify: false: the server's TLS certificate and name are NOT "
                    "checked; anyone on the network path can read and change what this plugin "
                    "sends, its credentials included. Use ca_file for a private CA instead",
                    pl->name);
    if (p->run_dir) {
        mo_buf_t b = {0};
        mo_buf_printf(&b, "%s/spool/%s", p->run_dir, pl->name);
        pl->spool_dir = mo_buf_steal(&b);
        if (!pl->spool_dir)
            return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    return 0;
}

int mo_plugins_open(mo_plugins_t **out, const mo_plugin_request_t *req, size_t n,
                    const mo_plugins_opts_t *opts, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_plugins_open: out is NULL");
    *out = NULL;
    if (n && !req)
        return mo_errorf(err, MO_EINVAL, "mo_plugins_open: %zu requests but req is NULL", n);
    int rc = 0;
    pthread_condattr_t ca;
    mo_plugins_t *p = mo_calloc(1, sizeof *p);
    if (!p)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines immune to clock steps */
    pthread_cond_init(&p->work, &ca);
    pthread_cond_init(&p->space, &ca);
    pthread_cond_init(&p->done, &ca);
    pthread_condattr_destroy(&ca);
    p->rank = opts ? opts->rank : 0;
    p->ranks = opts && opts->ranks > 0 ? opts->ranks : 1;
    p->end_timeout_s =
        opts && opts->end_timeout_s > 0 ? opts->end_timeout_s : DEFAULT_END_TIMEOUT_S;
    if (opts && opts->run_dir && *opts->run_dir && !(p->run_dir = mo_strdup(opts->run_dir))) {
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        goto out;
    }
    if (n) {
        p->pl = mo_calloc(n, sizeof *p->pl);
        if (!p->pl) {
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            pthread_mutex_init(&p->pl[i].spool_lock, NULL);
            pthread_mutex_init(&p->pl[i].curl_lock, NULL);
        }
    }
    for (size_t i = 0; i < n && !rc; i++) {
        for (size_t j = 0; j < i && !rc; j++)
            if (req[i].name && req[j].name && !strcmp(req[i].name, req[j].name))
                rc = mo_errorf(err, MO_EINVAL, "plugin %s is requested twice", req[i].name);
        p->n = i + 1; /* destroy() unloads what was loaded */
        if (!rc)
            rc = setup_plugin(p, &p->pl[i], &req[i], err);
    }
    if (rc || n == 0)
        goto out;
    mo_plugins_http_global_init();
    if (pthread_create(&p->thread, NULL, worker_main, p) != 0) {
        rc = mo_errorf(err, MO_ENOMEM, "cannot start the plugin thread");
        goto out;
    }
    pthread_mutex_lock(&p->lock);
    while (p->init_state == 0)
        pthread_cond_wait(&p->done, &p->lock);
    rc = p->init_rc;
    if (rc && err)
        *err = p->init_err;
    pthread_mutex_unlock(&p->lock);
    if (rc)
        pthread_join(p->thread, NULL); /* it ran fini for those already inited */
    else
        p->started = 1;
out:
    if (rc) {
        destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Values redacted now: secrets are resolved before any plugin opens. */
int mo_plugins_set_labels(mo_plugins_t *p, const maestro_kv_t *labels, size_t n, mo_error_t *err)
{
    if (!p)
        return 0;
    if (n && !labels)
        return mo_errorf(err, MO_EINVAL, "mo_plugins_set_labels: %zu labels but labels is NULL", n);
    for (size_t k = 0; k < n; k++)
        if (!labels[k].key || !*labels[k].key || !labels[k].value)
            return mo_errorf(err, MO_EINVAL, "mo_plugins_set_labels: label %zu has no %s", k,
                             labels[k].key && *labels[k].key ? "value" : "name");
    free_labels(p);
    if (!n)
        return 0;
    p->labels = mo_calloc(n, sizeof *p->labels);
    if (!p->labels)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        p->labels[k].key = mo_strdup(labels[k].key);
        p->labels[k].value = mo_redact(labels[k].value);
        p->n_labels = k + 1; /* before the check, so free_labels frees a half-copied pair */
        if (!p->labels[k].key || !p->labels[k].value) {
            free_labels(p);
            return mo_errorf(err, MO_ENOMEM, "out of memory");
        }
    }
    return 0;
}

void mo_plugins_close(mo_plugins_t *p)
{
    if (!p)
        return;
    if (p->started) {
        size_t lost = 0;
        pthread_mutex_lock(&p->lock);
        if (!p->gave_up) {
            struct timespec until = mo_plugins_deadline(p->end_timeout_s);
            mo_plugins_wait_drained(p, &until);
        }
        lost = mo_plugins_drop_events(p);
        p->stop = 1;
        pthread_cond_signal(&p->work);
        pthread_mutex_unlock(&p->lock);
        if (lost)
            mo_log_warn("plugins", "%zu queued events not delivered: the plugins did not keep up",
                        lost);
        /* The worker finishes the callback in progress (each http call is bounded by its
         * timeout), then calls fini. */
        pthread_join(p->thread, NULL);
    }
    destroy(p);
}
