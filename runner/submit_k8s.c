/* submit_k8s.c - `maestro submit --target kubernetes`: a ConfigMap and an MPIJob as YAML
 *
 * The documents are built as a jansson tree (which keeps keys in insertion order and refuses
 * strings that are not UTF-8) and written by the small block-YAML emitter below, which
 * double-quotes every string value with escapes. User text (the spec's name, file contents,
 * image names) therefore never becomes YAML syntax: a name holding quotes, `: ` or `$(...)`
 * stays one literal string.
 *
 * Secrets are never resolved here. `${secret:NAME/KEY}` references in the spec and in
 * cluster.yml (read as written, references kept) become launcher env variables taken from
 * the Secret by secretKeyRef, named as the `env` provider reads them
 * (MAESTRO_SECRET_<NAME>_<KEY>), and forwarded to the ranks by `mpirun -x`: the ranks run
 * under sshd on the workers, which does not pass a container's environment on. The ConfigMap
 * holds both files as written, so the references are resolved in the pods.
 *
 * `--apply` pipes the text to `kubectl apply -f -` (posix_spawn with an argv array).
 */
#include "runner/submit.h"

#include "core/alloc.h"
#include "core/str.h"
#include "io/atomic.h"
#include "io/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CONFIG_DIR "/etc/maestro"
/* The pods' working folder: relative paths in a spec (data/..., the default runs/NAME output)
 * land on the PVCs mounted below it. */
#define WORK_DIR "/maestro"
/* A ConfigMap holds at most 1 MiB; keep room for the object around the two files. */
#define MAX_CONFIG_BYTES (1000 * 1000)
/* Not in cluster.yml (yet): a failed run is not retried (`maestro run` resumes only when
 * asked), finished pods go at once, the MPIJob a day later so its logs can still be read. */
#define BACKOFF_LIMIT 0
#define TTL_AFTER_FINISHED 86400

/* ---- the YAML emitter ------------------------------------------------------------------- */

static void pad(mo_buf_t *b, int n)
{
    for (int i = 0; i < n; i++)
        mo_buf_puts(b, " ");
}

/* A double-quoted YAML scalar. Line breaks are written as `\n` followed by an escaped line
 * break and indentation `indent`, so file contents stay readable; a space that starts such a
 * continuation line is escaped, since the parser strips leading white space there. C0/C1
 * controls, DEL, U+2028/U+2029 and the BOM are escaped: YAML calls them non-printable or
 * line breaks. */
static void emit_string(mo_buf_t *b, const char *s, int indent)
{
    const unsigned char *p = (const unsigned char *)s;
    mo_buf_puts(b, "\"");
    while (*p) {
        unsigned char c = *p;
        char esc[16];
        if (c == '\n') {
            mo_buf_puts(b, "\\n");
            p++;
            if (*p) {
                mo_buf_puts(b, "\\\n");
                pad(b, indent);
                if (*p == ' ') {
                    mo_buf_puts(b, "\\ ");
                    p++;
                }
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            snprintf(esc, sizeof esc, "\\%c", c);
        } else if (c == '\t') {
            snprintf(esc, sizeof esc, "\\t");
        } else if (c == '\r') {
            snprintf(esc, sizeof esc, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02X", c);
        } else if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            snprintf(esc, sizeof esc, "\\u00%02X", p[1]);
            p++;
        } else if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            snprintf(esc, sizeof esc, "\\u%04X", 0x2000 + (p[2] - 0x80));
            p += 2;
        } else if (c == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
            snprintf(esc, sizeof esc, "\\uFEFF");
            p += 2;
        } else {
            mo_buf_append(b, (const char *)p, 1);
            p++;
            continue;
        }
        mo_buf_puts(b, esc);
        p++;
    }
    mo_buf_puts(b, "\"");
}

/* Keys are ours (field names, label keys); camelCase identifiers stay plain for readability,
 * anything else, and the words YAML 1.1 reads as booleans or null, is quoted. */
static void emit_key(mo_buf_t *b, const char *k)
{
    static const char *const special[] = {"y",   "n",    "yes",   "no",   "on",
                                          "off", "true", "false", "null", NULL};
    int plain = islower((unsigned char)k[0]) != 0;
    for (const char *p = k; plain && *p; p++)
        plain = isalnum((unsigned char)*p) != 0;
    for (size_t i = 0; plain && special[i]; i++)
        plain = strcmp(k, special[i]) != 0;
    if (plain)
        mo_buf_puts(b, k);
    else
        emit_string(b, k, 0);
    mo_buf_puts(b, ":");
}

