/* test_submit_k8s.c - `maestro submit --target kubernetes`: the ConfigMap and MPIJob it writes
 *
 * The documents are read back with PyYAML (a parser other than the one that wrote them) and
 * the MPIJob is checked against the MPIJob v2beta1 CRD's openAPIV3Schema with jsonschema, so
 * a quoting mistake or a misspelt field fails here rather than in `kubectl apply`.
 */
#include "runner/submit.h"

#include "core/str.h"
#include "tests/unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECRET_VALUE "sup3r-s3cret-v4lue"
/* Quotes, `: `, a shell substitution, a backslash, a tab, a line separator (U+2028). */
#define NASTY_NAME "it's \"x\": $(rm -rf /) \\ a\tb \xe2\x80\xa8 z"

static const char *const CLUSTER_TEXT =
    "# test cluster\n"
    "name: test-platform\n"
    "launch:\n"
    "  kubernetes: {namespace: ml, image: \"reg.local:5000/maestro:1\", workers: 3,\n"
    "               slots_per_worker: 2, gpus_per_worker: 1, cpu: \"2\", memory: 8Gi,\n"
    "               service_account: runner, data_pvc: ml-data, output_pvc: ml-runs}\n"
    "services:\n"
    "  mlflow: {url: \"http://mlflow:5000\", token: \"${secret:mlflow-auth/token}\"}\n"
    "secrets: {providers: [env, files]}\n";

/* Leading spaces, blank lines, a tab, quotes and a trailing line without a newline: the
 * ConfigMap must hold exactly these bytes. */
static const char *const SPEC_TEXT = "kind: train\n"
                                     "name: \"it's \\\"x\\\": $(rm -rf /)\"\n"
                                     "\n"
                                     "db:\n"
                                     "    password: ${secret:db/password}   # trailing  \n"
                                     "    legacy: ${secret:legacy}\tafter a tab\n"
                                     "note: 'back\\slash'";

/* Checks the documents at argv[1]; argv[2..] as below. Exit 0 when all hold. */
static const char *const CHECK_PY =
    "import sys, re, yaml, jsonschema\n"
    "path, crd_path, spec_path, cluster_path, name = sys.argv[1:6]\n"
    "docs = [d for d in yaml.safe_load_all(open(path, encoding='utf-8')) if d is not None]\n"
    "assert len(docs) == 2, len(docs)\n"
    "cm, job = docs\n"
    "assert cm['kind'] == 'ConfigMap' and cm['apiVersion'] == 'v1'\n"
    "assert cm['data']['spec.yml'] == open(spec_path, encoding='utf-8').read(), "
    "repr(cm['data']['spec.yml'])\n"
    "assert cm['data']['cluster.yml'] == open(cluster_path, encoding='utf-8').read()\n"
    "crd = [d for d in yaml.safe_load_all(open(crd_path)) if d][0]\n"
    "schema = [v for v in crd['spec']['versions'] if v['name'] == 'v2beta1'][0]\n"
    "jsonschema.validate(job, schema['schema']['openAPIV3Schema'])\n"
    "assert job['apiVersion'] == 'kubeflow.org/v2beta1' and job['kind'] == 'MPIJob'\n"
    "m = job['metadata']\n"
    "assert re.fullmatch(r'maestro-[a-z0-9]([a-z0-9-]*[a-z0-9])?-[0-9a-f]{8}', m['name']), m\n"
    "assert len(m['name']) <= 47 and m['namespace'] == 'ml'\n"
    "assert m['annotations']['maestro.dev/spec-name'] == name, m['annotations']\n"
    "assert cm['metadata']['name'] == m['name'] + '-config'\n"
    "s = job['spec']\n"
    "assert s['slotsPerWorker'] == 2\n"
    "assert s['runPolicy'] == {'cleanPodPolicy': 'Running', 'backoffLimit': 0,\n"
    "                          'ttlSecondsAfterFinished': 86400}, s['runPolicy']\n"
    "l = s['mpiReplicaSpecs']['Launcher']; w = s['mpiReplicaSpecs']['Worker']\n"
    "assert l['replicas'] == 1 and w['replicas'] == 3\n"
    "lc = l['template']['spec']['containers'][0]; wc = w['template']['spec']['containers'][0]\n"
    "envs = ['MAESTRO_SECRET_MLFLOW_AUTH_TOKEN', 'MAESTRO_SECRET_DB_PASSWORD']\n"
    "assert lc['command'] == ['mpirun', '-np', '6', '-x', envs[0], '-x', envs[1], 'maestro',\n"
    "    'run', '/etc/maestro/spec.yml', '--cluster', '/etc/maestro/cluster.yml',\n"
    "    '--set', 'training.epochs=2', '--set', \"model.name=a b'$(x)\"], lc['command']\n"
    "assert lc['env'] == [\n"
    "  {'name': envs[0], 'valueFrom': {'secretKeyRef': {'name': 'mlflow-auth', 'key': "
    "'token'}}},\n"
    "  {'name': envs[1], 'valueFrom': {'secretKeyRef': {'name': 'db', 'key': 'password'}}}],"
    " lc['env']\n"
    "assert lc['image'] == wc['image'] == 'reg.local:5000/maestro:1'\n"
    "assert wc['resources'] == {'requests': {'cpu': '2', 'memory': '8Gi'},\n"
    "                           'limits': {'memory': '8Gi', 'nvidia.com/gpu': 1}}, "
    "wc['resources']\n"
    "for t in (l, w):\n"
    "    assert t['template']['spec']['serviceAccountName'] == 'runner'\n"
    "    vols = {v['name']: v for v in t['template']['spec']['volumes']}\n"
    "    assert vols['config']['configMap']['name'] == cm['metadata']['name']\n"
    "wv = {v['name']: v for v in w['template']['spec']['volumes']}\n"
    "assert wv['data']['persistentVolumeClaim']['claimName'] == 'ml-data'\n"
    "assert wv['runs']['persistentVolumeClaim']['claimName'] == 'ml-runs'\n"
    "mounts = {v['name']: v['mountPath'] for v in wc['volumeMounts']}\n"
    "assert mounts == {'config': '/etc/maestro', 'data': '/maestro/data',\n"
    "                  'runs': '/maestro/runs'}, mounts\n";

