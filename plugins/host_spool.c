/* host_spool.c - what plugins could not deliver: <run_dir>/spool/<plugin>/<seq>-<kind>
 *
 * Each payload is one file written atomically (temp + fsync + rename), so a crash leaves
 * either the whole payload or none, and `maestro plugins flush` in another process never reads
 * half a file. The sequence number is 8 digits (more when it outgrows them) and continues
 * after the highest already in the folder, so a resumed run or a flush that spools again
 * never overwrites a payload. Delivery goes in sequence order, which keeps order-sensitive
 * services (Loki streams) happy, and stops at the first MAESTRO_E_RETRY: the service is still
 * away, and hammering it with the rest would only reorder them.
 *
 * Every rank of a run spools into the same folder, each with its own sequence: a payload is
 * written under a private temp name and link()ed to its final name, which fails instead of
 * replacing a payload another rank published under the same number. During the run each
 * process flushes only the payloads it spooled itself (pl->own), so no payload is delivered by
 * two ranks at once.
 *
 * A payload the service refuses for good (the plugin's flush says MAESTRO_E_FAILED) moves to
 * spool/<plugin>/rejected/: kept, not resent at every flush.
 *
 * `maestro plugins flush RUN_DIR` (mo_plugins_flush_dir) takes every payload, after the run. It
 * opens one host per spool folder that holds payloads, so a plugin that cannot load or init
 * leaves only its own payloads behind.
 */
#include "plugins/host_impl.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "io/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIND_MAX 32
#define PAYLOAD_MAX ((size_t)1 << 30) /* a spooled payload bigger than this is not ours */

typedef struct {
    uint64_t seq;
    char *fname;
    const char *kind; /* points into fname */
} entry_t;

/* Kinds are file name parts: letters, digits, '_' and '-' only. No '.', so the atomic
 * writer's `<name>.tmp.<pid>` files never parse as payloads. */
static int valid_kind(const char *kind)
{
    size_t n = strlen(kind);
    if (n == 0 || n > KIND_MAX)
        return 0;
    for (const char *p = kind; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* "<digits>-<kind>" -> seq and kind; 0 when the name is something else. */
static int parse_name(const char *fname, uint64_t *seq, const char **kind)
{
    const char *dash = strchr(fname, '-');
    size_t nd = dash ? (size_t)(dash - fname) : 0;
    if (nd < 8 || nd > 19 || strspn(fname, "0123456789") != nd || !valid_kind(dash + 1))
        return 0;
    *seq = strtoull(fname, NULL, 10);
    *kind = dash + 1;
    return 1;
}

static int cmp_entry(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void free_entries(entry_t *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].fname);
    free(e);
}

/* The payloads in `dir`, sorted by seq. A missing folder is an empty spool (0); other
 * failures are MO_EIO / MO_ENOMEM. */
static int scan(const char *dir, entry_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : MO_EIO;
    entry_t *e = NULL;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t seq;
        const char *kind;
        if (!parse_name(de->d_name, &seq, &kind))
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            entry_t *ne = mo_reallocarray(e, nc, sizeof *ne);
            if (!ne) {
                rc = MO_ENOMEM;
                break;
            }
            e = ne;
            cap = nc;
        }
        e[*n].seq = seq;
        e[*n].fname = mo_strdup(de->d_name);
        if (!e[*n].fname) {
            rc = MO_ENOMEM;
            break;
        }
        e[*n].kind = e[*n].fname + (kind - de->d_name);
        (*n)++;
    }
    closedir(d);
    if (rc) {
        free_entries(e, *n);
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(e, *n, sizeof *e, cmp_entry);
    *out = e;
    return 0;
}

int mo_plugins_spool_count(const char *dir)
{
    entry_t *e = NULL;
    size_t n = 0;
    if (!dir || scan(dir, &e, &n))
        return 0;
    free_entries(e, n);
    return (int)n;
}

/* Temp names must be unique per process AND per host in it (every rank's host may live in
 * one process in tests, and a sweep may open several): pid + a process-wide counter. */
static atomic_ulong tmp_counter;

/* Best effort: make a new directory entry durable. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Give the written temp file its final name without ever replacing a file: several ranks of
 * a run (separate processes, each with its own sequence) spool into the same folder, and a
 * rename over a name another rank just took would lose its payload. link() fails with EEXIST
 * instead. Returns 0, EEXIST, or another errno. */
static int publish(const char *tmp, const char *final)
{
    if (link(tmp, final) == 0)
        return 0;
    int e = errno;
    if (e == EEXIST)
        return EEXIST;
    if (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV || e == EMLINK || e == ENOSYS) {
        /* No hard links on this file system: check, then rename (racy between ranks, but only
         * where links are missing). */
        if (access(final, F_OK) == 0)
            return EEXIST;
        return rename(tmp, final) == 0 ? 0 : errno;
    }
    return e;
}

