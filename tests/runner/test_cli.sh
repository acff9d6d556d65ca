#!/usr/bin/env bash
# test_cli.sh - runner/cli.c and runner/cmd_version.c: help, usage errors, version, logging options
. "$(dirname "$0")/../cli_lib.sh"

case_ "maestro --help lists every command"
maestro --help
expect_exit 0
for c in run validate data inspect version; do expect_stdout "  $c "; done

case_ "no command prints usage and exits 2"
maestro
expect_exit 2
expect_stderr "usage: maestro"

case_ "every command has --help"
for c in run validate data inspect version; do
  maestro $c --help
  expect_exit 0
  expect_stdout "usage: maestro $c"
done

case_ "unknown command suggests the closest"
maestro valdate x.yml
expect_exit 2
expect_stderr "unknown command 'valdate'; did you mean 'validate'?"

case_ "unknown option is a usage error"
maestro run x.yml --frobnicate
expect_exit 2
expect_stderr "maestro run: unknown option '--frobnicate'"
expect_stderr "Try 'maestro run --help'."

case_ "run without a spec"
maestro run
expect_exit 2
expect_stderr "maestro run: no spec given"

case_ "--set without '='"
maestro run x.yml --set optimizer.lr
expect_exit 2
expect_stderr "--set needs key.path=value"

case_ "version names the stack"
maestro version
expect_exit 0
expect_stdout "maestro 0."
expect_stdout "Open MPI"
expect_stdout "HDF5      1.10"
expect_stdout "parallel"
expect_stdout "OpenBLAS"
expect_stdout "CUDA"
expect_stdout "libslurm"
expect_stdout "validate"

case_ "version --json is one JSON object with stable keys"
maestro version --json
expect_exit 0
printf '%s' "$OUT" > v.json
run python3 -c 'import json,sys; d=json.load(open("v.json")); assert d["hdf5"]["parallel"] is True; assert "Open MPI" in d["mpi"]["library"]; assert d["kinds"]["validate"]=="built"; assert d["kinds"]["train"]=="built"; assert d["kinds"]["sweep"]=="built"; assert d["kinds"]["pipeline"]=="built"; print("ok")'
expect_exit 0

case_ "bad --log-level value"
maestro --log-level loud version
expect_exit 2
expect_stderr "--log-level must be debug, info, warn or error, got \"loud\""

case_ "log options are accepted after the command too"
maestro version --log-format json
expect_exit 0

finish
