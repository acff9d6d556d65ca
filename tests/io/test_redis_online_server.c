/* test_redis_online_server.c - the Redis online store against a real redis-server
 * (io/redis_online.c)
 *
 * Servers are Debian's redis-server on a free loopback port, no persistence, started through
 * scripts/services/redis.sh (posix_spawn, argv array). Each test uses its own database number
 * (redis://.../<db>), so DBSIZE counts what that test wrote. What the store wrote is read back
 * both through mo_redis_read and raw, with hiredis, against keys and fields written out by
 * hand from Feast's layout (the same bytes as tests/io/test_redis_online.c).
 */
#include "io/redis_online.h"
#include "tests/unit.h"

#include "core/time.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* ---- servers --------------------------------------------------------------------------------- */

static char srv_dirs[4][512];
static int n_srv;

/* scripts/services/redis.sh CMD DIR [PORT]; its exit status. */
static int redis_script(const char *cmd, const char *dir, const char *port)
{
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    char script[1024];
    if (!src) {
        fprintf(stderr,
                "test_redis_online_server: MAESTRO_SOURCE_DIR is not set (ctest sets it)\n");
        return -1;
    }
    snprintf(script, sizeof script, "%s/scripts/services/redis.sh", src);
    char *argv[] = {"bash", script, (char *)cmd, (char *)dir, (char *)port, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0); /* the port */
    pid_t pid;
    int rc = posix_spawnp(&pid, "bash", &fa, NULL, argv, environ), status = 0;
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void stop_all_servers(void)
{
    for (int i = 0; i < n_srv; i++)
        redis_script("stop", srv_dirs[i], NULL);
}

/* Start server `name` (on `port` when given); its port, or 0 after saying why. */
static int srv_start(const char *name, const char *port)
{
    char dir[512], path[600], p[16] = "";
    snprintf(dir, sizeof dir, "%s/redis-%s", mo_test_tmpdir(), name);
    int known = 0;
    for (int i = 0; i < n_srv; i++)
        known |= !strcmp(srv_dirs[i], dir);
    if (!known && n_srv < 4)
        snprintf(srv_dirs[n_srv++], sizeof srv_dirs[0], "%s", dir);
    int rc = redis_script("start", dir, port);
    if (rc != 0) {
        fprintf(stderr, "\ntest_redis_online_server: FAILED: redis.sh start: %s (%d)\n",
                rc == 4 ? "Debian's redis-server is not installed (scripts/install-deps.sh)"
                        : "see its messages",
                rc);
        return 0;
    }
    snprintf(path, sizeof path, "%s/PORT", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(p, sizeof p, f))
            p[0] = '\0';
        fclose(f);
    }
    return (int)strtol(p, NULL, 10);
}

static void srv_stop(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/redis-%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL(redis_script("stop", dir, NULL), 0);
}

/* The server most tests share, started once. */
static int main_port(void)
{
    static int port;
    if (!port)
        port = srv_start("main", NULL);
    return port;
}