static char spec_path[512], cluster_path[512], crd_path[512];
static const char *const SETS[] = {"training.epochs=2", "model.name=a b'$(x)"};

static mo_cluster_t *load_cluster(const char *text)
{
    mo_cluster_t *c = NULL;
    mo_error_t err = {0};
    mo_strlcpy(cluster_path, mo_test_write_file(mo_test_tmpdir(), "cluster.yml", text),
               sizeof cluster_path);
    /* mo_cluster_load resolves references; the renderer must not use what it resolved. */
    setenv("MAESTRO_SECRET_MLFLOW_AUTH_TOKEN", SECRET_VALUE, 1);
    setenv("MAESTRO_SECRET_REG_IMAGE", SECRET_VALUE, 1);
    if (mo_cluster_load(&c, cluster_path, &err))
        fprintf(stderr, "\n  cluster: %s\n", err.msg);
    return c;
}

static mo_submit_t submission(const mo_cluster_t *c, const char *out)
{
    mo_strlcpy(spec_path, mo_test_write_file(mo_test_tmpdir(), "spec.yml", SPEC_TEXT),
               sizeof spec_path);
    mo_submit_t s = {.spec_path = spec_path,
                     .cluster_path = cluster_path,
                     .cluster = c,
                     .name = NASTY_NAME,
                     .kind = "train",
                     .maestro = "/usr/bin/maestro",
                     .out = out,
                     .sets = SETS,
                     .n_sets = 2};
    return s;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    mo_buf_t b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        mo_buf_append(&b, chunk, got);
    fclose(f);
    mo_buf_puts(&b, "");
    return mo_buf_steal(&b);
}

/* Run argv (no shell); returns the exit status, -1 when it did not exit. */
static int run_argv(char *const argv[])
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The schema and content checks of CHECK_PY on the documents at `path`. */
static int python_check(const char *path)
{
    char script[512];
    mo_strlcpy(script, mo_test_write_file(mo_test_tmpdir(), "check.py", CHECK_PY), sizeof script);
    char *const argv[] = {"/usr/bin/python3", script,       (char *)path, crd_path,
                          spec_path,          cluster_path, NASTY_NAME,   NULL};
    return run_argv(argv);
}

/* mo_submit_kubernetes with stdout sent to `path`. */
static int render_to_stdout(const mo_submit_t *s, const char *path, mo_error_t *err)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    int rc = mo_submit_kubernetes(s, err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    return rc;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_submit_k8s__documents_match_crd_and_keep_text_literal(void)
{
    mo_cluster_t *c = load_cluster(CLUSTER_TEXT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char out[512];
    snprintf(out, sizeof out, "%s/job.yaml", mo_test_tmpdir());
    mo_submit_t s = submission(c, out);
    mo_error_t err = {0};
    int rc = mo_submit_kubernetes(&s, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    char *text = slurp(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, SECRET_VALUE));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "${secret:mlflow-auth/token}"));
    /* The single-part reference has no key for a secretKeyRef: no variable for it. */
    CU_ASSERT_PTR_NULL(strstr(text, "MAESTRO_SECRET_LEGACY"));
    CU_ASSERT_EQUAL(python_check(out), 0);
    free(text);
    mo_cluster_destroy(c);
}

