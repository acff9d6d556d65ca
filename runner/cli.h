/* cli.h - the maestro command line: dispatch to subcommands */
#ifndef MO_RUNNER_CLI_H
#define MO_RUNNER_CLI_H

/* Runs `maestro ARGS...`; returns the process exit code. */
int mo_cli_main(int argc, char **argv);

#endif
