/* redis_online.h - the online store in Redis, in Feast's layout (docs/formats.md "Online store
 * in Redis")
 *
 * One Redis hash per (entity key, project), as Feast's Redis online store writes it
 * (../shared/reference/platform-protocols.md section 6.4):
 *   key    = Feast entity key serialisation v3 (Feast >= 0.44 with
 *            `entity_key_serialization_version: 3`) of {entity column: key} ++ project;
 *            the key's value type is STRING (the key's text) or INT64 (the key parsed as a
 *            decimal integer), as the view's entity is declared;
 *   fields = murmur3_32("<view>:<feature>", seed 0) as 4 bytes little-endian -> a serialised
 *            feast.types.Value with double_val (an empty Value, Feast's null, for NaN);
 *            "_ts:<view>" -> a serialised google.protobuf.Timestamp (seconds, nanos) of the
 *            row's event time.
 * A row is written only when the stored _ts:<view> is older, compared to the µs (Feast's own
 * writer compares whole seconds), in one Lua script per entity, pipelined in batches: re-runs
 * are idempotent and an older event never replaces a newer one. Feast's SDK reads what this
 * writes (`get_online_features`; checked against Feast 0.47's RedisOnlineStore.online_read).
 */
#ifndef MO_IO_REDIS_ONLINE_H
#define MO_IO_REDIS_ONLINE_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct mo_redis mo_redis_t;

typedef enum { MO_ENTITY_STRING = 0, MO_ENTITY_INT64 } mo_entity_type_t;

/* url: redis://[[user]:password@]host[:port][/db] (port 6379, db 0 by default; an IPv6 host in
 * brackets; %XX escapes in user and password). The password may come from a secret and never
 * appears in a message. timeout_s (> 0) bounds the connect and every reply. MO_EINVAL for a bad
 * URL, MO_ESERVICE naming host:port when it cannot connect, authenticate or select the db.
 * The caller owns *out and frees it with mo_redis_close. */
int mo_redis_connect(mo_redis_t **out, const char *url, double timeout_s, mo_error_t *err);
/* mo_redis_connect without connecting: only the URL is checked (MO_EINVAL); the first write
 * or read connects. */
int mo_redis_open(mo_redis_t **out, const char *url, double timeout_s, mo_error_t *err);
/* 1 when the last call failed because the server could not be reached (refused, reset, no
 * reply within the timeout) or was still loading its data after a restart: worth trying again
 * later. 0 after an error reply (authentication, a wrong type) or success. */
int mo_redis_unreachable(const mo_redis_t *r);
/* Accepts NULL. */
void mo_redis_close(mo_redis_t *r);

typedef struct {
    const char *project, *view, *entity; /* entity: the join key's name */
    mo_entity_type_t entity_type;
    const char *const *features;
    size_t n_features;
} mo_redis_view_t;

/* Write n rows (keys, event_ts in µs, values row-major [n][n_features]); *written and *skipped
 * (stored row as new or newer) may be NULL. Every key is checked before anything is sent.
 * After a connection failure (MO_ESERVICE) the next call reconnects; writing the same rows
 * again is safe. */
int mo_redis_write(mo_redis_t *r, const mo_redis_view_t *v, int64_t n, const char *const *keys,
                   const int64_t *event_ts, const double *values, int64_t *written,
                   int64_t *skipped, mo_error_t *err);
/* Read one entity: *found 0 when the hash has no _ts:<view>; values[n_features] (NaN for a
 * field not there or null). */
int mo_redis_read(mo_redis_t *r, const mo_redis_view_t *v, const char *key, int *found,
                  int64_t *event_ts, double *values, mo_error_t *err);

/* The pieces (io/redis_online_codec.c), exposed for golden tests against Feast's own bytes. */
uint32_t mo_murmur3_32(const void *data, size_t len, uint32_t seed);
/* Serialised entity key v3 ++ project into a malloc'd *out of *len bytes (caller frees).
 * MO_EINVAL for an INT64 key that is not a decimal int64. */
int mo_feast_entity_key(unsigned char **out, size_t *len, const char *entity, mo_entity_type_t type,
                        const char *key, const char *project, mo_error_t *err);
/* Serialised feast.types.Value{double_val: v} into buf (9 bytes); NaN gives the empty Value
 * (0 bytes). Returns the length. */
size_t mo_feast_value_double(unsigned char buf[9], double v);
/* Serialised google.protobuf.Timestamp of `us` µs since the epoch into buf (at most 17 bytes):
 * seconds (floor), then nanos in [0, 1e9) only when not zero. Returns the length. */
size_t mo_feast_timestamp(unsigned char buf[17], int64_t us);
/* The reverse, for reading back: a Timestamp's bytes to µs (nanos truncated; seconds outside
 * years 1-9999 are malformed); a Value's bytes (double, float, int32 or int64; empty: NaN) to
 * a double. 1 on success, 0 when malformed. */
int mo_feast_parse_timestamp(const unsigned char *p, size_t len, int64_t *us);
int mo_feast_parse_value(const unsigned char *p, size_t len, double *out);

#endif
