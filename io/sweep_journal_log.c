/* sweep_journal_log.c - the event log beside sweep.h5, and the writer of a running sweep
 *
 * Rewriting sweep.h5 whole costs about a millisecond at a few thousand trials (the HDF5
 * image, a new inode, a rename), which caps a fast sweep (a built-in objective) below a
 * thousand trials a second. So while saves come fast, the writer appends the events since the
 * last save to `<path>.log` as fixed-layout records instead, each with a CRC-32, and rewrites
 * sweep.h5 every COMPACT_EVERY_S, when the sweep goes idle, and at the end (then the log is
 * removed). Slow sweeps are rewritten on every save, as before, so sweep.h5 alone is current
 * for any reader that does not know the log (h5py) whenever the sweep is not racing.
 *
 * Crash safety: a record reaches the log with write() before the caller acts on the event, so
 * a killed process loses nothing; a durable save fdatasyncs the log, so a power cut loses at
 * most what the caller's fsync cadence allows, and a torn record can only be the last one (its
 * length or CRC then fails and the replay stops there). A rewrite goes through
 * mo_io_write_atomic_ex first and the log is truncated after, so a crash between the two
 * leaves records that sweep.h5 already holds: the replay skips records with seq <= the file's.
 *
 * Record (little-endian): u32 magic "SJLR", u32 body length, u32 CRC-32 (zlib's) of the body;
 * body: u8 event, i64 seq (the journal's seq after the event), then per event
 *   add      i64 number, i32 group, f64 start_time, f64 x[dim], str artifact, str text[dim]
 *   report   i64 number, i64 step, f64 value
 *   end      i64 number, i32 status, f64 objective, f64 duration, str error
 *   restart  i64 number, i32 group, f64 start_time
 *   status   str status
 * where str is u32 length + UTF-8 bytes (no NUL). docs/formats.md "Sweep journal" has it too.
 */
#include "io/sweep_journal.h"

#include "core/alloc.h"
#include "core/fault.h"
#include "core/time.h"
#include "io/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MAGIC 0x524c4a53u /* "SJLR" */
#define HEADER 12
/* Saves count as fast when FAST_SAVES of them fall within FAST_WINDOW_S (> 160 a second). */
#define FAST_SAVES 16
#define FAST_WINDOW_S 0.1
#define COMPACT_EVERY_S 0.5

/* ---- CRC-32 (the zlib/PNG polynomial, reflected) --------------------------------------------- */

static uint32_t crc_table[256];

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    if (!crc_table[1]) /* filled once; a second filler writes the same values */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ---- encoding -------------------------------------------------------------------------------- */

static void put(mo_buf_t *b, const void *p, size_t n)
{
    if (n)
        mo_buf_append(b, p, n);
}

static void put_u64(mo_buf_t *b, uint64_t v, int bytes)
{
    unsigned char c[8];
    for (int i = 0; i < bytes; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    put(b, c, (size_t)bytes);
}

static void put_i64(mo_buf_t *b, int64_t v)
{
    put_u64(b, (uint64_t)v, 8);
}

static void put_i32(mo_buf_t *b, int32_t v)
{
    put_u64(b, (uint32_t)v, 4);
}

static void put_f64(mo_buf_t *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_u64(b, u, 8);
}

static void put_str(mo_buf_t *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_u64(b, (uint32_t)n, 4);
    put(b, s, n);
}

static void store_u32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(unsigned char)(v >> (8 * i));
}

void mo_sj_log_note(mo_sweep_journal_t *j, int type, long i)
{
    mo_buf_t *b = &j->log;
    size_t start = b->len;
    unsigned char ev = (unsigned char)type;
    put(b, "\0\0\0\0\0\0\0\0\0\0\0\0", HEADER);
    put(b, &ev, 1);
    put_i64(b, j->seq);
    const mo_sj_trial_t *t = i >= 0 ? &j->trials[i] : NULL;
    const mo_sj_report_t *r = j->n_reports ? &j->reports[j->n_reports - 1] : NULL;
    switch (type) {
    case MO_SJ_EV_ADD:
        put_i64(b, t->number);
        put_i32(b, t->group);
        put_f64(b, t->start_time);
        for (size_t k = 0; k < j->dim; k++)
            put_f64(b, t->x[k]);
        put_str(b, t->artifact);
        for (size_t k = 0; k < j->dim; k++)
            put_str(b, t->text[k]);
        break;
    case MO_SJ_EV_REPORT:
        put_i64(b, r->trial);
        put_i64(b, r->step);
        put_f64(b, r->value);
        break;
    case MO_SJ_EV_END:
        put_i64(b, t->number);
        put_i32(b, t->status);
        put_f64(b, t->objective);
        put_f64(b, t->duration);
        put_str(b, t->error);
        break;
    case MO_SJ_EV_RESTART:
        put_i64(b, t->number);
        put_i32(b, t->group);
        put_f64(b, t->start_time);
        break;
    default:
        put_str(b, j->status);
    }
    if (b->failed) /* the writer sees it and rewrites sweep.h5 whole instead */
        return;
    size_t body = b->len - start - HEADER;
    store_u32(b->data + start, LOG_MAGIC);
    store_u32(b->data + start + 4, (uint32_t)body);
    store_u32(b->data + start + 8, crc32_of((const unsigned char *)b->data + start + HEADER, body));
}