static void test_submit_k8s__stdout_equals_file_and_is_deterministic(void)
{
    mo_cluster_t *c = load_cluster(CLUSTER_TEXT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char file[512], std[512];
    snprintf(file, sizeof file, "%s/a.yaml", mo_test_tmpdir());
    snprintf(std, sizeof std, "%s/stdout.yaml", mo_test_tmpdir());
    mo_submit_t s = submission(c, file);
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, NULL), 0);
    s.out = NULL;
    CU_ASSERT_EQUAL(render_to_stdout(&s, std, NULL), 0);
    char *a = slurp(file), *b = slurp(std);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_EQUAL(python_check(std), 0);
    free(a);
    free(b);
    mo_cluster_destroy(c);
}

/* The object name for spec name `name`, read back from the rendered MPIJob. */
static void name_for(char *out, size_t size, mo_cluster_t *c, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/n.yaml", mo_test_tmpdir());
    mo_submit_t s = submission(c, path);
    s.name = name;
    out[0] = '\0';
    CU_ASSERT_EQUAL_FATAL(mo_submit_kubernetes(&s, NULL), 0);
    char *text = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *kind = strstr(text, "kind: \"MPIJob\"");
    const char *n = kind ? strstr(kind, "  name: \"") : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    n += strlen("  name: \"");
    snprintf(out, size, "%.*s", (int)strcspn(n, "\""), n);
    free(text);
}

static void test_submit_k8s__names_are_dns_labels_and_distinct(void)
{
    mo_cluster_t *c = load_cluster(CLUSTER_TEXT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char a[80], b[80], e[80], l[80];
    name_for(a, sizeof a, c, "My Job");
    name_for(b, sizeof b, c, "my_job");
    name_for(e, sizeof e, c, "!!! ???");
    name_for(l, sizeof l, c,
             "A very long spec name that goes on and on well past what a label may hold");
    CU_ASSERT_EQUAL(strncmp(a, "maestro-my-job-", 15), 0);
    CU_ASSERT_EQUAL(strncmp(b, "maestro-my-job-", 15), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(strlen(e), strlen("maestro-") + 8);
    CU_ASSERT(strlen(l) <= 47);
    CU_ASSERT_NOT_EQUAL(l[strlen(l) - 10], '-'); /* no "--" before the hash */
    char a2[80];
    name_for(a2, sizeof a2, c, "My Job");
    CU_ASSERT_STRING_EQUAL(a, a2);
    mo_cluster_destroy(c);
}

/* A fake kubectl in a folder of its own: records its arguments and stdin, exits `status`. */
static const char *fake_kubectl_dir(int status)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/bin", mo_test_tmpdir());
    mkdir(dir, 0755);
    char script[1024];
    snprintf(
        script, sizeof script,
        "#!/bin/sh\nprintf '%%s\\n' \"$@\" > \"%s/kubectl.args\"\n/bin/cat > \"%s/kubectl.in\"\n"
        "exit %d\n",
        mo_test_tmpdir(), mo_test_tmpdir(), status);
    const char *path = mo_test_write_file(dir, "kubectl", script);
    chmod(path, 0755);
    return dir;
}

static void test_submit_k8s__apply_pipes_documents_to_kubectl(void)
{
    mo_cluster_t *c = load_cluster(CLUSTER_TEXT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char file[512], in[512], args[512];
    snprintf(file, sizeof file, "%s/applied.yaml", mo_test_tmpdir());
    snprintf(in, sizeof in, "%s/kubectl.in", mo_test_tmpdir());
    snprintf(args, sizeof args, "%s/kubectl.args", mo_test_tmpdir());
    unlink(in);
    setenv("PATH", fake_kubectl_dir(0), 1);
    mo_submit_t s = submission(c, file);
    s.apply = 1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, &err), 0);
    char *sent = slurp(in), *written = slurp(file), *argv = slurp(args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sent);
    CU_ASSERT_PTR_NOT_NULL_FATAL(written);
    CU_ASSERT_PTR_NOT_NULL_FATAL(argv);
    CU_ASSERT_STRING_EQUAL(sent, written);
    CU_ASSERT_STRING_EQUAL(argv, "apply\n-f\n-\n");
    free(sent);
    free(written);
    free(argv);

    /* --dry-run: printed, never applied. */
    unlink(in);
    s.dry_run = 1;
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, &err), 0);
    CU_ASSERT_NOT_EQUAL(access(in, F_OK), 0);
    s.dry_run = 0;

    /* kubectl refusing is a failure with its status. */
    setenv("PATH", fake_kubectl_dir(3), 1);
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, &err), MO_ESERVICE);
    CU_ASSERT_STRING_EQUAL(err.msg, "kubectl apply failed with exit status 3");

    /* No kubectl at all: one clear line, exit status 1. */
    setenv("PATH", mo_test_tmpdir(), 1);
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, &err), MO_ESERVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "kubectl, which is not on PATH"));
    CU_ASSERT_EQUAL(mo_status_exit_code(err.code), 1);
    if (old_path)
        setenv("PATH", old_path, 1);
    free(old_path);
    mo_cluster_destroy(c);
}

