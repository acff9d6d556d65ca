/* redis_online.c - the online store in Redis: connection, compare-and-set writes, reads
 *
 * The bytes (keys, field names, Value and Timestamp protos) come from redis_online_codec.c.
 *
 * Feast's own writer reads every _ts:<view> (HMGET) in one round trip, then sends HSETs for the
 * newer rows: two round trips and a race between them. Here each entity is one Lua script that
 * does the compare and the HSET atomically, and the scripts are pipelined in batches, so a
 * batch is one round trip. Feast compares whole seconds (it stores seconds only); we store
 * seconds and nanos, and the script decodes the stored Timestamp (a small varint reader in Lua)
 * and compares (seconds, nanos) with the row's, sent beside it as numbers: two events in the
 * same second keep their order and the hash keeps Feast's fields only, no extra one. A
 * Timestamp Feast wrote (seconds only) decodes the same way. One script per entity, not per
 * batch, so every call touches one key and would run on Redis Cluster as it is.
 *
 * Cost (Redis 7.0, loopback): ~4 µs of server time per entity (HGET + HSET + the script);
 * the server's one thread is the limit, not the client or the round trips.
 *
 * The script is loaded once per connection (SCRIPT LOAD) and called by its SHA; a server that
 * lost its script cache (restart, SCRIPT FLUSH) answers NOSCRIPT, and those entities are sent
 * again with EVAL, which also puts the script back in the cache.
 */
#include "io/redis_online.h"

#include "core/alloc.h"
#include "core/str.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* Entities per pipelined round trip: enough to hide the loopback round trip (~30 µs) behind
 * the scripts' own time, small enough that a batch's commands (~100 B each) stay in cache. */
#define BATCH 1000
/* EVALSHA sha 1 key seconds nanos _ts:<view> Timestamp, before the features' pairs */
#define ARGC0 8
#define VALUE_MAX 9 /* tag + 8-byte double */
#define TS_MAX 17   /* tag + 10-byte varint + tag + 5-byte varint */
/* Field/value pairs per HSET inside the script: Lua 5.1's unpack() is limited by its C stack
 * (8000 slots), and views may have thousands of features. */
#define LUA_HSET_CHUNK "2000"

/* KEYS[1]: the entity's hash. ARGV[1], ARGV[2]: the row's event time as decimal seconds and
 * nanos; ARGV[3] "_ts:<view>", ARGV[4] its Timestamp, then field, value pairs: ARGV[3..] is
 * one HSET's arguments. Returns 1 written, 0 skipped. Only the stored Timestamp is decoded, by
 * a varint reader without tables (the script runs once per entity: its time is the write's
 * time). Lua numbers are doubles: seconds fit exactly (|s| < 2^53), and a negative int64
 * varint (10 bytes, pre-1970 seconds) is decoded through its complement so it stays exact
 * too. A stored _ts that is not a Timestamp is overwritten, as a missing one is. */
static const char script[] =
    "local byte = string.byte\n"
    "local function ts(b)\n"
    "  local s, n, i, len = 0, 0, 1, #b\n"
    "  while i <= len do\n"
    "    local tag, v, mul, k, c = byte(b, i), 0, 1, 0, 128\n"
    "    while c > 127 do\n"
    "      k = k + 1\n"
    "      c = byte(b, i + k)\n"
    "      if not c or k > 10 then return nil end\n"
    "      v = v + c % 128 * mul\n"
    "      mul = mul * 128\n"
    "    end\n"
    "    if k == 10 then\n"
    "      if c ~= 1 then return nil end\n"
    "      v = 0\n"
    "      for j = i + 9, i + 1, -1 do v = v * 128 + 127 - byte(b, j) % 128 end\n"
    "      v = -(v + 1)\n"
    "    end\n"
    "    if tag == 8 then s = v elseif tag == 16 then n = v\n"
    "    elseif tag % 8 ~= 0 then return nil end\n"
    "    i = i + k + 1\n"
    "  end\n"
    "  return s, n\n"
    "end\n"
    "local old = redis.call('HGET', KEYS[1], ARGV[3])\n"
    "if old then\n"
    "  local os, on = ts(old)\n"
    "  local ns, nn = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "  if os and (os > ns or (os == ns and on >= nn)) then return 0 end\n"
    "end\n"
    "for i = 3, #ARGV, " LUA_HSET_CHUNK " do\n"
    "  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + " LUA_HSET_CHUNK " - 1, #ARGV)))\n"
    "end\n"
    "return 1\n";

