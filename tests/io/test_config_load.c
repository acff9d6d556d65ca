/* test_config_load.c - loading files and strings: syntax errors, anchors, duplicates, limits */
#include "io/config.h"
#include "tests/io/config_fixtures.h"
#include "tests/unit.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

/* ---- loading -------------------------------------------------------------------------------- */

static void test_config_load__load_file_reads_nested_values(void)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "train.yml",
                                          "kind: train\n"
                                          "optimizer:\n"
                                          "  name: adam\n"
                                          "  lr: 0.001\n"
                                          "model:\n"
                                          "  hidden: [64, 32]\n");
    mo_cfg_t *cfg = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_cfg_load_file(&cfg, path, NULL, &err), 0);
    CU_ASSERT_STRING_EQUAL(mo_cfg_file(cfg), path);
    mo_cfg_node_t *root = mo_cfg_root(cfg), *opt = NULL, *model = NULL, *hidden = NULL;
    CU_ASSERT_EQUAL(mo_cfg_type(root), MO_CFG_MAP);
    CU_ASSERT_EQUAL(mo_cfg_len(root), 3);
    CU_ASSERT_STRING_EQUAL(mo_cfg_key_at(root, 1), "optimizer");
    CU_ASSERT_EQUAL(mo_cfg_get_map(root, "optimizer", MO_CFG_REQUIRED, &opt, &err), 0);
    double lr = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "lr", 0, 0, INFINITY, &lr, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.001, 1e-12);
    CU_ASSERT_EQUAL(mo_cfg_get_map(root, "model", 0, &model, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_list(model, "hidden", 0, &hidden, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_len(hidden), 2);
    int64_t h1 = 0;
    CU_ASSERT_EQUAL(mo_cfg_as_int(mo_cfg_at(hidden, 1), 0, 1, INT64_MAX, &h1, &err), 0);
    CU_ASSERT_EQUAL(h1, 32);
    CU_ASSERT_EQUAL(mo_cfg_line(mo_cfg_at(hidden, 1)), 6);
    CU_ASSERT_EQUAL(mo_cfg_col(mo_cfg_at(hidden, 1)), 16);
    mo_cfg_destroy(cfg);
}

static void test_config_load__missing_file_is_not_found(void)
{
    char path[600], want[700];
    snprintf(path, sizeof path, "%s/nope.yml", mo_test_tmpdir());
    snprintf(want, sizeof want, "%s: no such file", path);
    mo_cfg_t *cfg = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cfg_load_file(&cfg, path, NULL, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(cfg);
    ASSERT_MSG(err, want);
}

static void test_config_load__unreadable_file_is_io_error(void)
{
    /* A directory cannot be read as a file even by root, unlike a chmod 000 file. */
    char path[600], want[700];
    snprintf(path, sizeof path, "%s/adir.yml", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(want, sizeof want, "%s: %s", path, strerror(EISDIR));
    mo_cfg_t *cfg = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cfg_load_file(&cfg, path, NULL, &err), MO_EIO);
    CU_ASSERT_PTR_NULL(cfg);
    ASSERT_MSG(err, want);
}

static void test_config_load__empty_document_is_empty_map(void)
{
    const char *texts[] = {"", "# nothing here\n", "---\n", "~\n"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        mo_cfg_t *cfg = load(texts[i]);
        CU_ASSERT_EQUAL(mo_cfg_type(mo_cfg_root(cfg)), MO_CFG_MAP);
        CU_ASSERT_EQUAL(mo_cfg_len(mo_cfg_root(cfg)), 0);
        CU_ASSERT_EQUAL(mo_cfg_check_unknown(mo_cfg_root(cfg), NULL), 0);
        mo_cfg_destroy(cfg);
    }
    const char *path = mo_test_write_file(mo_test_tmpdir(), "empty.yml", "");
    mo_cfg_t *cfg = NULL;
    CU_ASSERT_EQUAL(mo_cfg_load_file(&cfg, path, NULL, NULL), 0);
    CU_ASSERT_EQUAL(mo_cfg_type(mo_cfg_root(cfg)), MO_CFG_MAP);
    mo_cfg_destroy(cfg);
}

static void test_config_load__root_not_a_map_is_error(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("- a\n- b\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:1: the top level must be a map of 'key: value' lines, got a list");
    CU_ASSERT_EQUAL(load_fail("42\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:1: the top level must be a map of 'key: value' lines, got a "
                    "single value");
}

static void test_config_load__second_document_is_error(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("a: 1\n---\nb: 2\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:1: a second YAML document ('---'); one document per file");
}

/* ---- malformed YAML: one line each ---------------------------------------------------------- */

static void test_config_load__tab_in_indentation_is_one_clear_line(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("optimizer:\n\tlr: 0.1\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:1: tab character in indentation (YAML allows spaces only)");
    /* After a multi-byte character libyaml counts characters, the message still finds the tab */
    CU_ASSERT_EQUAL(load_fail("é: 1\n\tb: 2\n", NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:2:1: tab character in indentation"));
    CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
}

static void test_config_load__bad_indentation_is_one_clear_line(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("optimizer:\n  lr: 0.1\n momentum: 0.9\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:2: bad indentation: this line does not line up with the keys of "
                    "the map at line 1");
    CU_ASSERT_EQUAL(load_fail("optimizer:\n  lr: 0.1\n    momentum: 0.9\n", NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:3:13: bad indentation"));
    CU_ASSERT_EQUAL(load_fail("hidden:\n  - 1\n  b: 2\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:3: bad indentation: this line does not line up with the items of "
                    "the list at line 2");
    CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
}

static void test_config_load__unclosed_quote_points_at_opening_quote(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("name: run\nmodel: \"mlp\nepochs: 3\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:8: unclosed quote: the string starting here has no closing \"");
    CU_ASSERT_EQUAL(load_fail("a: 'x\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: unclosed quote: the string starting here has no closing '");
}

static void test_config_load__other_syntax_errors_keep_libyaml_detail(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("a: 1\nb: [1, 2\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:1: did not find expected ',' or ']' while parsing a flow "
                    "sequence at line 2");
    CU_ASSERT_EQUAL(load_fail("a: @home\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: '@' is reserved in YAML and cannot start a value; put the "
                    "value in quotes");
    CU_ASSERT_EQUAL(load_fail("a: \"\xff\"\n", NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:1:5: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "UTF-8"));
}

static void test_config_load__unsupported_constructs_are_refused(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("? [a, b]\n: 1\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:3: a list cannot be a key; keys are plain strings");
    CU_ASSERT_EQUAL(load_fail("a: !custom x\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: unsupported tag '!custom'");
    /* Nesting is bounded, so no recursion over the tree can run away. */
    char deep[400] = "a: ";
    memset(deep + 3, '[', 100);
    CU_ASSERT_EQUAL(load_fail(deep, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nested deeper than 64 levels"));
}

static void test_config_load__duplicate_key_names_first_line(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("kind: train\n"
                              "optimizer:\n"
                              "  name: sgd\n"
                              "  # learning rate\n"
                              "  lr: 0.1\n"
                              "  momentum: 0.9\n"
                              "  lr: 0.2\n",
                              NULL, &err),
                    MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:7:3: duplicate key 'lr' (first at line 5)");
    CU_ASSERT_EQUAL(load_fail("a: {x: 1, x: 2}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:11: duplicate key 'x' (first at line 1)");
}

/* ---- anchors, aliases, merges --------------------------------------------------------------- */

static void test_config_load__anchors_aliases_and_merge_keys(void)
{
    mo_cfg_t *cfg = load("x-defaults: &defaults\n"
                         "  lr: 0.1\n"
                         "  momentum: 0.9\n"
                         "x-big: &big {batch: 256}\n"
                         "optimizer:\n"
                         "  lr: 0.5\n"
                         "  <<: *defaults\n"
                         "train:\n"
                         "  <<: [*big, {batch: 1, epochs: 3}]\n"
                         "eval: *big\n");
    mo_error_t err = {0};
    mo_cfg_node_t *root = mo_cfg_root(cfg), *opt = NULL, *train = NULL, *eval = NULL;
    CU_ASSERT_EQUAL(mo_cfg_get_map(root, "optimizer", 0, &opt, &err), 0);
    double lr = 0, mom = 0;
    int64_t batch = 0, epochs = 0, ebatch = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "lr", 0, 0, INFINITY, &lr, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "momentum", 0, 0, 1, &mom, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.5, 1e-12); /* written beats merged, whatever the order */
    CU_ASSERT_DOUBLE_EQUAL(mom, 0.9, 1e-12);
    CU_ASSERT_EQUAL(mo_cfg_get_map(root, "train", 0, &train, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_int(train, "batch", 0, 1, INT64_MAX, &batch, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_int(train, "epochs", 0, 1, INT64_MAX, &epochs, &err), 0);
    CU_ASSERT_EQUAL(batch, 256); /* the first map of a merge list wins */
    CU_ASSERT_EQUAL(epochs, 3);
    CU_ASSERT_EQUAL(mo_cfg_get_map(root, "eval", 0, &eval, &err), 0);
    CU_ASSERT_EQUAL(mo_cfg_get_int(eval, "batch", 0, 1, INT64_MAX, &ebatch, &err), 0);
    CU_ASSERT_EQUAL(ebatch, 256);
    /* x- keys hold anchors without being reported as unknown. */
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(root, &err), 0);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(mo_cfg_path(mo_cfg_child(eval, "batch"), buf, sizeof buf), "eval.batch");
    mo_cfg_destroy(cfg);
}

static void test_config_load__alias_value_reports_alias_location(void)
{
    mo_cfg_t *cfg = load("x-rate: &rate fast\noptimizer:\n  lr: *rate\n");
    mo_error_t err = {0};
    mo_cfg_node_t *opt = NULL;
    double lr = 0.1;
    mo_cfg_get_map(mo_cfg_root(cfg), "optimizer", 0, &opt, &err);
    CU_ASSERT_EQUAL(mo_cfg_get_double(opt, "lr", MO_CFG_LO_OPEN, 0, INFINITY, &lr, &err),
                    MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:7: optimizer.lr must be a number > 0, got \"fast\"");
    mo_cfg_destroy(cfg);
}

static void test_config_load__unknown_anchor_is_error_with_location(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("a: 1\nb:\n  c: *nowhere\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:6: unknown anchor 'nowhere' (no '&nowhere' above)");
    CU_ASSERT_EQUAL(load_fail("a: &self [1, *self]\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:14: alias *self is inside the node it refers to");
    CU_ASSERT_EQUAL(load_fail("a:\n  <<: 5\n", NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:2:7: '<<' must be followed by a map"));
}

static void test_config_load__alias_bomb_is_refused(void)
{
    mo_error_t err = {0};
    const char *bomb = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    CU_ASSERT_EQUAL(load_fail(bomb, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "aliases expand past 200000 nodes"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_config_load__load_file_reads_nested_values),
    MO_TEST(test_config_load__missing_file_is_not_found),
    MO_TEST(test_config_load__unreadable_file_is_io_error),
    MO_TEST(test_config_load__empty_document_is_empty_map),
    MO_TEST(test_config_load__root_not_a_map_is_error),
    MO_TEST(test_config_load__second_document_is_error),
    MO_TEST(test_config_load__tab_in_indentation_is_one_clear_line),
    MO_TEST(test_config_load__bad_indentation_is_one_clear_line),
    MO_TEST(test_config_load__unclosed_quote_points_at_opening_quote),
    MO_TEST(test_config_load__other_syntax_errors_keep_libyaml_detail),
    MO_TEST(test_config_load__unsupported_constructs_are_refused),
    MO_TEST(test_config_load__duplicate_key_names_first_line),
    MO_TEST(test_config_load__anchors_aliases_and_merge_keys),
    MO_TEST(test_config_load__alias_value_reports_alias_location),
    MO_TEST(test_config_load__unknown_anchor_is_error_with_location),
    MO_TEST(test_config_load__alias_bomb_is_refused),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/config_load", tests);
}
