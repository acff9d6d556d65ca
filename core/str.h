/* str.h - bounded strings, a growable buffer, strict number parsing, units
 *
 * The parsers are strict: the whole string must be consumed, no leading/trailing junk, no
 * silent overflow. They return 0 or MO_EINVAL and never write a message: callers know the
 * context (file:line:col) and say it.
 */
#ifndef MO_CORE_STR_H
#define MO_CORE_STR_H

#include <stddef.h>
#include <stdint.h>

/* Copy at most dstsize-1 bytes and always NUL-terminate. Returns strlen(src) (truncated
 * when >= dstsize), like BSD strlcpy. */
size_t mo_strlcpy(char *dst, const char *src, size_t dstsize);

/* A growable NUL-terminated string. Zero-initialise ({0}) before use; mo_buf_free after. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* set once an append could not allocate; further appends are no-ops */
} mo_buf_t;

int mo_buf_append(mo_buf_t *b, const char *s, size_t n);
int mo_buf_puts(mo_buf_t *b, const char *s);
int mo_buf_printf(mo_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the string to the caller (who frees it); the buffer is reset. NULL if failed. */
char *mo_buf_steal(mo_buf_t *b);
void mo_buf_free(mo_buf_t *b);

/* Strict parsers: 0 on success, MO_EINVAL otherwise. */
int mo_parse_int64(const char *s, int64_t *out);
int mo_parse_double(const char *s, double *out); /* rejects nan/inf spellings */
int mo_parse_bool(const char *s, int *out);      /* true/false/yes/no/on/off/1/0 */
/* "90s", "15m", "2h", "7d", "1w", "500ms", or a bare number of seconds. */
int mo_parse_duration(const char *s, double *seconds);
/* "64MiB", "1GB", "512k", "4Gi", or a bare number of bytes. Binary (Ki/KiB) and decimal
 * (k/kB) prefixes are distinguished, as Kubernetes and IEC do. */
int mo_parse_bytes(const char *s, uint64_t *bytes);

/* Levenshtein distance, capped at `cap` (returns cap when larger); for "did you mean". */
size_t mo_str_distance(const char *a, const char *b, size_t cap);

/* 1 when `s` starts with `prefix`. */
int mo_str_startswith(const char *s, const char *prefix);

#endif
