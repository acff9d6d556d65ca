/* test_config.c - the config tree: loading, locations in messages, getters, ${...}, --set */
#include "io/config.h"
#include "tests/unit.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static mo_cfg_t *load_as(const char *name, const char *text, const mo_cfg_opts_t *opts)
{
    mo_cfg_t *cfg = NULL;
    mo_error_t err = {0};
    int rc = mo_cfg_load_string(&cfg, name, text, opts, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  unexpected load failure: %s\n", err.msg);
    return cfg;
}

static mo_cfg_t *load(const char *text)
{
    return load_as("spec.yml", text, NULL);
}

/* Load text that must fail; returns the code and leaves the message in err. */
static int load_fail(const char *text, const mo_cfg_opts_t *opts, mo_error_t *err)
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

/* ---- loading ------------------------------------------------------------------------------ */

static void test_config__load_file_reads_nested_values(void)
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

static void test_config__missing_file_is_not_found(void)
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

static void test_config__unreadable_file_is_io_error(void)
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

static void test_config__empty_document_is_empty_map(void)
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

static void test_config__root_not_a_map_is_error(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("- a\n- b\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:1: the top level must be a map of 'key: value' lines, got a list");
    CU_ASSERT_EQUAL(load_fail("42\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:1: the top level must be a map of 'key: value' lines, got a "
                    "single value");
}

static void test_config__second_document_is_error(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("a: 1\n---\nb: 2\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:1: a second YAML document ('---'); one document per file");
}

/* ---- malformed YAML: one line each ---------------------------------------------------------- */

static void test_config__tab_in_indentation_is_one_clear_line(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("optimizer:\n\tlr: 0.1\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:1: tab character in indentation (YAML allows spaces only)");
    /* After a multi-byte character libyaml counts characters, the message still finds the tab */
    CU_ASSERT_EQUAL(load_fail("é: 1\n\tb: 2\n", NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:2:1: tab character in indentation"));
    CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
}

static void test_config__bad_indentation_is_one_clear_line(void)
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

static void test_config__unclosed_quote_points_at_opening_quote(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("name: run\nmodel: \"mlp\nepochs: 3\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:8: unclosed quote: the string starting here has no closing \"");
    CU_ASSERT_EQUAL(load_fail("a: 'x\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: unclosed quote: the string starting here has no closing '");
}

static void test_config__other_syntax_errors_keep_libyaml_detail(void)
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

static void test_config__unsupported_constructs_are_refused(void)
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

static void test_config__duplicate_key_names_first_line(void)
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

static void test_config__anchors_aliases_and_merge_keys(void)
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

static void test_config__alias_value_reports_alias_location(void)
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

static void test_config__unknown_anchor_is_error_with_location(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("a: 1\nb:\n  c: *nowhere\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:6: unknown anchor 'nowhere' (no '&nowhere' above)");
    CU_ASSERT_EQUAL(load_fail("a: &self [1, *self]\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:14: alias *self is inside the node it refers to");
    CU_ASSERT_EQUAL(load_fail("a:\n  <<: 5\n", NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spec.yml:2:7: '<<' must be followed by a map"));
}

static void test_config__alias_bomb_is_refused(void)
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

/* ---- getters -------------------------------------------------------------------------------- */

static void test_config__number_error_names_location_path_and_rule(void)
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

static void test_config__missing_required_key_points_at_map(void)
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

static void test_config__wrong_type_names_both_types(void)
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

static void test_config__enum_lists_choices_and_suggests(void)
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

static void test_config__int_rejects_words_fractions_and_overflow(void)
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

static void test_config__double_rejects_nan_inf_and_reads_ranges(void)
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

static void test_config__bool_accepts_yaml_words(void)
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

static void test_config__duration_and_bytes_use_units(void)
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

static void test_config__string_getter_borrows_text(void)
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

static void test_config__getters_accept_null_map(void)
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

static void test_config__null_value_reads_as_absent(void)
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

static void read_optimizer(mo_cfg_node_t *root)
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

static void test_config__unknown_key_suggests_closest(void)
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

static void test_config__unknown_key_far_from_any_has_no_suggestion(void)
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

static void test_config__unknown_keys_in_list_items_and_allow_any(void)
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

/* ---- ${...} --------------------------------------------------------------------------------- */

static void test_config__env_interpolation_in_scalars(void)
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

static void test_config__env_errors_name_the_variable(void)
{
    unsetenv("MO_TEST_UNSET");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("a: 1\nb:\n  c: x-${env:MO_TEST_UNSET}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:3:6: environment variable MO_TEST_UNSET is not set (write "
                    "${env:MO_TEST_UNSET:-default} to give a default)");
    CU_ASSERT_EQUAL(load_fail("a: ${env:MO_TEST\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: unterminated '${' (missing '}')");
    CU_ASSERT_EQUAL(load_fail("a: ${nocolon}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err,
               "spec.yml:1:4: bad reference ${nocolon}: expected ${env:NAME} or ${scheme:name}");
    CU_ASSERT_EQUAL(load_fail("a: ${env:A:-${env:B}}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: a ${...} inside another is not supported");
    CU_ASSERT_EQUAL(load_fail("a: ${env:1BAD}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:4: bad variable name in ${env:1BAD}");
}

static void test_config__no_env_leaves_references_as_written(void)
{
    unsetenv("MO_TEST_UNSET");
    mo_cfg_opts_t opts = {.no_env = 1};
    mo_cfg_t *cfg = load_as("spec.yml", "a: ${env:MO_TEST_UNSET}/x\nb: $${env:X}\n", &opts);
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(mo_cfg_root(cfg), "a")),
                           "${env:MO_TEST_UNSET}/x");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_child(mo_cfg_root(cfg), "b")), "$${env:X}");
    mo_cfg_destroy(cfg);
}

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

static void test_config__secret_resolver_and_dump_hides_value(void)
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

static void test_config__secret_without_resolver_or_unknown_is_error(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail("db:\n  password: ${secret:db_pass}\n", NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:13: no resolver for ${secret:db_pass}");
    int calls = 0;
    mo_cfg_opts_t opts = {.resolve = fake_resolve, .resolve_ud = &calls};
    CU_ASSERT_EQUAL(load_fail("password: ${secret:nope}\n", &opts, &err), MO_ENOTFOUND);
    ASSERT_MSG(err, "spec.yml:1:11: ${secret:nope}: no secret named 'nope'");
}

/* ---- --set ---------------------------------------------------------------------------------- */

static void test_config__set_scalar_overrides_value(void)
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

static void test_config__set_value_is_parsed_as_yaml(void)
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

static void test_config__set_new_path_is_checked_like_file_keys(void)
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

static void test_config__set_through_scalar_and_bad_syntax_are_errors(void)
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

/* ---- dump, paths, arguments ----------------------------------------------------------------- */

static void test_config__dump_round_trips(void)
{
    mo_cfg_t *cfg = load("kind: train\n"
                         "name: \"007\"\n"
                         "empty: {}\n"
                         "none: ~\n"
                         "model:\n"
                         "  hidden: [64, 32]\n"
                         "  note: 'a: b'\n"
                         "layers:\n"
                         "  - units: 3\n"
                         "    act: relu\n");
    char *dump = mo_cfg_dump_yaml(mo_cfg_root(cfg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dump);
    mo_cfg_t *again = load(dump);
    char *dump2 = mo_cfg_dump_yaml(mo_cfg_root(again));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dump2);
    CU_ASSERT_STRING_EQUAL(dump, dump2);
    mo_cfg_node_t *r = mo_cfg_root(again);
    CU_ASSERT_TRUE(mo_cfg_is_quoted(mo_cfg_child(r, "name")));
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_lookup(r, "model.note")), "a: b");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_lookup(r, "layers[0].act")), "relu");
    CU_ASSERT_EQUAL(mo_cfg_type(mo_cfg_child(r, "none")), MO_CFG_NULL);
    CU_ASSERT_EQUAL(mo_cfg_type(mo_cfg_child(r, "empty")), MO_CFG_MAP);
    char *one = mo_cfg_dump_yaml(mo_cfg_lookup(r, "model.hidden[0]"));
    CU_ASSERT_STRING_EQUAL(one, "64\n");
    free(one);
    free(dump);
    free(dump2);
    mo_cfg_destroy(again);
    mo_cfg_destroy(cfg);
}

static void test_config__lookup_and_accessors_on_odd_input(void)
{
    mo_cfg_t *cfg = load("a:\n  b: [x, y]\n");
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    CU_ASSERT_PTR_NULL(mo_cfg_lookup(r, "a.b[2]"));
    CU_ASSERT_PTR_NULL(mo_cfg_lookup(r, "a.b[x]"));
    CU_ASSERT_PTR_NULL(mo_cfg_lookup(r, "a."));
    CU_ASSERT_PTR_NULL(mo_cfg_lookup(r, "a.c"));
    CU_ASSERT_PTR_NULL(mo_cfg_lookup(r, "a.b.c"));
    CU_ASSERT_PTR_EQUAL(mo_cfg_lookup(r, ""), r);
    CU_ASSERT_PTR_NULL(mo_cfg_at(r, 5));
    CU_ASSERT_PTR_NULL(mo_cfg_key_at(mo_cfg_lookup(r, "a.b"), 0));
    CU_ASSERT_PTR_NULL(mo_cfg_scalar(mo_cfg_lookup(r, "a")));
    CU_ASSERT_EQUAL(mo_cfg_len(mo_cfg_lookup(r, "a.b[0]")), 0);
    char buf[32];
    CU_ASSERT_STRING_EQUAL(mo_cfg_path(r, buf, sizeof buf), "");
    CU_ASSERT_STRING_EQUAL(mo_cfg_where(r, buf, sizeof buf), "spec.yml:1:1");
    char tiny[8];
    CU_ASSERT_STRING_EQUAL(mo_cfg_path(mo_cfg_lookup(r, "a.b[1]"), tiny, sizeof tiny), "a.b[1]");
    CU_ASSERT_STRING_EQUAL(mo_cfg_where(mo_cfg_lookup(r, "a.b[1]"), tiny, sizeof tiny), "spec.ym");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cfg_errorf(&err, MO_EINVAL, mo_cfg_lookup(r, "a.b"), "bad %s", "thing"),
                    MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:2:6: bad thing"); /* a flow list is where its '[' is */
    mo_cfg_destroy(cfg);
}

static void test_config__bad_arguments_return_errors(void)
{
    mo_cfg_t *cfg = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cfg_load_file(NULL, "x.yml", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_load_file(&cfg, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_load_file(&cfg, "", NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_load_string(NULL, "x", "a: 1", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_load_string(&cfg, NULL, "a: 1", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_load_string(&cfg, "x", NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_EQUAL(mo_cfg_set(NULL, "a=1", &err), MO_EINVAL);
    cfg = load("a: 1\n");
    CU_ASSERT_EQUAL(mo_cfg_set(cfg, NULL, &err), MO_EINVAL);
    mo_cfg_node_t *r = mo_cfg_root(cfg);
    int64_t i = 0;
    double d = 0;
    const char *s = NULL;
    int b = 0;
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, NULL, 0, 0, 1, &i, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "", 0, 0, 1, &i, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_get_int(r, "a", 0, 0, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_get_bool(r, "a", 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_get_string(r, "a", 0, NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_get_map(r, "a", 0, NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_as_int(NULL, 0, 0, 1, &i, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_as_double(NULL, 0, 0, 1, &d, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_as_string(NULL, &s, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_as_string(r, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_cfg_as_string(r, &s, &err), MO_EINVAL);
    ASSERT_MSG(err, "spec.yml:1:1: the top level must be a string, got a map");
    CU_ASSERT_EQUAL(mo_cfg_check_unknown(NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(mo_cfg_dump_yaml(NULL));
    CU_ASSERT_PTR_NULL(mo_cfg_root(NULL));
    CU_ASSERT_PTR_NULL(mo_cfg_file(NULL));
    CU_ASSERT_EQUAL(mo_cfg_type(NULL), MO_CFG_NULL);
    CU_ASSERT_EQUAL(mo_cfg_len(NULL), 0);
    CU_ASSERT_PTR_NULL(mo_cfg_child(NULL, "a"));
    CU_ASSERT_PTR_NULL(mo_cfg_child(r, NULL));
    CU_ASSERT_PTR_NULL(mo_cfg_lookup(NULL, "a"));
    CU_ASSERT_PTR_NULL(mo_cfg_lookup(r, NULL));
    CU_ASSERT_FALSE(mo_cfg_is_quoted(NULL) || mo_cfg_is_secret(NULL));
    CU_ASSERT_EQUAL(mo_cfg_line(NULL) + mo_cfg_col(NULL), 0);
    char buf[32];
    CU_ASSERT_STRING_EQUAL(mo_cfg_path(NULL, buf, sizeof buf), "");
    CU_ASSERT_STRING_EQUAL(mo_cfg_where(NULL, buf, sizeof buf), "(no location)");
    CU_ASSERT_STRING_EQUAL(mo_cfg_where(r, NULL, 0), "");
    mo_cfg_mark_known(NULL, "a");
    mo_cfg_mark_known(r, NULL);
    mo_cfg_allow_any(NULL);
    (void)b;
    mo_cfg_destroy(cfg);
    mo_cfg_destroy(NULL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_config__load_file_reads_nested_values),
    MO_TEST(test_config__missing_file_is_not_found),
    MO_TEST(test_config__unreadable_file_is_io_error),
    MO_TEST(test_config__empty_document_is_empty_map),
    MO_TEST(test_config__root_not_a_map_is_error),
    MO_TEST(test_config__second_document_is_error),
    MO_TEST(test_config__tab_in_indentation_is_one_clear_line),
    MO_TEST(test_config__bad_indentation_is_one_clear_line),
    MO_TEST(test_config__unclosed_quote_points_at_opening_quote),
    MO_TEST(test_config__other_syntax_errors_keep_libyaml_detail),
    MO_TEST(test_config__unsupported_constructs_are_refused),
    MO_TEST(test_config__duplicate_key_names_first_line),
    MO_TEST(test_config__anchors_aliases_and_merge_keys),
    MO_TEST(test_config__alias_value_reports_alias_location),
    MO_TEST(test_config__unknown_anchor_is_error_with_location),
    MO_TEST(test_config__alias_bomb_is_refused),
    MO_TEST(test_config__number_error_names_location_path_and_rule),
    MO_TEST(test_config__missing_required_key_points_at_map),
    MO_TEST(test_config__wrong_type_names_both_types),
    MO_TEST(test_config__enum_lists_choices_and_suggests),
    MO_TEST(test_config__int_rejects_words_fractions_and_overflow),
    MO_TEST(test_config__double_rejects_nan_inf_and_reads_ranges),
    MO_TEST(test_config__bool_accepts_yaml_words),
    MO_TEST(test_config__duration_and_bytes_use_units),
    MO_TEST(test_config__string_getter_borrows_text),
    MO_TEST(test_config__getters_accept_null_map),
    MO_TEST(test_config__null_value_reads_as_absent),
    MO_TEST(test_config__unknown_key_suggests_closest),
    MO_TEST(test_config__unknown_key_far_from_any_has_no_suggestion),
    MO_TEST(test_config__unknown_keys_in_list_items_and_allow_any),
    MO_TEST(test_config__env_interpolation_in_scalars),
    MO_TEST(test_config__env_errors_name_the_variable),
    MO_TEST(test_config__no_env_leaves_references_as_written),
    MO_TEST(test_config__secret_resolver_and_dump_hides_value),
    MO_TEST(test_config__secret_without_resolver_or_unknown_is_error),
    MO_TEST(test_config__set_scalar_overrides_value),
    MO_TEST(test_config__set_value_is_parsed_as_yaml),
    MO_TEST(test_config__set_new_path_is_checked_like_file_keys),
    MO_TEST(test_config__set_through_scalar_and_bad_syntax_are_errors),
    MO_TEST(test_config__dump_round_trips),
    MO_TEST(test_config__lookup_and_accessors_on_odd_input),
    MO_TEST(test_config__bad_arguments_return_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/config", tests);
}
