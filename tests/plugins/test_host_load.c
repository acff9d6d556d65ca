/* test_host_load.c - loading plugins (host_load.c): ABI and descriptor checks, names, the
 * search path, `plugins list`
 */
#include "plugins/host.h"
#include "tests/plugins/host_fixtures.h"
#include "tests/unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- loading ------------------------------------------------------------------------------ */

static void expect_load_error(const char *name, int code, const char *const *needles)
{
    use_test_path();
    mo_error_t err = {0};
    int rc;
    mo_plugins_t *p = open_one(name, NULL, 0, NULL, 0, &err, &rc);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NULL(p);
    for (const char *const *n = needles; *n; n++) {
        if (!strstr(err.msg, *n))
            fprintf(stderr, "\n  message \"%s\" lacks \"%s\"\n", err.msg, *n);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, *n));
    }
}

static void test_host_load__abi_major_mismatch_names_file_and_both_numbers(void)
{
    const char *n[] = {"maestro-abi2.so:", "plugin ABI 2.0", "this Maestro speaks 1.1", NULL};
    expect_load_error("abi2", MO_EPLUGIN, n);
}

static void test_host_load__short_descriptor_refused_with_both_numbers(void)
{
    const char *n[] = {"maestro-short.so:", "plugin ABI 1.1 needs at least",
                       "this Maestro speaks 1.1", NULL};
    expect_load_error("short", MO_EPLUGIN, n);
}

static void test_host_load__missing_symbol_names_file_and_symbol(void)
{
    const char *n[] = {"maestro-nosym.so:", "no symbol maestro_plugin", NULL};
    expect_load_error("nosym", MO_EPLUGIN, n);
}

static void test_host_load__descriptor_without_init_refused(void)
{
    const char *n[] = {"maestro-noinit.so:", "no init callback", NULL};
    expect_load_error("noinit", MO_EPLUGIN, n);
}

static void test_host_load__not_found_lists_search_path(void)
{
    const char *n[] = {"plugin \"nonesuch\" not found", "maestro-nonesuch.so", test_plugin_dir(),
                       NULL};
    expect_load_error("nonesuch", MO_ENOTFOUND, n);
}

static void test_host_load__name_with_slash_refused(void)
{
    const char *n[] = {"MAESTRO_PLUGIN_PATH", NULL};
    expect_load_error("../plugins/example", MO_EINVAL, n);
    const char *m[] = {"empty", NULL};
    expect_load_error("", MO_EINVAL, m);
}

/* ---- search path and list ----------------------------------------------------------------- */

/* Copy the example plugin into `dir` with `mode`, the folder with `dir_mode`, and load it
 * from there alone. */
static int load_copy(const char *dir, mode_t dir_mode, mode_t mode, mo_error_t *err)
{
    char src[1200], dst[700];
    snprintf(src, sizeof src, "%s/maestro-example.so", plugin_dir());
    snprintf(dst, sizeof dst, "%s/maestro-example.so", dir);
    size_t n = 0;
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    CU_ASSERT_FATAL(in && out);
    for (char buf[65536]; (n = fread(buf, 1, sizeof buf, in)) > 0;)
        CU_ASSERT_FATAL(fwrite(buf, 1, n, out) == n);
    fclose(in);
    CU_ASSERT_EQUAL_FATAL(fclose(out), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(dst, mode), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(dir, dir_mode), 0);
    setenv("MAESTRO_PLUGIN_PATH", dir, 1);
    int rc;
    mo_plugins_t *p = open_one("example", NULL, 0, NULL, 0, err, &rc);
    mo_plugins_close(p);
    return rc;
}