/* Connect to the main server's database `db` and empty it. */
static mo_redis_t *open_db(int db)
{
    char url[128];
    mo_redis_t *r = NULL;
    mo_error_t err = {0};
    CU_ASSERT_FATAL(main_port() != 0);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/%d", main_port(), db);
    int rc = mo_redis_connect(&r, url, 5.0, &err);
    if (rc)
        fprintf(stderr, "\n  connect %s: %s\n", url, err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return r;
}

/* A raw hiredis connection to database `db` of the server on `port`. */
static redisContext *raw(int port, int db)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    CU_ASSERT_FATAL(c && !c->err);
    redisReply *rep = redisCommand(c, "SELECT %d", db);
    CU_ASSERT_FATAL(rep && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    rep = redisCommand(c, "FLUSHDB");
    freeReplyObject(rep);
    return c;
}

static long long raw_int(redisContext *c, const char *cmd)
{
    redisReply *rep = redisCommand(c, cmd);
    long long v = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    freeReplyObject(rep);
    return v;
}

/* ---- the view the tests write ------------------------------------------------------------- */

static const char *const features[] = {"conv_rate", "acc_rate", "avg_daily_trips"};
static const mo_redis_view_t view = {
    "feast_demo", "driver_hourly_stats", "driver_id", MO_ENTITY_STRING, features, 3};
#define T0 1700000000123456LL /* 2023-11-14T22:13:20.123456Z */

static void expect_row(mo_redis_t *r, const mo_redis_view_t *v, const char *key, int64_t ts,
                       double a, double b, double c)
{
    int found = 0;
    int64_t got_ts = 0;
    double got[3];
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_redis_read(r, v, key, &found, &got_ts, got, &err), 0);
    CU_ASSERT_EQUAL_FATAL(found, 1);
    CU_ASSERT_EQUAL(got_ts, ts);
    const double want[3] = {a, b, c};
    for (int j = 0; j < 3; j++)
        CU_ASSERT_TRUE(isnan(want[j]) ? isnan(got[j]) : got[j] == want[j]);
}

static void test_redis_online__write_then_read(void)
{
    mo_redis_t *r = open_db(1);
    const char *keys[] = {"d1", "d2", "d3"};
    const int64_t ts[] = {T0, T0 + 1, T0 - 86400000000LL};
    const double vals[] = {0.5, 0.25, 12, -1.5, 0, 7, 1e300, NAN, 3};
    int64_t written = -1, skipped = -1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 3, keys, ts, vals, &written, &skipped, &err), 0);
    CU_ASSERT_EQUAL(written, 3);
    CU_ASSERT_EQUAL(skipped, 0);
    expect_row(r, &view, "d1", T0, 0.5, 0.25, 12);
    expect_row(r, &view, "d2", T0 + 1, -1.5, 0, 7);
    expect_row(r, &view, "d3", T0 - 86400000000LL, 1e300, NAN, 3);

    int found = 1;
    int64_t t = 1;
    double got[3] = {0};
    CU_ASSERT_EQUAL(mo_redis_read(r, &view, "nobody", &found, &t, got, &err), 0);
    CU_ASSERT_EQUAL(found, 0);
    CU_ASSERT_EQUAL(t, 0);
    CU_ASSERT_TRUE(isnan(got[0]) && isnan(got[1]) && isnan(got[2]));
    mo_redis_close(r);
}

static void test_redis_online__older_event_does_not_replace_newer(void)
{
    mo_redis_t *r = open_db(2);
    const char *keys[] = {"d1"};
    int64_t ts = T0, written, skipped;
    double v1[] = {1, 1, 1}, v2[] = {2, 2, 2};
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &ts, v1, &written, &skipped, &err), 0);
    /* a second earlier, and one µs earlier in the same second: Feast would compare whole
     * seconds and skip the second case only by luck; we compare µs */
    const int64_t older[] = {T0 - 1000000, T0 - 1, T0};
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &older[i], v2, &written, &skipped, &err),
                        0);
        CU_ASSERT_EQUAL(written, 0);
        CU_ASSERT_EQUAL(skipped, 1);
        expect_row(r, &view, "d1", T0, 1, 1, 1);
    }
    ts = T0 + 1; /* one µs later, same second: newer */
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &ts, v2, &written, &skipped, &err), 0);
    CU_ASSERT_EQUAL(written, 1);
    expect_row(r, &view, "d1", T0 + 1, 2, 2, 2);

    /* across the epoch: seconds are negative ten-byte varints that the script decodes */
    const char *k2[] = {"old"};
    const int64_t pre[] = {-1500000, -500000, -1000000};
    const int64_t want_w[] = {1, 1, 0};
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, k2, &pre[i], v1, &written, NULL, &err), 0);
        CU_ASSERT_EQUAL(written, want_w[i]);
    }
    expect_row(r, &view, "old", -500000, 1, 1, 1);
    mo_redis_close(r);
}

