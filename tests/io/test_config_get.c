/* test_config_get.c - typed getters, required keys, unknown keys and suggestions */
#include "io/config.h"
#include "tests/io/config_fixtures.h"
#include "tests/unit.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- getters -------------------------------------------------------------------------------- */

static void test_config_get__number_error_names_location_path_and_rule(void)
{
    mo_cfg_t *cfg = load_as("train.yml",
                            "kind: train\n"
                            "optimizer:\n"
                            "  name: sgd\n"
                            "  lr:       fast\n",
                            NULL);
    mo_error_t err = {0};
    mo_cfg_node_t *opt = NULL;
    double lr = 0.1;
    mo_cfg_get_map(mo_cfg_root(cfg), "optimizer", 0, &opt, &err);
    CU_ASSERT_EQUAL(
        mo_cfg_get_double(opt, "lr", MO_CFG_LO_OPEN | MO_CFG_REQUIRED, 0, INFINITY, &lr, &err),
        MO_EINVAL);
    CU_ASSERT_EQUAL(err.code, MO_EINVAL);
    ASSERT_MSG(err, "train.yml:4:13: optimizer.lr must be a number > 0, got \"fast\"");
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.1, 0); /* untouched on error */
    mo_cfg_destroy(cfg);
}

static void test_config_get__missing_required_key_points_at_map(void)
{
    mo_cfg_t *cfg = load_as("train.yml",
                            "# training spec\n"
                            "kind: train\n"
                            "optimizer:\n"
                            "  name: sgd\n",
                            NULL);
    mo_error_t err = {0};
    mo_cfg_node_t *root = mo_cfg_root(cfg), *opt = NULL;
    double lr = 0;
    mo_cfg_get_map(root, "optimizer", 0, &opt, &err);
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "lr", MO_CFG_REQUIRED, 0, 1, &lr, &err), MO_EINVAL);
    ASSERT_MSG(err, "train.yml:3:1: missing required key 'lr' in optimizer");
    const char *seed = NULL;
    CU_ASSERT_EQUAL(mo_cfg_get_string(root, "seed", MO_CFG_REQUIRED, &seed, &err), MO_EINVAL);
    ASSERT_MSG(err, "train.yml:2:1: missing required key 'seed' at the top level");
    mo_cfg_node_t *model = (mo_cfg_node_t *)0x1;
    CU_ASSERT_EQUAL(mo_cfg_get_map(root, "model", 0, &model, &err), 0);
    CU_ASSERT_PTR_NULL(model);
    CU_ASSERT_EQUAL(mo_cfg_get_map(root, "model", MO_CFG_REQUIRED, &model, &err), MO_EINVAL);
    ASSERT_MSG(err, "train.yml:2:1: missing required key 'model' at the top level");
    mo_cfg_destroy(cfg);
}

