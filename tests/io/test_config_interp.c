/* test_config_interp.c - ${env:...} and ${scheme:name} references, the resolver, hidden secrets */
#include "io/config.h"
#include "tests/io/config_fixtures.h"
#include "tests/unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- ${env:...} ----------------------------------------------------------------------------- */

static void test_config_interp__env_interpolation_in_scalars(void)
{
    setenv("MO_TEST_HOST", "db.local", 1);
    setenv("MO_TEST_PORT", "5432", 1);
    setenv("MO_TEST_EMPTY", "", 1);
    unsetenv("MO_TEST_UNSET");
    mo_cfg_t *cfg = load("url: postgres://${env:MO_TEST_HOST}:${env:MO_TEST_PORT}/x\n"
                         "port: ${env:MO_TEST_PORT}\n"
                         "quoted: \"${env:MO_TEST_PORT}\"\n"
                         "dflt: ${env:MO_TEST_UNSET:-fallback value}\n"
                         "empty: ${env:MO_TEST_EMPTY:-used}\n"
                         "literal: $${env:MO_TEST_HOST} costs $5\n"
                         "${env:MO_TEST_HOST}: keys are not expanded\n");
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    mo_error_t err = {0};
    int64_t port = 0, qport = 0;
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(r, "url")), "postgres://db.local:5432/x");
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "port", 0, 1, 65535, &port, &err), 0);
    CU_ASSERT_EQUAL(port, 5432);
    /* A quoted reference still reads as a number: the quotes hold the reference, not a string */
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "quoted", 0, 1, 65535, &qport, &err), 0);
    CU_ASSERT_EQUAL(qport, 5432);
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(r, "dflt")), "fallback value");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(r, "empty")), "used");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(r, "literal")),
                           "${env:MO_TEST_HOST} costs $5");
    CU_ASSERT_PTR_NOT_NULL(mo_cfg_child(r, "${env:MO_TEST_HOST}"));
    CU_ASSERT_FALSE(mo_cfg_is_secret(mo_cfg_child(r, "url")));
    mo_cfg_destroy(cfg);
}