/* A scalar or an empty collection, then the end of the line. */
static void emit_scalar(mo_buf_t *b, const json_t *v, int indent)
{
    if (json_is_string(v))
        emit_string(b, json_string_value(v), indent);
    else if (json_is_integer(v))
        mo_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_boolean(v))
        mo_buf_puts(b, json_is_true(v) ? "true" : "false");
    else if (json_is_object(v))
        mo_buf_puts(b, "{}");
    else if (json_is_array(v))
        mo_buf_puts(b, "[]");
    else
        mo_buf_puts(b, "null");
    mo_buf_puts(b, "\n");
}

static void emit_map(mo_buf_t *b, const json_t *obj, int indent, int first_inline);

static void emit_list(mo_buf_t *b, const json_t *arr, int indent)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        pad(b, indent);
        mo_buf_puts(b, "-");
        if (json_is_object(v) && json_object_size(v) > 0) {
            mo_buf_puts(b, " ");
            emit_map(b, v, indent + 2, 1);
        } else if (json_is_array(v) && json_array_size(v) > 0) {
            mo_buf_puts(b, "\n");
            emit_list(b, v, indent + 2);
        } else {
            mo_buf_puts(b, " ");
            emit_scalar(b, v, indent + 2);
        }
    }
}

static void emit_map(mo_buf_t *b, const json_t *obj, int indent, int first_inline)
{
    const char *k;
    const json_t *v;
    int first = 1;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (!first || !first_inline)
            pad(b, indent);
        first = 0;
        emit_key(b, k);
        if (json_is_object(v) && json_object_size(v) > 0) {
            mo_buf_puts(b, "\n");
            emit_map(b, v, indent + 2, 0);
        } else if (json_is_array(v) && json_array_size(v) > 0) {
            mo_buf_puts(b, "\n");
            emit_list(b, v, indent + 2);
        } else {
            mo_buf_puts(b, " ");
            emit_scalar(b, v, indent + 2);
        }
    }
}

/* ---- names and secret references -------------------------------------------------------- */

/* "maestro-<slug>-<8 hex>": a DNS-1123 label (and DNS-1035, as the operator's Services need)
 * short enough that "<name>-worker-<i>" and "<name>-config" stay within 63 characters. The
 * hash of the whole name keeps names apart whose slugs agree ("a b" and "a_b"). */
static void k8s_name(char out[64], const char *spec_name)
{
    char slug[25];
    size_t n = 0;
    for (const char *p = spec_name; *p && n < sizeof slug - 1; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) && c < 0x80)
            slug[n++] = (char)tolower(c);
        else if (n > 0 && slug[n - 1] != '-')
            slug[n++] = '-';
    }
    while (n > 0 && slug[n - 1] == '-')
        n--;
    slug[n] = '\0';
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    memset(md, 0, sizeof md);
    EVP_Digest(spec_name, strlen(spec_name), md, &md_len, EVP_sha256(), NULL);
    snprintf(out, 64, "maestro-%s%s%02x%02x%02x%02x", slug, n ? "-" : "", md[0], md[1], md[2],
             md[3]);
}

typedef struct {
    char *name, *key;
    char env[160];
} secret_ref_t;

typedef struct {
    secret_ref_t *v;
    size_t n, cap;
} refs_t;

static void refs_free(refs_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].name);
        free(r->v[i].key);
    }
    free(r->v);
}

