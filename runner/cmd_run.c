/* cmd_run.c - `maestro run` and `maestro validate`
 *
 * Both load cluster.yml and the spec through the same code, so validate checks exactly what a
 * run would check. A run validates on every rank (each reads the same files), agrees on the
 * outcome so that all ranks leave together, and only then creates its output folder: bad
 * input leaves nothing behind.
 */
#include "core/log.h"
#include "core/str.h"
#include "runner/child.h"
#include "runner/cli_impl.h"
#include "runner/cluster.h"
#include "runner/run_dir.h"
#include "runner/run_life.h"
#include "runner/secrets.h"
#include "runner/slurm_env.h"
#include "runner/spec.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SETS 256

typedef struct {
    const char *spec_path;
    const char *cluster_path;
    const char *output;
    const char *sets[MAX_SETS];
    size_t n_sets;
    int resume;
} run_args_t;

static const char run_help[] =
    "usage: maestro run SPEC.yml [--cluster FILE] [--set key.path=value]... [--resume]\n"
    "                   [--output DIR]\n\n"
    "Runs the job a spec describes, on every rank of the MPI job it is started in:\n"
    "  mpirun -np 4 maestro run jobs/train/example.yml\n\n"
    "options:\n"
    "  --cluster FILE        cluster.yml to use (default: $MAESTRO_CLUSTER, else ./cluster.yml\n"
    "                        when present, else built-in defaults)\n"
    "  --set key.path=value  override one spec value (YAML value: 0.1, true, [64, 64]);\n"
    "                        repeatable, applied in order, checked like the file\n"
    "  --resume              continue from the newest checkpoint in the output folder\n"
    "  --output DIR          output folder (default: the spec's output:, else runs/NAME);\n"
    "                        for kind: dataset, the training-set file to write\n\n"
    "The whole spec is checked before anything is written: bad input exits 2 with\n"
    "file:line:col and leaves no output behind. See docs/spec.md.\n";

static const char validate_help[] =
    "usage: maestro validate [SPEC.yml] [--cluster FILE] [--set key.path=value]...\n\n"
    "Checks a spec and cluster.yml exactly as 'maestro run' would (types, ranges, unknown\n"
    "keys, ${env:...} and ${secret:...} references, the job kind's own rules) and writes\n"
    "nothing. Without SPEC.yml only the cluster file is checked.\n"
    "Exit 0 when valid, 2 with one 'file:line:col: message' line when not.\n";