struct mo_redis {
    redisContext *c; /* NULL after a connection failure: the next call reconnects */
    char *host, *user, *pass;
    int port;
    long db;
    double timeout_s;
    char where[300]; /* host:port, for messages */
    char sha[41];
    int down; /* the last failure was the connection or a server still loading: retryable */
};

/* ---- connection --------------------------------------------------------------------------- */

static struct timeval to_timeval(double s)
{
    struct timeval tv;
    tv.tv_sec = (time_t)s;
    tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* The context is unusable after an I/O error: report it and drop it, so the next call
 * reconnects. */
static int conn_failed(mo_redis_t *r, const char *what, mo_error_t *err)
{
    int rc;
    if (r->c && r->c->err == REDIS_ERR_IO && !strcmp(r->c->errstr, strerror(EAGAIN)))
        rc = mo_errorf(err, MO_ESERVICE, "redis %s: %s: no reply within %g s", r->where, what,
                       r->timeout_s);
    else
        rc = mo_errorf(err, MO_ESERVICE, "redis %s: %s: %s", r->where, what,
                       r->c ? r->c->errstr : "not connected");
    redisFree(r->c);
    r->c = NULL;
    r->down = 1;
    return rc;
}

/* One command and its reply; NULL (err set) on a connection failure or an error reply. */
static redisReply *command(mo_redis_t *r, int argc, const char **argv, const size_t *lens,
                           const char *what, mo_error_t *err)
{
    redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
    if (!rep) {
        conn_failed(r, what, err);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        r->down = !strncmp(rep->str, "LOADING", 7); /* a restarted server reading its data */
        mo_errorf(err, MO_ESERVICE, "redis %s: %s: %s", r->where, what, rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static int open_conn(mo_redis_t *r, mo_error_t *err)
{
    int rc = 0;
    redisReply *rep = NULL;
    struct timeval tv = to_timeval(r->timeout_s);
    r->down = 0;
    r->c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->c)
        return mo_errorf(err, MO_ENOMEM, "redis %s: out of memory", r->where);
    if (r->c->err || redisSetTimeout(r->c, tv) != REDIS_OK)
        return conn_failed(r, "cannot connect", err);
    if (r->pass) {
        /* AUTH [user] password: binary-safe argv, and the password is in no message */
        const char *argv[3] = {"AUTH", r->user ? r->user : r->pass, r->pass};
        size_t lens[3] = {4, strlen(argv[1]), strlen(r->pass)};
        if (!(rep = command(r, r->user ? 3 : 2, argv, lens, "AUTH", err)))
            goto fail;
        freeReplyObject(rep);
    }
    if (r->db != 0) {
        char db[24];
        snprintf(db, sizeof db, "%ld", r->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        if (!(rep = command(r, 2, argv, lens, "SELECT", err)))
            goto fail;
        freeReplyObject(rep);
    }
    const char *argv[3] = {"SCRIPT", "LOAD", script};
    size_t lens[3] = {6, 4, sizeof script - 1};
    if (!(rep = command(r, 3, argv, lens, "SCRIPT LOAD", err)))
        goto fail;
    if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
        rc = mo_errorf(err, MO_ESERVICE, "redis %s: SCRIPT LOAD: unexpected reply", r->where);
        freeReplyObject(rep);
        goto fail_rc;
    }
    memcpy(r->sha, rep->str, 40);
    r->sha[40] = '\0';
    freeReplyObject(rep);
    return 0;
fail:
    rc = err ? err->code : MO_ESERVICE;
fail_rc:
    redisFree(r->c);
    r->c = NULL;
    return rc;
}

static int ensure_conn(mo_redis_t *r, mo_error_t *err)
{
    return r->c ? 0 : open_conn(r, err);
}

/* ---- URLs --------------------------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX-decoded copy of s[0..n) into *out (NULL on failure); MO_EINVAL on a bad escape or a
 * %00, which the C strings the password travels in could not hold. */
static int unescape(char **out, const char *s, size_t n)
{
    char *o = malloc(n + 1), *q = o;
    *out = NULL;
    if (!o)
        return MO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *q++ = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
        if (lo < 0 || hi * 16 + lo == 0) {
            explicit_bzero(o, n + 1);
            free(o);
            return MO_EINVAL;
        }
        *q++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *q = '\0';
    *out = o;
    return 0;
}

/* user:password in s[0..n) into r; `shown` is the URL as messages quote it. */
static int parse_userinfo(mo_redis_t *r, const char *s, size_t n, const char *shown,
                          mo_error_t *err)
{
    const char *colon = memchr(s, ':', n);
    int rc;
    if (!colon)
        return mo_errorf(err, MO_EINVAL,
                         "redis URL %s: the password goes after a colon "
                         "(redis://:PASSWORD@host or redis://USER:PASSWORD@host)",
                         shown);
    if ((colon > s && (rc = unescape(&r->user, s, (size_t)(colon - s)))) ||
        (rc = unescape(&r->pass, colon + 1, (size_t)(s + n - colon - 1))))
        return rc == MO_ENOMEM
                   ? mo_errorf(err, MO_ENOMEM, "redis URL: out of memory")
                   : mo_errorf(err, MO_EINVAL, "redis URL %s: bad %%XX escape in user or password",
                               shown);
    return 0;
}

/* Parse url into r. Messages quote the URL with the password replaced by "***". */
static int parse_url(mo_redis_t *r, const char *url, mo_error_t *err)
{
    const char *s = url + 8, *at = strrchr(s, '@'), *host = at ? at + 1 : s;
    const char *slash = strchr(host, '/'), *end = slash ? slash : host + strlen(host);
    char shown[256];
    int rc;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        snprintf(shown, sizeof shown, "redis://%.*s%s@%s", colon ? (int)(colon - s) : 0, s,
                 colon ? ":***" : "***", host);
        if ((rc = parse_userinfo(r, s, (size_t)(at - s), shown, err)))
            return rc;
    } else {
        snprintf(shown, sizeof shown, "%s", url);
    }
    const char *hend = end, *port = NULL;
    if (*host == '[') { /* [IPv6]:port */
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (!rb || (rb + 1 < end && rb[1] != ':'))
            return mo_errorf(err, MO_EINVAL, "redis URL %s: bad [IPv6] host", shown);
        port = rb + 1 < end ? rb + 2 : NULL;
        r->host = mo_strndup(host + 1, (size_t)(rb - host - 1));
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        hend = colon ? colon : end;
        port = colon ? colon + 1 : NULL;
        r->host = mo_strndup(host, (size_t)(hend - host));
    }
    if (!r->host)
        return mo_errorf(err, MO_ENOMEM, "redis URL: out of memory");
    if (!*r->host)
        return mo_errorf(err, MO_EINVAL, "redis URL %s: no host", shown);
    r->port = 6379;
    if (port) {
        char p[16];
        int64_t v;
        snprintf(p, sizeof p, "%.*s", (int)(end - port), port);
        if (end - port >= (long)sizeof p || mo_parse_int64(p, &v) || v < 1 || v > 65535 ||
            *port == '+' || *port == '-')
            return mo_errorf(err, MO_EINVAL, "redis URL %s: port must be 1-65535, got '%.*s'",
                             shown, (int)(end - port), port);
        r->port = (int)v;
    }
    r->db = 0;
    if (slash && slash[1]) {
        int64_t v;
        if (mo_parse_int64(slash + 1, &v) || v < 0 || v > INT_MAX || slash[1] == '+' ||
            slash[1] == '-')
            return mo_errorf(err, MO_EINVAL,
                             "redis URL %s: the path must be a database number, got '%s'", shown,
                             slash + 1);
        r->db = (long)v;
    }
    snprintf(r->where, sizeof r->where, strchr(r->host, ':') ? "[%s]:%d" : "%s:%d", r->host,
             r->port);
    return 0;
}

int mo_redis_connect(mo_redis_t **out, const char *url, double timeout_s, mo_error_t *err)
{
    int rc = mo_redis_open(out, url, timeout_s, err);
    if (!rc && (rc = open_conn(*out, err))) {
        mo_redis_close(*out);
        *out = NULL;
    }
    return rc;
}

int mo_redis_unreachable(const mo_redis_t *r)
{
    return r && r->down;
}

int mo_redis_open(mo_redis_t **out, const char *url, double timeout_s, mo_error_t *err)
{
    int rc;
    mo_redis_t *r = NULL;
    if (out)
        *out = NULL;
    if (!out || !url)
        return mo_errorf(err, MO_EINVAL, "mo_redis_connect: NULL argument");
    if (!(timeout_s > 0) || timeout_s > 1e6)
        return mo_errorf(err, MO_EINVAL, "redis: timeout must be > 0 s, got %g", timeout_s);
    if (mo_str_startswith(url, "rediss://"))
        return mo_errorf(err, MO_EINVAL,
                         "redis: TLS (rediss://) is not supported: Debian 12's hiredis 0.14 is "
                         "built without it");
    if (!mo_str_startswith(url, "redis://"))
        return mo_errorf(err, MO_EINVAL,
                         "redis: URL must be redis://[[user]:password@]host[:port][/db]");
    if (!(r = mo_calloc(1, sizeof *r)))
        return mo_errorf(err, MO_ENOMEM, "redis: out of memory");
    r->timeout_s = timeout_s;
    if ((rc = parse_url(r, url, err))) {
        mo_redis_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void mo_redis_close(mo_redis_t *r)
{
    if (!r)
        return;
    redisFree(r->c);
    if (r->pass)
        explicit_bzero(r->pass, strlen(r->pass)); /* a secret: not left in freed memory */
    free(r->pass);
    free(r->user);
    free(r->host);
    free(r);
}

/* ---- writing and reading ------------------------------------------------------------------ */

/* What every command of a view shares: the field names and the _ts field. */
typedef struct {
    unsigned char (*fields)[4];
    char *ts_field;
} view_cmd_t;

static void view_cmd_free(view_cmd_t *vc)
{
    free(vc->fields);
    free(vc->ts_field);
}

static int check_view(const mo_redis_view_t *v, mo_error_t *err)
{
    if (!v || !v->project || !v->view || !*v->view || !v->entity || !*v->entity ||
        (v->n_features && !v->features))
        return mo_errorf(err, MO_EINVAL,
                         "redis: a view needs a project, a name, an entity and its features");
    if (v->entity_type != MO_ENTITY_STRING && v->entity_type != MO_ENTITY_INT64)
        return mo_errorf(err, MO_EINVAL, "redis view '%s': unknown entity type %d", v->view,
                         v->entity_type);
    for (size_t j = 0; j < v->n_features; j++)
        if (!v->features[j])
            return mo_errorf(err, MO_EINVAL, "redis view '%s': feature %zu is NULL", v->view, j);
    return 0;
}

static int view_cmd_init(view_cmd_t *vc, const mo_redis_view_t *v, mo_error_t *err)
{
    mo_buf_t b = {0};
    memset(vc, 0, sizeof *vc);
    vc->fields = mo_calloc(v->n_features ? v->n_features : 1, sizeof *vc->fields);
    mo_buf_printf(&b, "_ts:%s", v->view);
    vc->ts_field = mo_buf_steal(&b);
    for (size_t j = 0; vc->fields && vc->ts_field && j < v->n_features; j++) {
        mo_buf_printf(&b, "%s:%s", v->view, v->features[j]);
        if (b.failed)
            break;
        uint32_t h = mo_murmur3_32(b.data, b.len, 0);
        for (int i = 0; i < 4; i++) /* little-endian, as Feast's struct.pack("<Q")[:4] */
            vc->fields[j][i] = (unsigned char)(h >> (8 * i));
        mo_buf_free(&b);
    }
    if (!vc->fields || !vc->ts_field || b.failed) {
        mo_buf_free(&b);
        view_cmd_free(vc);
        return mo_errorf(err, MO_ENOMEM, "redis view '%s': out of memory", v->view);
    }
    return 0;
}

/* Append row `row`'s EVALSHA (or EVAL) to the pipeline. argv/lens have ARGC0 + 2 * n_features
 * slots; `vals` is scratch for the values. */
static int append_row(mo_redis_t *r, const mo_redis_view_t *v, const view_cmd_t *vc, int eval,
                      const char *key, int64_t ts_us, const double *row, unsigned char *vals,
                      const char **argv, size_t *lens, mo_error_t *err)
{
    unsigned char *k = NULL, ts[TS_MAX];
    size_t kl = 0;
    int rc = mo_feast_entity_key(&k, &kl, v->entity, v->entity_type, key, v->project, err);
    if (rc) { /* rows before this one may be queued unread: drop the connection, out of step */
        redisFree(r->c);
        r->c = NULL;
        return rc;
    }
    int64_t sec = ts_us / 1000000, us = ts_us % 1000000;
    if (us < 0) { /* floor, as the Timestamp has it: nanos are never negative */
        sec -= 1;
        us += 1000000;
    }
    char s_sec[24], s_nanos[16];
    argv[0] = eval ? "EVAL" : "EVALSHA";
    argv[1] = eval ? script : r->sha;
    argv[2] = "1";
    argv[3] = (const char *)k;
    argv[4] = s_sec;
    argv[5] = s_nanos;
    argv[6] = vc->ts_field;
    argv[7] = (const char *)ts;
    lens[0] = strlen(argv[0]);
    lens[1] = eval ? sizeof script - 1 : 40;
    lens[2] = 1;
    lens[3] = kl;
    lens[4] = (size_t)snprintf(s_sec, sizeof s_sec, "%" PRId64, sec);
    lens[5] = (size_t)snprintf(s_nanos, sizeof s_nanos, "%" PRId64, us * 1000);
    lens[6] = strlen(vc->ts_field);
    lens[7] = mo_feast_timestamp(ts, ts_us);
    for (size_t j = 0; j < v->n_features; j++) {
        argv[8 + 2 * j] = (const char *)vc->fields[j];
        lens[8 + 2 * j] = 4;
        argv[9 + 2 * j] = (const char *)vals + VALUE_MAX * j;
        lens[9 + 2 * j] = mo_feast_value_double(vals + VALUE_MAX * j, row[j]);
    }
    /* hiredis copies the arguments into its output buffer: k can go at once */
    if (redisAppendCommandArgv(r->c, (int)(ARGC0 + 2 * v->n_features), argv, lens) != REDIS_OK)
        rc = conn_failed(r, "writing", err);
    free(k);
    return rc;
}

/* Read the replies of `m` pipelined rows (their indices in rows[]); counts into *written and
 * *skipped, NOSCRIPT rows into retry[] (*n_retry). Drains every reply even after an error so
 * the connection stays in step; returns the first error. */
static int read_replies(mo_redis_t *r, const mo_redis_view_t *v, const char *const *keys,
                        const int64_t *rows, int64_t m, int64_t *retry, int64_t *n_retry,
                        int64_t *written, int64_t *skipped, mo_error_t *err)
{
    int rc = 0;
    for (int64_t i = 0; i < m; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep)
            return conn_failed(r, "writing", err);
        if (rep->type == REDIS_REPLY_INTEGER) {
            *(rep->integer ? written : skipped) += 1;
        } else if (rep->type == REDIS_REPLY_ERROR && retry && !strncmp(rep->str, "NOSCRIPT", 8)) {
            retry[(*n_retry)++] = rows[i];
        } else if (!rc) {
            rc = mo_errorf(err, MO_ESERVICE, "redis %s: writing entity '%.64s' of view '%s': %s",
                           r->where, keys[rows[i]], v->view,
                           rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        }
        freeReplyObject(rep);
    }
    return rc;
}

int mo_redis_write(mo_redis_t *r, const mo_redis_view_t *v, int64_t n, const char *const *keys,
                   const int64_t *event_ts, const double *values, int64_t *written,
                   int64_t *skipped, mo_error_t *err)
{
    int rc;
    int64_t nw = 0, ns = 0, *rows = NULL, *retry = NULL, iv;
    view_cmd_t vc = {0};
    const char **argv = NULL;
    size_t *lens = NULL;
    unsigned char *vals = NULL;
    if (!r || n < 0 || (n > 0 && (!keys || !event_ts || (!values && v && v->n_features)))) {
        rc = mo_errorf(err, MO_EINVAL, "mo_redis_write: NULL argument or n < 0");
        goto out;
    }
    if ((rc = check_view(v, err)))
        goto out;
    /* Bad input is found before anything is sent, so it never leaves half a batch written. */
    for (int64_t i = 0; i < n; i++) {
        if (!keys[i] || (v->entity_type == MO_ENTITY_INT64 && mo_parse_int64(keys[i], &iv))) {
            rc = mo_errorf(err, MO_EINVAL, "redis view '%s' row %" PRId64 ": entity key %s%.64s%s",
                           v->view, i, keys[i] ? "'" : "NULL", keys[i] ? keys[i] : "",
                           keys[i] ? "' is not an INT64 (a decimal integer)" : "");
            goto out;
        }
    }
    r->down = 0;
    if (n == 0 || (rc = ensure_conn(r, err)) || (rc = view_cmd_init(&vc, v, err)))
        goto out;
    argv = mo_mallocarray(ARGC0 + 2 * v->n_features, sizeof *argv);
    lens = mo_mallocarray(ARGC0 + 2 * v->n_features, sizeof *lens);
    vals = mo_mallocarray(v->n_features ? v->n_features : 1, VALUE_MAX);
    rows = mo_mallocarray(BATCH, sizeof *rows);
    retry = mo_mallocarray(BATCH, sizeof *retry);
    if (!argv || !lens || !vals || !rows || !retry) {
        rc = mo_errorf(err, MO_ENOMEM, "redis view '%s': out of memory", v->view);
        goto out;
    }
    for (int64_t start = 0; start < n && !rc; start += BATCH) {
        int64_t m = n - start < BATCH ? n - start : BATCH, n_retry = 0;
        for (int64_t i = 0; i < m && !rc; i++) {
            int64_t row = rows[i] = start + i;
            rc = append_row(r, v, &vc, 0, keys[row], event_ts[row],
                            values + (size_t)row * v->n_features, vals, argv, lens, err);
        }
        if (rc || (rc = read_replies(r, v, keys, rows, m, retry, &n_retry, &nw, &ns, err)) || !r->c)
            goto out;
        /* The server lost the script: EVAL puts it back, so only this batch pays for it. */
        for (int64_t i = 0; i < n_retry && !rc; i++) {
            int64_t row = retry[i];
            rc = append_row(r, v, &vc, 1, keys[row], event_ts[row],
                            values + (size_t)row * v->n_features, vals, argv, lens, err);
        }
        if (!rc)
            rc = read_replies(r, v, keys, retry, n_retry, NULL, NULL, &nw, &ns, err);
    }
out:
    if (written)
        *written = nw;
    if (skipped)
        *skipped = ns;
    view_cmd_free(&vc);
    free(argv);
    free(lens);
    free(vals);
    free(rows);
    free(retry);
    return rc;
}

int mo_redis_read(mo_redis_t *r, const mo_redis_view_t *v, const char *key, int *found,
                  int64_t *event_ts, double *values, mo_error_t *err)
{
    int rc;
    view_cmd_t vc = {0};
    const char **argv = NULL;
    size_t *lens = NULL, kl = 0;
    unsigned char *k = NULL;
    redisReply *rep = NULL;
    if (found)
        *found = 0;
    if (!r || !found || !event_ts || (!values && v && v->n_features)) {
        rc = mo_errorf(err, MO_EINVAL, "mo_redis_read: NULL argument");
        goto out;
    }
    *event_ts = 0;
    for (size_t j = 0; v && j < v->n_features; j++)
        values[j] = NAN;
    if ((rc = check_view(v, err)) ||
        (rc = mo_feast_entity_key(&k, &kl, v->entity, v->entity_type, key, v->project, err)) ||
        (rc = ensure_conn(r, err)) || (rc = view_cmd_init(&vc, v, err)))
        goto out;
    size_t argc = 3 + v->n_features;
    argv = mo_mallocarray(argc, sizeof *argv);
    lens = mo_mallocarray(argc, sizeof *lens);
    if (!argv || !lens) {
        rc = mo_errorf(err, MO_ENOMEM, "redis view '%s': out of memory", v->view);
        goto out;
    }
    argv[0] = "HMGET";
    lens[0] = 5;
    argv[1] = (const char *)k;
    lens[1] = kl;
    argv[2] = vc.ts_field;
    lens[2] = strlen(vc.ts_field);
    for (size_t j = 0; j < v->n_features; j++) {
        argv[3 + j] = (const char *)vc.fields[j];
        lens[3 + j] = 4;
    }
    if (!(rep = command(r, (int)argc, argv, lens, "HMGET", err))) {
        rc = err ? err->code : MO_ESERVICE;
        goto out;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != argc - 2) {
        rc = mo_errorf(err, MO_ESERVICE, "redis %s: HMGET: unexpected reply", r->where);
        goto out;
    }
    if (rep->element[0]->type != REDIS_REPLY_STRING)
        goto out; /* no _ts:<view>: this view never wrote the entity */
    if (!mo_feast_parse_timestamp((const unsigned char *)rep->element[0]->str, rep->element[0]->len,
                                  event_ts)) {
        rc = mo_errorf(err, MO_EFORMAT, "redis %s: %s of entity '%.64s' is not a Timestamp",
                       r->where, vc.ts_field, key);
        goto out;
    }
    for (size_t j = 0; j < v->n_features; j++) {
        redisReply *e = rep->element[1 + j];
        if (e->type == REDIS_REPLY_STRING &&
            !mo_feast_parse_value((const unsigned char *)e->str, e->len, &values[j])) {
            rc = mo_errorf(err, MO_EFORMAT,
                           "redis %s: feature '%s' of entity '%.64s' in view '%s' is not a "
                           "numeric Value",
                           r->where, v->features[j], key, v->view);
            goto out;
        }
    }
    *found = 1;
out:
    freeReplyObject(rep);
    view_cmd_free(&vc);
    free(argv);
    free(lens);
    free(k);
    return rc;
}