static int secret_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* Record one `NAME/KEY` reference; the env name is the `env` provider's (runner/secrets.h). */
static int add_ref(refs_t *r, const char *ref, size_t len, const mo_cfg_node_t *at, mo_error_t *err)
{
    const char *slash = memchr(ref, '/', len);
    /* `${secret:NAME}` has no key, and a secretKeyRef needs one: such references are left
     * to the pod's files or env providers (docs/operations.md says so). */
    if (!slash || slash == ref || slash == ref + len - 1)
        return 0;
    for (const char *p = ref; p < ref + len; p++)
        if (p != slash && !secret_char(*p))
            return 0; /* not a reference the loader accepts; it reports those itself */
    char env[160];
    size_t e = (size_t)snprintf(env, sizeof env, "MAESTRO_SECRET_");
    for (const char *p = ref; p < ref + len && e < sizeof env - 1; p++)
        env[e++] = (*p == '-' || *p == '.' || *p == '/') ? '_' : (char)toupper((unsigned char)*p);
    env[e] = '\0';
    size_t nlen = (size_t)(slash - ref), klen = len - nlen - 1;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->v[i].env, env))
            continue;
        if (strlen(r->v[i].name) == nlen && !strncmp(r->v[i].name, ref, nlen) &&
            strlen(r->v[i].key) == klen && !strncmp(r->v[i].key, slash + 1, klen))
            return 0; /* the same reference again */
        return mo_cfg_errorf(err, MO_EINVAL, at,
                             "secret references %s/%s and %.*s both read %s in the pods; rename "
                             "one of the Secrets or keys",
                             r->v[i].name, r->v[i].key, (int)len, ref, env);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        secret_ref_t *v = mo_reallocarray(r->v, cap, sizeof *v);
        if (!v)
            return mo_errorf(err, MO_ENOMEM, "out of memory collecting secret references");
        r->v = v;
        r->cap = cap;
    }
    secret_ref_t *s = &r->v[r->n];
    s->name = mo_strndup(ref, nlen);
    s->key = mo_strndup(slash + 1, klen);
    mo_strlcpy(s->env, env, sizeof s->env);
    if (!s->name || !s->key) {
        free(s->name);
        free(s->key);
        return mo_errorf(err, MO_ENOMEM, "out of memory collecting secret references");
    }
    r->n++;
    return 0;
}

/* Every `${secret:...}` in the scalars under `n` (loaded with references kept as written). */
static int collect_refs(refs_t *r, const mo_cfg_node_t *n, mo_error_t *err)
{
    int rc = 0;
    if (mo_cfg_type(n) == MO_CFG_SCALAR) {
        const char *s = mo_cfg_scalar(n);
        while (!rc && s && (s = strstr(s, "${secret:"))) {
            s += strlen("${secret:");
            const char *end = strchr(s, '}');
            if (!end)
                break;
            rc = add_ref(r, s, (size_t)(end - s), n, err);
            s = end;
        }
        return rc;
    }
    for (size_t i = 0; !rc && i < mo_cfg_len(n); i++)
        rc = collect_refs(r, mo_cfg_at(n, i), err);
    return rc;
}

/* A secret in launch.kubernetes would be written into the MPIJob in the clear. */
static int refuse_refs(const mo_cfg_node_t *n, mo_error_t *err)
{
    if (mo_cfg_type(n) == MO_CFG_SCALAR) {
        if (mo_cfg_scalar(n) && strstr(mo_cfg_scalar(n), "${secret:"))
            return mo_cfg_errorf(err, MO_EINVAL, n,
                                 "launch.kubernetes may not hold a ${secret:...} reference: its "
                                 "values are written into the MPIJob as they are");
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < mo_cfg_len(n); i++)
        rc = refuse_refs(mo_cfg_at(n, i), err);
    return rc;
}

/* The whole file as written. */
static int read_text(char **out, const char *path, mo_error_t *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s", path,
                         strerror(errno));
    mo_buf_t b = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_CONFIG_BYTES)
        mo_buf_append(&b, chunk, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        mo_buf_free(&b);
        return mo_errorf(err, MO_EIO, "%s: read error", path);
    }
    if (b.len > MAX_CONFIG_BYTES) {
        mo_buf_free(&b);
        return mo_errorf(err, MO_EINVAL, "%s: larger than %d bytes, too big for a ConfigMap", path,
                         MAX_CONFIG_BYTES);
    }
    if (!b.data)
        mo_buf_puts(&b, "");
    *out = mo_buf_steal(&b);
    return *out ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory reading %s", path);
}

/* Parse `text` with references kept and ${env:...} untouched, and collect its secrets. */
static int scan_text(refs_t *r, const char *name, const char *text, int is_cluster, mo_error_t *err)
{
    mo_cfg_t *doc = NULL;
    mo_cfg_opts_t keep = {NULL, NULL, 1, 1};
    int rc = mo_cfg_load_string(&doc, name, text, &keep, err);
    if (!rc && is_cluster) {
        mo_cfg_node_t *k = mo_cfg_lookup(mo_cfg_root(doc), "launch.kubernetes");
        if (k)
            rc = refuse_refs(k, err);
    }
    if (!rc)
        rc = collect_refs(r, mo_cfg_root(doc), err);
    mo_cfg_destroy(doc);
    return rc;
}

