/* cmd_submit.c - `maestro submit SPEC --target local|slurm|kubernetes` and `maestro status JOB`
 *
 * submit reads cluster.yml (mo_cluster_load, fully checked) and only the spec's kind:, name:
 * and output: (io/config.h, nothing resolved, no kind checks): the spec is checked where it
 * runs, and `maestro validate` checks it beforehand. Paths handed to a target are absolute
 * (realpath), and the maestro a target starts is this very binary (/proc/self/exe), so a job
 * that starts later, elsewhere, in another folder, runs the same program on the same files.
 */
#include "core/alloc.h"
#include "core/str.h"
#include "io/config.h"
#include "runner/cli_impl.h"
#include "runner/cluster.h"
#include "runner/kinds.h"
#include "runner/submit.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SETS 256

static const char submit_help[] =
    "usage: maestro submit SPEC.yml --target local|slurm|kubernetes [--cluster FILE]\n"
    "                      [--set key.path=value]... [--dry-run] [-o FILE] [--apply]\n\n"
    "Starts a run of SPEC.yml where cluster.yml's launch section says:\n"
    "  local       mpirun -np launch.local.np [launch.local.mpirun_args] maestro run SPEC\n"
    "              on this machine (this process becomes mpirun; its exit code is the run's)\n"
    "  slurm       an sbatch script from launch.slurm (nodes, ntasks_per_node, gpus_per_node,\n"
    "              cpus_per_task, time, partition, account), submitted with 'sbatch --parsable';\n"
    "              prints 'submitted batch job N'. Logs: OUTPUT/slurm-N.out and .err. The job\n"
    "              checkpoints 120 s before its time limit and requeues itself; a requeued job\n"
    "              resumes from its checkpoint. Follow it with 'maestro status N'.\n"
    "  kubernetes  an MPIJob from launch.kubernetes (see docs/operations.md)\n\n"
    "options:\n"
    "  --target T            where to run (required)\n"
    "  --cluster FILE        cluster.yml to use (default: $MAESTRO_CLUSTER, else ./cluster.yml\n"
    "                        when present, else built-in defaults)\n"
    "  --set key.path=value  passed on to 'maestro run' (repeatable)\n"
    "  --dry-run             print what would be started (the mpirun argv one word a line,\n"
    "                        the sbatch script, the MPIJob) and start nothing\n"
    "  -o FILE, --apply      kubernetes only: write the MPIJob to FILE; kubectl apply it\n\n"
    "The job runs this maestro binary (launch.slurm.maestro names another for Slurm) with the\n"
    "spec and cluster files by absolute path. Only the spec's kind:, name: and output: are read\n"
    "here: run 'maestro validate SPEC.yml' first to check the whole spec. Exit 0 submitted,\n"
    "2 bad arguments or files, 4 the target's tools (mpirun, sbatch) are missing.\n";

static const char status_help[] =
    "usage: maestro status JOB [--target slurm]\n\n"
    "Prints the state of a job 'maestro submit --target slurm' submitted:\n"
    "  job 42: COMPLETED (exit 0:0)\n"
    "from 'scontrol show job', else (once slurmctld has forgotten the job, 5 minutes after it\n"
    "ended) from sacct. States are Slurm's: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED,\n"
    "TIMEOUT, REQUEUED, ... Exit 0 when the state was found (whatever it is), 2 for an unknown\n"
    "job or a bad id, 4 when Slurm's commands are missing.\n";

typedef struct {
    const char *spec, *target, *cluster, *out;
    const char *sets[MAX_SETS];
    size_t n_sets;
    int dry_run, apply, help;
} submit_args_t;

static int parse_submit(submit_args_t *a, int argc, char **argv)
{
    static const struct option longopts[] = {{"target", required_argument, NULL, 't'},
                                             {"cluster", required_argument, NULL, 'c'},
                                             {"set", required_argument, NULL, 's'},
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {"apply", no_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":t:c:s:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            a->target = optarg;
            break;
        case 'c':
            a->cluster = optarg;
            break;
        case 's':
            if (a->n_sets == MAX_SETS)
                return mo_cli_usage("submit", "too many --set options (at most %d)", MAX_SETS);
            if (!strchr(optarg, '='))
                return mo_cli_usage("submit", "--set needs key.path=value, got \"%s\"", optarg);
            a->sets[a->n_sets++] = optarg;
            break;
        case 'n':
            a->dry_run = 1;
            break;
        case 'a':
            a->apply = 1;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'h':
            a->help = 1;
            return 0;
        case ':':
            return mo_cli_usage("submit", "option '%s' needs a value", argv[optind - 1]);
        default:
            return mo_cli_usage("submit", "unknown option '%s'", argv[optind - 1]);
        }
    }
    while (optind < argc) {
        if (a->spec)
            return mo_cli_usage("submit", "unexpected argument '%s'", argv[optind]);
        a->spec = argv[optind++];
    }
    if (!a->spec)
        return mo_cli_usage("submit", "no spec given");
    if (!a->target)
        return mo_cli_usage("submit", "--target is required: local, slurm or kubernetes");
    if (strcmp(a->target, "local") && strcmp(a->target, "slurm") && strcmp(a->target, "kubernetes"))
        return mo_cli_usage("submit", "--target must be local, slurm or kubernetes, got \"%s\"",
                            a->target);
    if ((a->out || a->apply) && strcmp(a->target, "kubernetes"))
        return mo_cli_usage("submit", "%s is for --target kubernetes only",
                            a->out ? "-o" : "--apply");
    return 0;
}

static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".yml"))
        n -= 4;
    else if (n > 5 && !strcmp(base + n - 5, ".yaml"))
        n -= 5;
    return mo_strndup(base, n);
}