/* n rows d<i>, values i, i/2, -i, event time T0 + i + shift. */
static void rows(int64_t n, int64_t shift, char ***keys, int64_t **ts, double **vals)
{
    *keys = calloc((size_t)n, sizeof **keys);
    *ts = calloc((size_t)n, sizeof **ts);
    *vals = calloc((size_t)n * 3, sizeof **vals);
    CU_ASSERT_FATAL(*keys && *ts && *vals);
    for (int64_t i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof k, "d%" PRId64, i);
        (*keys)[i] = strdup(k);
        (*ts)[i] = T0 + i + shift;
        (*vals)[3 * i] = (double)i;
        (*vals)[3 * i + 1] = (double)i / 2;
        (*vals)[3 * i + 2] = -(double)i;
    }
}

static void free_rows(int64_t n, char **keys, int64_t *ts, double *vals)
{
    for (int64_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(ts);
    free(vals);
}

/* Across batch boundaries (1000 per round trip): all skipped the second time. */
static void test_redis_online__rerun_is_idempotent(void)
{
    mo_redis_t *r = open_db(3);
    redisContext *c = raw(main_port(), 3);
    const int64_t n = 2500;
    char **keys;
    int64_t *ts, written, skipped;
    double *vals;
    mo_error_t err = {0};
    rows(n, 0, &keys, &ts, &vals);
    const char *const *k = (const char *const *)keys;
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, n, k, ts, vals, &written, &skipped, &err), 0);
    CU_ASSERT_EQUAL(written, n);
    CU_ASSERT_EQUAL(skipped, 0);
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, n, k, ts, vals, &written, &skipped, &err), 0);
    CU_ASSERT_EQUAL(written, 0);
    CU_ASSERT_EQUAL(skipped, n);
    CU_ASSERT_EQUAL(raw_int(c, "DBSIZE"), n);
    /* half of them newer: only those are written */
    for (int64_t i = 0; i < n; i += 2)
        ts[i] += 1000000;
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, n, k, ts, vals, &written, &skipped, &err), 0);
    CU_ASSERT_EQUAL(written, n / 2);
    CU_ASSERT_EQUAL(skipped, n / 2);
    expect_row(r, &view, "d2498", T0 + 2498 + 1000000, 2498, 1249, -2498);
    expect_row(r, &view, "d2499", T0 + 2499, 2499, 1249.5, -2499);
    free_rows(n, keys, ts, vals);
    redisFree(c);
    mo_redis_close(r);
}