/* ---- the documents ---------------------------------------------------------------------- */

static int push_str(json_t *arr, const char *s)
{
    return s ? json_array_append_new(arr, json_string(s)) : -1;
}

/* Labels every object and pod carries: `kubectl get pods -l maestro.dev/job=<name>`. */
static json_t *labels(const char *name)
{
    return json_pack("{s:s, s:s}", "app.kubernetes.io/managed-by", "maestro", "maestro.dev/job",
                     name);
}

/* The original spec name (any text) lives here, where Kubernetes allows any string. */
static json_t *annotations(const mo_submit_t *s)
{
    json_t *a = json_object();
    if (!a)
        return NULL;
    int bad = json_object_set_new(a, "maestro.dev/spec-name", json_string(s->name));
    if (s->kind)
        bad |= json_object_set_new(a, "maestro.dev/spec-kind", json_string(s->kind));
    if (s->cluster->name)
        bad |= json_object_set_new(a, "maestro.dev/cluster", json_string(s->cluster->name));
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *metadata(const mo_submit_t *s, const char *obj_name, const char *job_name)
{
    return json_pack("{s:s, s:s, s:o, s:o}", "name", obj_name, "namespace",
                     s->cluster->kubernetes.namespace_name, "labels", labels(job_name),
                     "annotations", annotations(s));
}

static json_t *config_map(const mo_submit_t *s, const char *job_name, const char *cm_name,
                          const char *spec_text, const char *cluster_text)
{
    return json_pack("{s:s, s:s, s:o, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", metadata(s, cm_name, job_name), "data", "spec.yml", spec_text,
                     "cluster.yml", cluster_text);
}

/* mpirun -np N [-x VAR]... maestro run /etc/maestro/spec.yml --cluster ... [--set X]... */
static json_t *launcher_command(const mo_submit_t *s, const refs_t *refs, int64_t np)
{
    char npbuf[32];
    snprintf(npbuf, sizeof npbuf, "%" PRId64, np);
    json_t *c = json_array();
    int bad = !c || push_str(c, "mpirun") || push_str(c, "-np") || push_str(c, npbuf);
    for (size_t i = 0; !bad && i < refs->n; i++)
        bad = push_str(c, "-x") || push_str(c, refs->v[i].env);
    bad = bad || push_str(c, "maestro") || push_str(c, "run") ||
          push_str(c, CONFIG_DIR "/spec.yml") || push_str(c, "--cluster") ||
          push_str(c, CONFIG_DIR "/cluster.yml");
    for (size_t i = 0; !bad && i < s->n_sets; i++)
        bad = push_str(c, "--set") || push_str(c, s->sets[i]);
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *secret_env(const refs_t *refs)
{
    json_t *env = json_array();
    for (size_t i = 0; env && i < refs->n; i++) {
        json_t *e = json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", refs->v[i].env, "valueFrom",
                              "secretKeyRef", "name", refs->v[i].name, "key", refs->v[i].key);
        if (!e || json_array_append_new(env, e)) {
            json_decref(env);
            return NULL;
        }
    }
    return env;
}

static json_t *worker_resources(const mo_launch_k8s_t *k)
{
    json_t *limits = json_pack("{s:s}", "memory", k->memory);
    if (limits && k->gpus_per_worker > 0 &&
        json_object_set_new(limits, "nvidia.com/gpu", json_integer(k->gpus_per_worker))) {
        json_decref(limits);
        return NULL;
    }
    return json_pack("{s:{s:s, s:s}, s:o}", "requests", "cpu", k->cpu, "memory", k->memory,
                     "limits", limits);
}

/* The pod template; the worker also mounts the data and output PVCs, where the ranks run. */
static json_t *pod_template(const mo_launch_k8s_t *k, const char *job_name, const char *cm_name,
                            json_t *container, int worker)
{
    json_t *mounts = json_array(), *volumes = json_array();
    int bad = !mounts || !volumes || !container;
    bad = bad || json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "name", "config",
                                                         "mountPath", CONFIG_DIR, "readOnly", 1));
    bad = bad || json_array_append_new(volumes, json_pack("{s:s, s:{s:s}}", "name", "config",
                                                          "configMap", "name", cm_name));
    const char *pvcs[2][3] = {{"data", k->data_pvc, WORK_DIR "/data"},
                              {"runs", k->output_pvc, WORK_DIR "/runs"}};
    for (int i = 0; worker && !bad && i < 2; i++) {
        if (!pvcs[i][1])
            continue;
        bad = json_array_append_new(
                  mounts, json_pack("{s:s, s:s}", "name", pvcs[i][0], "mountPath", pvcs[i][2])) ||
              json_array_append_new(volumes,
                                    json_pack("{s:s, s:{s:s}}", "name", pvcs[i][0],
                                              "persistentVolumeClaim", "claimName", pvcs[i][1]));
    }
    bad = bad || json_object_set_new(container, "volumeMounts", mounts);
    mounts = NULL;
    json_t *t = bad ? NULL
                    : json_pack("{s:{s:o}, s:{s:s, s:[o], s:o}}", "metadata", "labels",
                                labels(job_name), "spec", "serviceAccountName", k->service_account,
                                "containers", container, "volumes", volumes);
    if (bad) {
        json_decref(mounts);
        json_decref(volumes);
        json_decref(container);
    }
    return t;
}

