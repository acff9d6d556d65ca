/* alloc.h - allocation wrappers that check sizes for overflow
 *
 * Every wrapper returns NULL on failure (never aborts), so callers turn a failure into
 * MO_ENOMEM with context. Memory from these is released with free().
 */
#ifndef MO_CORE_ALLOC_H
#define MO_CORE_ALLOC_H

#include <stddef.h>

/* n * size bytes, NULL on overflow or exhaustion. */
void *mo_mallocarray(size_t n, size_t size);
/* Zeroed n * size bytes. */
void *mo_calloc(size_t n, size_t size);
/* Resize `p` to n * size bytes; on failure `p` is left untouched and NULL returned. */
void *mo_reallocarray(void *p, size_t n, size_t size);
/* Copy of `s` (NULL gives NULL), caller frees. */
char *mo_strdup(const char *s);
/* Copy of the first n bytes of `s`, NUL-terminated, caller frees. */
char *mo_strndup(const char *s, size_t n);

#endif
