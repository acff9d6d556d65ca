/* test_config_set.c - --set key.path=value overrides */
#include "io/config.h"
#include "tests/io/config_fixtures.h"
#include "tests/unit.h"

#include <stdlib.h>
#include <string.h>

static void test_config_set__set_scalar_overrides_value(void)
{
    mo_cfg_t *cfg = load("optimizer:\n  lr: 0.1\n  name: sgd\n");
    mo_error_t err = {0};
    const char *name = NULL;
    CU_ASSERT_EQUAL(
        mo_cfg_get_string(mo_cfg_lookup(mo_cfg_root(cfg), "optimizer"), "name", 0, &name, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "optimizer.lr=0.5", &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "optimizer.name=adam", &err), 0);
    /* A string handed out before the override is still valid. */
    CU_ASSERT_STRING_EQUAL(name, "sgd");
    mo_cfg_node_t *opt = mo_cfg_child(mo_cfg_root(cfg), "optimizer");
    double lr = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "lr", 0, 0, 1, &lr, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.5, 0);
    char where[128];
    CU_ASSERT_STRING_EQUAL(mo_cfg_where(mo_cfg_child(opt, "lr"), where, sizeof where),
                           "--set optimizer.lr=0.5");
    CU_ASSERT_EQUAL(mo_cfg_line(mo_cfg_child(opt, "lr")), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "optimizer.lr=fast", &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "lr", 0, 0, 1, &lr, &err), MO_EINVAL);
    ASSERT_MSG(err, "--set optimizer.lr=fast: optimizer.lr must be a number in [0, 1], got "
                    "\"fast\"");
    mo_cfg_destroy(cfg);
}

static void test_config_set__set_value_is_parsed_as_yaml(void)
{
    setenv("MO_TEST_WIDTH", "128", 1);
    mo_cfg_t *cfg = load("model:\n  hidden: [8]\n");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "model.hidden=[64, 64]", &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "model.out=${env:MO_TEST_WIDTH}", &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "model.name=\"0.1\"", &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "model.none=", &err), 0);
    mo_cfg_node_t *model = mo_cfg_child(mo_cfg_root(cfg), "model"), *hidden = NULL;
    CU_ASSERT_EQUAL(mo_cfg_get_list(model, "hidden", 0, &hidden, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_len(hidden), 2);
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_at(hidden, 1)), "64");
    char path[64];
    CU_ASSERT_STRING_EQUAL(mo_cfg_path(mo_cfg_at(hidden, 1), path, sizeof path), "model.hidden[1]");
    CU_ASSERT_PTR_EQUAL(mo_cfg_lookup(mo_cfg_root(cfg), "model.hidden[1]"), mo_cfg_at(hidden, 1));
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(model, "out")), "128");
    CU_ASSERT_TRUE(mo_cfg_is_quoted(mo_cfg_child(model, "name")));
    CU_ASSERT_EQUAL(mo_cfg_type(mo_cfg_child(model, "none")), MO_CFG_NULL);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "model.bad=[1,", &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--set model.bad=[1,: "));
    CU_ASSERT_PTR_NULL(mo_cfg_child(model, "bad"));
    mo_cfg_destroy(cfg);
}

static void test_config_set__set_new_path_is_checked_like_file_keys(void)
{
    mo_cfg_t *cfg = load("kind: train\noptimizer:\n  name: sgd\n  lr: 0.1\nempty:\n");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "optimizer.lrr=0.1", &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "data.train.path=/x.h5", &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "empty.sub=1", &err), 0); /* a null on the way becomes a map */
    mo_cfg_node_t *root = mo_cfg_root(cfg);
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_lookup(root, "data.train.path")), "/x.h5");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_lookup(root, "empty.sub")), "1");
    read_optimizer(root);
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(root, &err), MO_EINVAL);
    ASSERT_MSG(err, "--set optimizer.lrr=0.1: unknown key 'lrr' in optimizer; did you mean 'lr'?");
    mo_cfg_mark_known(mo_cfg_child(root, "optimizer"), "lrr");
    mo_cfg_mark_known(root, "empty");
    mo_cfg_allow_any(mo_cfg_child(root, "empty"));
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(root, &err), MO_EINVAL);
    ASSERT_MSG(err, "--set data.train.path=/x.h5: unknown key 'data' at the top level");
    mo_cfg_destroy(cfg);
}

static void test_config_set__set_through_scalar_and_bad_syntax_are_errors(void)
{
    mo_cfg_t *cfg = load("optimizer:\n  lr: 0.1\n  hidden: [1]\n");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "optimizer.lr.x=1", &err), MO_EINVAL);
    ASSERT_MSG(err, "--set optimizer.lr.x=1: optimizer.lr is a scalar (spec.yml:2:7), not a map");
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "optimizer.hidden.x=1", &err), MO_EINVAL);
    ASSERT_MSG(err, "--set optimizer.hidden.x=1: optimizer.hidden is a list (spec.yml:3:11), not "
                    "a map");
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "optimizer.lr", &err), MO_EINVAL);
    ASSERT_MSG(err, "--set optimizer.lr: expected key.path=value");
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "=1", &err), MO_EINVAL);
    ASSERT_MSG(err, "--set =1: empty key path before '='");
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "a..b=1", &err), MO_EINVAL);
    ASSERT_MSG(err, "--set a..b=1: empty key in path 'a..b'");
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, "a.=1", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_len(mo_cfg_root(cfg)), 1); /* nothing was added by the failures */
    mo_cfg_destroy(cfg);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_config_set__set_scalar_overrides_value),
    MO_TEST(test_config_set__set_value_is_parsed_as_yaml),
    MO_TEST(test_config_set__set_new_path_is_checked_like_file_keys),
    MO_TEST(test_config_set__set_through_scalar_and_bad_syntax_are_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/config_set", tests);
}