/* The hash Feast reads: key, field names and values, byte for byte, and nothing else. */
static void test_redis_online__hash_has_exactly_feast_fields(void)
{
    mo_redis_t *r = open_db(4);
    redisContext *c = raw(main_port(), 4);
    const char *keys[] = {"d1"};
    const int64_t ts = T0;
    const double vals[] = {0.5, -1.25, NAN};
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_redis_write(r, &view, 1, keys, &ts, vals, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(raw_int(c, "DBSIZE"), 1);

    static const unsigned char key[] = {
        1, 0, 0, 0, 2, 0, 0, 0, 9,   0,   0,   0,   'd', 'r', 'i', 'v', 'e', 'r', '_', 'i', 'd',
        2, 0, 0, 0, 2, 0, 0, 0, 'd', '1', 'f', 'e', 'a', 's', 't', '_', 'd', 'e', 'm', 'o'};
    redisReply *rep = redisCommand(c, "HGETALL %b", key, sizeof key);
    CU_ASSERT_FATAL(rep && rep->type == REDIS_REPLY_ARRAY);
    CU_ASSERT_EQUAL(rep->elements, 8); /* 3 features + _ts, as field/value pairs */
    /* murmur3("driver_hourly_stats:conv_rate") = 0xdae36061, little-endian */
    static const unsigned char f_conv[] = {0x61, 0x60, 0xe3, 0xda};
    static const unsigned char v_half[] = {0x29, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f};
    static const unsigned char v_m125[] = {0x29, 0, 0, 0, 0, 0, 0, 0xf4, 0xbf};
    static const unsigned char v_ts[] = {0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06,
                                         0x10, 0x80, 0x94, 0xef, 0x3a};
    uint32_t h_acc = mo_murmur3_32("driver_hourly_stats:acc_rate", 28, 0);
    uint32_t h_trips = mo_murmur3_32("driver_hourly_stats:avg_daily_trips", 35, 0);
    int seen = 0;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *f = rep->element[i], *v = rep->element[i + 1];
        uint32_t h = 0;
        if (f->len == 4)
            for (int b = 3; b >= 0; b--)
                h = h << 8 | (unsigned char)f->str[b];
        if (f->len == 4 && !memcmp(f->str, f_conv, 4)) {
            seen |= 1;
            CU_ASSERT(v->len == 9 && !memcmp(v->str, v_half, 9));
        } else if (f->len == 4 && h == h_acc) {
            seen |= 2;
            CU_ASSERT(v->len == 9 && !memcmp(v->str, v_m125, 9));
        } else if (f->len == 4 && h == h_trips) {
            seen |= 4;
            CU_ASSERT_EQUAL(v->len, 0); /* NaN: Feast's null, the empty Value */
        } else if (f->len == 23 && !memcmp(f->str, "_ts:driver_hourly_stats", 23)) {
            seen |= 8;
            CU_ASSERT(v->len == sizeof v_ts && !memcmp(v->str, v_ts, sizeof v_ts));
        } else {
            CU_FAIL("a field Feast would not write");
        }
    }
    CU_ASSERT_EQUAL(seen, 15);
    freeReplyObject(rep);
    redisFree(c);
    mo_redis_close(r);
}

/* Views with the same entity share one hash (Feast's layout); an INT64 key's bytes. */
static void test_redis_online__views_share_the_entity_hash(void)
{
    mo_redis_t *r = open_db(5);
    redisContext *c = raw(main_port(), 5);
    const char *const f2[] = {"trips_today"};
    mo_redis_view_t a = {"p", "stats", "driver_id", MO_ENTITY_INT64, features, 3};
    mo_redis_view_t b = {"p", "today", "driver_id", MO_ENTITY_INT64, f2, 1};
    const char *keys[] = {"1001"};
    const int64_t t1 = T0, t2 = T0 - 5000000;
    const double va[] = {1, 2, 3}, vb[] = {9};
    int64_t written;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_redis_write(r, &a, 1, keys, &t1, va, &written, NULL, &err), 0);
    CU_ASSERT_EQUAL(written, 1);
    /* older than a's row, but b's _ts is its own: written */
    CU_ASSERT_EQUAL(mo_redis_write(r, &b, 1, keys, &t2, vb, &written, NULL, &err), 0);
    CU_ASSERT_EQUAL(written, 1);
    CU_ASSERT_EQUAL(raw_int(c, "DBSIZE"), 1);
    static const unsigned char key[] = {1,   0,   0,   0,    2,    0,   0,   0,   9, 0, 0, 0,  'd',
                                        'r', 'i', 'v', 'e',  'r',  '_', 'i', 'd', 4, 0, 0, 0,  8,
                                        0,   0,   0,   0xe9, 0x03, 0,   0,   0,   0, 0, 0, 'p'};
    redisReply *rep = redisCommand(c, "HLEN %b", key, sizeof key);
    CU_ASSERT(rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 3 + 1 + 1 + 1);
    freeReplyObject(rep);
    expect_row(r, &a, "1001", T0, 1, 2, 3);
    int found;
    int64_t t;
    double got;
    CU_ASSERT_EQUAL(mo_redis_read(r, &b, "1001", &found, &t, &got, &err), 0);
    CU_ASSERT(found && t == t2 && got == 9);
    redisFree(c);
    mo_redis_close(r);
}