static json_t *mpi_job(const mo_submit_t *s, const char *job_name, const char *cm_name,
                       const refs_t *refs, int64_t np)
{
    const mo_launch_k8s_t *k = &s->cluster->kubernetes;
    json_t *launcher = json_pack("{s:s, s:s, s:o, s:s}", "name", "launcher", "image", k->image,
                                 "command", launcher_command(s, refs, np), "workingDir", WORK_DIR);
    if (launcher && refs->n && json_object_set_new(launcher, "env", secret_env(refs))) {
        json_decref(launcher);
        launcher = NULL;
    }
    /* mpi-operator v2 reaches the workers over ssh: they run sshd, and the ranks mpirun
     * starts through it (the image provides sshd and the operator's keys setup). */
    json_t *worker = json_pack("{s:s, s:s, s:[s, s], s:s, s:o}", "name", "worker", "image",
                               k->image, "command", "/usr/sbin/sshd", "-De", "workingDir", WORK_DIR,
                               "resources", worker_resources(k));
    return json_pack("{s:s, s:s, s:o, s:{s:I, s:s, s:{s:s, s:i, s:i}, s:{s:{s:i, s:s, s:o}, "
                     "s:{s:I, s:s, s:o}}}}",
                     "apiVersion", "kubeflow.org/v2beta1", "kind", "MPIJob", "metadata",
                     metadata(s, job_name, job_name), "spec", "slotsPerWorker",
                     (json_int_t)k->slots_per_worker, "mpiImplementation", "OpenMPI", "runPolicy",
                     "cleanPodPolicy", "Running", "backoffLimit", BACKOFF_LIMIT,
                     "ttlSecondsAfterFinished", TTL_AFTER_FINISHED, "mpiReplicaSpecs", "Launcher",
                     "replicas", 1, "restartPolicy", "Never", "template",
                     pod_template(k, job_name, cm_name, launcher, 0), "Worker", "replicas",
                     (json_int_t)k->workers, "restartPolicy", "Never", "template",
                     pod_template(k, job_name, cm_name, worker, 1));
}

/* ---- kubectl ---------------------------------------------------------------------------- */

/* kubectl's full path from $PATH, so a missing kubectl is one clear message, not a failed
 * child. */
static int find_kubectl(char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        struct stat st;
        snprintf(out, size, "%.*s/kubectl", (int)len, len ? path : ".");
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 1;
        path += len + (path[len] == ':');
    }
    return 0;
}