static void test_host_load__world_writable_plugin_or_folder_refused(void)
{
    const char *dir = fresh_dir("perm");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_copy(dir, 0755, 0644, &err), 0);
    CU_ASSERT_EQUAL(load_copy(dir, 0755, 0666, &err), MO_EPLUGIN);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err.msg, "maestro-example.so: refused: the file is world-writable"));
    CU_ASSERT_EQUAL(load_copy(dir, 0777, 0644, &err), MO_EPLUGIN);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is world-writable (anybody could put a plugin there)"));
    /* Sticky like /tmp does not help: anyone may still add a maestro-<name>.so. */
    CU_ASSERT_EQUAL(load_copy(dir, 01777, 0644, &err), MO_EPLUGIN);
    CU_ASSERT_EQUAL(load_copy(dir, 0755, 0644, &err), 0);
    use_test_path();
}

static void test_host_load__search_path_skips_empty_entries_never_cwd(void)
{
    char buf[4096];
    setenv("MAESTRO_PLUGIN_PATH", ":/opt/a::/opt/b:", 1);
    const char *s = mo_plugins_search_path(buf, sizeof buf);
    CU_ASSERT_EQUAL(strncmp(s, "/opt/a:/opt/b:", 14), 0);
    CU_ASSERT_PTR_NULL(strstr(s, "::"));
    CU_ASSERT_NOT_EQUAL(s[strlen(s) - 1], ':');
    unsetenv("MAESTRO_PLUGIN_PATH");
    s = mo_plugins_search_path(buf, sizeof buf);
    CU_ASSERT_NOT_EQUAL(s[0], ':');
    CU_ASSERT_PTR_NULL(strstr(s, "/opt/a"));
    CU_ASSERT_STRING_EQUAL(mo_plugins_search_path(NULL, 0), "");
}

static void test_host_load__list_reads_descriptors_without_init(void)
{
    use_test_path();
    json_t *list = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_plugins_list(&list, NULL), 0);
    int seen_example = 0, seen_abi2 = 0, seen_secrets = 0, seen_nosym = 0, seen_old = 0;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *status = json_string_value(json_object_get(o, "status"));
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *abi = json_string_value(json_object_get(o, "abi"));
        const char *file = json_string_value(json_object_get(o, "file"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(status);
        CU_ASSERT_PTR_NOT_NULL(file);
        if (!strcmp(name, "example") && !strcmp(status, "ok")) {
            seen_example = !strcmp(type, "metrics") && !strcmp(abi, "1.1") &&
                           !strcmp(json_string_value(json_object_get(o, "version")), "1.0");
        } else if (!strcmp(name, "abi2")) {
            seen_abi2 = strstr(status, "plugin ABI 2.0") && !strcmp(abi, "2.0");
        } else if (!strcmp(name, "secrets_a")) {
            seen_secrets = !strcmp(type, "secrets") && !strcmp(status, "ok");
        } else if (!strcmp(name, "nosym")) {
            seen_nosym = strstr(status, "no symbol") != NULL;
        } else if (!strcmp(name, "probe10")) {
            seen_old = !strcmp(abi, "1.0") && !strcmp(status, "ok"); /* an older minor loads */
        }
    }
    CU_ASSERT(seen_example);
    CU_ASSERT(seen_abi2);
    CU_ASSERT(seen_secrets);
    CU_ASSERT(seen_nosym);
    CU_ASSERT(seen_old);
    json_decref(list);
    CU_ASSERT_EQUAL(mo_plugins_list(NULL, NULL), MO_EINVAL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_host_load__abi_major_mismatch_names_file_and_both_numbers),
    MO_TEST(test_host_load__short_descriptor_refused_with_both_numbers),
    MO_TEST(test_host_load__missing_symbol_names_file_and_symbol),
    MO_TEST(test_host_load__descriptor_without_init_refused),
    MO_TEST(test_host_load__not_found_lists_search_path),
    MO_TEST(test_host_load__name_with_slash_refused),
    MO_TEST(test_host_load__world_writable_plugin_or_folder_refused),
    MO_TEST(test_host_load__search_path_skips_empty_entries_never_cwd),
    MO_TEST(test_host_load__list_reads_descriptors_without_init),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("plugins/host_load", tests);
}