/* ---- decoding and replay --------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t left;
    int bad;
} cursor_t;

static uint64_t get_u64(cursor_t *c, int bytes)
{
    uint64_t v = 0;
    if (c->left < (size_t)bytes) {
        c->bad = 1;
        c->left = 0;
        return 0;
    }
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | c->p[i];
    c->p += bytes;
    c->left -= (size_t)bytes;
    return v;
}

static int64_t get_i64(cursor_t *c)
{
    return (int64_t)get_u64(c, 8);
}

static int32_t get_i32(cursor_t *c)
{
    return (int32_t)(uint32_t)get_u64(c, 4);
}

static double get_f64(cursor_t *c)
{
    uint64_t u = get_u64(c, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* A malloc'd copy of the next string (NULL when the record is short or out of memory). */
static char *get_str(cursor_t *c)
{
    size_t n = (size_t)get_u64(c, 4);
    if (c->bad || n > c->left) {
        c->bad = 1;
        return NULL;
    }
    char *s = mo_strndup((const char *)c->p, n);
    c->p += n;
    c->left -= n;
    c->bad |= !s;
    return s;
}

/* Apply one record's event (after its type and seq) to j. */
static int apply(mo_sweep_journal_t *j, int type, cursor_t *c, mo_error_t *err)
{
    int rc = 0;
    if (type == MO_SJ_EV_ADD) {
        int64_t number = get_i64(c);
        int32_t group = get_i32(c);
        double start = get_f64(c), *x = mo_calloc(j->dim ? j->dim : 1, sizeof *x);
        char **text = mo_calloc(j->dim ? j->dim : 1, sizeof *text), *artifact = NULL;
        c->bad |= !x || !text;
        for (size_t k = 0; !c->bad && k < j->dim; k++)
            x[k] = get_f64(c);
        if (!c->bad)
            artifact = get_str(c);
        for (size_t k = 0; !c->bad && k < j->dim; k++)
            text[k] = get_str(c);
        if (!c->bad && mo_sj_add_trial(j, number, group, x, (const char *const *)text, start,
                                       artifact, err) < 0)
            rc = MO_EFORMAT;
        for (size_t k = 0; text && k < j->dim; k++)
            free(text[k]);
        free(text);
        free(x);
        free(artifact);
    } else if (type == MO_SJ_EV_REPORT) {
        int64_t number = get_i64(c), step = get_i64(c);
        double value = get_f64(c);
        rc = !c->bad && mo_sj_report(j, number, step, value, err) ? MO_EFORMAT : 0;
    } else if (type == MO_SJ_EV_END) {
        int64_t number = get_i64(c);
        int32_t status = get_i32(c);
        double objective = get_f64(c), duration = get_f64(c);
        char *error = get_str(c);
        if (!c->bad && mo_sj_end_trial(j, number, status, objective, duration, error, err))
            rc = MO_EFORMAT;
        free(error);
    } else if (type == MO_SJ_EV_RESTART) {
        int64_t number = get_i64(c);
        int32_t group = get_i32(c);
        double start = get_f64(c);
        rc = !c->bad && mo_sj_restart_trial(j, number, group, start, err) ? MO_EFORMAT : 0;
    } else if (type == MO_SJ_EV_STATUS) {
        char *status = get_str(c);
        rc = !c->bad && mo_sj_set_status(j, status, err) ? MO_EFORMAT : 0;
        free(status);
    } else {
        c->bad = 1;
    }
    if (!rc && (c->bad || c->left))
        rc = mo_errorf(err, MO_EFORMAT, "record of event %d has the wrong length", type);
    return rc;
}