static void test_config_get__wrong_type_names_both_types(void)
{
    mo_cfg_t *cfg = load("model:\n  hidden:\n    a: 1\n  act: [relu]\n");
    mo_error_t err = {0};
    mo_cfg_node_t *model = NULL, *out = NULL;
    const char *act = NULL;
    mo_cfg_get_map(mo_cfg_root(cfg), "model", 0, &model, &err);
    CU_ASSERT_EQUAL(mo_cfg_get_list(model, "hidden", 0, &out, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:3: model.hidden must be a list, got a map");
    CU_ASSERT_EQUAL(mo_cfg_get_string(model, "act", 0, &act, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:4:8: model.act must be a string, got a list");
    CU_ASSERT_EQUAL(mo_cfg_get_map(model, "act", 0, &out, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:4:8: model.act must be a map, got a list");
    /* A getter on a node that is not a map names that node. */
    int64_t x = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_int(mo_cfg_child(model, "act"), "x", 0, 0, 9, &x, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:4:8: model.act must be a map, got a list");
    mo_cfg_destroy(cfg);
}

static void test_config_get__enum_lists_choices_and_suggests(void)
{
    static const char *const names[] = {"sgd", "adam", "adamw", NULL};
    mo_cfg_t *cfg = load("optimizer:\n  name: sgdd\n  other: rmsprop\n  ok: adamw\n");
    mo_error_t err = {0};
    mo_cfg_node_t *opt = NULL;
    int which = -1;
    mo_cfg_get_map(mo_cfg_root(cfg), "optimizer", 0, &opt, &err);
    CU_ASSERT_EQUAL(mo_cfg_get_enum(opt, "name", 0, names, &which, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:9: optimizer.name must be one of sgd, adam, adamw, got \"sgdd\"; "
                    "did you mean 'sgd'?");
    CU_ASSERT_EQUAL(mo_cfg_get_enum(opt, "other", 0, names, &which, &err), MO_EINVAL);
    ASSERT_MSG(err,
               "spec.yml:3:10: optimizer.other must be one of sgd, adam, adamw, got \"rmsprop\"");
    CU_ASSERT_EQUAL(mo_cfg_get_enum(opt, "ok", 0, names, &which, &err), 0);
    CU_ASSERT_EQUAL(which, 2);
    CU_ASSERT_EQUAL(mo_cfg_get_enum(opt, "absent", 0, names, &which, &err), 0);
    CU_ASSERT_EQUAL(which, 2);
    CU_ASSERT_EQUAL(mo_cfg_get_enum(opt, "ok", 0, NULL, &which, &err), MO_EINVAL);
    mo_cfg_destroy(cfg);
}

static void test_config_get__int_rejects_words_fractions_and_overflow(void)
{
    mo_cfg_t *cfg = load("a: fast\nb: 1.5\nc: 99999999999999999999\nd: \"5\"\ne: 0\nf: 11\n"
                         "g: -9223372036854775808\nh: 7\n");
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    mo_error_t err = {0};
    int64_t v = 42;
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "a", 0, 1, INT64_MAX, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: a must be an integer >= 1, got \"fast\"");
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "b", 0, INT64_MIN, INT64_MAX, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:4: b must be an integer, got \"1.5\"");
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "c", 0, INT64_MIN, INT64_MAX, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:4: c must be an integer, got \"99999999999999999999\"");
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "d", 0, INT64_MIN, INT64_MAX, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:4:4: d must be an integer, got \"5\" (quoted, so a string: remove "
                    "the quotes)");
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "e", 0, 1, INT64_MAX, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:5:4: e must be an integer >= 1, got 0");
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "f", 0, 1, 10, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:6:4: f must be an integer in [1, 10], got 11");
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "f", MO_CFG_HI_OPEN, INT64_MIN, 11, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:6:4: f must be an integer < 11, got 11");
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "g", 0, INT64_MIN, INT64_MAX, &v, &err), 0);
    CU_ASSERT_EQUAL(v, INT64_MIN);
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "h", MO_CFG_LO_OPEN | MO_CFG_HI_OPEN, 6, 8, &v, &err), 0);
    CU_ASSERT_EQUAL(v, 7);
    mo_cfg_destroy(cfg);
}