static void test_config_interp__env_errors_name_the_variable(void)
{
    unsetenv("MO_TEST_UNSET");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("a: 1\nb:\n  c: x-${env:MO_TEST_UNSET}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:6: environment variable MO_TEST_UNSET is not set (write "
                    "${env:MO_TEST_UNSET:-default} to give a default)");
    CU_ASSERT_EQUAL(load_fail("a: ${env:MO_TEST\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: unterminated '${' (missing '}')");
    CU_ASSERT_EQUAL(load_fail("a: ${no colon}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err,
               "spec.yml:1:4: bad reference ${no colon}: expected ${env:NAME} or ${scheme:name}");
    CU_ASSERT_EQUAL(load_fail("a: ${env:A:-${env:B}}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: a ${...} inside another is not supported");
    CU_ASSERT_EQUAL(load_fail("a: ${env:1BAD}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: bad variable name in ${env:1BAD}");
}

/* `${name}` without a scheme is a placeholder for templates (a sweep's trial.command): it
 * loads, mo_cfg_as_template reads it as written, every other reader reports it where it is. */
static void test_config_interp__plain_names_are_template_placeholders(void)
{
    mo_cfg_t *cfg = load_as("spec.yml", "a: --lr=${optimizer.lr}\nb: ${x}\nc: [\"${x}\"]\n", NULL);
    mo_cfg_node_t *root = mo_cfg_root(cfg);
    mo_error_t err = {0};
    const char *s = NULL;
    CU_ASSERT_EQUAL(mo_cfg_as_template(mo_cfg_child(root, "a"), &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "--lr=${optimizer.lr}");
    CU_ASSERT_EQUAL(mo_cfg_get_string(root, "a", 0, &s, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: bad reference ${optimizer.lr}: expected ${env:NAME} or "
                    "${scheme:name}");
    int64_t v = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_int(root, "b", 0, 0, 10, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:4: bad reference ${x}: expected ${env:NAME} or ${scheme:name}");
    CU_ASSERT_EQUAL(mo_cfg_as_string(mo_cfg_at(mo_cfg_child(root, "c"), 0), &s, &err), MO_EINVAL);
    mo_cfg_destroy(cfg);
}

static void test_config_interp__no_env_leaves_references_as_written(void)
{
    unsetenv("MO_TEST_UNSET");
    mo_cfg_opts_t opts = {.no_env = 1};
    mo_cfg_t *cfg = load_as("spec.yml", "a: ${env:MO_TEST_UNSET}/x\nb: $${env:X}\n", &opts);
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(mo_cfg_root(cfg), "a")),
                           "${env:MO_TEST_UNSET}/x");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(mo_cfg_root(cfg), "b")), "$${env:X}");
    mo_cfg_destroy(cfg);
}

/* ---- secrets -------------------------------------------------------------------------------- */

static int fake_resolve(char **out, const char *scheme, const char *name, void *ud, mo_error_t *err)
{
    (*(int *)ud)++;
    if (!strcmp(scheme, "secret") && !strcmp(name, "db_pass")) {
        *out = strdup("hunter2");
        return *out ? 0 : MO_ENOMEM;
    }
    if (!strcmp(scheme, "vault") && !strcmp(name, "port")) {
        *out = strdup("not-a-port");
        return *out ? 0 : MO_ENOMEM;
    }
    return mo_errorf(err, MO_ENOTFOUND, "no secret named '%s'", name);
}

static void test_config_interp__secret_resolver_and_dump_hides_value(void)
{
    int calls = 0;
    mo_cfg_opts_t opts = {.resolve = fake_resolve, .resolve_ud = &calls};
    mo_cfg_t *cfg = load_as("spec.yml",
                            "db:\n"
                            "  password: ${secret:db_pass}\n"
                            "  dsn: \"user:${secret:db_pass}@host\"\n"
                            "  port: ${vault:port}\n",
                            &opts);
    CU_ASSERT_EQUAL(calls, 3);
    mo_cfg_node_t *db = mo_cfg_child(mo_cfg_root(cfg), "db");
    mo_cfg_node_t *pw = mo_cfg_child(db, "password");
    CU_ASSERT_TRUE(mo_cfg_is_secret(pw));
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(pw), "hunter2");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(db, "dsn")), "user:hunter2@host");
    char *dump = mo_cfg_dump_yaml(mo_cfg_root(cfg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dump);
    CU_ASSERT_PTR_NULL(strstr(dump, "hunter2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "password: ${secret:db_pass}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "dsn: \"user:${secret:db_pass}@host\""));
    free(dump);
    /* A message about a bad secret value shows the reference, never the value. */
    mo_error_t err = {0};
    int64_t port = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_int(db, "port", 0, 1, 65535, &port, &err), MO_EINVAL);
    ASSERT_MSG(err,
               "spec.yml:4:9: db.port must be an integer in [1, 65535], got \"${vault:port}\"");
    mo_cfg_destroy(cfg);
}

static void test_config_interp__secret_without_resolver_or_unknown_is_error(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("db:\n  password: ${secret:db_pass}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:13: no resolver for ${secret:db_pass}");
    int calls = 0;
    mo_cfg_opts_t opts = {.resolve = fake_resolve, .resolve_ud = &calls};
    CU_ASSERT_EQUAL(load_fail("password: ${secret:nope}\n", &opts, &err), MO_ENOTFOUND);
    ASSERT_MSG(err, "spec.yml:1:11: ${secret:nope}: no secret named 'nope'");
}

static CU_TestInfo tests[] = {
    MO_TEST(test_config_interp__env_interpolation_in_scalars),
    MO_TEST(test_config_interp__env_errors_name_the_variable),
    MO_TEST(test_config_interp__plain_names_are_template_placeholders),
    MO_TEST(test_config_interp__no_env_leaves_references_as_written),
    MO_TEST(test_config_interp__secret_resolver_and_dump_hides_value),
    MO_TEST(test_config_interp__secret_without_resolver_or_unknown_is_error),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/config_interp", tests);
}
