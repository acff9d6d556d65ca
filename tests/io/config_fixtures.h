/* config_fixtures.h - helpers shared by the tests/io/test_config_*.c suites
 *
 * Each test file is its own executable, so these are static inline in a header. */
#ifndef MO_TESTS_IO_CONFIG_FIXTURES_H
#define MO_TESTS_IO_CONFIG_FIXTURES_H

#include "io/config.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

static inline mo_cfg_t *load_as(const char *name, const char *text, const mo_cfg_opts_t *opts)
{
    mo_cfg_t *cfg = NULL;
    mo_error_t err = {0};
    int rc = mo_cfg_load_string(&cfg, name, text, opts, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  unexpected load failure: %s\n", err.msg);
    return cfg;
}

static inline mo_cfg_t *load(const char *text)
{
    return load_as("spec.yml", text, NULL);
}

/* Load text that must fail; returns the code and leaves the message in err. */
static inline int load_fail(const char *text, const mo_cfg_opts_t *opts, mo_error_t *err)
{
    mo_cfg_t *cfg = (mo_cfg_t *)0x1;
    int rc = mo_cfg_load_string(&cfg, "spec.yml", text, opts, err);
    CU_ASSERT_PTR_NULL(cfg);
    mo_cfg_destroy(cfg);
    return rc;
}

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

/* Read the keys a train spec's optimizer uses, so check_unknown sees them as known. */
static inline void read_optimizer(mo_cfg_node_t *root)
{
    static const char *const names[] = {"sgd", "adam", NULL};
    mo_cfg_node_t *opt = NULL;
    double x = 0;
    int which = 0;
    mo_cfg_get_enum(root, "kind", 0, (const char *const[]){"train", NULL}, &which, NULL);
    mo_cfg_get_map(root, "optimizer", 0, &opt, NULL);
    mo_cfg_get_enum(opt, "name", 0, names, &which, NULL);
    mo_cfg_get_double(opt, "lr", 0, 0, 1, &x, NULL);
    mo_cfg_get_double(opt, "momentum", 0, 0, 1, &x, NULL);
}

#endif