static int parse_args(run_args_t *a, const char *cmd, int argc, char **argv, int *help)
{
    static const struct option longopts[] = {
        {"cluster", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
        {"resume", no_argument, NULL, 'r'},        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int is_run = !strcmp(cmd, "run");
    memset(a, 0, sizeof *a);
    *help = 0;
    optind = 0; /* full reset: getopt may have run before */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, is_run ? ":c:s:o:h" : ":c:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->cluster_path = optarg;
            break;
        case 's':
            if (a->n_sets == MAX_SETS)
                return mo_cli_usage(cmd, "too many --set options (at most %d)", MAX_SETS);
            if (!strchr(optarg, '='))
                return mo_cli_usage(cmd, "--set needs key.path=value, got \"%s\"", optarg);
            a->sets[a->n_sets++] = optarg;
            break;
        case 'r':
        case 'o':
            if (!is_run)
                return mo_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
            if (c == 'r')
                a->resume = 1;
            else
                a->output = optarg;
            break;
        case 'h':
            *help = 1;
            return 0;
        case ':':
            return mo_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            return mo_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    while (optind < argc) {
        if (a->spec_path)
            return mo_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
        a->spec_path = argv[optind++];
    }
    if (is_run && !a->spec_path)
        return mo_cli_usage(cmd, "no spec given");
    return 0;
}

/* Load cluster.yml and the spec; the spec may be skipped by passing NULL. The secrets
 * providers stay open in *keep_secrets when given (a sweep loads its trial specs later),
 * else they are closed: every reference is resolved by now. */
static int load_all(mo_cluster_t **cluster, mo_spec_t **spec, mo_plugins_t **keep_secrets,
                    const run_args_t *a, mo_error_t *err)
{
    mo_plugins_t *secrets = NULL;
    int rc = mo_cluster_load_ex(cluster, &secrets, mo_cluster_pick_path(a->cluster_path), err);
    if (!rc && spec) {
        mo_spec_opts_t so = {a->sets, a->n_sets, a->output, *cluster, secrets};
        rc = mo_spec_load(spec, a->spec_path, &so, err);
    }
    if (keep_secrets)
        *keep_secrets = secrets;
    else
        mo_plugins_close(secrets);
    return rc;
}

typedef struct {
    const run_args_t *args;
} validate_ud_t;

static int validate_rank0(void *ud, mo_error_t *err)
{
    const run_args_t *a = ((validate_ud_t *)ud)->args;
    mo_cluster_t *cluster = NULL;
    mo_spec_t *spec = NULL;
    int rc = load_all(&cluster, a->spec_path ? &spec : NULL, NULL, a, err);
    if (!rc && !a->spec_path)
        printf("%s: ok (cluster '%s')\n", cluster->path ? cluster->path : "built-in defaults",
               cluster->name);
    if (!rc && spec)
        printf("%s: ok (kind %s, name %s, output %s; cluster %s)\n", a->spec_path, spec->kind->name,
               spec->name, spec->output, cluster->path ? cluster->path : "built-in defaults");
    mo_spec_destroy(spec);
    mo_cluster_destroy(cluster);
    return rc;
}

int mo_cmd_validate(int argc, char **argv)
{
    run_args_t a;
    int help;
    int rc = parse_args(&a, "validate", argc, argv, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(validate_help, stdout);
        return 0;
    }
    if (!a.spec_path && a.n_sets)
        return mo_cli_usage("validate", "--set needs a spec");
    validate_ud_t ud = {&a};
    return mo_cli_rank0(&argc, &argv, validate_rank0, &ud);
}

/* Every log record of the run names the Slurm job it is part of (JSON lines as fields). */
static void slurm_log_fields(void)
{
    const mo_slurm_env_t *env = mo_slurm_env();
    const char *keys[MO_SLURM_MAX_LABELS], *values[MO_SLURM_MAX_LABELS];
    for (size_t i = 0; i < env->n_labels; i++) {
        keys[i] = env->keys[i];
        values[i] = env->values[i];
    }
    if (env->n_labels)
        mo_log_set_fields(keys, values, env->n_labels);
}

/* Said once (human lines carry no fields); a requeued job (SLURM_RESTART_COUNT > 0) resumes
 * by itself when its output folder holds something to resume from, else starts fresh.
 * Collective: rank 0 looks, every rank gets the answer. */
static int slurm_start(mo_comm_t *comm, const mo_spec_t *spec, int *resume, mo_error_t *err)
{
    const mo_slurm_env_t *env = mo_slurm_env();
    if (!env->present)
        return 0;
    mo_buf_t b = {0};
    for (size_t i = 0; i < env->n_labels; i++)
        mo_buf_printf(&b, "%s%s=%s", i ? " " : "", env->keys[i], env->values[i]);
    mo_log_info("runner", "under Slurm: %s%s", b.data ? b.data : "",
                env->restart_count ? " (started again after a requeue)" : "");
    mo_buf_free(&b);
    if (*resume || env->restart_count <= 0)
        return 0;
    int32_t found = 0;
    char what[4200] = "";
    if (mo_comm_rank(comm) == 0)
        found = mo_slurm_resume_point(spec->kind, spec->output, what, sizeof what);
    int rc = mo_comm_bcast(comm, &found, 1, MO_DT_INT32, 0, err);
    if (rc)
        return rc;
    *resume = found;
    if (found)
        mo_log_info("runner", "SLURM_RESTART_COUNT=%ld: resuming from %s, as with --resume",
                    env->restart_count, what);
    else
        mo_log_info("runner",
                    "SLURM_RESTART_COUNT=%ld: nothing to resume from in %s; starting "
                    "fresh",
                    env->restart_count, spec->output);
    return 0;
}

int mo_cmd_run(int argc, char **argv)
{
    run_args_t a;
    int help;
    int rc = parse_args(&a, "run", argc, argv, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(run_help, stdout);
        return 0;
    }
    mo_error_t err = {0};
    mo_comm_t *comm = NULL;
    mo_cluster_t *cluster = NULL;
    mo_spec_t *spec = NULL;
    mo_plugins_t *secrets = NULL;
    rc = mo_comm_init(&comm, &argc, &argv, &err);
    if (rc)
        return mo_cli_fail(rc, &err);
    mo_cli_set_rank(mo_comm_rank(comm));
    slurm_log_fields();
    rc = mo_comm_agree(comm, load_all(&cluster, &spec, &secrets, &a, &err), &err);
    int created = 0;
    if (!rc) {
        /* The outcome of the first agree is the same on every rank, so all ranks get here. */
        int is_file = spec->kind->kind->output_is_file;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", spec->output);
        if (is_file) { /* the file's folder */
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
            else
                snprintf(dir, sizeof dir, ".");
        }
        created = !is_file && access(spec->output, F_OK) != 0;
        int local = mo_comm_rank(comm) == 0 ? mo_run_dir_create(dir, &err) : 0;
        rc = mo_comm_agree(comm, local, &err);
    }
    mo_run_life_t life;
    int began = 0;
    if (!rc) {
        mo_log_info("runner", "run %s (kind %s) on %d rank%s, output %s", spec->name,
                    spec->kind->name, mo_comm_size(comm), mo_comm_size(comm) == 1 ? "" : "s",
                    spec->output);
        rc = slurm_start(comm, spec, &a.resume, &err);
    }
    if (!rc) {
        rc = mo_run_life_begin(&life, comm, spec, cluster, &err);
        began = !rc;
    }
    if (began) {
        mo_job_ctx_t ctx = {.comm = comm,
                            .spec_path = a.spec_path,
                            .run_name = spec->name,
                            .spec = mo_cfg_root(spec->doc),
                            .output_dir = spec->output,
                            .resume = a.resume,
                            .plugins = life.plugins,
                            .gates_passed = 1};
        mo_runner_state_t state = {spec, cluster, secrets, &life};
        mo_runner_bind(&ctx, &state);
        rc = mo_comm_agree(comm, spec->kind->kind->run(spec->job, &ctx, &err), &err);
        mo_run_life_end(&life, comm, spec, rc, &ctx);
    }
    /* Bad input found once the ranks are known (batch smaller than the rank count, a
     * checkpoint that does not fit): leave no empty output folder behind. */
    if (rc && created && mo_status_exit_code(rc) == MO_EXIT_BADINPUT && mo_comm_rank(comm) == 0) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s/spec.yml", spec->output);
        unlink(copy);
        rmdir(spec->output); /* only when nothing else is in it */
    }
    int code = rc ? mo_cli_fail(rc, &err) : 0; /* before MPI_Finalize, see mo_cli_rank0 */
    fflush(stdout);
    mo_spec_destroy(spec);
    mo_plugins_close(secrets);
    mo_cluster_destroy(cluster);
    mo_comm_destroy(comm);
    return code;
}
