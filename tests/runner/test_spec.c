/* test_spec.c - loading a job spec: kind, shared keys, --set, secrets, the kind registry */
#include "runner/spec.h"

#include "core/log.h"
#include "core/str.h"
#include "io/synth.h"
#include "jobs/validate/validate.h"
#include "runner/kinds.h"
#include "runner/secrets.h"
#include "tests/unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

static char path_buf[600];

/* A small classification dataset the validate kind can open (made once). */
static const char *dataset(void)
{
    static char path[512];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/data.h5", mo_test_tmpdir());
        mo_synth_opts_t o = {
            .rows = 50, .features = 3, .classes = 2, .seed = 1, .task = MO_DS_CLASSIFICATION};
        mo_error_t err = {0};
        int rc = mo_synth_write(path, &o, &err);
        if (rc)
            fprintf(stderr, "\n  synth: %s\n", err.msg);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    return path;
}

/* Write tmpdir/file: a valid validate spec (5 lines) followed by `extra`. Returns the path. */
static const char *write_spec(const char *file, const char *extra)
{
    mo_buf_t b = {0};
    mo_buf_printf(&b,
                  "kind: validate\n"
                  "data:\n"
                  "  path: %s\n"
                  "checks:\n"
                  "  - {check: row_count, min: 1}\n"
                  "%s",
                  dataset(), extra);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
    const char *p = mo_test_write_file(mo_test_tmpdir(), file, b.data);
    mo_buf_free(&b);
    snprintf(path_buf, sizeof path_buf, "%s", p);
    return path_buf;
}

/* The message "<path>:<rest>" for a file in tmpdir. */
static const char *at(const char *file, const char *rest)
{
    static char want[1600];
    snprintf(want, sizeof want, "%s/%s:%s", mo_test_tmpdir(), file, rest);
    return want;
}

static mo_spec_t *load_ok(const char *path, const mo_spec_opts_t *opts)
{
    mo_spec_t *s = NULL;
    mo_error_t err = {0};
    int rc = mo_spec_load(&s, path, opts, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  unexpected failure: %s\n", err.msg);
    return s;
}

static int load_fail(const char *path, const mo_spec_opts_t *opts, mo_error_t *err)
{
    mo_spec_t *s = (mo_spec_t *)0x1;
    int rc = mo_spec_load(&s, path, opts, err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(err->code, rc);
    return rc;
}

/* ---- kind --------------------------------------------------------------------------------- */

static void test_spec__kind_is_required(void)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "nokind.yml", "name: x\n");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail(path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, at("nokind.yml", "1:1: missing required key 'kind' at the top level"));
}

static void test_spec__unknown_kind_lists_kinds_and_suggests(void)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "typo.yml", "kind: valdate\n");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail(path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, at("typo.yml", "1:7: unknown kind 'valdate' (kinds: train, sweep, materialize, "
                                   "dataset, validate, pipeline); did you mean 'validate'?"));
    path = mo_test_write_file(mo_test_tmpdir(), "far.yml", "kind: xyzzy\n");
    CU_ASSERT_EQUAL(load_fail(path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, at("far.yml", "1:7: unknown kind 'xyzzy' (kinds: train, sweep, materialize, "
                                  "dataset, validate, pipeline)"));
}

