/* test_redis_online.c - Feast's bytes for the Redis online store (io/redis_online_codec.c) and
 * the connection failures that need no server (io/redis_online.c)
 *
 * The expected bytes are written out by hand from Feast's layout (platform-protocols.md 6.4:
 * entity key v3, murmur3 field names, Value and Timestamp protos); each was also checked
 * against Feast 0.47's own functions (_redis_key, _mmh3, Value/Timestamp.SerializeToString).
 * murmur3 vectors: the published MurmurHash3_x86_32 seed-0 values (as Python's mmh3).
 */
#include "io/redis_online.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/time.h"

static uint32_t mm(const char *s)
{
    return mo_murmur3_32(s, strlen(s), 0);
}

static void test_redis_online__murmur3_known_vectors(void)
{
    CU_ASSERT_EQUAL(mm(""), 0u);
    CU_ASSERT_EQUAL(mm("hello"), 0x248bfa47u);
    CU_ASSERT_EQUAL(mm("The quick brown fox jumps over the lazy dog"), 0x2e4ff723u);
    /* every tail length (len % 4 = 1, 2, 3, 0) */
    CU_ASSERT_EQUAL(mm("a"), 0x3c2569b2u);
    CU_ASSERT_EQUAL(mm("ab"), 0x9bbfd75fu);
    CU_ASSERT_EQUAL(mm("abc"), 0xb3dd93fau);
    CU_ASSERT_EQUAL(mm("abcd"), 0x43ed676au);
    /* a field name as Feast hashes it ("<view>:<feature>"), 4 bytes little-endian 61 60 e3 da */
    CU_ASSERT_EQUAL(mm("driver_hourly_stats:conv_rate"), 0xdae36061u);
    /* the seed is used (the online store always passes 0) */
    CU_ASSERT_NOT_EQUAL(mo_murmur3_32("hello", 5, 1), 0x248bfa47u);
}

/* The key's bytes as expected, checked byte for byte with a readable diff on failure. */
static void expect_key(const char *entity, mo_entity_type_t type, const char *key,
                       const char *project, const unsigned char *want, size_t want_len)
{
    unsigned char *k = NULL;
    size_t len = 0;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_feast_entity_key(&k, &len, entity, type, key, project, &err), 0);
    CU_ASSERT_EQUAL(len, want_len);
    if (len != want_len || memcmp(k, want, len) != 0) {
        fprintf(stderr, "\n  key %s=%s: got ", entity, key);
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, "%02x", k[i]);
        fprintf(stderr, "\n");
        CU_FAIL("entity key bytes differ");
    }
    free(k);
}

static void test_redis_online__entity_key_string_v3(void)
{
    static const unsigned char want[] = {0x01, 0,   0,   0, /* one join key */
                                         0x02, 0,   0,   0, /* its name is a STRING */
                                         0x09, 0,   0,   0, /* of 9 characters */
                                         'd',  'r', 'i', 'v', 'e', 'r', '_', 'i', 'd', /* */
                                         0x02, 0,   0,   0, /* the value: STRING */
                                         0x02, 0,   0,   0, /* 2 bytes */
                                         'd',  '1',         /* */
                                         'f',  'e', 'a', 's', 't', '_', 'd', 'e', 'm',
                                         'o'}; /* the project */
    expect_key("driver_id", MO_ENTITY_STRING, "d1", "feast_demo", want, sizeof want);
}