/* The whole file in a malloc'd buffer; *data NULL and 0 returned when there is none. */
static int slurp(unsigned char **data, size_t *len, const char *path, mo_error_t *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : mo_errorf(err, MO_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !(*data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)))
        rc = mo_errorf(err, MO_EIO, "%s: cannot read it", path);
    while (!rc && *len < (size_t)st.st_size) {
        ssize_t n = read(fd, *data + *len, (size_t)st.st_size - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* shorter than at fstat: a log being truncated, read what is there */
        *len += (size_t)n;
    }
    close(fd);
    return rc;
}

/* Like mo_sj_log_replay; *gap set when the log starts past j (it was compacted after j was
 * read: the caller reads sweep.h5 again). */
static int replay(mo_sweep_journal_t *j, const char *log_path, int *gap, mo_error_t *err)
{
    unsigned char *data;
    size_t len, at = 0;
    *gap = 0;
    int rc = slurp(&data, &len, log_path, err);
    while (!rc && len - at >= HEADER) {
        cursor_t h = {data + at, HEADER, 0};
        uint32_t magic = (uint32_t)get_u64(&h, 4), body = (uint32_t)get_u64(&h, 4);
        uint32_t crc = (uint32_t)get_u64(&h, 4);
        if (magic != LOG_MAGIC || body < 9 || body > len - at - HEADER ||
            crc32_of(data + at + HEADER, body) != crc)
            break; /* a torn last record (or nothing that is ours): the log ends here */
        cursor_t c = {data + at + HEADER, body, 0};
        int type = (int)get_u64(&c, 1);
        int64_t seq = get_i64(&c);
        at += HEADER + body;
        if (seq <= j->seq)
            continue; /* sweep.h5 was rewritten after this record */
        if (seq != j->seq + 1) {
            *gap = 1;
            rc = mo_errorf(err, MO_EFORMAT, "%s: record %lld follows event %lld", log_path,
                           (long long)seq, (long long)j->seq);
            break;
        }
        mo_error_t e = {0};
        if (apply(j, type, &c, &e) || j->seq != seq)
            rc = mo_errorf(err, MO_EFORMAT, "%s: event %lld does not apply: %s", log_path,
                           (long long)seq, e.msg[0] ? e.msg : "its number is off");
    }
    free(data);
    return rc;
}

int mo_sj_log_replay(mo_sweep_journal_t *j, const char *log_path, mo_error_t *err)
{
    int gap;
    if (!j || !log_path || !*log_path)
        return mo_errorf(err, MO_EINVAL, "mo_sj_log_replay: bad arguments");
    return replay(j, log_path, &gap, err);
}