/* Caller holds spool_lock: the next sequence number after everything in the folder. */
static int next_seq_locked(plugin_t *pl, uint64_t *seq)
{
    entry_t *e = NULL;
    size_t n = 0;
    int rc = scan(pl->spool_dir, &e, &n);
    if (!rc && n && e[n - 1].seq >= pl->next_seq)
        pl->next_seq = e[n - 1].seq + 1;
    if (pl->next_seq == 0)
        pl->next_seq = 1;
    free_entries(e, n);
    *seq = pl->next_seq++;
    return rc;
}

static int remember_own(plugin_t *pl, const char *fname)
{
    char *copy = mo_strdup(fname);
    if (!copy)
        return MO_ENOMEM;
    pthread_mutex_lock(&pl->spool_lock);
    int rc = 0;
    if (pl->n_own == pl->cap_own) {
        size_t nc = pl->cap_own ? pl->cap_own * 2 : 16;
        char **no = mo_reallocarray(pl->own, nc, sizeof *no);
        if (!no)
            rc = MO_ENOMEM;
        else {
            pl->own = no;
            pl->cap_own = nc;
        }
    }
    if (!rc) {
        pl->own[pl->n_own++] = copy;
        pl->spooled++;
    }
    pthread_mutex_unlock(&pl->spool_lock);
    if (rc)
        free(copy);
    return rc;
}

int mo_plugins_spool_service(void *ctx, const char *kind, const void *data, size_t len)
{
    plugin_t *pl = ctx;
    mo_error_t err = {0};
    char *tmp = NULL, *final = NULL;
    int rc = MAESTRO_E_FAILED, linked = 0;
    if (!pl || !kind || (!data && len))
        return MAESTRO_E_FAILED;
    if (!valid_kind(kind)) {
        mo_log_warn("plugins", "%s: spool kind \"%.40s\" refused (1-%d letters, digits, '_', '-')",
                    pl->name, kind, KIND_MAX);
        return MAESTRO_E_FAILED;
    }
    if (!pl->spool_dir) {
        mo_log_warn("plugins", "%s: nothing spooled: this run has no run folder", pl->name);
        return MAESTRO_E_FAILED;
    }
    uint64_t seq = 0;
    pthread_mutex_lock(&pl->spool_lock);
    int mk = mo_io_mkdir_p(pl->spool_dir, &err);
    if (!mk && pl->next_seq == 0 && next_seq_locked(pl, &seq))
        mk = mo_errorf(&err, MO_EIO, "cannot read %s", pl->spool_dir);
    else if (!mk && seq == 0)
        seq = pl->next_seq++;
    pthread_mutex_unlock(&pl->spool_lock);
    if (mk)
        goto out;

    /* The whole payload first, under a name no scan takes for a payload ('.', no digits). */
    mo_buf_t b = {0};
    mo_buf_printf(&b, "%s/.spool-%ld-%lu", pl->spool_dir, (long)getpid(),
                  (unsigned long)atomic_fetch_add(&tmp_counter, 1));
    tmp = mo_buf_steal(&b);
    if (!tmp) {
        mo_errorf(&err, MO_ENOMEM, "out of memory");
        goto out;
    }
    if (mo_io_write_atomic(tmp, data ? data : "", len, &err))
        goto out;
    for (int tries = 0; tries < 64 && !linked; tries++) {
        free(final);
        mo_buf_t fb = {0};
        mo_buf_printf(&fb, "%s/%08llu-%s", pl->spool_dir, (unsigned long long)seq, kind);
        final = mo_buf_steal(&fb);
        if (!final) {
            mo_errorf(&err, MO_ENOMEM, "out of memory");
            break;
        }
        int e = publish(tmp, final);
        if (e == 0) {
            linked = 1;
        } else if (e == EEXIST) {
            /* another rank took this number: continue after the highest in the folder */
            pthread_mutex_lock(&pl->spool_lock);
            next_seq_locked(pl, &seq);
            pthread_mutex_unlock(&pl->spool_lock);
        } else {
            mo_errorf(&err, MO_EIO, "cannot create %s: %s", final, strerror(e));
            break;
        }
    }
    unlink(tmp); /* after link(): the payload lives on under its final name */
    if (!linked) {
        if (!err.msg[0])
            mo_errorf(&err, MO_EIO, "no free sequence number in %s", pl->spool_dir);
        goto out;
    }
    sync_dir(pl->spool_dir);
    if (remember_own(pl, strrchr(final, '/') + 1)) {
        /* Spooled all the same: `plugins flush` finds it; only the in-run retry will not. */
        mo_log_warn("plugins", "%s: out of memory tracking %s", pl->name, final);
    }
    rc = MAESTRO_OK;
out:
    if (rc)
        mo_log_warn("plugins", "%s: cannot spool a %s payload: %s", pl->name, kind, err.msg);
    free(tmp);
    free(final);
    return rc;
}

