/* test_config_node.c - node accessors, lookup, paths and locations, dump, bad arguments */
#include "io/config.h"
#include "tests/io/config_fixtures.h"
#include "tests/unit.h"

#include <stdint.h>
#include <stdlib.h>

/* ---- dump ----------------------------------------------------------------------------------- */

static void test_config_node__dump_round_trips(void)
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

/* ---- lookup, paths, arguments --------------------------------------------------------------- */

/* A literal `${` (written `$${`) is dumped as `$${`, so the dump loads back to the same text
 * instead of a reference; a lone '$' stays as it is. */
static void test_config_node__dump_keeps_literal_references_literal(void)
{
    mo_cfg_t *cfg = load("a: \"$${env:HOME} and $${x}\"\nb: \"cost $5\"\n");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_lookup(mo_cfg_root(cfg), "a")),
                           "${env:HOME} and ${x}");
    char *dump = mo_cfg_dump_yaml(mo_cfg_root(cfg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dump);
    CU_ASSERT_STRING_EQUAL(dump, "a: \"$${env:HOME} and $${x}\"\nb: \"cost $5\"\n");
    mo_cfg_t *again = load(dump);
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_lookup(mo_cfg_root(again), "a")),
                           "${env:HOME} and ${x}");
    CU_ASSERT_STRING_EQUAL(mo_cfg_scalar(mo_cfg_lookup(mo_cfg_root(again), "b")), "cost $5");
    free(dump);
    mo_cfg_destroy(again);
    mo_cfg_destroy(cfg);
}

static void test_config_node__lookup_and_accessors_on_odd_input(void)
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

static void test_config_node__bad_arguments_return_errors(void)
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
    MO_TEST(test_config_node__dump_round_trips),
    MO_TEST(test_config_node__dump_keeps_literal_references_literal),
    MO_TEST(test_config_node__lookup_and_accessors_on_odd_input),
    MO_TEST(test_config_node__bad_arguments_return_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/config_node", tests);
}