static void test_submit_k8s__secret_in_launch_settings_is_refused(void)
{
    mo_cluster_t *c = load_cluster("launch:\n"
                                   "  kubernetes: {namespace: ml, image: \"${secret:reg/image}\"}\n"
                                   "secrets: {providers: [env]}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    mo_submit_t s = submission(c, NULL);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cluster.yml:2:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may not hold a ${secret:...} reference"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, SECRET_VALUE));
    mo_cluster_destroy(c);
}

static void test_submit_k8s__builtin_defaults_render(void)
{
    mo_cluster_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_cluster_load(&c, NULL, NULL), 0);
    char out[512];
    snprintf(out, sizeof out, "%s/defaults.yaml", mo_test_tmpdir());
    mo_submit_t s = submission(c, out);
    s.cluster_path = NULL;
    s.n_sets = 0;
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, NULL), 0);
    char *text = slurp(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "namespace: \"default\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "slotsPerWorker: 1"));
    CU_ASSERT_PTR_NULL(strstr(text, "nvidia.com/gpu")); /* gpus_per_worker 0 */
    CU_ASSERT_PTR_NULL(strstr(text, "persistentVolumeClaim"));
    free(text);
    mo_cluster_destroy(c);
}

static void test_submit_k8s__bad_arguments_return_errors(void)
{
    mo_cluster_t *c = load_cluster(CLUSTER_TEXT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_submit_kubernetes(NULL, &err), MO_EINVAL);
    mo_submit_t s = submission(c, NULL);
    s.name = "";
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, &err), MO_EINVAL);
    s = submission(c, NULL);
    s.cluster = NULL;
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, NULL), MO_EINVAL);
    s = submission(c, NULL);
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope.yml", mo_test_tmpdir());
    s.spec_path = missing;
    CU_ASSERT_EQUAL(mo_submit_kubernetes(&s, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nope.yml"));
    /* -o into a folder that does not exist: an error, nothing half-written. */
    s = submission(c, "/nonexistent-dir/x.yaml");
    CU_ASSERT_NOT_EQUAL(mo_submit_kubernetes(&s, &err), 0);
    mo_cluster_destroy(c);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_submit_k8s__documents_match_crd_and_keep_text_literal),
    MO_TEST(test_submit_k8s__stdout_equals_file_and_is_deterministic),
    MO_TEST(test_submit_k8s__names_are_dns_labels_and_distinct),
    MO_TEST(test_submit_k8s__apply_pipes_documents_to_kubectl),
    MO_TEST(test_submit_k8s__secret_in_launch_settings_is_refused),
    MO_TEST(test_submit_k8s__builtin_defaults_render),
    MO_TEST(test_submit_k8s__bad_arguments_return_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    const char *src = getenv("MAESTRO_SOURCE_DIR");
    snprintf(crd_path, sizeof crd_path, "%s/../shared/schemas/mpijob-v2beta1-crd.yaml",
             src ? src : ".");
    /* The CRD is the workspace's shared copy (../shared beside the checkout), not vendored:
     * without it the schema checks fail loudly rather than pass unchecked. */
    if (access(crd_path, R_OK) != 0)
        snprintf(crd_path, sizeof crd_path, "/work/shared/schemas/mpijob-v2beta1-crd.yaml");
    if (access(crd_path, R_OK) != 0)
        fprintf(stderr, "test_submit_k8s: MPIJob CRD not found at %s\n", crd_path);
    return mo_test_main("runner/submit_k8s", tests);
}