static int kubectl_apply(const char *text, size_t len, mo_error_t *err)
{
    char kubectl[4096];
    if (!find_kubectl(kubectl, sizeof kubectl))
        return mo_errorf(err, MO_ESERVICE,
                         "--apply needs kubectl, which is not on PATH; install it, or write the "
                         "documents with -o FILE and apply them where kubectl is");
    int fds[2];
    if (pipe(fds))
        return mo_errorf(err, MO_EIO, "pipe for kubectl: %s", strerror(errno));
    char *const argv[] = {"kubectl", "apply", "-f", "-", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    fflush(stdout);
    pid_t pid;
    int rc = posix_spawn(&pid, kubectl, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (rc) {
        close(fds[1]);
        return mo_errorf(err, MO_ESERVICE, "cannot start %s: %s", kubectl, strerror(rc));
    }
    /* kubectl may exit before reading everything (a bad kubeconfig): that is EPIPE here,
     * reported through its exit status, not a SIGPIPE that kills maestro. */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fds[1], text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fds[1]);
    sigaction(SIGPIPE, &old, NULL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        return mo_errorf(err, MO_ESERVICE, "kubectl apply failed with exit status %d",
                         WEXITSTATUS(status));
    return mo_errorf(err, MO_ESERVICE, "kubectl apply was killed by signal %d",
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---- the target ------------------------------------------------------------------------- */

int mo_submit_kubernetes(const mo_submit_t *s, mo_error_t *err)
{
    if (!s || !s->spec_path || !*s->spec_path || !s->cluster || !s->name || !*s->name)
        return mo_errorf(err, MO_EINVAL, "submit kubernetes: spec path, name and cluster needed");
    const mo_launch_k8s_t *k = &s->cluster->kubernetes;
    if (k->workers < 1 || k->workers > INT32_MAX || k->slots_per_worker < 1 ||
        k->slots_per_worker > INT32_MAX / k->workers)
        return mo_errorf(err, MO_EINVAL,
                         "launch.kubernetes: workers (%" PRId64 ") x slots_per_worker (%" PRId64
                         ") is out of range",
                         k->workers, k->slots_per_worker);
    char *spec_text = NULL, *cluster_text = NULL;
    refs_t refs = {0};
    json_t *cm = NULL, *job = NULL;
    mo_buf_t out = {0};
    char job_name[64], cm_name[80];
    k8s_name(job_name, s->name);
    snprintf(cm_name, sizeof cm_name, "%s-config", job_name);

    int rc = read_text(&spec_text, s->spec_path, err);
    if (!rc && s->cluster_path)
        rc = read_text(&cluster_text, s->cluster_path, err);
    else if (!rc)
        cluster_text = mo_strdup("# built-in defaults (no cluster.yml given to maestro submit)\n"
                                 "{}\n");
    if (!rc && !cluster_text)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc && strlen(spec_text) + strlen(cluster_text) > MAX_CONFIG_BYTES)
        rc = mo_errorf(err, MO_EINVAL, "%s and its cluster.yml are too big for one ConfigMap",
                       s->spec_path);
    /* cluster.yml first: its services' secrets come before the spec's in the env list. */
    if (!rc)
        rc = scan_text(&refs, s->cluster_path ? s->cluster_path : "(built-in cluster defaults)",
                       cluster_text, 1, err);
    if (!rc)
        rc = scan_text(&refs, s->spec_path, spec_text, 0, err);
    if (!rc) {
        cm = config_map(s, job_name, cm_name, spec_text, cluster_text);
        job = mpi_job(s, job_name, cm_name, &refs, k->workers * k->slots_per_worker);
        if (!cm || !job)
            rc = mo_errorf(err, MO_EINVAL,
                           "cannot build the Kubernetes documents for %s (a setting that is not "
                           "UTF-8 text?)",
                           s->spec_path);
    }
    if (!rc) {
        /* The file name only: the submitting machine's folders mean nothing in the cluster. */
        const char *base = strrchr(s->spec_path, '/');
        mo_buf_printf(&out, "# Generated by `maestro submit --target kubernetes` from %s.\n",
                      base ? base + 1 : s->spec_path);
        mo_buf_puts(&out, "---\n");
        emit_map(&out, cm, 0, 0);
        mo_buf_puts(&out, "---\n");
        emit_map(&out, job, 0, 0);
        if (out.failed)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory writing the Kubernetes documents");
    }
    if (!rc && s->out)
        rc = mo_io_write_atomic(s->out, out.data, out.len, err);
    else if (!rc && (!s->apply || s->dry_run)) {
        if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout))
            rc = mo_errorf(err, MO_EIO, "writing the documents to stdout: %s", strerror(errno));
    }
    if (!rc && s->apply && s->dry_run)
        fprintf(stderr, "maestro submit: --dry-run: not applied (kubectl apply -f - skipped)\n");
    else if (!rc && s->apply)
        rc = kubectl_apply(out.data, out.len, err);
    json_decref(cm);
    json_decref(job);
    mo_buf_free(&out);
    refs_free(&refs);
    free(spec_text);
    free(cluster_text);
    return rc;
}
