/* test_cluster.c - cluster.yml: defaults, the repository's file, every check, path lookup */
#include "runner/cluster.h"

#include "tests/unit.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

/* Write `text` as tmpdir/name and load it; returns the code, *out the cluster on success. */
static int load_text(mo_cluster_t **out, const char *name, const char *text, mo_error_t *err)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), name, text);
    return mo_cluster_load(out, path, err);
}

/* `text` must be refused with MO_EINVAL and the message "<tmpdir>/bad.yml:<rest>". */
static void expect_error(const char *text, const char *rest)
{
    char want[600];
    snprintf(want, sizeof want, "%s/bad.yml:%s", mo_test_tmpdir(), rest);
    mo_cluster_t *c = (mo_cluster_t *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(load_text(&c, "bad.yml", text, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(err.code, MO_EINVAL);
    ASSERT_MSG(err, want);
    if (strcmp(err.msg, want))
        fprintf(stderr, "  for:\n%s\n", text);
}

/* `text` must load. */
static void expect_ok(const char *text)
{
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    int rc = load_text(&c, "good.yml", text, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (rc)
        fprintf(stderr, "\n  unexpected failure: %s\n  for:\n%s\n", err.msg, text);
    mo_cluster_destroy(c);
}

/* ---- defaults and the repository's file ------------------------------------------------- */

static void test_cluster__null_path_gives_builtin_defaults(void)
{
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_cluster_load(&c, NULL, &err), 0);
    CU_ASSERT_PTR_NULL(c->path);
    CU_ASSERT_STRING_EQUAL(c->name, "default");
    CU_ASSERT_EQUAL(c->local.np, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->local.mpirun_args);
    CU_ASSERT_PTR_NULL(c->local.mpirun_args[0]);
    CU_ASSERT_PTR_NULL(c->slurm.partition);
    CU_ASSERT_PTR_NULL(c->slurm.account);
    CU_ASSERT_STRING_EQUAL(c->slurm.time, "01:00:00");
    CU_ASSERT_EQUAL(c->slurm.nodes, 1);
    CU_ASSERT_EQUAL(c->slurm.ntasks_per_node, 1);
    CU_ASSERT_EQUAL(c->slurm.cpus_per_task, 1);
    CU_ASSERT_EQUAL(c->slurm.gpus_per_node, 0);
    CU_ASSERT_STRING_EQUAL(c->kubernetes.namespace_name, "default");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.image, "maestro:latest");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.cpu, "1");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.memory, "4Gi");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.service_account, "maestro");
    CU_ASSERT_PTR_NULL(c->kubernetes.data_pvc);
    CU_ASSERT_EQUAL(c->kubernetes.workers, 1);
    CU_ASSERT_STRING_EQUAL(c->mlflow.url, "http://localhost:30500");
    CU_ASSERT_STRING_EQUAL(c->pushgateway.url, "http://localhost:9091");
    CU_ASSERT_STRING_EQUAL(c->loki.url, "http://localhost:30508");
    CU_ASSERT_STRING_EQUAL(c->redis.url, "redis://localhost:6379/0");
    CU_ASSERT_FALSE(c->mlflow.configured || c->pushgateway.configured || c->loki.configured ||
                    c->redis.configured);
    CU_ASSERT_EQUAL(c->n_providers, 2);
    CU_ASSERT_EQUAL(c->providers[0], MO_SECRETS_ENV);
    CU_ASSERT_EQUAL(c->providers[1], MO_SECRETS_FILES);
    CU_ASSERT_STRING_EQUAL(c->secrets_files_dir, "/var/run/secrets/maestro");
    CU_ASSERT_EQUAL(c->n_schedules, 0);
    mo_cluster_destroy(c);
}