static void test_redis_online__entity_key_int64_v3(void)
{
    static const unsigned char want[] = {
        0x01, 0,    0,   0,   0x02, 0,   0,   0,   0x09, 0,   0,
        0,    'd',  'r', 'i', 'v',  'e', 'r', '_', 'i',  'd', /* as above */
        0x04, 0,    0,   0,                                   /* INT64 */
        0x08, 0,    0,   0,                                   /* 8 bytes (v2 on; v1 had 4) */
        0xe9, 0x03, 0,   0,   0,    0,   0,   0,              /* 1001 little-endian */
        'p'};
    expect_key("driver_id", MO_ENTITY_INT64, "1001", "p", want, sizeof want);
    static const unsigned char neg[] = {
        0x01, 0,   0,   0,    0x02, 0,    0,    0,    0x09, 0,    0,    0,  'd',
        'r',  'i', 'v', 'e',  'r',  '_',  'i',  'd',  0x04, 0,    0,    0,  0x08,
        0,    0,   0,   0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'p'}; /* -2: two's
                                                                                 complement */
    expect_key("driver_id", MO_ENTITY_INT64, "-2", "p", neg, sizeof neg);
}

/* Feast writes len() of the Python str for the name: code points, not UTF-8 bytes. */
static void test_redis_online__entity_key_counts_name_in_code_points(void)
{
    static const unsigned char want[] = {
        0x01, 0,    0,    0,   0x02, 0,   0,   0, 0x06, 0,    0, 0, /* "número": 6 code points */
        'n',  0xc3, 0xba, 'm', 'e',  'r', 'o',                      /* 7 bytes */
        0x02, 0,    0,    0,   0x02, 0,   0,   0, 0xc3, 0xa9,       /* "é": 2 bytes */
        'p'};
    expect_key("n\xc3\xbamero", MO_ENTITY_STRING, "\xc3\xa9", "p", want, sizeof want);
}

static void test_redis_online__entity_key_errors(void)
{
    unsigned char *k = (unsigned char *)"x";
    size_t len;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, &len, "id", MO_ENTITY_INT64, "12x", "p", &err),
                    MO_EINVAL);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_STRING_EQUAL(err.msg, "entity key '12x' is not an INT64 (a decimal integer)");
    CU_ASSERT_EQUAL(
        mo_feast_entity_key(&k, &len, "id", MO_ENTITY_INT64, "9223372036854775808", "p", &err),
        MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, &len, "id", MO_ENTITY_INT64, "", "p", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, &len, "", MO_ENTITY_STRING, "a", "p", NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, &len, NULL, MO_ENTITY_STRING, "a", "p", NULL),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, &len, "id", MO_ENTITY_STRING, NULL, "p", NULL),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, &len, "id", MO_ENTITY_STRING, "a", NULL, NULL),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, &len, "id", (mo_entity_type_t)7, "a", "p", NULL),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(NULL, &len, "id", MO_ENTITY_STRING, "a", "p", NULL),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_feast_entity_key(&k, NULL, "id", MO_ENTITY_STRING, "a", "p", NULL),
                    MO_EINVAL);
}

static void test_redis_online__value_proto_double(void)
{
    unsigned char b[9];
    static const unsigned char half[] = {0x29, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f};
    static const unsigned char m125[] = {0x29, 0, 0, 0, 0, 0, 0, 0xf4, 0xbf};
    static const unsigned char zero[] = {0x29, 0, 0, 0, 0, 0, 0, 0, 0};
    CU_ASSERT_EQUAL(mo_feast_value_double(b, 0.5), 9);
    CU_ASSERT_EQUAL(memcmp(b, half, 9), 0);
    CU_ASSERT_EQUAL(mo_feast_value_double(b, -1.25), 9);
    CU_ASSERT_EQUAL(memcmp(b, m125, 9), 0);
    /* a oneof member is written even at its default: 0.0 is not null */
    CU_ASSERT_EQUAL(mo_feast_value_double(b, 0.0), 9);
    CU_ASSERT_EQUAL(memcmp(b, zero, 9), 0);
    /* NaN is Feast's null: the empty Value */
    CU_ASSERT_EQUAL(mo_feast_value_double(b, NAN), 0);

    double d = 0;
    CU_ASSERT_TRUE(mo_feast_parse_value(half, 9, &d));
    CU_ASSERT_EQUAL(d, 0.5);
    CU_ASSERT_TRUE(mo_feast_parse_value(b, 0, &d));
    CU_ASSERT_TRUE(isnan(d));
    /* what Feast writes for other numeric types reads as a double too */
    static const unsigned char f32[] = {0x35, 0, 0, 0xc0, 0x3f}; /* float_val 1.5 */
    static const unsigned char i64[] = {0x20, 0xe9, 0x07};       /* int64_val 1001 */
    static const unsigned char i32[] = {0x18, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01}; /* int32_val -1 */
    CU_ASSERT_TRUE(mo_feast_parse_value(f32, sizeof f32, &d));
    CU_ASSERT_EQUAL(d, 1.5);
    CU_ASSERT_TRUE(mo_feast_parse_value(i64, sizeof i64, &d));
    CU_ASSERT_EQUAL(d, 1001.0);
    CU_ASSERT_TRUE(mo_feast_parse_value(i32, sizeof i32, &d));
    CU_ASSERT_EQUAL(d, -1.0);
    /* string_val "a", a cut double: not numbers */
    static const unsigned char str[] = {0x12, 0x01, 'a'};
    CU_ASSERT_FALSE(mo_feast_parse_value(str, sizeof str, &d));
    CU_ASSERT_FALSE(mo_feast_parse_value(half, 8, &d));
}