/* A scalar at the spec's top level, or NULL. */
static const char *top_scalar(mo_cfg_t *doc, const char *key)
{
    mo_cfg_node_t *n = mo_cfg_child(mo_cfg_root(doc), key);
    return n && mo_cfg_type(n) == MO_CFG_SCALAR ? mo_cfg_scalar(n) : NULL;
}

/* The run's output folder, absolute: --set output=, else output:, else runs/NAME; a kind
 * whose output is a file gets that file's folder. */
static char *output_dir(const submit_args_t *a, mo_cfg_t *doc, const char *kind, const char *name,
                        const char *workdir)
{
    const char *out = top_scalar(doc, "output");
    for (size_t i = 0; i < a->n_sets; i++)
        if (mo_str_startswith(a->sets[i], "output="))
            out = a->sets[i] + 7;
    mo_buf_t b = {0};
    if (!out || !*out || strstr(out, "${"))
        out = NULL;
    if (!out || out[0] != '/')
        mo_buf_printf(&b, "%s/", workdir);
    if (out)
        mo_buf_puts(&b, out);
    else
        mo_buf_printf(&b, "runs/%s", name);
    const mo_kind_entry_t *k = mo_kind_find(kind);
    if (out && k && k->kind && k->kind->output_is_file && !b.failed) {
        char *slash = strrchr(b.data, '/');
        if (slash && slash != b.data)
            *slash = '\0';
    }
    while (!b.failed && b.len > 1 && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    return mo_buf_steal(&b);
}

static int submit(const submit_args_t *a, mo_error_t *err)
{
    char spec_abs[PATH_MAX], cluster_abs[PATH_MAX], self[PATH_MAX], cwd[PATH_MAX];
    mo_cluster_t *cluster = NULL;
    mo_cfg_t *doc = NULL;
    char *name = NULL, *outdir = NULL;
    int rc = 0;
    if (!realpath(a->spec, spec_abs))
        return mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s", a->spec,
                         strerror(errno));
    const char *cpath = mo_cluster_pick_path(a->cluster);
    if (cpath && !realpath(cpath, cluster_abs))
        return mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s", cpath,
                         strerror(errno));
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return mo_errorf(err, MO_EIO, "cannot find the maestro binary (/proc/self/exe): %s",
                         strerror(errno));
    self[n] = '\0';
    if (!getcwd(cwd, sizeof cwd))
        return mo_errorf(err, MO_EIO, "getcwd: %s", strerror(errno));

    rc = mo_cluster_load(&cluster, cpath ? cluster_abs : NULL, err);
    if (rc)
        goto out;
    /* As written: no ${env:...} or ${secret:...} resolved here, the run resolves them. */
    mo_cfg_opts_t opts = {.no_env = 1, .keep_refs = 1};
    rc = mo_cfg_load_file(&doc, spec_abs, &opts, err);
    if (rc)
        goto out;
    const char *kind = top_scalar(doc, "kind"), *sname = top_scalar(doc, "name");
    if (!kind || !*kind) {
        rc = mo_errorf(err, MO_EINVAL, "%s: the spec has no kind: (see 'maestro validate')",
                       a->spec);
        goto out;
    }
    name = sname && *sname ? mo_strdup(sname) : default_name(spec_abs);
    outdir = name ? output_dir(a, doc, kind, name, cwd) : NULL;
    if (!name || !outdir) {
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        goto out;
    }
    mo_submit_t s = {.spec_path = spec_abs,
                     .cluster_path = cpath ? cluster_abs : NULL,
                     .cluster = cluster,
                     .name = name,
                     .kind = kind,
                     .maestro = self,
                     .dry_run = a->dry_run,
                     .out = a->out,
                     .apply = a->apply,
                     .sets = a->sets,
                     .n_sets = a->n_sets,
                     .workdir = cwd,
                     .output_dir = outdir};
    if (!strcmp(a->target, "local"))
        rc = mo_submit_local(&s, err);
    else if (!strcmp(a->target, "slurm"))
        rc = mo_submit_slurm(&s, err);
    else
        rc = mo_submit_kubernetes(&s, err);
out:
    free(name);
    free(outdir);
    mo_cfg_destroy(doc);
    mo_cluster_destroy(cluster);
    return rc;
}

int mo_cmd_submit(int argc, char **argv)
{
    submit_args_t a;
    int rc = parse_submit(&a, argc, argv);
    if (rc)
        return rc;
    if (a.help) {
        fputs(submit_help, stdout);
        return 0;
    }
    mo_error_t err = {0};
    rc = submit(&a, &err);
    fflush(stdout);
    return rc ? mo_cli_fail(rc, &err) : 0;
}

int mo_cmd_status(int argc, char **argv)
{
    static const struct option longopts[] = {{"target", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *job = NULL, *target = "slurm";
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            target = optarg;
            break;
        case 'h':
            fputs(status_help, stdout);
            return 0;
        case ':':
            return mo_cli_usage("status", "option '%s' needs a value", argv[optind - 1]);
        default:
            return mo_cli_usage("status", "unknown option '%s'", argv[optind - 1]);
        }
    }
    while (optind < argc) {
        if (job)
            return mo_cli_usage("status", "unexpected argument '%s'", argv[optind]);
        job = argv[optind++];
    }
    if (!job)
        return mo_cli_usage("status", "no job id given");
    if (strcmp(target, "slurm"))
        return mo_cli_usage("status", "--target must be slurm, got \"%s\"", target);
    mo_error_t err = {0};
    int rc = mo_submit_slurm_status(job, &err);
    fflush(stdout);
    return rc ? mo_cli_fail(rc, &err) : 0;
}
