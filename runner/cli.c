/* cli.c - `maestro COMMAND ...`: global options, dispatch, shared failure reporting
 *
 * The logging options (--log-level, --log-format, --log-all-ranks) are accepted anywhere on
 * the line and removed before the subcommand parses the rest, so `maestro run x.yml
 * --log-format json` and `maestro --log-format json run x.yml` mean the same.
 */
#include "runner/cli.h"

#include "core/build_info.h"
#include "core/log.h"
#include "core/str.h"
#include "runner/cli_impl.h"
#include "runner/cmd_registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cli_rank;

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", mo_cmd_run, "run a job spec (under mpirun for several ranks)"},
    {"validate", mo_cmd_validate, "check a spec and cluster.yml as a run would; writes nothing"},
    {"data", mo_cmd_data, "make, import and check datasets (synth, events, import, check)"},
    {"submit", mo_cmd_submit, "start a run with mpirun, on Slurm or on Kubernetes"},
    {"status", mo_cmd_status, "state of a job 'maestro submit --target slurm' submitted"},
    {"inspect", mo_cmd_inspect, "show what a Maestro HDF5 file holds"},
    {"plugins", mo_cmd_plugins, "list plugins on the search path; flush a run's spool"},
    {"features", mo_cmd_features, "export a feature view; read an entity's online row"},
    {"registry", mo_cmd_registry, "list and show models in the local registry folder"},
    {"schedule", mo_cmd_schedule, "render a cluster.yml schedule: CronJob, sbatch, crontab"},
    {"version", mo_cmd_version, "version and the stack Maestro was built with"},
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: maestro [--log-level L] [--log-format human|json] COMMAND [ARGS]\n\n"
               "Maestro runs ML batch jobs as one MPI program: every rank runs the same binary,\n"
               "driven by a YAML job spec and cluster.yml.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nlogging options (anywhere on the line):\n"
               "  --log-level debug|info|warn|error   least severe level shown (default info)\n"
               "  --log-format human|json             one human line or one JSON object per "
               "record\n"
               "  --log-all-ranks                     info lines from every rank, not just "
               "rank 0\n\n"
               "'maestro COMMAND --help' describes each command. Exit codes: 0 ok, 1 job failed,\n"
               "2 bad input, 3 quality gate not met, 4 environment, 143 stopped by signal.\n"
               "Docs: docs/ in the source tree (spec.md, formats.md, operations-mpi.md).\n");
}

int mo_cli_rank(void)
{
    return cli_rank;
}

void mo_cli_set_rank(int rank)
{
    cli_rank = rank;
    mo_log_set_rank(rank);
}

int mo_cli_launched_by_mpi(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                 "MV2_COMM_WORLD_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int mo_cli_fail(int rc, const mo_error_t *err)
{
    if (cli_rank == 0) {
        /* Messages may quote values that came from secrets (a path, a URL). */
        char *msg = mo_redact(err && err->msg[0] ? err->msg : mo_strerror(rc));
        fprintf(stderr, "maestro: %s\n", msg ? msg : mo_strerror(rc));
        free(msg);
    }
    return mo_status_exit_code(rc);
}

int mo_cli_usage(const char *cmd, const char *fmt, ...)
{
    if (cli_rank == 0) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "maestro %s: ", cmd);
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\nTry 'maestro %s --help'.\n", cmd);
        va_end(ap);
    }
    return MO_EXIT_BADINPUT;
}

int mo_cli_rank0(int *argc, char ***argv, mo_cli_rank0_fn fn, void *ud)
{
    mo_error_t err = {0};
    mo_comm_t *comm = NULL;
    int rc = 0;
    if (mo_cli_launched_by_mpi()) {
        rc = mo_comm_init(&comm, argc, argv, &err);
        if (rc)
            return mo_cli_fail(rc, &err);
        mo_cli_set_rank(mo_comm_rank(comm));
    }
    if (cli_rank == 0)
        rc = fn(ud, &err);
    if (comm) {
        mo_error_t agreed = err;
        rc = mo_comm_agree(comm, rc, &agreed);
        err = agreed;
    }
    /* Print before MPI_Finalize: its fence keeps the other ranks from exiting (and mpirun from
     * killing rank 0 on their non-zero status) before the message is out. */
    int code = rc ? mo_cli_fail(rc, &err) : 0;
    fflush(stdout);
    mo_comm_destroy(comm);
    return code;
}

/* Remove the logging options from argv (in place); returns -1 after printing on bad values. */
static int take_log_options(int *argc, char **argv)
{
    mo_log_opts_t opts = {MO_LOG_INFO, MO_LOG_HUMAN, cli_rank, 0, NULL};
    const char *env = getenv("MAESTRO_LOG_FORMAT");
    if (env && mo_log_format_parse(env, &opts.format)) {
        fprintf(stderr, "maestro: MAESTRO_LOG_FORMAT must be human or json, got \"%s\"\n", env);
        return -1;
    }
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--log-all-ranks")) {
            opts.all_ranks = 1;
            continue;
        }
        int is_level = !strcmp(a, "--log-level"), is_format = !strcmp(a, "--log-format");
        const char *val = NULL;
        if (mo_str_startswith(a, "--log-level=")) {
            is_level = 1;
            val = a + 12;
        } else if (mo_str_startswith(a, "--log-format=")) {
            is_format = 1;
            val = a + 13;
        } else if ((is_level || is_format) && i + 1 < *argc) {
            val = argv[++i];
        }
        if (!is_level && !is_format) {
            argv[out++] = argv[i];
            continue;
        }
        if (!val) {
            fprintf(stderr, "maestro: %s needs a value\n", a);
            return -1;
        }
        if (is_level && mo_log_level_parse(val, &opts.level)) {
            fprintf(stderr, "maestro: --log-level must be debug, info, warn or error, got \"%s\"\n",
                    val);
            return -1;
        }
        if (is_format && mo_log_format_parse(val, &opts.format)) {
            fprintf(stderr, "maestro: --log-format must be human or json, got \"%s\"\n", val);
            return -1;
        }
    }
    argv[out] = NULL;
    *argc = out;
    mo_log_configure(&opts);
    return 0;
}

/* Before MPI is up, the launcher's environment tells the rank, so that usage errors under
 * mpirun print once rather than once per rank. */
static int rank_from_env(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        int64_t r;
        const char *v = getenv(vars[i]);
        if (v && mo_parse_int64(v, &r) == 0 && r >= 0 && r < (1 << 30))
            return (int)r;
    }
    return 0;
}

int mo_cli_main(int argc, char **argv)
{
    mo_cli_set_rank(rank_from_env());
    if (take_log_options(&argc, argv))
        return MO_EXIT_BADINPUT;
    if (argc < 2) {
        print_help(stderr);
        return MO_EXIT_BADINPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version"))
        cmd = "version";
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        size_t d = mo_str_distance(cmd, commands[i].name, 3);
        if (d < best_d) {
            best_d = d;
            best = commands[i].name;
        }
    }
    fprintf(stderr, "maestro: unknown command '%s'%s%s%s\nTry 'maestro --help'.\n", cmd,
            best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
    return MO_EXIT_BADINPUT;
}