static void expect_ts(int64_t us, const unsigned char *want, size_t want_len)
{
    unsigned char b[17];
    int64_t back = 0;
    size_t n = mo_feast_timestamp(b, us);
    CU_ASSERT_EQUAL(n, want_len);
    CU_ASSERT_EQUAL(memcmp(b, want, n < want_len ? n : want_len), 0);
    CU_ASSERT_TRUE(mo_feast_parse_timestamp(b, n, &back));
    CU_ASSERT_EQUAL(back, us);
}

static void test_redis_online__timestamp_proto(void)
{
    /* 2023-11-14T22:13:20.123456Z: seconds 1700000000 (0x08 + varint), nanos 123456000 */
    static const unsigned char full[] = {0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06,
                                         0x10, 0x80, 0x94, 0xef, 0x3a};
    expect_ts(1700000000123456LL, full, sizeof full);
    /* whole seconds: no nanos field, as Feast's own writer leaves it */
    expect_ts(1700000000000000LL, full, 6);
    /* before 1970: seconds floor to -1 (ten-byte varint), nanos stay positive */
    static const unsigned char neg[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0x01, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01};
    expect_ts(-500000, neg, sizeof neg);
    /* the epoch: both fields at their default, so nothing */
    expect_ts(0, full, 0);

    int64_t us;
    static const unsigned char cut[] = {0x08, 0x80, 0xe2};
    static const unsigned char wire2[] = {0x0a, 0x01, 0x00};
    CU_ASSERT_FALSE(mo_feast_parse_timestamp(cut, sizeof cut, &us));
    CU_ASSERT_FALSE(mo_feast_parse_timestamp(wire2, sizeof wire2, &us));
    /* seconds 2^62 (past 9999-12-31) would overflow µs: not a time */
    static const unsigned char huge[] = {0x08, 0x80, 0x80, 0x80, 0x80,
                                         0x80, 0x80, 0x80, 0x80, 0x40};
    CU_ASSERT_FALSE(mo_feast_parse_timestamp(huge, sizeof huge, &us));
}

/* ---- connecting without a server ----------------------------------------------------------- */

static void expect_bad_url(const char *url, const char *want_in_msg)
{
    mo_redis_t *r = (mo_redis_t *)url;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_redis_connect(&r, url, 1.0, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    if (!strstr(err.msg, want_in_msg))
        fprintf(stderr, "\n  %s: '%s' lacks '%s'\n", url, err.msg, want_in_msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want_in_msg));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
}

