/* test_cmd_registry.c - `maestro registry list | show` on a local registry folder
 *
 * The folder is laid out by hand here exactly as the mlflow plugin's embedded default writes
 * it (tests/plugins/test_mlflow_local.c checks the writer side), including what a crash leaves (a
 * hidden .tmp-* version folder) and damaged files. The command runs in-process with its
 * stdout and stderr captured, and the test checks what a user would see.
 */
#include "runner/cmd_registry.h"

#include "plugins/host.h"
#include "tests/unit.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char OUT[1 << 16], ERR[1 << 14];

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Run `maestro registry ARGS...` with stdout/stderr captured; returns the exit code. */
static int registry(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
    char *argv[8] = {"registry"};
    int argc = 1;
    const char *args[] = {a1, a2, a3, a4, a5};
    for (int i = 0; i < 5 && args[i]; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    char out_path[512], err_path[512];
    snprintf(out_path, sizeof out_path, "%s/.out", mo_test_tmpdir());
    snprintf(err_path, sizeof err_path, "%s/.err", mo_test_tmpdir());
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = mo_cmd_registry(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    slurp(out_path, OUT, sizeof OUT);
    slurp(err_path, ERR, sizeof ERR);
    return rc;
}

#define EXPECT_OUT(text)                                                                           \
    do {                                                                                           \
        if (!strstr(OUT, text))                                                                    \
            fprintf(stderr, "stdout lacks \"%s\":\n%s\n", text, OUT);                              \
        CU_ASSERT_PTR_NOT_NULL(strstr(OUT, text));                                                 \
    } while (0)
#define EXPECT_ERR(text)                                                                           \
    do {                                                                                           \
        if (!strstr(ERR, text))                                                                    \
            fprintf(stderr, "stderr lacks \"%s\":\n%s\n", text, ERR);                              \
        CU_ASSERT_PTR_NOT_NULL(strstr(ERR, text));                                                 \
    } while (0)

static char DIR_[512];

static void mkdirs(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", DIR_, rel);
    for (char *s = p + strlen(DIR_) + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static void put(const char *rel_dir, const char *name, const char *text)
{
    char d[1024];
    snprintf(d, sizeof d, "%s/%s", DIR_, rel_dir);
    mo_test_write_file(d, name, text);
}

static void version(const char *model, int v, const char *run_id, double acc)
{
    char rel[256], text[1024];
    snprintf(rel, sizeof rel, "%s/versions/%d", model, v);
    mkdirs(rel);
    put(rel, "run.h5", "HDF5");
    snprintf(text, sizeof text,
             "{\"format_version\": 1, \"model\": \"%s\", \"version\": %d, \"run_id\": \"%s\", "
             "\"run_name\": \"%s\", \"job_kind\": \"train\", \"created\": "
             "\"2024-01-0%dT00:00:00Z\", \"created_ms\": 1704067200000, \"final_metrics\": "
             "{\"val_accuracy\": %g, \"val_loss\": null}, \"source_run_dir\": \"/runs/%s\", "
             "\"artifact\": \"run.h5\", \"artifact_bytes\": 4}",
             model, v, run_id, model, v, acc, run_id);
    put(rel, "meta.json", text);
}

static void setup_registry(void)
{
    snprintf(DIR_, sizeof DIR_, "%s/registry", mo_test_tmpdir());
    mkdir(DIR_, 0755);
    version("iris", 1, "iris-1", 0.91);
    version("iris", 2, "iris-2", 0.95);
    version("iris", 10, "iris-10", 0.97);
    mkdirs("iris/versions/.tmp-11-4242"); /* a crash mid-registration: not a version */
    mkdirs("iris/versions/12");           /* no meta.json: not a version either */
    put("iris", "aliases.json", "{\"champion\": 2, \"staging\": 10}");
    version("wine", 1, "wine-1", 0.8);
    mkdirs(".hidden/versions");
}

static void test_cmd_registry__list_shows_models_latest_and_aliases(void)
{
    setup_registry();
    CU_ASSERT_EQUAL(registry("list", "--dir", DIR_, NULL, NULL), 0);
    EXPECT_OUT("MODEL");
    EXPECT_OUT("iris                     10      3         @champion -> 2, @staging -> 10");
    EXPECT_OUT("wine                     1       1         -");
    CU_ASSERT_PTR_NULL(strstr(OUT, "hidden"));
    /* sorted by name */
    CU_ASSERT(strstr(OUT, "iris") < strstr(OUT, "wine"));

    CU_ASSERT_EQUAL(registry("list", "--dir", DIR_, "--json", NULL), 0);
    json_t *d = json_loads(OUT, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "registry_dir")), DIR_);
    json_t *iris = json_array_get(json_object_get(d, "models"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(iris, "name")), "iris");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(iris, "latest_version")), 10);
    json_t *vs = json_object_get(iris, "versions");
    CU_ASSERT_EQUAL(json_array_size(vs), 3);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(vs, 0)), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(vs, 2)), 10); /* numeric order */
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_object_get(iris, "aliases"), "champion")), 2);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "models")), 2);
    json_decref(d);
}