static void test_spec__validate_kind_parses(void)
{
    const char *path = write_spec("checks.yml", "description: nightly checks\n");
    mo_spec_t *s = load_ok(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_EQUAL(s->kind, mo_kind_find("validate"));
    CU_ASSERT_PTR_EQUAL(s->kind->kind, &mo_job_validate);
    CU_ASSERT_PTR_NOT_NULL(s->job);
    CU_ASSERT_STRING_EQUAL(s->description, "nightly checks");
    CU_ASSERT_STRING_EQUAL(mo_cfg_file(s->doc), path);
    mo_spec_destroy(s);
}

/* ---- name, output, labels ------------------------------------------------------------------ */

static void test_spec__name_defaults_to_file_name(void)
{
    mo_spec_t *s = load_ok(write_spec("my-job.yml", ""), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->name, "my-job");
    CU_ASSERT_STRING_EQUAL(s->output, "runs/my-job");
    CU_ASSERT_PTR_NULL(s->description);
    mo_spec_destroy(s);
    s = load_ok(write_spec("other.v2.yaml", ""), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->name, "other.v2");
    mo_spec_destroy(s);
}

static void test_spec__invalid_name_is_refused(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail(write_spec("named.yml", "name: \"bad name\"\n"), NULL, &err),
                    MO_EINVAL);
    ASSERT_MSG(err, at("named.yml", "6:7: name must be 1-63 letters, digits, '-', '_' or '.', "
                                    "starting with a letter or digit, got \"bad name\""));
    CU_ASSERT_EQUAL(load_fail(write_spec("named.yml", "name: -dash\n"), NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "named.yml:6:7: name must be 1-63"));
    /* No name: and a file name that is not a valid one. */
    const char *path = write_spec("my job.yml", "");
    char want[800];
    snprintf(want, sizeof want,
             "%s: the spec has no name: and its file name \"my job\" is not a valid one; add "
             "name: to the spec",
             path);
    CU_ASSERT_EQUAL(load_fail(path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, want);
}

static void test_spec__output_spec_then_option(void)
{
    const char *path = write_spec("out.yml", "name: nightly\noutput: results/nightly\n");
    mo_spec_t *s = load_ok(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->name, "nightly");
    CU_ASSERT_STRING_EQUAL(s->output, "results/nightly");
    mo_spec_destroy(s);
    mo_spec_opts_t opts = {.output = "/scratch/x"};
    s = load_ok(path, &opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->output, "/scratch/x");
    mo_spec_destroy(s);
    /* name: sets the default output too. */
    s = load_ok(write_spec("out2.yml", "name: weekly\n"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->output, "runs/weekly");
    mo_spec_destroy(s);
}

static void test_spec__labels_are_free_form(void)
{
    mo_spec_t *s =
        load_ok(write_spec("labels.yml", "labels:\n  team: ml\n  any_key: {nested: 1}\n"), NULL);
    CU_ASSERT_PTR_NOT_NULL(s);
    mo_spec_destroy(s);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_fail(write_spec("labels.yml", "lables:\n  team: ml\n"), NULL, &err),
                    MO_EINVAL);
    ASSERT_MSG(err, at("labels.yml", "6:1: unknown key 'lables' at the top level; did you mean "
                                     "'labels'?"));
    CU_ASSERT_EQUAL(load_fail(write_spec("labels.yml", "labels: [a]\n"), NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, at("labels.yml", "6:9: labels must be a map, got a list"));
}

/* ---- --set -------------------------------------------------------------------------------- */

static void test_spec__sets_apply_in_order(void)
{
    const char *sets[] = {"name=first", "name=second", "description=from the command line"};
    mo_spec_opts_t opts = {.sets = sets, .n_sets = 3};
    mo_spec_t *s = load_ok(write_spec("set.yml", "name: original\n"), &opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->name, "second");
    CU_ASSERT_STRING_EQUAL(s->output, "runs/second");
    CU_ASSERT_STRING_EQUAL(s->description, "from the command line");
    mo_spec_destroy(s);
}

static void test_spec__sets_are_checked_with_their_location(void)
{
    const char *path = write_spec("set.yml", "");
    mo_error_t err = {0};
    const char *unknown[] = {"nme=x"};
    mo_spec_opts_t opts = {.sets = unknown, .n_sets = 1};
    CU_ASSERT_EQUAL(load_fail(path, &opts, &err), MO_EINVAL);
    ASSERT_MSG(err, "--set nme=x: unknown key 'nme' at the top level; did you mean 'name'?");
    const char *bad_name[] = {"name=ok", "name=bad name"};
    opts = (mo_spec_opts_t){.sets = bad_name, .n_sets = 2};
    CU_ASSERT_EQUAL(load_fail(path, &opts, &err), MO_EINVAL);
    ASSERT_MSG(err, "--set name=bad name: name must be 1-63 letters, digits, '-', '_' or '.', "
                    "starting with a letter or digit, got \"bad name\"");
    /* The kind reads overrides too. */
    const char *no_checks[] = {"checks=[]"};
    opts = (mo_spec_opts_t){.sets = no_checks, .n_sets = 1};
    CU_ASSERT_EQUAL(load_fail(path, &opts, &err), MO_EINVAL);
    ASSERT_MSG(err, "--set checks=[]: checks must list at least one check");
    const char *syntax[] = {"name"};
    opts = (mo_spec_opts_t){.sets = syntax, .n_sets = 1};
    CU_ASSERT_EQUAL(load_fail(path, &opts, &err), MO_EINVAL);
    ASSERT_MSG(err, "--set name: expected key.path=value");
}

/* ---- the file ------------------------------------------------------------------------------ */

static void test_spec__missing_file_and_folder(void)
{
    char path[600], want[700];
    mo_error_t err = {0};
    snprintf(path, sizeof path, "%s/absent.yml", mo_test_tmpdir());
    snprintf(want, sizeof want, "%s: no such file", path);
    CU_ASSERT_EQUAL(load_fail(path, NULL, &err), MO_ENOTFOUND);
    ASSERT_MSG(err, want);
    snprintf(path, sizeof path, "%s/folder.yml", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(want, sizeof want, "%s: %s", path, strerror(EISDIR));
    CU_ASSERT_EQUAL(load_fail(path, NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, want);
    mo_spec_t *s = (mo_spec_t *)0x1;
    CU_ASSERT_EQUAL(mo_spec_load(&s, path, NULL, NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(s);
}

static void test_spec__bad_arguments_return_errors(void)
{
    mo_spec_t *s = (mo_spec_t *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_spec_load(&s, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(s);
    ASSERT_MSG(err, "no spec file given");
    CU_ASSERT_EQUAL(mo_spec_load(&s, "", NULL, NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(s);
    mo_spec_destroy(NULL);
}

/* ---- secrets ------------------------------------------------------------------------------- */

static char secrets_dir[600];

/* A cluster whose secret providers are `providers` (a YAML list) reading files from
 * tmpdir/secrets. */
static mo_cluster_t *cluster_with(const char *providers)
{
    snprintf(secrets_dir, sizeof secrets_dir, "%s/secrets", mo_test_tmpdir());
    mkdir(secrets_dir, 0700);
    char text[1024];
    snprintf(text, sizeof text, "secrets: {providers: %s, files_dir: \"%s\"}\n", providers,
             secrets_dir);
    const char *path = mo_test_write_file(mo_test_tmpdir(), "cluster.yml", text);
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    int rc = mo_cluster_load(&c, path, &err);
    if (rc)
        fprintf(stderr, "\n  cluster: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return c;
}

/* Load the secret spec with `c`; returns the description (copied, caller frees) or NULL. */
static char *secret_value(const mo_cluster_t *c, const char *ref)
{
    char extra[128];
    snprintf(extra, sizeof extra, "description: %s\n", ref);
    mo_spec_opts_t opts = {.cluster = c};
    mo_spec_t *s = load_ok(write_spec("secret.yml", extra), &opts);
    char *v = s && s->description ? strdup(s->description) : NULL;
    mo_spec_destroy(s);
    return v;
}

static void test_spec__env_secret_provider(void)
{
    mo_cluster_t *c = cluster_with("[env]");
    setenv("MAESTRO_SECRET_DB_PASSWORD", "env-pass-1", 1);
    char *v = secret_value(c, "${secret:db-password}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "env-pass-1");
    free(v);
    /* '.' also maps to '_' and letters are upper-cased. */
    setenv("MAESTRO_SECRET_API_TOKEN_V2", "env-token-2", 1);
    v = secret_value(c, "${secret:api.token-v2}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "env-token-2");
    free(v);
    /* NAME/KEY: MAESTRO_SECRET_<NAME>_<KEY>, so db/password reads the same variable. */
    v = secret_value(c, "${secret:db/password}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "env-pass-1");
    free(v);
    unsetenv("MAESTRO_SECRET_DB_PASSWORD");
    unsetenv("MAESTRO_SECRET_API_TOKEN_V2");
    mo_cluster_destroy(c);
}

static void test_spec__files_secret_provider_drops_trailing_newline(void)
{
    mo_cluster_t *c = cluster_with("[files]");
    mo_test_write_file(secrets_dir, "db-password", "file-pass-1\n");
    char *v = secret_value(c, "${secret:db-password}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "file-pass-1");
    free(v);
    mo_test_write_file(secrets_dir, "crlf", "line one\nfile-pass-2\r\n");
    v = secret_value(c, "${secret:crlf}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "line one\nfile-pass-2");
    free(v);
    /* NAME/KEY: the secret volume layout <files_dir>/<name>/<key>. */
    char d[700];
    snprintf(d, sizeof d, "%s/db", secrets_dir);
    mkdir(d, 0700);
    mo_test_write_file(d, "password", "file-pass-3\n");
    v = secret_value(c, "${secret:db/password}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "file-pass-3");
    free(v);
    mo_cluster_destroy(c);
}

static void test_spec__secret_providers_tried_in_order(void)
{
    setenv("MAESTRO_SECRET_ORDERED", "from-env-1", 1);
    mo_cluster_t *c = cluster_with("[env, files]");
    mo_test_write_file(secrets_dir, "ordered", "from-file-1\n");
    char *v = secret_value(c, "${secret:ordered}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "from-env-1");
    free(v);
    mo_cluster_destroy(c);
    c = cluster_with("[files, env]");
    v = secret_value(c, "${secret:ordered}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "from-file-1");
    free(v);
    /* A provider that does not have it passes on to the next. */
    char f[700];
    snprintf(f, sizeof f, "%s/ordered", secrets_dir);
    CU_ASSERT_EQUAL(remove(f), 0);
    v = secret_value(c, "${secret:ordered}");
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v)
        CU_ASSERT_STRING_EQUAL(v, "from-env-1");
    free(v);
    unsetenv("MAESTRO_SECRET_ORDERED");
    mo_cluster_destroy(c);
}

static void test_spec__secret_not_found_lists_where_it_looked(void)
{
    unsetenv("MAESTRO_SECRET_NOPE");
    mo_cluster_t *c = cluster_with("[env, files, kubernetes]");
    mo_spec_opts_t opts = {.cluster = c};
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(
        load_fail(write_spec("secret.yml", "description: ${secret:nope}\n"), &opts, &err),
        MO_ENOTFOUND);
    char rest[900];
    snprintf(rest, sizeof rest,
             "6:14: ${secret:nope}: secret 'nope' not found (looked in: env MAESTRO_SECRET_NOPE, "
             "files in %s, kubernetes (needs NAME/KEY))",
             secrets_dir);
    ASSERT_MSG(err, at("secret.yml", rest));
    /* NAME/KEY: the variable it looked for; the Kubernetes API needs the plugin host. */
    CU_ASSERT_EQUAL(
        load_fail(write_spec("secret.yml", "description: ${secret:db/nope}\n"), &opts, &err),
        MO_ENOTFOUND);
    snprintf(rest, sizeof rest,
             "6:14: ${secret:db/nope}: secret 'db/nope' not found (looked in: env "
             "MAESTRO_SECRET_DB_NOPE, files in %s, kubernetes (plugin not loaded))",
             secrets_dir);
    ASSERT_MSG(err, at("secret.yml", rest));
    mo_cluster_destroy(c);
    /* Without a cluster there is no provider to ask. */
    CU_ASSERT_EQUAL(
        load_fail(write_spec("secret.yml", "description: ${secret:nope}\n"), NULL, &err),
        MO_ENOTFOUND);
    ASSERT_MSG(err, at("secret.yml",
                       "6:14: ${secret:nope}: secret 'nope' not found (looked in: no providers)"));
}

static void test_spec__invalid_secret_name_and_scheme(void)
{
    mo_cluster_t *c = cluster_with("[env, files]");
    mo_spec_opts_t opts = {.cluster = c};
    mo_error_t err = {0};
    /* A name that could walk out of files_dir is refused before any provider is asked. */
    CU_ASSERT_EQUAL(
        load_fail(write_spec("secret.yml", "description: ${secret:../x}\n"), &opts, &err),
        MO_EINVAL);
    ASSERT_MSG(err, at("secret.yml", "6:14: ${secret:../x}: secret name \"..\" must be "
                                     "letters, digits, '-', '_' or '.'"));
    CU_ASSERT_EQUAL(
        load_fail(write_spec("secret.yml", "description: ${secret:db/../x}\n"), &opts, &err),
        MO_EINVAL);
    ASSERT_MSG(err, at("secret.yml", "6:14: ${secret:db/../x}: secret reference \"db/../x\" must "
                                     "be NAME or NAME/KEY"));
    CU_ASSERT_EQUAL(
        load_fail(write_spec("secret.yml", "description: ${secret:.hidden}\n"), &opts, &err),
        MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "secret name \".hidden\" must be"));
    CU_ASSERT_EQUAL(load_fail(write_spec("secret.yml", "description: ${vault:x}\n"), &opts, &err),
                    MO_EINVAL);
    ASSERT_MSG(err, at("secret.yml",
                       "6:14: ${vault:x}: unknown reference ${vault:...} (known: env, secret)"));
    mo_cluster_destroy(c);
}

static void test_spec__resolved_secret_is_redacted_and_dump_shows_reference(void)
{
    mo_log_clear_secrets();
    const char *value = "s3cret-for-redaction";
    setenv("MAESTRO_SECRET_DB_PASSWORD", value, 1);
    char *before = mo_redact("password=s3cret-for-redaction;");
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_STRING_EQUAL(before, "password=s3cret-for-redaction;");
    free(before);
    mo_cluster_t *c = cluster_with("[env]");
    mo_spec_opts_t opts = {.cluster = c};
    mo_spec_t *s = load_ok(write_spec("secret.yml", "description: ${secret:db-password}\n"), &opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->description, value);
    char *after = mo_redact("password=s3cret-for-redaction;");
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_STRING_EQUAL(after, "password=***;");
    free(after);
    char *dump = mo_cfg_dump_yaml(mo_cfg_root(s->doc));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dump);
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "description: ${secret:db-password}"));
    CU_ASSERT_PTR_NULL(strstr(dump, value));
    free(dump);
    mo_spec_destroy(s);
    mo_cluster_destroy(c);
    unsetenv("MAESTRO_SECRET_DB_PASSWORD");
    mo_log_clear_secrets();
}

static void test_spec__secrets_resolve_direct_calls(void)
{
    mo_cluster_t *c = cluster_with("[env]");
    setenv("MAESTRO_SECRET_DIRECT", "direct-value", 1);
    char *out = (char *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_secrets_resolve(&out, "secret", "direct", c, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(out);
    if (out)
        CU_ASSERT_STRING_EQUAL(out, "direct-value");
    free(out);
    out = (char *)0x1;
    CU_ASSERT_EQUAL(mo_secrets_resolve(&out, "secret", "", c, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    ASSERT_MSG(err, "secret name \"\" must be letters, digits, '-', '_' or '.'");
    CU_ASSERT_EQUAL(mo_secrets_resolve(&out, "env", "direct", c, NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(mo_secrets_resolve(&out, "secret", "nothing-here", NULL, &err), MO_ENOTFOUND);
    ASSERT_MSG(err, "secret 'nothing-here' not found (looked in: no providers)");
    unsetenv("MAESTRO_SECRET_DIRECT");
    mo_cluster_destroy(c);
    mo_log_clear_secrets();
}

/* ---- the kind registry --------------------------------------------------------------------- */

static void test_spec__kinds_registry(void)
{
    size_t n = 0;
    const mo_kind_entry_t *all = mo_kinds(&n);
    CU_ASSERT_EQUAL_FATAL(n, 6);
    const char *names[] = {"train", "sweep", "materialize", "dataset", "validate", "pipeline"};
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(all[i].name, names[i]);
        CU_ASSERT_PTR_NOT_NULL(all[i].summary);
        CU_ASSERT_PTR_EQUAL(mo_kind_find(names[i]), &all[i]);
        if (all[i].kind)
            CU_ASSERT_STRING_EQUAL(all[i].kind->name, all[i].name);
    }
    CU_ASSERT_PTR_EQUAL(mo_kind_find("validate")->kind, &mo_job_validate);
    CU_ASSERT_PTR_NOT_NULL(mo_kind_find("sweep")->kind);
    for (size_t i = 0; i < n; i++) /* every designed kind is built now */
        CU_ASSERT_PTR_NOT_NULL(all[i].kind);
    CU_ASSERT_PTR_NOT_NULL(mo_kind_find("train")->kind);
}

static void test_spec__kind_find_bad_names(void)
{
    CU_ASSERT_PTR_NULL(mo_kind_find(NULL));
    CU_ASSERT_PTR_NULL(mo_kind_find(""));
    CU_ASSERT_PTR_NULL(mo_kind_find("Validate"));
    CU_ASSERT_PTR_NULL(mo_kind_find("validate "));
    CU_ASSERT_PTR_NULL(mo_kind_find("nope"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_spec__kind_is_required),
    MO_TEST(test_spec__unknown_kind_lists_kinds_and_suggests),
    MO_TEST(test_spec__validate_kind_parses),
    MO_TEST(test_spec__name_defaults_to_file_name),
    MO_TEST(test_spec__invalid_name_is_refused),
    MO_TEST(test_spec__output_spec_then_option),
    MO_TEST(test_spec__labels_are_free_form),
    MO_TEST(test_spec__sets_apply_in_order),
    MO_TEST(test_spec__sets_are_checked_with_their_location),
    MO_TEST(test_spec__missing_file_and_folder),
    MO_TEST(test_spec__bad_arguments_return_errors),
    MO_TEST(test_spec__env_secret_provider),
    MO_TEST(test_spec__files_secret_provider_drops_trailing_newline),
    MO_TEST(test_spec__secret_providers_tried_in_order),
    MO_TEST(test_spec__secret_not_found_lists_where_it_looked),
    MO_TEST(test_spec__invalid_secret_name_and_scheme),
    MO_TEST(test_spec__resolved_secret_is_redacted_and_dump_shows_reference),
    MO_TEST(test_spec__secrets_resolve_direct_calls),
    MO_TEST(test_spec__kinds_registry),
    MO_TEST(test_spec__kind_find_bad_names),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("runner/spec", tests);
}
