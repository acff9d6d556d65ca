/* cli_impl.h - what the subcommand files of runner/ share */
#ifndef MO_RUNNER_CLI_IMPL_H
#define MO_RUNNER_CLI_IMPL_H

#include "comm/comm.h"
#include "core/status.h"

/* Print `maestro: <message>` for a failure and return its exit code. Under MPI only rank 0
 * prints (every rank holds the same agreed message). */
int mo_cli_fail(int rc, const mo_error_t *err);
/* A usage error: "maestro CMD: <message>" and a pointer to --help; returns 2. */
int mo_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 when this process was started by mpirun/srun (so MPI must be initialised). */
int mo_cli_launched_by_mpi(void);
/* The rank the CLI runs as (0 until MPI is up, and for singletons). */
int mo_cli_rank(void);
void mo_cli_set_rank(int rank);

/* Run `fn` on rank 0 only and make every rank return its status: for commands that write one
 * file or print one report whatever the rank count. Initialises MPI only when launched by
 * mpirun. Returns the exit code (after printing a failure). */
typedef int (*mo_cli_rank0_fn)(void *ud, mo_error_t *err);
int mo_cli_rank0(int *argc, char ***argv, mo_cli_rank0_fn fn, void *ud);

int mo_cmd_run(int argc, char **argv);
int mo_cmd_validate(int argc, char **argv);
int mo_cmd_data(int argc, char **argv);
int mo_cmd_inspect(int argc, char **argv);
int mo_cmd_features(int argc, char **argv);
int mo_cmd_plugins(int argc, char **argv);
int mo_cmd_schedule(int argc, char **argv);
int mo_cmd_version(int argc, char **argv);
int mo_cmd_submit(int argc, char **argv);
int mo_cmd_status(int argc, char **argv);

#endif