int mo_sj_read(mo_sweep_journal_t *j, const char *path, mo_error_t *err)
{
    int rc, gap = 0;
    mo_buf_t log = {0};
    if (!j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_read: NULL journal");
    if (path && mo_buf_printf(&log, "%s.log", path))
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    /* A sweep compacting between our two reads: read both again (a few times at most). */
    for (int attempt = 0; attempt < 5; attempt++) {
        gap = 0;
        rc = mo_sj_read_snapshot(j, path, err);
        if (!rc && (rc = replay(j, log.data, &gap, err)))
            mo_sj_free(j);
        if (!gap)
            break;
    }
    mo_buf_free(&log);
    return rc;
}

/* ---- the writer ------------------------------------------------------------------------------ */

struct mo_sj_writer {
    char *path;
    mo_buf_t log_path;
    int fd;           /* the log, open for appending; -1 until the first append */
    size_t log_bytes; /* in the log since the last rewrite */
    int rewritten;    /* sweep.h5 written at least once by this writer */
    double last_rewrite;
    double fast_window_s, compact_every_s; /* FAST_WINDOW_S, COMPACT_EVERY_S unless tuned */
    double saves[FAST_SAVES];              /* mo_time_mono of the last saves, a ring */
    int64_t n_saves, rewrites, appends;
};

int mo_sj_writer_create(mo_sj_writer_t **out, mo_sweep_journal_t *j, const char *path,
                        mo_error_t *err)
{
    if (out)
        *out = NULL;
    if (!out || !j || !path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_sj_writer_create: bad arguments");
    mo_sj_writer_t *w = mo_calloc(1, sizeof *w);
    if (!w || !(w->path = mo_strdup(path)) || mo_buf_printf(&w->log_path, "%s.log", path)) {
        mo_sj_writer_destroy(w);
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    w->fd = -1;
    w->fast_window_s = FAST_WINDOW_S;
    w->compact_every_s = COMPACT_EVERY_S;
    j->log_on = 1;
    j->log.len = 0;
    j->log.failed = 0;
    *out = w;
    return 0;
}

void mo_sj_writer_destroy(mo_sj_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    mo_buf_free(&w->log_path);
    free(w);
}

void mo_sj_writer_tune(mo_sj_writer_t *w, double fast_window_s, double compact_every_s)
{
    if (!w)
        return;
    w->fast_window_s = fast_window_s > 0 ? fast_window_s : FAST_WINDOW_S;
    w->compact_every_s = compact_every_s > 0 ? compact_every_s : COMPACT_EVERY_S;
}

void mo_sj_writer_counts(const mo_sj_writer_t *w, int64_t *rewrites, int64_t *appends)
{
    *rewrites = w ? w->rewrites : 0;
    *appends = w ? w->appends : 0;
}

static void sync_folder_of(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* sweep.h5 whole; then the log holds nothing sweep.h5 lacks and is emptied. */
static int rewrite(mo_sj_writer_t *w, mo_sweep_journal_t *j, int durable, mo_error_t *err)
{
    int rc = mo_sj_write_ex(j, w->path, durable, err);
    if (rc)
        return rc;
    w->rewrites++;
    w->rewritten = 1;
    w->last_rewrite = mo_time_mono();
    j->log.len = 0;
    j->log.failed = 0;
    if (w->fd < 0)
        unlink(w->log_path.data); /* a log of an earlier run, replayed into j already */
    else if (w->log_bytes && ftruncate(w->fd, 0) != 0)
        return mo_errorf(err, MO_EIO, "cannot empty %s: %s", w->log_path.data, strerror(errno));
    w->log_bytes = 0;
    return 0;
}

static int append(mo_sj_writer_t *w, mo_sweep_journal_t *j, int durable, mo_error_t *err)
{
    if (w->fd < 0) {
        w->fd = open(w->log_path.data, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (w->fd < 0)
            return mo_errorf(err, MO_EIO, "cannot create %s: %s", w->log_path.data,
                             strerror(errno));
        sync_folder_of(w->log_path.data); /* the log's name, for the records fsync'd later */
    }
    size_t len = j->log.len;
    int torn = mo_fault_due("sweep_log"); /* a crash in the middle of the last record's write */
    if (torn)
        len = len > 5 ? len - 5 : len / 2;
    for (size_t done = 0; done < len;) {
        ssize_t n = write(w->fd, j->log.data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return mo_errorf(err, MO_EIO, "cannot append to %s: %s", w->log_path.data,
                             strerror(errno));
        done += (size_t)n;
    }
    if (torn) {
        fdatasync(w->fd);
        mo_fault_kill("sweep_log");
    }
    if (durable && fdatasync(w->fd) != 0)
        return mo_errorf(err, MO_EIO, "cannot flush %s: %s", w->log_path.data, strerror(errno));
    w->log_bytes += j->log.len;
    w->appends++;
    j->log.len = 0;
    return 0;
}

int mo_sj_writer_save(mo_sj_writer_t *w, mo_sweep_journal_t *j, int durable, mo_error_t *err)
{
    if (!w || !j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_writer_save: bad arguments");
    double now = mo_time_mono();
    /* The save FAST_SAVES back is the oldest in the ring, in the slot this one takes. */
    double *slot = &w->saves[w->n_saves % FAST_SAVES];
    int fast = w->n_saves >= FAST_SAVES && now - *slot < w->fast_window_s;
    *slot = now;
    w->n_saves++;
    if (!j->log.len && w->rewritten)
        return durable && w->fd >= 0 && fdatasync(w->fd) != 0
                   ? mo_errorf(err, MO_EIO, "cannot flush %s: %s", w->log_path.data,
                               strerror(errno))
                   : 0;
    if (!w->rewritten || !fast || j->log.failed || now - w->last_rewrite >= w->compact_every_s)
        return rewrite(w, j, durable, err);
    mo_error_t e = {0};
    int rc = append(w, j, durable, &e);
    /* A log that cannot take the records (disk full, say): the whole file may still fit. */
    return rc ? rewrite(w, j, durable, err) : 0;
}

int mo_sj_writer_idle(mo_sj_writer_t *w, mo_sweep_journal_t *j, mo_error_t *err)
{
    if (!w || !j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_writer_idle: bad arguments");
    if (!w->log_bytes && !j->log.len && w->rewritten)
        return 0;
    return rewrite(w, j, 0, err);
}

int mo_sj_writer_finish(mo_sj_writer_t *w, mo_sweep_journal_t *j, mo_error_t *err)
{
    if (!w || !j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_writer_finish: bad arguments");
    int rc = rewrite(w, j, 1, err);
    if (!rc && w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
        unlink(w->log_path.data);
    }
    return rc;
}