/* Whole file into memory; NULL on failure (errno-style text in `why`). */
static void *read_all(const char *path, size_t *len, char *why, size_t whylen)
{
    void *buf = NULL;
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno; /* the caller tells a vanished payload (ENOENT) from a broken one */
        snprintf(why, whylen, "%s", strerror(e));
        errno = e;
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (size_t)st.st_size > PAYLOAD_MAX) {
        snprintf(why, whylen, "not a payload (size)");
        goto out;
    }
    *len = (size_t)st.st_size;
    buf = malloc(*len + 1); /* +1: NUL after the bytes, so text payloads can be used as is */
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (*len && fread(buf, 1, *len, f) != *len) {
        snprintf(why, whylen, "short read");
        free(buf);
        buf = NULL;
        goto out;
    }
    ((char *)buf)[*len] = '\0';
out:
    fclose(f);
    return buf;
}

/* This process's payloads (`own`), in the order it spooled them: entry i is own[i]. */
static int snapshot_own(plugin_t *pl, entry_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&pl->spool_lock);
    size_t k = pl->n_own;
    entry_t *e = k ? mo_calloc(k, sizeof *e) : NULL;
    int rc = k && !e ? MO_ENOMEM : 0;
    for (size_t i = 0; !rc && i < k; i++) {
        e[i].fname = mo_strdup(pl->own[i]);
        if (!e[i].fname || !parse_name(e[i].fname, &e[i].seq, &e[i].kind))
            rc = MO_ENOMEM; /* own names always parse: they were made here */
        *n = i + 1;
    }
    pthread_mutex_unlock(&pl->spool_lock);
    if (rc) {
        free_entries(e, *n);
        *n = 0;
        return rc;
    }
    *out = e;
    return 0;
}

/* Forget own[i] for every snapshot entry marked done (delivered, or gone from the folder).
 * Only the worker removes, and spool() only appends, so own[0..n) is still the snapshot. */
static void forget_done(plugin_t *pl, const char *done, size_t n)
{
    pthread_mutex_lock(&pl->spool_lock);
    size_t w = 0;
    for (size_t i = 0; i < pl->n_own; i++) {
        if (i < n && done[i])
            free(pl->own[i]);
        else
            pl->own[w++] = pl->own[i];
    }
    pl->n_own = w;
    pthread_mutex_unlock(&pl->spool_lock);
}

int mo_plugins_spool_pending(plugin_t *pl)
{
    pthread_mutex_lock(&pl->spool_lock);
    int n = (int)pl->n_own;
    pthread_mutex_unlock(&pl->spool_lock);
    return n;
}

void mo_plugins_spool_flush(plugin_t *pl, int all, int *delivered, int *left, int *stalled)
{
    int n_ok = 0, n_left = 0, stop = 0;
    entry_t *e = NULL;
    char *done = NULL;
    size_t n = 0;
    int rc = !pl->spool_dir ? 0 : all ? scan(pl->spool_dir, &e, &n) : snapshot_own(pl, &e, &n);
    if (rc)
        mo_log_warn("plugins", "%s: cannot read the spool %s", pl->name, pl->spool_dir);
    if (n && !pl->desc->flush) {
        if (!pl->warned_no_flush)
            mo_log_warn("plugins",
                        "%s: %zu payloads spooled in %s, but the plugin has no flush callback",
                        pl->name, n, pl->spool_dir);
        pl->warned_no_flush = 1;
        n_left = (int)n;
        goto out;
    }
    done = n ? mo_calloc(n, 1) : NULL;
    if (n && !done) {
        n_left = (int)n;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (stop) {
            n_left++;
            continue;
        }
        char why[128], path[4096];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", pl->spool_dir, e[i].fname);
        void *data = read_all(path, &len, why, sizeof why);
        if (!data && errno == ENOENT && !all) {
            done[i] = 1; /* delivered by `plugins flush` meanwhile */
            continue;
        }
        if (!data) {
            mo_log_warn("plugins", "%s: cannot read spooled %s: %s", pl->name, path, why);
            n_left++;
            continue;
        }
        int frc = pl->desc->flush(pl->state, e[i].kind, data, len);
        free(data);
        if (frc == MAESTRO_OK) {
            /* A payload left behind after delivery would be sent twice; say so. */
            if (unlink(path) != 0 && errno != ENOENT)
                mo_log_warn("plugins", "%s: delivered %s but cannot remove it: %s", pl->name, path,
                            strerror(errno));
            done[i] = 1;
            n_ok++;
        } else if (frc == MAESTRO_E_RETRY) {
            stop = 1;
            n_left++;
        } else {
            /* Permanent refusal of this payload: nothing is lost, but resending it at every
             * flush would only repeat the refusal. It moves to rejected/, out of the queue,
             * where a person can look at it (and move it back once the cause is fixed). */
            char rej_dir[4096], rej[4400];
            snprintf(rej_dir, sizeof rej_dir, "%s/rejected", pl->spool_dir);
            snprintf(rej, sizeof rej, "%s/%s", rej_dir, e[i].fname);
            if (mo_io_mkdir_p(rej_dir, NULL) == 0 && rename(path, rej) == 0) {
                mo_log_warn("plugins", "%s: the service refused %s for good; moved to %s", pl->name,
                            e[i].fname, rej);
                done[i] = 1;
            } else {
                mo_log_warn("plugins", "%s: flush of %s failed (%d); kept in the spool", pl->name,
                            path, frc);
                n_left++;
            }
        }
    }
    if (!all)
        forget_done(pl, done, n);
out:
    free(done);
    free_entries(e, n);
    if (delivered)
        *delivered = n_ok;
    if (left)
        *left = n_left;
    if (stalled)
        *stalled = stop;
}