static void test_cluster__repository_file_loads_its_values(void)
{
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cluster.yml", src);
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    int rc = mo_cluster_load(&c, path, &err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(c->path, path);
    CU_ASSERT_STRING_EQUAL(c->name, "ml-platform");
    CU_ASSERT_EQUAL(c->local.np, 2);
    CU_ASSERT_PTR_NULL(c->local.mpirun_args[0]);
    CU_ASSERT_STRING_EQUAL(c->slurm.partition, "gpu");
    CU_ASSERT_STRING_EQUAL(c->slurm.account, "ml");
    CU_ASSERT_STRING_EQUAL(c->slurm.time, "01:00:00");
    CU_ASSERT_EQUAL(c->slurm.ntasks_per_node, 2);
    CU_ASSERT_STRING_EQUAL(c->kubernetes.namespace_name, "ml-platform");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.image, "localhost:30506/maestro:latest");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.memory, "4Gi");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.data_pvc, "ml-data");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.output_pvc, "ml-runs");
    CU_ASSERT_EQUAL(c->kubernetes.workers, 2);
    CU_ASSERT_TRUE(c->mlflow.configured && c->redis.configured);
    CU_ASSERT_STRING_EQUAL(c->mlflow.url, "http://localhost:30500");
    CU_ASSERT_EQUAL_FATAL(c->n_providers, 3);
    CU_ASSERT_EQUAL(c->providers[0], MO_SECRETS_ENV);
    CU_ASSERT_EQUAL(c->providers[1], MO_SECRETS_FILES);
    CU_ASSERT_EQUAL(c->providers[2], MO_SECRETS_KUBERNETES);
    CU_ASSERT_EQUAL_FATAL(c->n_schedules, 1);
    CU_ASSERT_STRING_EQUAL(c->schedules[0].name, "nightly");
    CU_ASSERT_STRING_EQUAL(c->schedules[0].cron, "0 2 * * *");
    CU_ASSERT_STRING_EQUAL(c->schedules[0].timezone, "UTC");
    CU_ASSERT_STRING_EQUAL(c->schedules[0].spec, "jobs/pipeline/example.yml");
    CU_ASSERT_STRING_EQUAL(c->schedules[0].target, "kubernetes");
    mo_cluster_destroy(c);
}

static void test_cluster__partial_file_keeps_other_defaults(void)
{
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(load_text(&c, "partial.yml",
                                    "launch:\n"
                                    "  local: {np: 4, mpirun_args: [--bind-to, none]}\n"
                                    "schedules:\n"
                                    "  hourly: {cron: \"0 * * * *\", spec: a.yml}\n",
                                    &err),
                          0);
    CU_ASSERT_STRING_EQUAL(c->name, "default");
    CU_ASSERT_EQUAL(c->local.np, 4);
    CU_ASSERT_STRING_EQUAL(c->local.mpirun_args[0], "--bind-to");
    CU_ASSERT_STRING_EQUAL(c->local.mpirun_args[1], "none");
    CU_ASSERT_PTR_NULL(c->local.mpirun_args[2]);
    CU_ASSERT_STRING_EQUAL(c->kubernetes.namespace_name, "default");
    CU_ASSERT_EQUAL(c->n_providers, 2);
    CU_ASSERT_EQUAL_FATAL(c->n_schedules, 1);
    CU_ASSERT_STRING_EQUAL(c->schedules[0].timezone, "UTC");
    CU_ASSERT_STRING_EQUAL(c->schedules[0].target, "local");
    mo_cluster_destroy(c);
}

/* ---- checks ------------------------------------------------------------------------------ */

static void test_cluster__slurm_time_shapes_are_accepted(void)
{
    const char *ok[] = {"30", "30:00", "01:00:00", "2-00", "2-12:30", "2-12:30:00", "100:00:00"};
    char text[128];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        snprintf(text, sizeof text, "launch:\n  slurm:\n    time: \"%s\"\n", ok[i]);
        expect_ok(text);
    }
}

static void test_cluster__bad_slurm_time_names_file_line_col(void)
{
    const char *bad[] = {"",      "1:2:3:4", "2-", "-1",        "1:-2", "1-2-3",
                         "1:2-3", "1::2",    "1h", "2-1:2:3:4", ":30",  "30:"};
    char text[128], rest[256];
    /* Resource requests are never negative, and Kubernetes has no "GB", "K" or "MiB". */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, "launch:\n  slurm:\n    time: \"%s\"\n", bad[i]);
        snprintf(rest, sizeof rest,
                 "3:11: launch.slurm.time must be a Slurm time limit like \"01:00:00\" or "
                 "\"2-00:00:00\", got \"%s\"",
                 bad[i]);
        expect_error(text, rest);
    }
}

