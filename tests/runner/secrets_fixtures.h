/* secrets_fixtures.h - helpers shared by tests/runner/test_secrets.c and
 * tests/plugins/test_kubernetes.c: clusters from YAML text and `${secret:...}` resolution
 *
 * Each test file is its own executable, so these are static inline in a header.
 */
#ifndef MO_TESTS_RUNNER_SECRETS_FIXTURES_H
#define MO_TESTS_RUNNER_SECRETS_FIXTURES_H

#include "runner/secrets.h"

#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

#define ASSERT_HAS(s, part)                                                                        \
    do {                                                                                           \
        CU_ASSERT_PTR_NOT_NULL(strstr(s, part));                                                   \
        if (!strstr(s, part))                                                                      \
            fprintf(stderr, "\n  '%s' lacks '%s'\n", s, part);                                     \
    } while (0)

static char dir_buf[512];

static inline const char *sub(const char *name)
{
    snprintf(dir_buf, sizeof dir_buf, "%s/%s", mo_test_tmpdir(), name);
    return dir_buf;
}

/* A cluster from YAML text written to tmpdir/cluster.yml. */
static inline mo_cluster_t *cluster_from(const char *text)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "cluster.yml", text);
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    int rc = mo_cluster_load(&c, path, &err);
    if (rc)
        fprintf(stderr, "\n  cluster: %s\n  for: %s\n", err.msg, text);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return c;
}

/* Resolve `ref` with `c` and no plugin host; the value (caller frees) or NULL with *rc set. */
static inline char *resolve(const mo_cluster_t *c, mo_plugins_t *p, const char *ref, int *rc,
                            mo_error_t *err)
{
    mo_secrets_ctx_t ctx = {c, p};
    char *out = (char *)0x1;
    *rc = mo_secrets_resolve_ctx(&out, "secret", ref, &ctx, err);
    if (*rc)
        CU_ASSERT_PTR_NULL(out);
    return *rc ? NULL : out;
}

static inline void expect_value(const mo_cluster_t *c, mo_plugins_t *p, const char *ref,
                                const char *want)
{
    int rc;
    mo_error_t err = {0};
    char *v = resolve(c, p, ref, &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  %s: %s\n", ref, err.msg);
    if (v) {
        CU_ASSERT_STRING_EQUAL(v, want);
        if (strcmp(v, want))
            fprintf(stderr, "\n  %s: got %zu bytes, want %zu\n", ref, strlen(v), strlen(want));
    }
    free(v);
}

#endif
