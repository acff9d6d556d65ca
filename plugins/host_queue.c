/* host_queue.c - the bounded event queue between the training loop and the plugins' thread
 *
 * A producer (the training loop, the log sink) deep-copies the event into ONE allocation
 * (a measuring pass, then a copying pass) and appends it under the host's mutex: no network,
 * no plugin code, no logging (the log sink calls in with the log lock held).
 *
 * Backpressure: the queue holds MO_PLUGINS_QUEUE_CAP events. When it is full a producer
 * waits at most MO_PLUGINS_BLOCK_MS for room, once; then the OLDEST queued metric is dropped
 * (the newest value of a gauge is the one worth keeping) or, with no metric queued, the
 * incoming metric/log, and counted. Artifacts, models and lifecycle items are never dropped.
 * Until the worker has caught up to half the queue, producers do not wait again, so a stuck
 * plugin costs the training loop one short wait per episode, not one per event. The worker
 * reports the drops as warnings.
 */
#include "plugins/host_impl.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/time.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- deep copies: one allocation per item ------------------------------------------------- */

typedef struct {
    char *base; /* NULL: measuring pass */
    size_t off;
} copier_t;

static void *cp_take(copier_t *c, size_t size, size_t align)
{
    c->off = (c->off + align - 1) / align * align;
    void *p = c->base ? c->base + c->off : NULL;
    c->off += size;
    return p;
}