static void test_cluster__dns_labels_are_checked(void)
{
    expect_ok("launch:\n  kubernetes: {namespace: a, service_account: a-1-b}\n");
    char longest[64], too_long[65], text[256], rest[300];
    memset(longest, 'a', 63);
    longest[63] = '\0';
    memset(too_long, 'a', 64);
    too_long[64] = '\0';
    snprintf(text, sizeof text, "launch:\n  kubernetes:\n    namespace: %s\n", longest);
    expect_ok(text);
    const char *bad[] = {"ML", "-a", "a-", "a_b", "a.b", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, "launch:\n  kubernetes:\n    namespace: %s\n", bad[i]);
        snprintf(rest, sizeof rest,
                 "3:16: launch.kubernetes.namespace must be a DNS label (lower case letters, "
                 "digits, '-'), got \"%s\"",
                 bad[i]);
        expect_error(text, rest);
    }
    expect_error("launch:\n  kubernetes:\n    namespace: \"\"\n",
                 "3:16: launch.kubernetes.namespace must be a DNS label (lower case letters, "
                 "digits, '-'), got \"\"");
    expect_error("launch:\n  kubernetes:\n    data_pvc: Data\n",
                 "3:15: launch.kubernetes.data_pvc must be a DNS label, got \"Data\"");
    expect_error("launch:\n  kubernetes:\n    output_pvc: runs_pvc\n",
                 "3:17: launch.kubernetes.output_pvc must be a DNS label, got \"runs_pvc\"");
    expect_error("launch:\n  kubernetes:\n    service_account: -sa\n",
                 "3:22: launch.kubernetes.service_account must be a DNS label, got \"-sa\"");
}

static void test_cluster__quantities_accept_units_and_millicores(void)
{
    expect_ok("launch:\n  kubernetes: {cpu: \"500m\", memory: 512Mi}\n");
    expect_ok("launch:\n  kubernetes: {cpu: \"2\", memory: 1Gi}\n");
    expect_ok("launch:\n  kubernetes: {cpu: 1500m, memory: 2G}\n");
    expect_ok("launch:\n  kubernetes: {cpu: \"0.5\", memory: 1e9}\n");
    expect_ok("launch:\n  kubernetes: {cpu: \"1.5\", memory: 129M}\n");
    mo_cluster_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(
        load_text(&c, "q.yml", "launch:\n  kubernetes: {cpu: 250m, memory: 8Gi}\n", NULL), 0);
    CU_ASSERT_STRING_EQUAL(c->kubernetes.cpu, "250m");
    CU_ASSERT_STRING_EQUAL(c->kubernetes.memory, "8Gi");
    mo_cluster_destroy(c);
}

static void test_cluster__bad_quantity_names_file_line_col(void)
{
    const char *bad[] = {"lots", "m", "-1", "5x", "4GB", "1K", "64MiB", "m500", "Gi", "1e"};
    char text[128], rest[256];
    /* Resource requests are never negative, and Kubernetes has no "GB", "K" or "MiB". */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, "launch:\n  kubernetes:\n    cpu: \"%s\"\n", bad[i]);
        snprintf(rest, sizeof rest,
                 "3:10: launch.kubernetes.cpu must be a Kubernetes quantity like \"1\" or "
                 "\"500m\", got \"%s\"",
                 bad[i]);
        expect_error(text, rest);
    }
    expect_error("launch:\n  kubernetes:\n    memory: four\n",
                 "3:13: launch.kubernetes.memory must be a Kubernetes quantity like \"4Gi\", "
                 "got \"four\"");
    expect_error("launch:\n  kubernetes:\n    image: \"\"\n",
                 "3:12: launch.kubernetes.image must be an image reference, got \"\"");
}

static void test_cluster__service_urls_are_checked(void)
{
    expect_ok("services:\n"
              "  mlflow: {url: \"https://mlflow.example\"}\n"
              "  loki: {url: \"http://l:3100\"}\n"
              "  redis: {url: \"rediss://r:6380/1\"}\n");
    expect_ok("services:\n  redis: {url: \"unix:///run/redis.sock\"}\n");
    expect_error("services:\n  mlflow:\n    url: localhost:30500\n",
                 "3:10: services.mlflow.url must be an http(s) URL, got \"localhost:30500\"");
    expect_error("services:\n  pushgateway:\n    url: \"http://\"\n",
                 "3:10: services.pushgateway.url must be an http(s) URL, got \"http://\"");
    expect_error("services:\n  loki:\n    url: \"ftp://loki\"\n",
                 "3:10: services.loki.url must be an http(s) URL, got \"ftp://loki\"");
    expect_error("services:\n  redis:\n    url: \"http://localhost:6379\"\n",
                 "3:10: services.redis.url must be a redis://host:port/db URL, got "
                 "\"http://localhost:6379\"");
    expect_error("services:\n  redis:\n    url: \"redis://\"\n",
                 "3:10: services.redis.url must be a redis://host:port/db URL, got \"redis://\"");
    /* A section written without url keeps the default and counts as configured. */
    mo_cluster_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(load_text(&c, "svc.yml", "services:\n  loki: {}\n", NULL), 0);
    CU_ASSERT_TRUE(c->loki.configured);
    CU_ASSERT_FALSE(c->mlflow.configured);
    CU_ASSERT_STRING_EQUAL(c->loki.url, "http://localhost:30508");
    mo_cluster_destroy(c);
}

