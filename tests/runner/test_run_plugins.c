/* test_run_plugins.c - a spec's plugins and registry, service configuration, flattened params */
#include "io/config.h"
#include "runner/cluster.h"
#include "runner/run_plugins.h"
#include "tests/unit.h"

#include <stdlib.h>
#include <string.h>

static void use_test_plugins(void)
{
    const char *dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    if (dir)
        setenv("MAESTRO_PLUGIN_PATH", dir, 1);
}

static mo_cfg_t *doc(const char *text)
{
    mo_cfg_t *c = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_cfg_load_string(&c, "spec.yml", text, NULL, &err), 0);
    return c;
}

/* Documents live until the end of the run: parse results borrow their strings. */
static mo_cfg_t *docs[64];
static int n_docs;

static int parse(const char *text, mo_run_plugins_t **rp, mo_error_t *err)
{
    mo_cfg_t *c = doc(text);
    if (n_docs < 64)
        docs[n_docs++] = c;
    return mo_run_plugins_parse(rp, mo_cfg_root(c), err);
}

static void test_run_plugins__names_and_options_parse(void)
{
    use_test_plugins();
    mo_run_plugins_t *rp = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(parse("plugins: [example, {name: prometheus, job: nightly}]\n"
                                "registry: {model: churn, alias: champion}\n",
                                &rp, &err),
                          0);
    CU_ASSERT_EQUAL(mo_run_plugins_count(rp), 2u);
    CU_ASSERT_STRING_EQUAL(mo_run_plugins_registry_model(rp), "churn");
    CU_ASSERT_STRING_EQUAL(mo_run_plugins_registry_alias(rp), "champion");
    mo_run_plugins_free(rp);
    CU_ASSERT_EQUAL(parse("name: x\n", &rp, &err), 0);
    CU_ASSERT_EQUAL(mo_run_plugins_count(rp), 0u);
    CU_ASSERT_PTR_NULL(mo_run_plugins_registry_model(rp));
    mo_run_plugins_free(rp);
    CU_ASSERT_EQUAL(mo_run_plugins_count(NULL), 0u);
}

static void test_run_plugins__misspelt_plugin_suggests_the_closest(void)
{
    use_test_plugins();
    mo_run_plugins_t *rp = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(parse("plugins: [promethus]\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:1:11: plugins[0]: no plugin 'promethus'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "did you mean 'prometheus'?"));
}

static void test_run_plugins__bad_entries(void)
{
    use_test_plugins();
    mo_run_plugins_t *rp = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(parse("plugins: [example, example]\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'example' is listed twice"));
    CU_ASSERT_EQUAL(parse("plugins: [Bad/Name]\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is not a plugin name"));
    CU_ASSERT_EQUAL(parse("plugins: [{name: example, opts: {a: 1}}]\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "plugins[0].opts must be a single value"));
    CU_ASSERT_EQUAL(parse("plugins: [[example]]\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "must be a plugin name or {name: NAME"));
    CU_ASSERT_EQUAL(parse("registry: {alias: x}\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing required key 'model'"));
    CU_ASSERT_EQUAL(parse("registry: {model: m, alias: latest}\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "reserved by MLflow"));
    CU_ASSERT_EQUAL(parse("registry: {model: m, alias: v12}\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(parse("registry: {model: \"m/x\"}\n", &rp, &err), MO_EINVAL);
    /* a folder of the local registry: ".." would be its parent */
    CU_ASSERT_EQUAL(parse("registry: {model: \"..\"}\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:1:19: registry.model \"..\" must be"));
    CU_ASSERT_EQUAL(parse("registry: {model: .hidden}\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(parse("registry: {model: \"\"}\n", &rp, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(parse("registry: {model: \"churn model v2.1\"}\n", &rp, &err), 0);
    mo_run_plugins_free(rp);
}

static void test_run_plugins__service_config_only_when_written(void)
{
    const char *dir = mo_test_tmpdir();
    const char *path = mo_test_write_file(dir, "cluster.yml",
                                          "services:\n"
                                          "  pushgateway: {url: \"http://127.0.0.1:9\", job: j}\n");
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_cluster_load(&c, path, &err), 0);
    maestro_kv_t *kv = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(mo_run_plugins_service_config(&kv, &n, c, "prometheus", &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2u);
    CU_ASSERT_STRING_EQUAL(kv[0].key, "url");
    CU_ASSERT_STRING_EQUAL(kv[0].value, "http://127.0.0.1:9");
    CU_ASSERT_STRING_EQUAL(kv[1].key, "job");
    free(kv);
    /* loki is not written in the file: no url, so the plugin runs its embedded default. */
    CU_ASSERT_EQUAL(mo_run_plugins_service_config(&kv, &n, c, "loki", &err), 0);
    CU_ASSERT_EQUAL(n, 0u);
    free(kv);
    mo_cluster_destroy(c);
}

static void test_run_plugins__params_are_flat_and_secrets_masked(void)
{
    mo_cfg_t *c = doc("optimizer: {name: sgd, lr: 0.05}\n"
                      "model: {hidden: [256, 256]}\n"
                      "checks:\n  - {check: a}\n  - {check: b}\n"
                      "empty:\n");
    maestro_kv_t *kv = NULL;
    size_t n = 0;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_run_params(&kv, &n, mo_cfg_root(c), &err), 0);
    const char *want[][2] = {{"optimizer.name", "sgd"},      {"optimizer.lr", "0.05"},
                             {"model.hidden", "[256, 256]"}, {"checks.0.check", "a"},
                             {"checks.1.check", "b"},        {"empty", ""}};
    CU_ASSERT_EQUAL_FATAL(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(kv[i].key, want[i][0]);
        CU_ASSERT_STRING_EQUAL(kv[i].value, want[i][1]);
    }
    mo_run_params_free(kv, n);
    mo_cfg_destroy(c);
}

static int resolve_secret(char **out, const char *scheme, const char *name, void *ud,
                          mo_error_t *err)
{
    (void)scheme;
    (void)name;
    (void)ud;
    (void)err;
    *out = strdup("the-real-password");
    return 0;
}

static void test_run_plugins__secret_values_never_become_params(void)
{
    mo_cfg_opts_t o = {resolve_secret, NULL, 0, 0};
    mo_cfg_t *c = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(
        mo_cfg_load_string(&c, "s.yml", "db: {password: \"${secret:db/pw}\"}\n", &o, &err), 0);
    maestro_kv_t *kv = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(mo_run_params(&kv, &n, mo_cfg_root(c), &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1u);
    CU_ASSERT_STRING_EQUAL(kv[0].value, "***");
    mo_run_params_free(kv, n);
    mo_cfg_destroy(c);
}

static void test_run_plugins__no_plugins_opens_nothing(void)
{
    mo_plugins_t *p = (mo_plugins_t *)1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_run_plugins_open(&p, NULL, NULL, 0, 1, NULL, &err), 0);
    CU_ASSERT_PTR_NULL(p);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_run_plugins__names_and_options_parse),
    MO_TEST(test_run_plugins__misspelt_plugin_suggests_the_closest),
    MO_TEST(test_run_plugins__bad_entries),
    MO_TEST(test_run_plugins__service_config_only_when_written),
    MO_TEST(test_run_plugins__params_are_flat_and_secrets_masked),
    MO_TEST(test_run_plugins__secret_values_never_become_params),
    MO_TEST(test_run_plugins__no_plugins_opens_nothing),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = mo_test_main("runner/run_plugins", tests);
    for (int i = 0; i < n_docs; i++)
        mo_cfg_destroy(docs[i]);
    return rc;
}