static void test_redis_online__bad_urls(void)
{
    expect_bad_url("http://localhost:6379", "must be redis://");
    expect_bad_url("rediss://localhost:6380", "TLS");
    expect_bad_url("redis://", "no host");
    expect_bad_url("redis://:6379/0", "no host");
    expect_bad_url("redis://h:0", "port must be 1-65535, got '0'");
    expect_bad_url("redis://h:65536", "got '65536'");
    expect_bad_url("redis://h:x/0", "got 'x'");
    expect_bad_url("redis://h:/0", "got ''");
    expect_bad_url("redis://h:6379/x", "database number, got 'x'");
    expect_bad_url("redis://h:6379/-1", "database number");
    expect_bad_url("redis://[::1/0", "bad [IPv6] host");
    /* the password is never quoted back, whatever else is wrong */
    expect_bad_url("redis://:s3cret@h:nope/0", "redis://:***@h:nope/0");
    expect_bad_url("redis://me:s3cret@h:6379/x", "redis://me:***@h:6379/x");
    expect_bad_url("redis://s3cret@h:6379", "the password goes after a colon");
    expect_bad_url("redis://:s3cret%zz@h:6379", "bad %XX escape");
    expect_bad_url("redis://:s3cret%4@h:6379", "bad %XX escape");
    expect_bad_url("redis://:s3cret%00@h:6379", "bad %XX escape");
    expect_bad_url("redis://us%zzer:s3cret@h:6379", "bad %XX escape");

    mo_redis_t *r = NULL;
    CU_ASSERT_EQUAL(mo_redis_connect(NULL, "redis://h", 1.0, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_connect(&r, NULL, 1.0, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_connect(&r, "redis://h", 0.0, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_redis_connect(&r, "redis://h", NAN, NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    mo_redis_close(NULL);
}

/* A loopback socket: listening (connects succeed, nothing ever answers) or closed. */
static int loopback(int listening, int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CU_ASSERT_EQUAL_FATAL(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    CU_ASSERT_EQUAL_FATAL(getsockname(s, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    if (listening) {
        CU_ASSERT_EQUAL_FATAL(listen(s, 4), 0);
    } else {
        close(s);
    }
    return listening ? s : -1;
}

static void test_redis_online__refused_names_host_port(void)
{
    int port;
    char url[128], where[64];
    loopback(0, &port);
    snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d/2", port);
    snprintf(where, sizeof where, "redis 127.0.0.1:%d: cannot connect", port);
    mo_redis_t *r = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_redis_connect(&r, url, 2.0, &err), MO_ESERVICE);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, where));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "refused"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
}

/* A server that accepts and never answers: the first reply (AUTH) times out after timeout_s,
 * not after the kernel's minutes. */
static void test_redis_online__silent_server_times_out(void)
{
    int port, s = loopback(1, &port);
    char url[128];
    snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d", port);
    mo_redis_t *r = NULL;
    mo_error_t err = {0};
    double t0 = mo_time_mono();
    CU_ASSERT_EQUAL(mo_redis_connect(&r, url, 0.3, &err), MO_ESERVICE);
    double dt = mo_time_mono() - t0;
    CU_ASSERT_TRUE(dt >= 0.25 && dt < 3.0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "AUTH: no reply within 0.3 s"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
    close(s);
}

static CU_TestInfo tests[] = {MO_TEST(test_redis_online__murmur3_known_vectors),
                              MO_TEST(test_redis_online__entity_key_string_v3),
                              MO_TEST(test_redis_online__entity_key_int64_v3),
                              MO_TEST(test_redis_online__entity_key_counts_name_in_code_points),
                              MO_TEST(test_redis_online__entity_key_errors),
                              MO_TEST(test_redis_online__value_proto_double),
                              MO_TEST(test_redis_online__timestamp_proto),
                              MO_TEST(test_redis_online__bad_urls),
                              MO_TEST(test_redis_online__refused_names_host_port),
                              MO_TEST(test_redis_online__silent_server_times_out),
                              CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/redis_online", tests);
}