static void test_config_get__double_rejects_nan_inf_and_reads_ranges(void)
{
    mo_cfg_t *cfg = load("a: .nan\nb: inf\nc: 1e999\nd: -.inf\ne: 1.5\nf: 1\ng: 2.5e-3\n");
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    mo_error_t err = {0};
    double v = 0;
    const char *bad[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(mo_cfg_get_double(r, bad[i], 0, -INFINITY, INFINITY, &v, &err), MO_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "must be a number, got"));
    }
    CU_ASSERT_EQUAL(mo_cfg_get_double(r, "e", 0, 0, 1, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:5:4: e must be a number in [0, 1], got 1.5");
    CU_ASSERT_EQUAL(mo_cfg_get_double(r, "f", MO_CFG_HI_OPEN, 0, 1, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:6:4: f must be a number in [0, 1), got 1");
    CU_ASSERT_EQUAL(mo_cfg_get_double(r, "f", 0, -INFINITY, 0.5, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:6:4: f must be a number <= 0.5, got 1");
    CU_ASSERT_EQUAL(mo_cfg_get_double(r, "f", 0, 0, 1, &v, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 1.0, 0);
    CU_ASSERT_EQUAL(mo_cfg_get_double(r, "g", MO_CFG_LO_OPEN, 0, INFINITY, &v, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 0.0025, 1e-15);
    mo_cfg_destroy(cfg);
}

static void test_config_get__bool_accepts_yaml_words(void)
{
    mo_cfg_t *cfg = load("a: true\nb: false\nc: yes\nd: no\ne: on\nf: off\ng: maybe\nh: 'true'\n");
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    mo_error_t err = {0};
    const char *keys = "abcdef";
    for (int i = 0; i < 6; i++) {
        char k[2] = {keys[i], 0};
        int v = -1;
        CU_ASSERT_EQUAL(mo_cfg_get_bool(r, k, 0, &v, &err), 0);
        CU_ASSERT_EQUAL(v, i % 2 == 0);
    }
    int v = -1;
    CU_ASSERT_EQUAL(mo_cfg_get_bool(r, "g", 0, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:7:4: g must be true or false, got \"maybe\"");
    CU_ASSERT_EQUAL(mo_cfg_get_bool(r, "h", 0, &v, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:8:4: h must be true or false, got \"true\" (quoted, so a string: "
                    "remove the quotes)");
    CU_ASSERT_EQUAL(v, -1);
    mo_cfg_destroy(cfg);
}

static void test_config_get__duration_and_bytes_use_units(void)
{
    mo_cfg_t *cfg = load("a: 90s\nb: 2h\nc: 500ms\nd: soon\ne: 64MiB\nf: \"1GB\"\ng: lots\n"
                         "h: 10s\ni: 512\n");
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    mo_error_t err = {0};
    double s = 0;
    uint64_t b = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_duration(r, "a", 0, 0, INFINITY, &s, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 90, 0);
    CU_ASSERT_EQUAL(mo_cfg_get_duration(r, "b", 0, 0, INFINITY, &s, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 7200, 0);
    CU_ASSERT_EQUAL(mo_cfg_get_duration(r, "c", 0, 0, INFINITY, &s, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 0.5, 1e-12);
    CU_ASSERT_EQUAL(mo_cfg_get_duration(r, "d", 0, -INFINITY, INFINITY, &s, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:4:4: d must be a duration, got \"soon\" (like 500ms, 90s, 15m, 2h, "
                    "7d, 1w)");
    CU_ASSERT_EQUAL(mo_cfg_get_duration(r, "h", 0, 60, INFINITY, &s, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:8:4: h must be a duration >= 60s, got 10s");
    CU_ASSERT_EQUAL(mo_cfg_get_bytes(r, "e", 0, 0, UINT64_MAX, &b, &err), 0);
    CU_ASSERT_EQUAL(b, 64ull << 20);
    CU_ASSERT_EQUAL(mo_cfg_get_bytes(r, "f", 0, 0, UINT64_MAX, &b, &err), 0);
    CU_ASSERT_EQUAL(b, 1000000000ull);
    CU_ASSERT_EQUAL(mo_cfg_get_bytes(r, "g", 0, 0, UINT64_MAX, &b, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:7:4: g must be a byte size, got \"lots\" (like 512MiB, 1GB, 4Gi)");
    CU_ASSERT_EQUAL(mo_cfg_get_bytes(r, "i", 0, 1024, 1ull << 30, &b, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:9:4: i must be a byte size in [1KiB, 1GiB], got 512");
    mo_cfg_destroy(cfg);
}

static void test_config_get__string_getter_borrows_text(void)
{
    mo_cfg_t *cfg = load("name: \"007\"\nport: 8080\nempty: ''\n");
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    mo_error_t err = {0};
    const char *s = NULL;
    CU_ASSERT_EQUAL(mo_cfg_get_string(r, "name", 0, &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "007");
    CU_ASSERT_TRUE(mo_cfg_is_quoted(mo_cfg_child(r, "name")));
    CU_ASSERT_EQUAL(mo_cfg_get_string(r, "port", 0, &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "8080");
    CU_ASSERT_FALSE(mo_cfg_is_quoted(mo_cfg_child(r, "port")));
    CU_ASSERT_EQUAL(mo_cfg_get_string(r, "empty", 0, &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "");
    s = "default";
    CU_ASSERT_EQUAL(mo_cfg_get_string(r, "absent", 0, &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "default");
    mo_cfg_destroy(cfg);
}

static void test_config_get__getters_accept_null_map(void)
{
    mo_error_t err = {0};
    int64_t i = 5;
    double d = 0.5, sec = 3;
    int b = 1, e = 1;
    uint64_t by = 7;
    const char *s = "x";
    mo_cfg_node_t *m = (mo_cfg_node_t *)0x1;
    static const char *const names[] = {"a", "b", NULL};
    CU_ASSERT_EQUAL(mo_cfg_get_int(NULL, "k", 0, 0, 10, &i, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_double(NULL, "k", 0, 0, 1, &d, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_bool(NULL, "k", 0, &b, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_string(NULL, "k", 0, &s, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_enum(NULL, "k", 0, names, &e, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_duration(NULL, "k", 0, 0, INFINITY, &sec, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_bytes(NULL, "k", 0, 0, UINT64_MAX, &by, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_map(NULL, "k", 0, &m, &err), 0);
    CU_ASSERT_TRUE(i == 5 && d == 0.5 && b == 1 && e == 1 && sec == 3 && by == 7);
    CU_ASSERT_STRING_EQUAL(s, "x");
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_EQUAL(mo_cfg_get_int(NULL, "epochs", MO_CFG_REQUIRED, 0, 10, &i, &err), MO_EINVAL);
    ASSERT_MSG(err, "missing required key 'epochs'");
}

static void test_config_get__null_value_reads_as_absent(void)
{
    mo_cfg_t *cfg = load("optimizer:\n  lr:\n  momentum: null\n");
    mo_error_t err = {0};
    mo_cfg_node_t *opt = NULL;
    double lr = 0.1, mom = 0.9;
    mo_cfg_get_map(mo_cfg_root(cfg), "optimizer", 0, &opt, &err);
    CU_ASSERT_EQUAL(mo_cfg_type(mo_cfg_child(opt, "lr")), MO_CFG_NULL);
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "lr", 0, 0, 1, &lr, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.1, 0);
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "momentum", MO_CFG_REQUIRED, 0, 1, &mom, &err),
                    MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:13: missing value for required key 'momentum' in optimizer");
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(mo_cfg_root(cfg), &err), 0);
    mo_cfg_destroy(cfg);
}

/* ---- unknown keys --------------------------------------------------------------------------- */

static void test_config_get__unknown_key_suggests_closest(void)
{
    mo_cfg_t *cfg = load("kind: train\n"
                         "# optimiser\n"
                         "optimizer:\n"
                         "  name: sgd\n"
                         "  lr: 0.1\n"
                         "\n"
                         "\n"
                         "\n"
                         "  momentom: 0.9\n"
                         "  zzz: 1\n");
    mo_error_t err = {0};
    read_optimizer(mo_cfg_root(cfg));
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(mo_cfg_root(cfg), &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:9:3: unknown key 'momentom' in optimizer; did you mean 'momentum'?");
    mo_cfg_destroy(cfg);
}

static void test_config_get__unknown_key_far_from_any_has_no_suggestion(void)
{
    mo_cfg_t *cfg = load("kind: train\noptimizer:\n  name: sgd\n  warmup_steps: 3\nkindd: x\n");
    mo_error_t err = {0};
    read_optimizer(mo_cfg_root(cfg));
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(mo_cfg_root(cfg), &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:4:3: unknown key 'warmup_steps' in optimizer");
    mo_cfg_node_t *opt = mo_cfg_child(mo_cfg_root(cfg), "optimizer");
    mo_cfg_mark_known(opt, "warmup_steps");
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(mo_cfg_root(cfg), &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:5:1: unknown key 'kindd' at the top level; did you mean 'kind'?");
    mo_cfg_destroy(cfg);
}

static void test_config_get__unknown_keys_in_list_items_and_allow_any(void)
{
    mo_cfg_t *cfg = load("layers:\n"
                         "  - {units: 64}\n"
                         "  - units: 32\n"
                         "    unitz: 1\n"
                         "labels:\n"
                         "  team: ml\n"
                         "  anything: [1, 2]\n"
                         "unread:\n"
                         "  deep: {bad: 1}\n");
    mo_cfg_node_t *root = mo_cfg_root(cfg), *layers = NULL, *labels = NULL;
    mo_error_t err = {0};
    mo_cfg_get_list(root, "layers", 0, &layers, &err);
    for (size_t i = 0; i < mo_cfg_len(layers); i++) {
        int64_t u = 0;
        mo_cfg_get_int(mo_cfg_at(layers, i), "units", 0, 1, INT64_MAX, &u, &err);
    }
    mo_cfg_get_map(root, "labels", 0, &labels, &err);
    mo_cfg_allow_any(labels);
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(root, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:4:5: unknown key 'unitz' in layers[1]; did you mean 'units'?");
    mo_cfg_mark_known(mo_cfg_at(layers, 1), "unitz");
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(root, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:8:1: unknown key 'unread' at the top level");
    mo_cfg_mark_known(root, "unread"); /* known but never opened: its keys are checked */
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(root, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:9:3: unknown key 'deep' in unread");
    mo_cfg_allow_any(mo_cfg_child(root, "unread"));
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(root, &err), 0);
    mo_cfg_destroy(cfg);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_config_get__number_error_names_location_path_and_rule),
    MO_TEST(test_config_get__missing_required_key_points_at_map),
    MO_TEST(test_config_get__wrong_type_names_both_types),
    MO_TEST(test_config_get__enum_lists_choices_and_suggests),
    MO_TEST(test_config_get__int_rejects_words_fractions_and_overflow),
    MO_TEST(test_config_get__double_rejects_nan_inf_and_reads_ranges),
    MO_TEST(test_config_get__bool_accepts_yaml_words),
    MO_TEST(test_config_get__duration_and_bytes_use_units),
    MO_TEST(test_config_get__string_getter_borrows_text),
    MO_TEST(test_config_get__getters_accept_null_map),
    MO_TEST(test_config_get__null_value_reads_as_absent),
    MO_TEST(test_config_get__unknown_key_suggests_closest),
    MO_TEST(test_config_get__unknown_key_far_from_any_has_no_suggestion),
    MO_TEST(test_config_get__unknown_keys_in_list_items_and_allow_any),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/config_get", tests);
}