/* A counter of INFO stats (Redis >= 6), -1 when absent. */
static long long info_stat(redisContext *c, const char *name)
{
    redisReply *rep = redisCommand(c, "INFO stats");
    long long v = -1;
    const char *p = rep && rep->type == REDIS_REPLY_STRING ? strstr(rep->str, name) : NULL;
    if (p && p[strlen(name)] == ':')
        v = atoll(p + strlen(name) + 1);
    freeReplyObject(rep);
    return v;
}

/* rows/s for n entities of 3 features into database db (printed). */
static double write_rate(int db, int64_t n)
{
    mo_redis_t *r = open_db(db);
    redisContext *c = raw(main_port(), db);
    char **keys;
    int64_t *ts, written = 0;
    double *vals;
    mo_error_t err = {0};
    rows(n, 0, &keys, &ts, &vals);
    long long reads0 = info_stat(c, "total_reads_processed");
    double t0 = mo_time_mono();
    int rc = mo_redis_write(r, &view, n, (const char *const *)keys, ts, vals, &written, NULL, &err);
    double dt = mo_time_mono() - t0;
    long long reads = info_stat(c, "total_reads_processed") - reads0;
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(written, n);
    /* pipelined: the server reads a batch of 1000 commands (~170 kB) in 16 kB reads, ~15 per
     * batch; one round trip per entity would be a read per entity */
    CU_ASSERT_TRUE(reads0 >= 0 && reads < n / 10);
    CU_ASSERT_EQUAL(raw_int(c, "DBSIZE"), n);
    expect_row(r, &view, "d7777", T0 + 7777, 7777, 3888.5, -7777);
    fprintf(stderr, "\n  %" PRId64 " entities x 3 features: %.3f s, %.0f rows/s, %lld reads\n", n,
            dt, (double)n / dt, reads);
    free_rows(n, keys, ts, vals);
    redisFree(c);
    mo_redis_close(r);
    return dt;
}

static void test_redis_online__ten_thousand_entities_pipelined_fast(void)
{
    /* ~0.1 s here (~4 µs of server time per entity); a sanitizer build or a loaded machine
     * is a few times slower: 5 s is a wide margin. Pipelining itself is checked by the
     * server's read count. */
    CU_ASSERT_TRUE(write_rate(6, 10000) < 5.0);
    /* MO_REDIS_BENCH=N: also report N entities (not a pass/fail check) */
    const char *bench = getenv("MO_REDIS_BENCH");
    if (bench && atoll(bench) > 0)
        write_rate(7, atoll(bench));
}

/* A server that lost its scripts (SCRIPT FLUSH, a restart) still gets the rows, through EVAL. */
static void test_redis_online__noscript_falls_back_to_eval(void)
{
    mo_redis_t *r = open_db(8);
    redisContext *c = raw(main_port(), 8);
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    const int64_t n = 1500;
    char **keys;
    int64_t *ts, written = 0;
    double *vals;
    mo_error_t err = {0};
    rows(n, 0, &keys, &ts, &vals);
    CU_ASSERT_EQUAL(
        mo_redis_write(r, &view, n, (const char *const *)keys, ts, vals, &written, NULL, &err), 0);
    CU_ASSERT_EQUAL(written, n);
    CU_ASSERT_EQUAL(raw_int(c, "DBSIZE"), n);
    free_rows(n, keys, ts, vals);
    redisFree(c);
    mo_redis_close(r);
}

/* A key of another type: MO_ESERVICE naming host:port and the entity; the other rows of the
 * batch are written and the connection stays usable. */