static void test_cluster__providers_list_is_checked(void)
{
    mo_cluster_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(
        load_text(&c, "p.yml", "secrets: {providers: [files], files_dir: /s}\n", NULL), 0);
    CU_ASSERT_EQUAL(c->n_providers, 1);
    CU_ASSERT_EQUAL(c->providers[0], MO_SECRETS_FILES);
    CU_ASSERT_STRING_EQUAL(c->secrets_files_dir, "/s");
    mo_cluster_destroy(c);
    expect_error("secrets:\n  providers: []\n",
                 "2:14: secrets.providers must list 1 to 3 of env, files, kubernetes");
    expect_error("secrets:\n  providers: [env, files, kubernetes, env]\n",
                 "2:14: secrets.providers must list 1 to 3 of env, files, kubernetes");
    expect_error("secrets:\n  providers: [env, vault]\n",
                 "2:20: secrets.providers[1] must be one of env, files, kubernetes, got "
                 "\"vault\"");
    expect_error("secrets:\n  providers: [[env]]\n",
                 "2:15: secrets.providers[0] must be one of env, files, kubernetes, got "
                 "\"(not a string)\"");
}

static void test_cluster__schedules_are_checked(void)
{
    expect_error("schedules:\n  nightly:\n    spec: a.yml\n",
                 "2:3: missing required key 'cron' in schedules.nightly");
    expect_error("schedules:\n  nightly:\n    cron: \"0 2 * *\"\n    spec: a.yml\n",
                 "3:11: schedules.nightly.cron must be a 5-field cron expression like "
                 "\"0 2 * * *\", got \"0 2 * *\"");
    expect_error("schedules:\n  nightly:\n    cron: \"0 2 * * * *\"\n    spec: a.yml\n",
                 "3:11: schedules.nightly.cron must be a 5-field cron expression like "
                 "\"0 2 * * *\", got \"0 2 * * * *\"");
    expect_error("schedules:\n  nightly:\n    cron: \"0 2 * * *\"\n",
                 "2:3: missing required key 'spec' in schedules.nightly");
    expect_error("schedules:\n  nightly:\n"
                 "    cron: \"0 2 * * *\"\n    spec: a.yml\n    target: kubernets\n",
                 "5:13: schedules.nightly.target must be one of local, slurm, kubernetes, "
                 "cron, got \"kubernets\"; did you mean 'kubernetes'?");
    expect_error("schedules:\n  nightly: \"0 2 * * *\"\n",
                 "2:12: schedules.nightly must be a map, got \"0 2 * * *\"");
}

static void test_cluster__unknown_key_suggests_closest(void)
{
    expect_error("nme: lab\n", "1:1: unknown key 'nme' at the top level; did you mean 'name'?");
    expect_error("services:\n  mlfow: {}\n",
                 "2:3: unknown key 'mlfow' in services; did you mean 'mlflow'?");
    expect_error("extras: 1\n", "1:1: unknown key 'extras' at the top level");
    expect_error("launch:\n  slurm:\n    partiton: gpu\n",
                 "3:5: unknown key 'partiton' in launch.slurm; did you mean 'partition'?");
    expect_error("schedules:\n  nightly:\n"
                 "    cron: \"0 2 * * *\"\n    spec: a.yml\n    timezon: UTC\n",
                 "5:5: unknown key 'timezon' in schedules.nightly; did you mean 'timezone'?");
}

static void test_cluster__numbers_out_of_range_are_refused(void)
{
    expect_error("launch:\n  local:\n    np: 0\n",
                 "3:9: launch.local.np must be an integer in [1, 100000], got 0");
    expect_error("launch:\n  slurm:\n    gpus_per_node: 65\n",
                 "3:20: launch.slurm.gpus_per_node must be an integer in [0, 64], got 65");
}

