/* events_synth.c - synthetic event tables and labels (io/events_synth.h)
 *
 * Randomness: Philox blocks of (seed, stream), called directly rather than through mo_rng_t
 * because a row reads a fixed set of blocks (3 per event row, 1 per label row) and nothing
 * else, and skipping the per-word bookkeeping keeps 10M rows near a second. The streams are
 * sub-streams of MO_RNG_STREAM_SYNTH (the purpose number in the low 32 bits, the table part
 * above, as io/synth.c packs its model stream), so `data events` and `data synth` never share
 * draws and core/rng.h needs no new purpose:
 *   ROW_STREAM    event row i: blocks 3i (entity, time), 3i+1 (repeat, created, missing,
 *                 qty), 3i+2 (the normal behind amount; read only when the amount is present);
 *   LABEL_STREAM  label row j: block j;
 *   PARAM_STREAM  the offsets of the two entity bijections, drawn once.
 * Writing goes block by block (BLOCK_ROWS rows): generate the columns, then either format
 * them into one text buffer and fwrite it, or write each column's hyperslab into the HDF5
 * datasets; never a call per row into stdio or HDF5.
 */
#include "io/events_synth.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "core/str.h"
#include "io/h5.h"
#include "io/timestamp.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROW_STREAM ((uint64_t)MO_RNG_STREAM_SYNTH | ((uint64_t)2 << 32))
#define LABEL_STREAM ((uint64_t)MO_RNG_STREAM_SYNTH | ((uint64_t)3 << 32))
#define PARAM_STREAM ((uint64_t)MO_RNG_STREAM_SYNTH | ((uint64_t)4 << 32))
#define BLOCKS_PER_ROW 3
#define BLOCK_ROWS ((int64_t)1 << 18)
#define MS_PER_DAY INT64_C(86400000)
/* 2^32 * p for the per-row coin flips. */
#define P_REPEAT 128849019u        /* 3%: the row repeats the entity and time of the one before */
#define P_MISSING 42949673u        /* 1%: amount missing */
#define P_SAME_CREATED 1073741824u /* 25%: created_ts == event_ts */
#define MAX_DELAY_MS 3000

typedef struct {
    mo_events_synth_opts_t o;
    uint32_t key[2];
    int64_t start_ms, span_s;
    uint64_t step1, off1; /* activity rank -> entity number: (off1 + r * step1) mod K */
    uint64_t step2, off2; /* label row -> activity rank: (off2 + j * step2) mod K */
    int width;            /* digits of the key */
} gen_t;

static void block(const gen_t *g, uint64_t stream, uint64_t blk, uint32_t out[4])
{
    uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), (uint32_t)stream,
                       (uint32_t)(stream >> 32)};
    mo_philox4x32_10(ctr, g->key, out);
}