static void test_redis_online__server_error_names_host_port(void)
{
    mo_redis_t *r = open_db(9);
    redisContext *c = raw(main_port(), 9);
    unsigned char *k;
    size_t kl;
    CU_ASSERT_EQUAL_FATAL(
        mo_feast_entity_key(&k, &kl, "driver_id", MO_ENTITY_STRING, "bad", "feast_demo", NULL), 0);
    freeReplyObject(redisCommand(c, "SET %b x", k, kl));
    free(k);
    const char *keys[] = {"a", "bad", "b"};
    const int64_t ts[] = {T0, T0, T0};
    const double vals[9] = {0};
    int64_t written = 0;
    mo_error_t err = {0};
    char want[128];
    snprintf(want, sizeof want,
             "redis 127.0.0.1:%d: writing entity 'bad' of view "
             "'driver_hourly_stats': WRONGTYPE",
             main_port());
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 3, keys, ts, vals, &written, NULL, &err), MO_ESERVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    CU_ASSERT_EQUAL(written, 2);
    CU_ASSERT_EQUAL(mo_redis_unreachable(r), 0); /* an error reply: waiting would not help */
    expect_row(r, &view, "b", T0, 0, 0, 0);

    /* bad input: nothing sent */
    const char *badkeys[] = {"x", NULL};
    mo_redis_view_t iv = view;
    iv.entity_type = MO_ENTITY_INT64;
    CU_ASSERT_EQUAL(mo_redis_write(r, &iv, 2, keys, ts, vals, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "redis view 'driver_hourly_stats' row 0: entity key 'a' is "
                                    "not an INT64 (a decimal integer)");
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 2, badkeys, ts, vals, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_write(r, NULL, 1, keys, ts, vals, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, -1, keys, ts, vals, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_write(NULL, &view, 1, keys, ts, vals, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 0, NULL, NULL, NULL, NULL, NULL, &err), 0);
    int found;
    int64_t t;
    double got[3];
    CU_ASSERT_EQUAL(mo_redis_read(r, &iv, "x", &found, &t, got, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_read(r, &view, NULL, &found, &t, got, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_read(r, &view, "a", NULL, &t, got, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_read(r, &view, "a", &found, &t, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(raw_int(c, "DBSIZE"), 3); /* a, b and the string */
    redisFree(c);
    mo_redis_close(r);
}

/* AUTH with a password (and ACL user) from the URL, %XX-escaped; a wrong one is MO_ESERVICE
 * and no message shows it. */
static void test_redis_online__password_from_url_never_shown(void)
{
    int port = srv_start("auth", NULL);
    CU_ASSERT_FATAL(port != 0);
    redisContext *c = raw(port, 0);
    freeReplyObject(redisCommand(c, "CONFIG SET requirepass %s", "p@ss/w:rd"));
    redisFree(c);
    char url[160];
    mo_redis_t *r = NULL;
    mo_error_t err = {0};
    snprintf(url, sizeof url, "redis://:wrong-s3cret@127.0.0.1:%d/0", port);
    CU_ASSERT_EQUAL(mo_redis_connect(&r, url, 5.0, &err), MO_ESERVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "AUTH"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "127.0.0.1:"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
    CU_ASSERT_EQUAL(mo_redis_connect(&r, url, 5.0, &err), MO_ESERVICE); /* NOAUTH */
    CU_ASSERT_PTR_NULL(r);
    /* opened without connecting, the write connects and fails the same way: not retryable */
    CU_ASSERT_EQUAL_FATAL(mo_redis_open(&r, url, 5.0, &err), 0);
    {
        const char *k1[] = {"d0"};
        const int64_t t1 = T0;
        const double v1[] = {1, 2, 3};
        CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, k1, &t1, v1, NULL, NULL, &err), MO_ESERVICE);
        CU_ASSERT_EQUAL(mo_redis_unreachable(r), 0);
        mo_redis_close(r);
        r = NULL;
    }

    const char *good[] = {"redis://:p%%40ss%%2Fw%%3Ard@127.0.0.1:%d/3",
                          "redis://default:p%%40ss%%2Fw%%3Ard@127.0.0.1:%d/3"};
    for (int i = 0; i < 2; i++) {
        snprintf(url, sizeof url, good[i], port);
        CU_ASSERT_EQUAL_FATAL(mo_redis_connect(&r, url, 5.0, &err), 0);
        const char *keys[] = {"d1"};
        const int64_t ts = T0 + i;
        const double vals[] = {1, 2, 3};
        int64_t written = 0;
        CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &ts, vals, &written, NULL, &err), 0);
        CU_ASSERT_EQUAL(written, 1);
        mo_redis_close(r);
    }
    srv_stop("auth");
}

/* The server goes away: MO_ESERVICE naming host:port; it comes back (empty, same port): the
 * next call reconnects, reloads the script and writes. */
static void test_redis_online__server_comes_back(void)
{
    int port = srv_start("flaky", NULL);
    CU_ASSERT_FATAL(port != 0);
    char url[128], p[16], want[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/1", port);
    snprintf(p, sizeof p, "%d", port);
    snprintf(want, sizeof want, "redis 127.0.0.1:%d: ", port);
    mo_redis_t *r = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_redis_connect(&r, url, 2.0, &err), 0);
    const char *keys[] = {"d1"};
    const int64_t ts = T0;
    const double vals[] = {1, 2, 3};
    int64_t written = 0;
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &ts, vals, &written, NULL, &err), 0);
    srv_stop("flaky");
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &ts, vals, &written, NULL, &err),
                    MO_ESERVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    CU_ASSERT_EQUAL(written, 0);
    CU_ASSERT_EQUAL(mo_redis_unreachable(r), 1);
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &ts, vals, &written, NULL, &err),
                    MO_ESERVICE); /* still down: the reconnect fails the same way */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot connect"));
    CU_ASSERT_EQUAL(mo_redis_unreachable(r), 1);
    mo_redis_t *lazy = NULL; /* opened while down: only the URL is checked */
    CU_ASSERT_EQUAL(mo_redis_open(&lazy, url, 2.0, &err), 0);
    CU_ASSERT_EQUAL(mo_redis_write(lazy, &view, 1, keys, &ts, vals, &written, NULL, &err),
                    MO_ESERVICE);
    CU_ASSERT_EQUAL(mo_redis_unreachable(lazy), 1);
    mo_redis_close(lazy);
    CU_ASSERT_EQUAL(mo_redis_open(&lazy, "http://x", 2.0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL_FATAL(srv_start("flaky", p), port);
    CU_ASSERT_EQUAL(mo_redis_write(r, &view, 1, keys, &ts, vals, &written, NULL, &err), 0);
    CU_ASSERT_EQUAL(written, 1);
    CU_ASSERT_EQUAL(mo_redis_unreachable(r), 0);
    expect_row(r, &view, "d1", T0, 1, 2, 3);
    mo_redis_close(r);
    srv_stop("flaky");
}

static CU_TestInfo tests[] = {MO_TEST(test_redis_online__write_then_read),
                              MO_TEST(test_redis_online__older_event_does_not_replace_newer),
                              MO_TEST(test_redis_online__rerun_is_idempotent),
                              MO_TEST(test_redis_online__hash_has_exactly_feast_fields),
                              MO_TEST(test_redis_online__views_share_the_entity_hash),
                              MO_TEST(test_redis_online__ten_thousand_entities_pipelined_fast),
                              MO_TEST(test_redis_online__noscript_falls_back_to_eval),
                              MO_TEST(test_redis_online__server_error_names_host_port),
                              MO_TEST(test_redis_online__password_from_url_never_shown),
                              MO_TEST(test_redis_online__server_comes_back),
                              CU_TEST_INFO_NULL};

int main(void)
{
    mo_test_tmpdir(); /* first, so that its removal at exit runs after the servers stop */
    atexit(stop_all_servers);
    int rc = mo_test_main("io/redis_online_server", tests);
    stop_all_servers();
    n_srv = 0;
    return rc;
}