/* ---- plugins flush ------------------------------------------------------------------------ */

typedef struct {
    int delivered, left;
} flush_call_t;

static void flush_on_worker(mo_plugins_t *p, void *arg)
{
    flush_call_t *c = arg;
    for (size_t i = 0; i < p->n; i++) {
        int d = 0, l = 0;
        mo_plugins_spool_flush(&p->pl[i], 1, &d, &l, NULL);
        c->delivered += d;
        c->left += l;
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Deliver one plugin's spool: load it with its config, init, flush, fini. */
static int flush_one(const char *run_dir, const char *name, const mo_plugin_request_t *req,
                     size_t n, flush_call_t *c, mo_error_t *err)
{
    mo_plugin_request_t r = {name, NULL, 0};
    for (size_t i = 0; req && i < n; i++)
        if (req[i].name && !strcmp(req[i].name, name))
            r = req[i];
    mo_plugins_opts_t opts = {0, 1, run_dir, 0};
    mo_plugins_t *p = NULL;
    int rc = mo_plugins_open(&p, &r, 1, &opts, err);
    if (rc)
        return rc;
    rc = mo_plugins_call(p, flush_on_worker, c);
    mo_plugins_close(p);
    return rc ? mo_errorf(err, rc, "out of memory") : 0;
}

int mo_plugins_flush_dir(const char *run_dir, const mo_plugin_request_t *req, size_t n,
                         int *delivered, int *left, mo_error_t *err)
{
    flush_call_t total = {0, 0};
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    char *spool = NULL;
    int rc = 0;
    struct stat st;
    DIR *d = NULL;
    if (!run_dir || !*run_dir) {
        rc = mo_errorf(err, MO_EINVAL, "plugins flush: no run folder given");
        goto out;
    }
    if (stat(run_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = mo_errorf(err, MO_ENOTFOUND, "%s: no such run folder", run_dir);
        goto out;
    }
    mo_buf_t b = {0};
    mo_buf_printf(&b, "%s/spool", run_dir);
    spool = mo_buf_steal(&b);
    if (!spool) {
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        goto out;
    }
    d = opendir(spool);
    if (!d) {
        if (errno != ENOENT)
            rc = mo_errorf(err, MO_EIO, "cannot read %s: %s", spool, strerror(errno));
        goto out; /* no spool folder: nothing was ever spooled */
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n_names == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nn = mo_reallocarray(names, nc, sizeof *nn);
            if (!nn) {
                rc = mo_errorf(err, MO_ENOMEM, "out of memory");
                goto out;
            }
            names = nn;
            cap = nc;
        }
        if (!(names[n_names] = mo_strdup(de->d_name))) {
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            goto out;
        }
        n_names++;
    }
    if (n_names)
        qsort(names, n_names, sizeof *names, cmp_name);
    for (size_t i = 0; i < n_names; i++) {
        mo_buf_t pb = {0};
        mo_buf_printf(&pb, "%s/%s", spool, names[i]);
        char *dir = mo_buf_steal(&pb);
        int waiting = mo_plugins_spool_count(dir);
        free(dir);
        if (!waiting)
            continue; /* nothing to deliver: do not even load it */
        mo_error_t e1 = {0};
        int r1 = flush_one(run_dir, names[i], req, n, &total, &e1);
        if (r1) {
            total.left += waiting;
            mo_log_warn("plugins", "%s: %d spooled payloads not delivered: %s", names[i], waiting,
                        e1.msg);
            if (!rc) {
                rc = r1;
                if (err)
                    *err = e1;
            }
        }
    }
out:
    if (d)
        closedir(d);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(spool);
    if (delivered)
        *delivered = total.delivered;
    if (left)
        *left = total.left;
    return rc;
}