static void test_cmd_registry__list_of_nothing(void)
{
    char empty[600];
    snprintf(empty, sizeof empty, "%s/no-registry-here", mo_test_tmpdir());
    CU_ASSERT_EQUAL(registry("list", "--dir", empty, NULL, NULL), 0);
    EXPECT_OUT("no models in ");
    CU_ASSERT_EQUAL(registry("list", "--json", "--dir", empty, NULL), 0);
    json_t *d = json_loads(OUT, 0, NULL);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "models")), 0);
    CU_ASSERT(json_is_array(json_object_get(d, "models")));
    json_decref(d);
}

static void test_cmd_registry__show_latest_alias_and_version(void)
{
    setup_registry();
    CU_ASSERT_EQUAL(registry("show", "iris", "--dir", DIR_, NULL), 0);
    EXPECT_OUT("iris/10 @staging\n");
    EXPECT_OUT("  run id           iris-10\n");
    EXPECT_OUT("  source run dir   /runs/iris-10\n");
    EXPECT_OUT("/iris/versions/10/run.h5 (4 bytes)");
    EXPECT_OUT("    val_accuracy         0.97\n");
    EXPECT_OUT("    val_loss             n/a\n");

    CU_ASSERT_EQUAL(registry("show", "iris@champion", "--dir", DIR_, NULL), 0);
    EXPECT_OUT("iris/2 @champion\n");
    EXPECT_OUT("iris-2");

    CU_ASSERT_EQUAL(registry("show", "iris/1", "--dir", DIR_, "--json"), 0);
    json_t *d = json_loads(OUT, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(d, "version")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "run_id")), "iris-1");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "aliases")), 0);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_string_value(json_object_get(d, "path")), "/iris/versions/1"));
    json_decref(d);

    /* the folder from the environment when there is no --dir */
    setenv("MAESTRO_REGISTRY_DIR", DIR_, 1);
    CU_ASSERT_EQUAL(registry("show", "wine", NULL, NULL, NULL), 0);
    EXPECT_OUT("wine/1\n");
    unsetenv("MAESTRO_REGISTRY_DIR");
}

static void test_cmd_registry__show_says_what_is_missing(void)
{
    setup_registry();
    CU_ASSERT_EQUAL(registry("show", "nosuch", "--dir", DIR_, NULL), 2);
    EXPECT_ERR("maestro: no model \"nosuch\" in ");
    CU_ASSERT_EQUAL(registry("show", "iris@prod", "--dir", DIR_, NULL), 2);
    EXPECT_ERR("model iris has no alias \"prod\" (aliases: champion, staging)");
    CU_ASSERT_EQUAL(registry("show", "iris/9", "--dir", DIR_, NULL), 2);
    EXPECT_ERR("model iris has no version 9 (latest is 10)");
    CU_ASSERT_EQUAL(registry("show", "iris/12", "--dir", DIR_, NULL), 2);
    EXPECT_ERR("no version 12");
    CU_ASSERT_EQUAL(registry("show", "iris/x", "--dir", DIR_, NULL), 2);
    EXPECT_ERR("the version must be a number >= 1");
    CU_ASSERT_EQUAL(registry("show", "iris@", "--dir", DIR_, NULL), 2);
    CU_ASSERT_EQUAL(registry("show", "../etc", "--dir", DIR_, NULL), 2);
    /* an alias pointing at a version that is gone */
    put("wine", "aliases.json", "{\"old\": 5}");
    CU_ASSERT_EQUAL(registry("show", "wine@old", "--dir", DIR_, NULL), 2);
    EXPECT_ERR("alias @old points at version 5, which does not exist");
    /* damaged files are named */
    put("wine/versions/1", "meta.json", "{oops");
    CU_ASSERT_EQUAL(registry("show", "wine/1", "--dir", DIR_, NULL), 2);
    EXPECT_ERR("wine/versions/1/meta.json:1: not a version's metadata");
    put("wine", "aliases.json", "[1]");
    CU_ASSERT_EQUAL(registry("list", "--dir", DIR_, NULL, NULL), 2);
    EXPECT_ERR("aliases.json: not a JSON object of alias -> version");
}

