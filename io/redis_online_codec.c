/* redis_online_codec.c - Feast's bytes for the Redis online store: murmur3 field names, entity
 * keys, Value and Timestamp protos
 *
 * Built by hand, without a protobuf library: a double Value is 9 bytes and a Timestamp two
 * varints, and what counts is that Feast's SDK computes exactly these bytes for a lookup. The
 * entity key is serialisation v3 as Feast >= 0.44 writes it (a u32 key count first; Feast
 * 0.40-0.43 called "v3" the same bytes without the count). No hiredis here: the golden tests
 * run without a server.
 */
#include "io/redis_online.h"

#include "core/str.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

/* MurmurHash3_x86_32 (Austin Appleby, public domain), as Python's mmh3.hash(signed=False). */
uint32_t mo_murmur3_32(const void *data, size_t len, uint32_t seed)
{
    const unsigned char *p = data;
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed, k;
    size_t i, nblocks = len / 4;
    for (i = 0; i < nblocks; i++, p += 4) {
        k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        k = rotl32(k * c1, 15) * c2;
        h = rotl32(h ^ k, 13) * 5 + 0xe6546b64u;
    }
    k = 0;
    switch (len & 3) {
    case 3:
        k ^= (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        k ^= (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        k ^= p[0];
        h ^= rotl32(k * c1, 15) * c2;
    }
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

size_t mo_feast_value_double(unsigned char buf[9], double v)
{
    /* Feast turns a null (NaN in pandas) into an empty Value and reads it back as None. */
    if (isnan(v))
        return 0;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    buf[0] = 0x29; /* field 5 (double_val), wire type 1 (64-bit) */
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (unsigned char)(bits >> (8 * i));
    return 9;
}

size_t mo_feast_timestamp(unsigned char buf[17], int64_t us)
{
    int64_t s = us / 1000000, rem = us % 1000000;
    if (rem < 0) { /* nanos are never negative: 1969-12-31T23:59:59.5Z is (-1, 5e8) */
        s -= 1;
        rem += 1000000;
    }
    unsigned char *p = buf;
    /* proto3 omits fields at their default: seconds 0 is not written either */
    if (s != 0) {
        *p++ = 0x08;
        p = put_varint(p, (uint64_t)s); /* int64: two's complement, 10 bytes when negative */
    }
    if (rem != 0) {
        *p++ = 0x10;
        p = put_varint(p, (uint64_t)(rem * 1000));
    }
    return (size_t)(p - buf);
}

/* One varint at *p (advanced); 0 when it runs past `end` or over 10 bytes. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        unsigned char c = *(*p)++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 1;
    }
    return 0;
}

int mo_feast_parse_timestamp(const unsigned char *p, size_t len, int64_t *us)
{
    const unsigned char *end = p + len;
    int64_t s = 0, n = 0;
    while (p < end) {
        unsigned char tag = *p++;
        uint64_t v;
        if ((tag & 7) != 0 || !get_varint(&p, end, &v))
            return 0;
        if (tag == 0x08)
            s = (int64_t)v;
        else if (tag == 0x10)
            n = (int64_t)v;
    }
    /* google.protobuf.Timestamp's own range (years 1-9999) and nanos in [0, 1e9): anything
     * else is not a time, and would overflow the µs below */
    if (s < -62135596800LL || s > 253402300799LL || n < 0 || n > 999999999)
        return 0;
    *us = s * 1000000 + n / 1000;
    return 1;
}

int mo_feast_parse_value(const unsigned char *p, size_t len, double *out)
{
    const unsigned char *end = p + len;
    uint64_t v = 0;
    *out = NAN;
    if (len == 0)
        return 1;
    unsigned char tag = *p++;
    if ((tag == 0x29 && end - p == 8) || (tag == 0x35 && end - p == 4)) {
        for (int i = (int)(end - p) - 1; i >= 0; i--)
            v = v << 8 | p[i];
        if (tag == 0x29) {
            memcpy(out, &v, sizeof *out);
        } else {
            uint32_t b = (uint32_t)v;
            float f;
            memcpy(&f, &b, sizeof f);
            *out = f;
        }
        return 1;
    }
    if ((tag == 0x18 || tag == 0x20) && get_varint(&p, end, &v) && p == end) {
        *out = tag == 0x18 ? (double)(int32_t)v : (double)(int64_t)v; /* int32_val, int64_val */
        return 1;
    }
    return 0;
}

/* u32 key count (1), the join key's name as a STRING, then the key's value: type, length,
 * bytes; then the project. Feast writes len(name) of the Python str, i.e. code points, not
 * UTF-8 bytes; the same here, so a non-ASCII join key name still gives Feast's bytes. */
int mo_feast_entity_key(unsigned char **out, size_t *len, const char *entity, mo_entity_type_t type,
                        const char *key, const char *project, mo_error_t *err)
{
    int64_t v = 0;
    if (out)
        *out = NULL;
    if (!out || !len || !entity || !*entity || !key || !project)
        return mo_errorf(err, MO_EINVAL, "mo_feast_entity_key: NULL argument or empty entity");
    if (type != MO_ENTITY_STRING && type != MO_ENTITY_INT64)
        return mo_errorf(err, MO_EINVAL, "mo_feast_entity_key: unknown entity type %d", type);
    if (type == MO_ENTITY_INT64 && mo_parse_int64(key, &v) != 0)
        return mo_errorf(err, MO_EINVAL, "entity key '%.64s' is not an INT64 (a decimal integer)",
                         key);
    size_t el = strlen(entity), kl = strlen(key), pl = strlen(project), chars = 0;
    unsigned char *buf = malloc(12 + el + 8 + (kl > 8 ? kl : 8) + pl), *q = buf;
    if (!buf)
        return mo_errorf(err, MO_ENOMEM, "mo_feast_entity_key: out of memory");
    for (size_t i = 0; i < el; i++)
        chars += ((unsigned char)entity[i] & 0xc0) != 0x80;
    q = put_u32(q, 1);
    q = put_u32(q, 2); /* ValueType.STRING: the name's type */
    q = put_u32(q, (uint32_t)chars);
    memcpy(q, entity, el);
    q += el;
    if (type == MO_ENTITY_INT64) {
        q = put_u32(q, 4); /* ValueType.INT64: 8 bytes from serialisation v2 on */
        q = put_u32(q, 8);
        for (int i = 0; i < 8; i++)
            *q++ = (unsigned char)((uint64_t)v >> (8 * i));
    } else {
        q = put_u32(q, 2);
        q = put_u32(q, (uint32_t)kl);
        memcpy(q, key, kl);
        q += kl;
    }
    memcpy(q, project, pl);
    *out = buf;
    *len = (size_t)(q - buf) + pl;
    return 0;
}