static double uniform53(uint32_t hi, uint32_t lo)
{
    return (double)((((uint64_t)hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A step coprime with k near k * frac: multiples of it visit every residue once and spread
 * neighbours far apart (frac irrational). */
static uint64_t coprime_step(uint64_t k, double frac)
{
    uint64_t s = (uint64_t)((double)k * frac);
    s = s ? s : 1;
    while (gcd(s, k) != 1)
        s++;
    return s;
}

int mo_events_synth_check(const mo_events_synth_opts_t *o, mo_error_t *err)
{
    if (!o)
        return mo_errorf(err, MO_EINVAL, "data events: no options");
    if (o->events < 1)
        return mo_errorf(err, MO_EINVAL, "--events must be >= 1, got %lld", (long long)o->events);
    if (o->entities < 1 || o->entities > MO_EVENTS_SYNTH_MAX_ENTITIES)
        return mo_errorf(err, MO_EINVAL, "--entities must be in 1..%lld, got %lld",
                         (long long)MO_EVENTS_SYNTH_MAX_ENTITIES, (long long)o->entities);
    if (o->days < 1 || o->days > 1000000)
        return mo_errorf(err, MO_EINVAL, "--days must be in 1..1000000, got %lld",
                         (long long)o->days);
    if (o->start_us < 0 || o->start_us % 1000)
        return mo_errorf(err, MO_EINVAL,
                         "--start must be a whole millisecond in 1970 or later, got %lld us",
                         (long long)o->start_us);
    if (o->start_us > MO_TS_MAX_US - o->days * MS_PER_DAY * 1000)
        return mo_errorf(err, MO_EINVAL, "--start plus --days %lld ends after the year 9999",
                         (long long)o->days);
    if (o->labels < 0)
        return mo_errorf(err, MO_EINVAL, "--labels must be >= 0, got %lld", (long long)o->labels);
    if (o->events > INT64_MAX / BLOCKS_PER_ROW)
        return mo_errorf(err, MO_EINVAL, "--events is too large, got %lld", (long long)o->events);
    return 0;
}

static int gen_init(gen_t *g, const mo_events_synth_opts_t *o, mo_error_t *err)
{
    int rc = mo_events_synth_check(o, err);
    if (rc)
        return rc;
    memset(g, 0, sizeof *g);
    g->o = *o;
    g->key[0] = (uint32_t)o->seed;
    g->key[1] = (uint32_t)(o->seed >> 32);
    g->start_ms = o->start_us / 1000;
    g->span_s = o->days * 86400;
    uint64_t k = (uint64_t)o->entities;
    mo_rng_t r;
    mo_rng_init(&r, o->seed, PARAM_STREAM, 0);
    g->off1 = mo_rng_below(&r, k);
    g->off2 = mo_rng_below(&r, k);
    g->step1 = coprime_step(k, 0.6180339887498949);
    g->step2 = coprime_step(k, 0.4142135623730950);
    g->width = 7;
    for (int64_t v = (o->entities - 1) / 10000000; v; v /= 10)
        g->width++;
    return 0;
}

/* Entity number of activity rank r: r, step < K <= 1e9, so the product fits in 64 bits. */
static int64_t entity_of_rank(const gen_t *g, uint64_t r)
{
    return (int64_t)((g->off1 + r * g->step1) % (uint64_t)g->o.entities);
}

static size_t key_of(const gen_t *g, char *buf, int64_t e)
{
    buf[0] = 'c';
    for (int i = g->width; i >= 1; i--, e /= 10)
        buf[i] = (char)('0' + e % 10);
    buf[g->width + 1] = '\0';
    return (size_t)g->width + 1;
}

size_t mo_events_synth_key(char *buf, const mo_events_synth_opts_t *opts, int64_t e)
{
    gen_t g = {.width = 7};
    for (int64_t v = opts && opts->entities > 0 ? (opts->entities - 1) / 10000000 : 0; v; v /= 10)
        g.width++;
    return key_of(&g, buf, e < 0 ? 0 : e);
}

/* The entity and event time row i would have if it did not repeat the row before. */
static void base_row(const gen_t *g, int64_t i, int64_t *entity, int64_t *ts_ms)
{
    uint32_t w[4];
    block(g, ROW_STREAM, (uint64_t)i * BLOCKS_PER_ROW, w);
    double u = uniform53(w[0], w[1]);
    uint64_t k = (uint64_t)g->o.entities, r = (uint64_t)((double)k * u * u);
    *entity = entity_of_rank(g, r < k ? r : k - 1);
    *ts_ms = g->start_ms + (int64_t)(uniform53(w[2], w[3]) * (double)g->span_s) * 1000;
}

static int repeats(const gen_t *g, int64_t i)
{
    uint32_t w[4];
    block(g, ROW_STREAM, (uint64_t)i * BLOCKS_PER_ROW + 1, w);
    return i > 0 && w[0] < P_REPEAT;
}

static void gen_rows(const gen_t *g, int64_t row0, int64_t n, const mo_events_synth_cols_t *c)
{
    int64_t ent = 0, ts = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = row0 + k;
        uint32_t w[4];
        block(g, ROW_STREAM, (uint64_t)i * BLOCKS_PER_ROW + 1, w);
        if (i > 0 && w[0] < P_REPEAT) {
            if (k == 0) { /* the run of repeats began before this call: find its first row */
                int64_t lead = i - 1;
                while (repeats(g, lead))
                    lead--;
                base_row(g, lead, &ent, &ts);
            } /* else: ent and ts are still the row before's */
        } else {
            base_row(g, i, &ent, &ts);
        }
        c->entity[k] = ent;
        c->event_ms[k] = ts;
        c->created_ms[k] = ts + (w[1] < P_SAME_CREATED ? 0 : 1 + (int64_t)(w[1] % MAX_DELAY_MS));
        if (w[2] < P_MISSING) {
            c->amount[k] = NAN;
        } else {
            uint32_t z[4];
            block(g, ROW_STREAM, (uint64_t)i * BLOCKS_PER_ROW + 2, z);
            double u1 = uniform53(z[0], z[1]), u2 = uniform53(z[2], z[3]);
            double normal = sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
            /* Whole cents: c / 100.0 is the double that "c/100" in decimal text reads as. */
            c->amount[k] = (double)llround(100.0 * exp(3.5 + 0.9 * normal)) / 100.0;
        }
        int q = 1;
        for (uint32_t bits = w[3]; q < 9 && (bits & 1); bits >>= 1)
            q++;
        c->qty[k] = q;
    }
}

static int range_ok(int64_t row0, int64_t n, int64_t total, const char *what, mo_error_t *err)
{
    if (row0 < 0 || n < 0 || row0 > total || n > total - row0)
        return mo_errorf(err, MO_EINVAL, "data events: %s rows %lld..%lld are outside 0..%lld",
                         what, (long long)row0, (long long)(row0 + n), (long long)total);
    return 0;
}

int mo_events_synth_rows(const mo_events_synth_opts_t *opts, int64_t row0, int64_t n,
                         const mo_events_synth_cols_t *cols, mo_error_t *err)
{
    gen_t g;
    int rc = gen_init(&g, opts, err);
    if (!rc)
        rc = range_ok(row0, n, opts->events, "event", err);
    if (!rc && n &&
        (!cols || !cols->entity || !cols->event_ms || !cols->created_ms || !cols->amount ||
         !cols->qty))
        rc = mo_errorf(err, MO_EINVAL, "data events: NULL column");
    if (!rc)
        gen_rows(&g, row0, n, cols);
    return rc;
}

static void gen_labels(const gen_t *g, int64_t row0, int64_t n, int64_t *entity, int64_t *ts,
                       uint8_t *churn)
{
    uint64_t k = (uint64_t)g->o.entities;
    for (int64_t j = 0; j < n; j++) {
        uint64_t row = (uint64_t)(row0 + j);
        uint32_t w[4];
        block(g, LABEL_STREAM, row, w);
        /* (off2 + row * step2) mod K without overflow: row mod K first. */
        uint64_t r = (g->off2 + (row % k) * g->step2) % k;
        entity[j] = entity_of_rank(g, r);
        ts[j] = g->start_ms + (int64_t)(uniform53(w[0], w[1]) * (double)g->span_s) * 1000;
        double p = 0.05 + 0.55 * (double)r / (double)k;
        churn[j] = (double)w[2] * (1.0 / 4294967296.0) < p;
    }
}

int mo_events_synth_labels(const mo_events_synth_opts_t *opts, int64_t row0, int64_t n,
                           int64_t *entity, int64_t *ts_ms, uint8_t *churn, mo_error_t *err)
{
    gen_t g;
    int rc = gen_init(&g, opts, err);
    if (!rc)
        rc = range_ok(row0, n, opts->labels, "label", err);
    if (!rc && n && (!entity || !ts_ms || !churn))
        rc = mo_errorf(err, MO_EINVAL, "data events: NULL column");
    if (!rc)
        gen_labels(&g, row0, n, entity, ts_ms, churn);
    return rc;
}

/* ---- files ------------------------------------------------------------------------------- */

typedef enum { OUT_CSV, OUT_H5 } out_kind_t;

static int out_kind(const char *path, out_kind_t *kind, mo_error_t *err)
{
    size_t n = path ? strlen(path) : 0;
    if (n > 4 && !strcmp(path + n - 4, ".csv"))
        *kind = OUT_CSV;
    else if ((n > 3 && !strcmp(path + n - 3, ".h5")) || (n > 5 && !strcmp(path + n - 5, ".hdf5")))
        *kind = OUT_H5;
    else
        return mo_errorf(err, MO_EINVAL, "%s: the file name must end in .csv, .h5 or .hdf5",
                         path && *path ? path : "(none)");
    return 0;
}

/* A text file written through `<path>.tmp.<pid>`: the rows go out a block at a time, so the
 * whole table never sits in memory (mo_io_write_atomic takes one buffer). */
typedef struct {
    const char *path;
    char tmp[4096];
    FILE *f;
} text_out_t;

static int text_open(text_out_t *t, const char *path, mo_error_t *err)
{
    t->path = path;
    t->f = NULL;
    if ((size_t)snprintf(t->tmp, sizeof t->tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        sizeof t->tmp)
        return mo_errorf(err, MO_EINVAL, "%s: path too long", path);
    if (!(t->f = fopen(t->tmp, "wb")))
        return mo_errorf(err, MO_EIO, "%s: cannot create %s: %s", path, t->tmp, strerror(errno));
    return 0;
}

static int text_write(text_out_t *t, const char *buf, size_t len, mo_error_t *err)
{
    if (fwrite(buf, 1, len, t->f) != len)
        return mo_errorf(err, MO_EIO, "%s: cannot write %s: %s", t->path, t->tmp, strerror(errno));
    return 0;
}

/* ok: flush, fsync, rename into place and fsync the folder; else (or on failure) remove. */
static int text_close(text_out_t *t, int ok, mo_error_t *err)
{
    int rc = 0;
    if (!t->f)
        return 0;
    if (ok && (fflush(t->f) != 0 || fsync(fileno(t->f)) != 0))
        rc = mo_errorf(err, MO_EIO, "%s: cannot flush %s: %s", t->path, t->tmp, strerror(errno));
    if (fclose(t->f) != 0 && ok && !rc)
        rc = mo_errorf(err, MO_EIO, "%s: cannot close %s: %s", t->path, t->tmp, strerror(errno));
    t->f = NULL;
    if (ok && !rc && rename(t->tmp, t->path) != 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot rename %s into place: %s", t->path, t->tmp,
                       strerror(errno));
    if (!ok || rc) {
        unlink(t->tmp);
        return rc;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", t->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm), for days >= 0. */
static void civil(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static char *digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* RFC 3339 UTC of epoch milliseconds ms >= 0: "2026-11-01T10:00:00Z", ".mmm" when there are
 * milliseconds (what mo_ts_parse reads back to the same instant). snprintf per cell would
 * dominate a 10M-row table, hence by hand. */
static char *put_ts(char *p, int64_t ms)
{
    int64_t y, s = ms / 1000 % 86400;
    int m, d;
    civil(ms / MS_PER_DAY, &y, &m, &d);
    p = digits(p, y, 4);
    *p++ = '-';
    p = digits(p, m, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    *p++ = 'T';
    p = digits(p, s / 3600, 2);
    *p++ = ':';
    p = digits(p, s / 60 % 60, 2);
    *p++ = ':';
    p = digits(p, s % 60, 2);
    if (ms % 1000) {
        *p++ = '.';
        p = digits(p, ms % 1000, 3);
    }
    *p++ = 'Z';
    return p;
}

static char *put_uint(char *p, int64_t v)
{
    char t[24];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    while (n)
        *p++ = t[--n];
    return p;
}

/* Longest CSV row: key, two timestamps of 24, an amount below 1e15 with cents, qty, commas. */
#define CSV_ROW_MAX (MO_EVENTS_SYNTH_KEY_MAX + 2 * 24 + 20 + 2 + 6)

static size_t csv_rows(const gen_t *g, const mo_events_synth_cols_t *c, int64_t n, char *buf)
{
    char *p = buf;
    for (int64_t k = 0; k < n; k++) {
        p += key_of(g, p, c->entity[k]);
        *p++ = ',';
        p = put_ts(p, c->event_ms[k]);
        *p++ = ',';
        p = put_ts(p, c->created_ms[k]);
        *p++ = ',';
        if (!isnan(c->amount[k])) {
            int64_t cents = llround(c->amount[k] * 100.0);
            p = put_uint(p, cents / 100);
            *p++ = '.';
            p = digits(p, cents % 100, 2);
        }
        *p++ = ',';
        p = put_uint(p, (int64_t)c->qty[k]);
        *p++ = '\n';
    }
    return (size_t)(p - buf);
}

typedef struct {
    hid_t file, ds[5], str_type;
    char *tmp;
} h5_out_t;

static int h5_open(h5_out_t *h, const char *path, const char *const *names, const hid_t *types,
                   int n, int64_t rows, mo_error_t *err)
{
    int rc = mo_h5_create_tmp(&h->file, &h->tmp, path, err);
    for (int j = 0; !rc && j < n; j++)
        rc = mo_h5_dataset_create(&h->ds[j], h->file, names[j], types[j], 1, &rows, err);
    return rc;
}

static void h5_close_sets(h5_out_t *h)
{
    for (int j = 0; j < 5; j++)
        if (h->ds[j] >= 0) {
            H5Dclose(h->ds[j]);
            h->ds[j] = H5I_INVALID_HID;
        }
    if (h->str_type >= 0)
        H5Tclose(h->str_type);
    h->str_type = H5I_INVALID_HID;
}

/* Fixed-length ASCII strings of `size` bytes, NUL-padded: what the feature store writes for
 * keys, read without per-string allocations. */
static hid_t fixed_string(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

static int write_events(const gen_t *g, const char *path, out_kind_t kind,
                        mo_events_synth_progress_fn progress, void *ud, mo_error_t *err)
{
    int rc = 0;
    int64_t total = g->o.events, blk = total < BLOCK_ROWS ? total : BLOCK_ROWS;
    size_t ksize = (size_t)g->width + 1;
    text_out_t t = {0};
    h5_out_t h = {
        H5I_INVALID_HID,
        {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID},
        H5I_INVALID_HID,
        NULL};
    mo_events_synth_cols_t c = {
        mo_mallocarray((size_t)blk, sizeof(int64_t)), mo_mallocarray((size_t)blk, sizeof(int64_t)),
        mo_mallocarray((size_t)blk, sizeof(int64_t)), mo_mallocarray((size_t)blk, sizeof(double)),
        mo_mallocarray((size_t)blk, sizeof(double))};
    char *buf = mo_mallocarray((size_t)blk, kind == OUT_CSV ? CSV_ROW_MAX : ksize + 1);
    if (!c.entity || !c.event_ms || !c.created_ms || !c.amount || !c.qty || !buf) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (kind == OUT_CSV) {
        static const char header[] = "customer_id,event_ts,created_ts,amount,qty\n";
        if (!(rc = text_open(&t, path, err)))
            rc = text_write(&t, header, sizeof header - 1, err);
    } else {
        static const char *const names[] = {"customer_id", "event_ts", "created_ts", "amount",
                                            "qty"};
        h.str_type = fixed_string(ksize);
        hid_t types[] = {h.str_type, H5T_STD_I64LE, H5T_STD_I64LE, H5T_IEEE_F64LE, H5T_IEEE_F64LE};
        rc = h.str_type < 0 ? mo_errorf(err, MO_EIO, "%s: cannot set up a string type", path)
                            : h5_open(&h, path, names, types, 5, total, err);
    }
    for (int64_t r = 0; !rc && r < total; r += blk) {
        int64_t n = total - r < blk ? total - r : blk;
        gen_rows(g, r, n, &c);
        if (kind == OUT_CSV) {
            rc = text_write(&t, buf, csv_rows(g, &c, n, buf), err);
        } else {
            for (int64_t k = 0; k < n; k++) {
                char key[MO_EVENTS_SYNTH_KEY_MAX];
                key_of(g, key, c.entity[k]);
                memcpy(buf + (size_t)k * ksize, key, ksize);
            }
            if (!(rc = mo_h5_write_rows(h.ds[0], h.str_type, r, n, buf, err)) &&
                !(rc = mo_h5_write_rows(h.ds[1], H5T_NATIVE_INT64, r, n, c.event_ms, err)) &&
                !(rc = mo_h5_write_rows(h.ds[2], H5T_NATIVE_INT64, r, n, c.created_ms, err)) &&
                !(rc = mo_h5_write_rows(h.ds[3], H5T_NATIVE_DOUBLE, r, n, c.amount, err)))
                rc = mo_h5_write_rows(h.ds[4], H5T_NATIVE_DOUBLE, r, n, c.qty, err);
        }
        if (!rc && progress)
            progress(ud, r + n, total);
    }
out:
    if (kind == OUT_CSV) {
        int crc = text_close(&t, !rc, err);
        rc = rc ? rc : crc;
    } else {
        h5_close_sets(&h);
        if (!rc)
            rc = mo_h5_commit(&h.file, &h.tmp, path, err);
        mo_h5_abort(&h.file, &h.tmp);
    }
    free(c.entity);
    free(c.event_ms);
    free(c.created_ms);
    free(c.amount);
    free(c.qty);
    free(buf);
    return rc;
}

int mo_events_synth_write(const char *path, const mo_events_synth_opts_t *opts,
                          mo_events_synth_progress_fn progress, void *ud, mo_error_t *err)
{
    gen_t g;
    out_kind_t kind;
    int rc = out_kind(path, &kind, err);
    if (!rc)
        rc = gen_init(&g, opts, err);
    if (!rc)
        rc = write_events(&g, path, kind, progress, ud, err);
    return rc;
}

static int write_labels(const gen_t *g, const char *path, out_kind_t kind, int64_t *churned,
                        mo_error_t *err)
{
    int rc = 0;
    int64_t total = g->o.labels, blk = total < BLOCK_ROWS ? total : BLOCK_ROWS, yes = 0;
    size_t ksize = (size_t)g->width + 1;
    text_out_t t = {0};
    h5_out_t h = {
        H5I_INVALID_HID,
        {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID},
        H5I_INVALID_HID,
        NULL};
    hid_t label_type = H5I_INVALID_HID;
    int64_t *ent = mo_mallocarray((size_t)blk, sizeof *ent);
    int64_t *ts = mo_mallocarray((size_t)blk, sizeof *ts);
    uint8_t *churn = mo_mallocarray((size_t)blk, sizeof *churn);
    char *buf = mo_mallocarray((size_t)blk, MO_EVENTS_SYNTH_KEY_MAX + 24 + 8);
    char *lab = mo_mallocarray((size_t)blk, 5);
    if (!ent || !ts || !churn || !buf || !lab) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (kind == OUT_CSV) {
        static const char header[] = "customer_id,event_ts,label\n";
        if (!(rc = text_open(&t, path, err)))
            rc = text_write(&t, header, sizeof header - 1, err);
    } else {
        static const char *const names[] = {"customer_id", "event_ts", "label"};
        h.str_type = fixed_string(ksize);
        label_type = fixed_string(5);
        hid_t types[] = {h.str_type, H5T_STD_I64LE, label_type};
        rc = h.str_type < 0 || label_type < 0
                 ? mo_errorf(err, MO_EIO, "%s: cannot set up a string type", path)
                 : h5_open(&h, path, names, types, 3, total, err);
    }
    for (int64_t r = 0; !rc && r < total; r += blk) {
        int64_t n = total - r < blk ? total - r : blk;
        gen_labels(g, r, n, ent, ts, churn);
        char *p = buf;
        for (int64_t k = 0; k < n; k++) {
            yes += churn[k];
            if (kind == OUT_CSV) {
                p += key_of(g, p, ent[k]);
                *p++ = ',';
                p = put_ts(p, ts[k]);
                memcpy(p, churn[k] ? ",churn\n" : ",stay\n", churn[k] ? 7 : 6);
                p += churn[k] ? 7 : 6;
            } else {
                char key[MO_EVENTS_SYNTH_KEY_MAX];
                key_of(g, key, ent[k]);
                memcpy(buf + (size_t)k * ksize, key, ksize);
                memcpy(lab + k * 5, churn[k] ? "churn" : "stay\0", 5);
            }
        }
        if (kind == OUT_CSV)
            rc = text_write(&t, buf, (size_t)(p - buf), err);
        else if (!(rc = mo_h5_write_rows(h.ds[0], h.str_type, r, n, buf, err)) &&
                 !(rc = mo_h5_write_rows(h.ds[1], H5T_NATIVE_INT64, r, n, ts, err)))
            rc = mo_h5_write_rows(h.ds[2], label_type, r, n, lab, err);
    }
out:
    if (kind == OUT_CSV) {
        int crc = text_close(&t, !rc, err);
        rc = rc ? rc : crc;
    } else {
        h5_close_sets(&h);
        if (label_type >= 0)
            H5Tclose(label_type);
        if (!rc)
            rc = mo_h5_commit(&h.file, &h.tmp, path, err);
        mo_h5_abort(&h.file, &h.tmp);
    }
    if (!rc && churned)
        *churned = yes;
    free(ent);
    free(ts);
    free(churn);
    free(buf);
    free(lab);
    return rc;
}

int mo_events_synth_write_labels(const char *path, const mo_events_synth_opts_t *opts,
                                 int64_t *churned, mo_error_t *err)
{
    gen_t g;
    out_kind_t kind;
    int rc = out_kind(path, &kind, err);
    if (!rc)
        rc = gen_init(&g, opts, err);
    if (!rc && opts->labels < 1)
        rc = mo_errorf(err, MO_EINVAL, "--labels must be >= 1 to write %s, got %lld", path,
                       (long long)opts->labels);
    if (!rc)
        rc = write_labels(&g, path, kind, churned, err);
    return rc;
}