static void test_cmd_registry__usage(void)
{
    CU_ASSERT_EQUAL(registry("--help", NULL, NULL, NULL, NULL), 0);
    EXPECT_OUT("usage: maestro registry list [--dir D] [--json]");
    CU_ASSERT_EQUAL(registry("show", "--help", NULL, NULL, NULL), 0);
    EXPECT_OUT("maestro registry show NAME[@ALIAS|/VERSION]");
    CU_ASSERT_EQUAL(registry(NULL, NULL, NULL, NULL, NULL), 2);
    EXPECT_ERR("usage:");
    CU_ASSERT_EQUAL(registry("remove", NULL, NULL, NULL, NULL), 2);
    EXPECT_ERR("unknown subcommand 'remove' (list, show)");
    CU_ASSERT_EQUAL(registry("show", NULL, NULL, NULL, NULL), 2);
    EXPECT_ERR("no model given");
    CU_ASSERT_EQUAL(registry("list", "--bogus", NULL, NULL, NULL), 2);
    EXPECT_ERR("maestro registry list: unknown option '--bogus'");
    CU_ASSERT_EQUAL(registry("list", "--dir", NULL, NULL, NULL), 2);
    EXPECT_ERR("--dir needs a folder");
    CU_ASSERT_EQUAL(registry("list", "extra", NULL, NULL, NULL), 2);
    EXPECT_ERR("unexpected argument 'extra'");
}

/* The writer and the reader agree: the mlflow plugin's embedded default (no url), loaded by
 * the real host, registers two versions; the command shows them. */
static void test_cmd_registry__reads_what_the_plugin_wrote(void)
{
    char reg[600], run_dir[600], model[700];
    snprintf(reg, sizeof reg, "%s/from-plugin", mo_test_tmpdir());
    snprintf(run_dir, sizeof run_dir, "%s/run-local", mo_test_tmpdir());
    mkdir(run_dir, 0700);
    snprintf(model, sizeof model, "%s/run.h5", run_dir);
    const char *plugin_dir = getenv("MAESTRO_PLUGIN_TEST_DIR");
    if (plugin_dir)
        setenv("MAESTRO_PLUGIN_PATH", plugin_dir, 1);
    for (int v = 1; v <= 2; v++) {
        maestro_kv_t cfg[] = {{"registry_dir", reg}};
        mo_plugin_request_t req = {"mlflow", cfg, 1};
        mo_plugins_opts_t opts = {0, 1, run_dir, 30};
        mo_plugins_t *p = NULL;
        mo_error_t err = {0};
        CU_ASSERT_EQUAL_FATAL(mo_plugins_open(&p, &req, 1, &opts, &err), 0);
        mo_test_write_file(run_dir, "run.h5", v == 1 ? "model one" : "model two");
        char id[32];
        snprintf(id, sizeof id, "iris-local-%d", v);
        maestro_run_info_t ri = {.run_id = id,
                                 .run_name = "iris",
                                 .job_kind = "train",
                                 .run_dir = run_dir,
                                 .rank = 0,
                                 .ranks = 1};
        mo_plugins_run_start(p, &ri);
        const char *names[] = {"val_accuracy"};
        double values[] = {0.5 + 0.25 * v};
        maestro_run_end_t end = {.status = "ok",
                                 .gates_passed = 1,
                                 .model_path = model,
                                 .metric_names = names,
                                 .metric_values = values,
                                 .n_metrics = 1,
                                 .registry_model = "iris",
                                 .registry_alias = "prod"};
        mo_plugins_run_end(p, &end);
        mo_plugins_close(p);
    }
    CU_ASSERT_EQUAL(registry("list", "--dir", reg, NULL, NULL), 0);
    EXPECT_OUT("iris                     2       2         @prod -> 2");
    CU_ASSERT_EQUAL(registry("show", "iris@prod", "--dir", reg, "--json"), 0);
    json_t *d = json_loads(OUT, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(d, "version")), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "run_id")), "iris-local-2");
    CU_ASSERT_DOUBLE_EQUAL(
        json_number_value(json_object_get(json_object_get(d, "final_metrics"), "val_accuracy")),
        1.0, 1e-12);
    json_decref(d);
    CU_ASSERT_EQUAL(registry("show", "iris/1", "--dir", reg, NULL), 0);
    EXPECT_OUT("iris/1\n");
    EXPECT_OUT("(9 bytes)");
}

static CU_TestInfo tests[] = {
    MO_TEST(test_cmd_registry__list_shows_models_latest_and_aliases),
    MO_TEST(test_cmd_registry__list_of_nothing),
    MO_TEST(test_cmd_registry__show_latest_alias_and_version),
    MO_TEST(test_cmd_registry__show_says_what_is_missing),
    MO_TEST(test_cmd_registry__usage),
    MO_TEST(test_cmd_registry__reads_what_the_plugin_wrote),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("runner/cmd_registry", tests);
}
