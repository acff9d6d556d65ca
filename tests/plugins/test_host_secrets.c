/* test_host_secrets.c - resolve_secret through the secrets plugins (host_secrets.c): provider
 * order, the buffer-size protocol, redaction, an unavailable provider
 */
#include "core/log.h"
#include "plugins/host.h"
#include "tests/plugins/host_fixtures.h"
#include "tests/unit.h"

#include <stdlib.h>
#include <string.h>

/* ---- secrets ------------------------------------------------------------------------------ */

static void test_host_secrets__resolve_secret_in_order_with_buffer_protocol(void)
{
    use_test_path();
    char long_value[700];
    memset(long_value, 'v', sizeof long_value - 1); /* longer than the host's first buffer */
    long_value[sizeof long_value - 1] = '\0';
    long_value[0] = 'L';
    maestro_kv_t a[] = {{"db/password", long_value}};
    maestro_kv_t b[] = {{"db/password", "from-b-never"}, {"api/token", "tok-b-12345"}};
    mo_plugin_request_t req[] = {{"secrets_a", a, 1}, {"secrets_b", b, 2}};
    mo_plugins_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, req, 2, NULL, NULL), 0);
    char *v = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "db", "password", &v, &err), 0);
    CU_ASSERT_STRING_EQUAL(v, long_value);
    free(v);
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "api", "token", &v, &err), 0);
    CU_ASSERT_STRING_EQUAL(v, "tok-b-12345");
    free(v);
    char *masked = mo_redact("Authorization: tok-b-12345");
    CU_ASSERT_STRING_EQUAL(masked, "Authorization: ***");
    free(masked);
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "missing", "key", &v, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "secret missing/key: not found"));
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "db", NULL, &v, &err), MO_EINVAL);
    /* events to plugins with no event callback are fine */
    mo_plugins_metric(p, "m", 1, 1, 0, NULL, 0);
    mo_plugins_close(p);
}

static void test_host_secrets__unavailable_provider_is_skipped_then_reported(void)
{
    use_test_path();
    maestro_kv_t a[] = {{"unavailable", "1"}};
    maestro_kv_t b[] = {{"api/token", "tok-b-67890"}};
    mo_plugin_request_t req[] = {{"secrets_a", a, 1}, {"secrets_b", b, 1}};
    mo_plugins_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, req, 2, NULL, NULL), 0);
    char *v = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "api", "token", &v, &err), 0);
    CU_ASSERT_STRING_EQUAL(v, "tok-b-67890");
    free(v);
    CU_ASSERT_EQUAL(mo_plugins_resolve_secret(p, "db", "password", &v, &err), MO_ESERVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "secrets_a"));
    mo_plugins_close(p);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_host_secrets__resolve_secret_in_order_with_buffer_protocol),
    MO_TEST(test_host_secrets__unavailable_provider_is_skipped_then_reported),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/host_secrets", tests);
}