static const char *cp_str(copier_t *c, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = cp_take(c, n, 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

static const maestro_kv_t *cp_kv(copier_t *c, const maestro_kv_t *kv, size_t n)
{
    if (!kv || !n)
        return NULL;
    maestro_kv_t *d = cp_take(c, n * sizeof *d, alignof(maestro_kv_t));
    for (size_t i = 0; i < n; i++) {
        const char *k = cp_str(c, kv[i].key), *v = cp_str(c, kv[i].value);
        if (d) {
            d[i].key = k;
            d[i].value = v;
        }
    }
    return d;
}

static void fill_event(copier_t *c, item_t *it, const void *src)
{
    const maestro_event_t *e = src;
    maestro_event_t *d = &it->u.ev;
    *d = *e;
    d->name = cp_str(c, e->name);
    d->n_labels = e->labels ? e->n_labels : 0;
    d->labels = cp_kv(c, e->labels, d->n_labels);
    d->component = cp_str(c, e->component);
    d->message = cp_str(c, e->message);
    d->path = cp_str(c, e->path);
    d->artifact_name = cp_str(c, e->artifact_name);
}

static void fill_run(copier_t *c, item_t *it, const void *src)
{
    const maestro_run_info_t *r = src;
    maestro_run_info_t *d = &it->u.run;
    *d = *r;
    d->run_id = cp_str(c, r->run_id);
    d->run_name = cp_str(c, r->run_name);
    d->job_kind = cp_str(c, r->job_kind);
    d->run_dir = cp_str(c, r->run_dir);
    d->spec_text = cp_str(c, r->spec_text);
    d->git_commit = cp_str(c, r->git_commit);
    d->maestro_version = cp_str(c, r->maestro_version);
    d->n_params = r->params ? r->n_params : 0;
    d->params = cp_kv(c, r->params, d->n_params);
    /* The caller's struct is this host's own version (the runner is built with it), so every
     * field is there; a plugin of an older minor just never reads this one. */
    d->parent_run_id = cp_str(c, r->parent_run_id);
}

static void fill_end(copier_t *c, item_t *it, const void *src)
{
    const maestro_run_end_t *e = src;
    maestro_run_end_t *d = &it->u.end;
    *d = *e;
    d->status = cp_str(c, e->status);
    d->model_path = cp_str(c, e->model_path);
    d->registry_model = cp_str(c, e->registry_model);
    d->registry_alias = cp_str(c, e->registry_alias);
    size_t n = e->metric_names && e->metric_values ? e->n_metrics : 0;
    d->n_metrics = n;
    double *v = n ? cp_take(c, n * sizeof *v, alignof(double)) : NULL;
    const char **names = n ? cp_take(c, n * sizeof *names, alignof(const char *)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *s = cp_str(c, e->metric_names[i]);
        if (names) {
            names[i] = s;
            v[i] = e->metric_values[i];
        }
    }
    d->metric_names = names;
    d->metric_values = v;
}

static item_t *make_item(item_kind_t kind, void (*fill)(copier_t *, item_t *, const void *),
                         const void *src)
{
    const size_t head =
        (sizeof(item_t) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
    item_t scratch;
    copier_t m = {NULL, 0};
    if (fill)
        fill(&m, &scratch, src);
    item_t *it = mo_calloc(1, head + m.off);
    if (!it)
        return NULL;
    it->kind = kind;
    copier_t c = {(char *)it + head, 0};
    if (fill)
        fill(&c, it, src);
    return it;
}

/* ---- the queue (callers hold p->lock) ----------------------------------------------------- */

static void append(mo_plugins_t *p, item_t *it)
{
    it->next = NULL;
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    if (it->kind == ITEM_EVENT)
        p->n_events++;
    pthread_cond_signal(&p->work);
}

static void push_front(mo_plugins_t *p, item_t *it)
{
    it->next = p->head;
    p->head = it;
    if (!p->tail)
        p->tail = it;
    pthread_cond_signal(&p->work);
}

/* Unlink the first item that `pick` accepts; NULL when none. */
static item_t *unlink_first(mo_plugins_t *p, int (*pick)(const item_t *))
{
    item_t *prev = NULL;
    for (item_t *it = p->head; it; prev = it, it = it->next) {
        if (!pick(it))
            continue;
        if (prev)
            prev->next = it->next;
        else
            p->head = it->next;
        if (p->tail == it)
            p->tail = prev;
        if (it->kind == ITEM_EVENT)
            p->n_events--;
        it->next = NULL;
        return it;
    }
    return NULL;
}

static int is_metric(const item_t *it)
{
    return it->kind == ITEM_EVENT && it->u.ev.kind == MAESTRO_EV_METRIC;
}

static int is_event(const item_t *it)
{
    return it->kind == ITEM_EVENT;
}

size_t mo_plugins_drop_events(mo_plugins_t *p)
{
    size_t n = 0;
    item_t *it;
    while ((it = unlink_first(p, is_event))) {
        free(it);
        n++;
    }
    p->dropped += n;
    return n;
}

struct timespec mo_plugins_deadline(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double s = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + (seconds > 0 ? seconds : 0);
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    return ts;
}

/* Wait on p->done until `cond(p, arg)` or the deadline; returns 1 when cond holds. */
static int wait_done(mo_plugins_t *p, int (*cond)(mo_plugins_t *, const void *), const void *arg,
                     const struct timespec *until)
{
    while (!cond(p, arg))
        if (pthread_cond_timedwait(&p->done, &p->lock, until) == ETIMEDOUT)
            return cond(p, arg);
    return 1;
}

static int drained(mo_plugins_t *p, const void *arg)
{
    (void)arg;
    return !p->head && !p->busy;
}

int mo_plugins_wait_drained(mo_plugins_t *p, const struct timespec *until)
{
    return wait_done(p, drained, NULL, until);
}

static int item_done(mo_plugins_t *p, const void *arg)
{
    (void)p;
    return ((const item_t *)arg)->done;
}

item_t *mo_plugins_pop(mo_plugins_t *p)
{
    item_t *it = p->head;
    if (!it)
        return NULL;
    p->head = it->next;
    if (!p->head)
        p->tail = NULL;
    it->next = NULL;
    if (it->kind == ITEM_EVENT)
        p->n_events--;
    /* Out of overflow once the worker has caught up by half: producers may wait again. */
    if (p->overflowing && p->n_events < MO_PLUGINS_QUEUE_CAP / 2)
        p->overflowing = 0;
    pthread_cond_broadcast(&p->space);
    return it;
}

/* Hand a lifecycle item to the worker and wait for it: without a deadline (until == NULL)
 * or up to one; an item not done in time is left for the worker to free. Returns 1 when done. */
static int submit_and_wait(mo_plugins_t *p, item_t *it, int front, const struct timespec *until)
{
    pthread_mutex_lock(&p->lock);
    if (front)
        push_front(p, it);
    else
        append(p, it);
    int ok = 1;
    if (until)
        ok = wait_done(p, item_done, it, until);
    else
        while (!it->done)
            pthread_cond_wait(&p->done, &p->lock);
    if (!ok)
        it->abandoned = 1;
    pthread_mutex_unlock(&p->lock);
    if (ok)
        free(it);
    return ok;
}

int mo_plugins_call(mo_plugins_t *p, void (*fn)(mo_plugins_t *p, void *arg), void *arg)
{
    item_t *it = make_item(ITEM_CALL, NULL, NULL);
    if (!it)
        return MO_ENOMEM;
    it->call = fn;
    it->arg = arg;
    submit_and_wait(p, it, 1, NULL);
    return 0;
}
/* ---- events ------------------------------------------------------------------------------- */

static int accepts(const mo_plugins_t *p)
{
    return p && p->started && !mo_plugins_on_worker(p);
}

static void push_event(mo_plugins_t *p, const maestro_event_t *ev)
{
    item_t *it = make_item(ITEM_EVENT, fill_event, ev), *victim = NULL;
    pthread_mutex_lock(&p->lock);
    if (!it) {
        p->dropped++; /* out of memory: counted like a full queue */
        goto out;
    }
    if (p->stop)
        goto out;
    if (p->n_events >= MO_PLUGINS_QUEUE_CAP && !p->overflowing) {
        struct timespec until = mo_plugins_deadline(MO_PLUGINS_BLOCK_MS / 1000.0);
        while (p->n_events >= MO_PLUGINS_QUEUE_CAP && !p->stop)
            if (pthread_cond_timedwait(&p->space, &p->lock, &until) == ETIMEDOUT)
                break;
    }
    if (p->n_events >= MO_PLUGINS_QUEUE_CAP) {
        p->overflowing = 1;
        victim = unlink_first(p, is_metric);
        if (!victim && (ev->kind == MAESTRO_EV_METRIC || ev->kind == MAESTRO_EV_LOG)) {
            victim = it; /* no older metric to give up: this one goes */
            it = NULL;
        }
        if (victim)
            p->dropped++;
    }
    if (it)
        append(p, it);
    it = NULL;
out:
    pthread_mutex_unlock(&p->lock);
    free(it);
    free(victim);
}

static maestro_event_t base_event(const mo_plugins_t *p, maestro_event_kind_t kind)
{
    maestro_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ns = mo_time_unix_ns();
    ev.rank = p->rank;
    return ev;
}

void mo_plugins_run_start(mo_plugins_t *p, const maestro_run_info_t *run)
{
    if (!accepts(p) || !run)
        return;
    item_t *it = make_item(ITEM_START, fill_run, run);
    if (!it)
        return;
    pthread_mutex_lock(&p->lock);
    append(p, it);
    pthread_mutex_unlock(&p->lock);
}

void mo_plugins_metric(mo_plugins_t *p, const char *name, double value, int64_t step, int64_t epoch,
                       const maestro_kv_t *labels, size_t n_labels)
{
    if (!accepts(p) || !name)
        return;
    maestro_event_t ev = base_event(p, MAESTRO_EV_METRIC);
    ev.name = name;
    ev.value = value;
    ev.step = step;
    ev.epoch = epoch;
    ev.labels = labels;
    ev.n_labels = labels ? n_labels : 0;
    push_event(p, &ev);
}

void mo_plugins_log(mo_plugins_t *p, maestro_log_level_t level, const char *component,
                    const char *message)
{
    /* Called from the log sink with the log lock held: nothing here may log. */
    if (!accepts(p) || !message)
        return;
    maestro_event_t ev = base_event(p, MAESTRO_EV_LOG);
    ev.level = level;
    ev.component = component ? component : "maestro";
    ev.message = message;
    push_event(p, &ev);
}

static void file_event(mo_plugins_t *p, maestro_event_kind_t kind, const char *path,
                       const char *name)
{
    if (!accepts(p) || !path)
        return;
    maestro_event_t ev = base_event(p, kind);
    ev.path = path;
    ev.artifact_name = name ? name : path;
    push_event(p, &ev);
}

void mo_plugins_artifact(mo_plugins_t *p, const char *path, const char *artifact_name)
{
    file_event(p, MAESTRO_EV_ARTIFACT, path, artifact_name);
}

void mo_plugins_model(mo_plugins_t *p, const char *path, const char *artifact_name)
{
    file_event(p, MAESTRO_EV_MODEL, path, artifact_name);
}

void mo_plugins_run_end(mo_plugins_t *p, const maestro_run_end_t *end)
{
    if (!accepts(p) || !end)
        return;
    item_t *it = make_item(ITEM_END, fill_end, end);
    if (!it)
        return;
    size_t lost = 0;
    pthread_mutex_lock(&p->lock);
    struct timespec until = mo_plugins_deadline(p->end_timeout_s);
    if (!mo_plugins_wait_drained(p, &until)) {
        lost = mo_plugins_drop_events(p);
        p->gave_up = 1;
    }
    pthread_mutex_unlock(&p->lock);
    if (lost)
        mo_log_warn("plugins",
                    "%zu queued events not delivered: the plugins did not keep up within %.0f s",
                    lost, p->end_timeout_s);
    /* Flushing spools and run_end callbacks get their own end_timeout_s. */
    until = mo_plugins_deadline(p->end_timeout_s);
    if (!submit_and_wait(p, it, 0, &until)) {
        pthread_mutex_lock(&p->lock);
        p->gave_up = 1;
        pthread_mutex_unlock(&p->lock);
        mo_log_warn("plugins", "plugins still busy with run end after %.0f s; not waiting longer",
                    p->end_timeout_s);
    }
}