static void test_cluster__missing_and_unreadable_files(void)
{
    char path[600], want[700];
    mo_cluster_t *c = (mo_cluster_t *)0x1;
    mo_error_t err = {0};
    snprintf(path, sizeof path, "%s/none.yml", mo_test_tmpdir());
    snprintf(want, sizeof want, "%s: no such file", path);
    CU_ASSERT_EQUAL(mo_cluster_load(&c, path, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(c);
    ASSERT_MSG(err, want);
    /* A folder named as the cluster file is bad input, not an environment failure. */
    snprintf(path, sizeof path, "%s/cluster-dir.yml", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(want, sizeof want, "%s: %s", path, strerror(EISDIR));
    CU_ASSERT_EQUAL(mo_cluster_load(&c, path, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(err.code, MO_EINVAL);
    ASSERT_MSG(err, want);
    CU_ASSERT_EQUAL(mo_cluster_load(&c, path, NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(c);
}

/* ---- path lookup and arguments ------------------------------------------------------------ */

static void test_cluster__pick_path_order(void)
{
    char cwd[PATH_MAX], dir[PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    snprintf(dir, sizeof dir, "%s/pick", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
    const char *saved = getenv("MAESTRO_CLUSTER");
    char *saved_copy = saved ? strdup(saved) : NULL;

    unsetenv("MAESTRO_CLUSTER");
    CU_ASSERT_PTR_NULL(mo_cluster_pick_path(NULL));
    CU_ASSERT_PTR_NULL(mo_cluster_pick_path(""));
    mo_test_write_file(dir, "cluster.yml", "name: here\n");
    CU_ASSERT_STRING_EQUAL(mo_cluster_pick_path(NULL), "cluster.yml");
    setenv("MAESTRO_CLUSTER", "/etc/env-cluster.yml", 1);
    CU_ASSERT_STRING_EQUAL(mo_cluster_pick_path(NULL), "/etc/env-cluster.yml");
    CU_ASSERT_STRING_EQUAL(mo_cluster_pick_path(""), "/etc/env-cluster.yml");
    CU_ASSERT_STRING_EQUAL(mo_cluster_pick_path("explicit.yml"), "explicit.yml");
    setenv("MAESTRO_CLUSTER", "", 1); /* empty reads as unset */
    CU_ASSERT_STRING_EQUAL(mo_cluster_pick_path(NULL), "cluster.yml");
    CU_ASSERT_STRING_EQUAL(mo_cluster_pick_path("explicit.yml"), "explicit.yml");
    /* The picked ./cluster.yml is the one that loads. */
    mo_cluster_t *c = NULL;
    CU_ASSERT_EQUAL(mo_cluster_load(&c, mo_cluster_pick_path(NULL), NULL), 0);
    if (c)
        CU_ASSERT_STRING_EQUAL(c->name, "here");
    mo_cluster_destroy(c);

    if (saved_copy)
        setenv("MAESTRO_CLUSTER", saved_copy, 1);
    else
        unsetenv("MAESTRO_CLUSTER");
    free(saved_copy);
    CU_ASSERT_EQUAL(chdir(cwd), 0);
}

static void test_cluster__bad_arguments_return_errors(void)
{
    mo_cluster_t *c = (mo_cluster_t *)0x1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_cluster_load(&c, "", &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(err.code, MO_EINVAL);
    CU_ASSERT_EQUAL(load_text(&c, "list.yml", "- a\n", NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    mo_cluster_destroy(NULL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_cluster__null_path_gives_builtin_defaults),
    MO_TEST(test_cluster__repository_file_loads_its_values),
    MO_TEST(test_cluster__partial_file_keeps_other_defaults),
    MO_TEST(test_cluster__slurm_time_shapes_are_accepted),
    MO_TEST(test_cluster__bad_slurm_time_names_file_line_col),
    MO_TEST(test_cluster__dns_labels_are_checked),
    MO_TEST(test_cluster__quantities_accept_units_and_millicores),
    MO_TEST(test_cluster__bad_quantity_names_file_line_col),
    MO_TEST(test_cluster__service_urls_are_checked),
    MO_TEST(test_cluster__providers_list_is_checked),
    MO_TEST(test_cluster__schedules_are_checked),
    MO_TEST(test_cluster__unknown_key_suggests_closest),
    MO_TEST(test_cluster__numbers_out_of_range_are_refused),
    MO_TEST(test_cluster__missing_and_unreadable_files),
    MO_TEST(test_cluster__pick_path_order),
    MO_TEST(test_cluster__bad_arguments_return_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("runner/cluster", tests);
}
