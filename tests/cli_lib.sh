# lib.sh - helpers for the CLI tests: run maestro as a user would and check what they see.
# Each test script sources this, calls `run ...` then `expect_*`, and ends with `finish`.
set -u
: "${MAESTRO:?MAESTRO must point at the maestro binary (ctest sets it)}"
: "${MAESTRO_SOURCE_DIR:?MAESTRO_SOURCE_DIR must point at the source tree (ctest sets it)}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/maestro-cli-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

PASSED=0
FAILED=0
RC=0
OUT=""
ERR=""
CASE="(setup)"

# run CMD ARGS...  - run a command, keep exit code, stdout and stderr
run() {
  "$@" >"$WORK/.out" 2>"$WORK/.err"
  RC=$?
  OUT=$(cat "$WORK/.out")
  ERR=$(cat "$WORK/.err")
}

# maestro ARGS... - run the binary under test
maestro() { run "$MAESTRO" "$@"; }
# mpi NP ARGS... - run the binary under mpirun with NP ranks
mpi() { local np=$1; shift; run mpirun -np "$np" --oversubscribe "$MAESTRO" "$@"; }

case_() { CASE="$*"; }

ok()   { PASSED=$((PASSED + 1)); echo "ok - $CASE${1:+: $1}"; }
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL - $CASE: $1"
  echo "  exit code: $RC"
  echo "  stdout: $(printf '%s' "$OUT" | head -c 600)"
  echo "  stderr: $(printf '%s' "$ERR" | head -c 600)"
}

expect_exit() { [ "$RC" -eq "$1" ] && ok "exit $1" || fail "expected exit $1"; }
# expect_stderr TEXT - stderr contains TEXT (fixed string)
expect_stderr() { grep -qF -- "$1" "$WORK/.err" && ok "stderr has '$1'" || fail "stderr lacks '$1'"; }
expect_stdout() { grep -qF -- "$1" "$WORK/.out" && ok "stdout has '$1'" || fail "stdout lacks '$1'"; }
expect_no_stderr() { grep -qF -- "$1" "$WORK/.err" && fail "stderr has '$1'" || ok "stderr free of '$1'"; }
# expect_one_line - the error is exactly one line on stderr
expect_one_line() {
  local n; n=$(grep -c . "$WORK/.err")
  [ "$n" -eq 1 ] && ok "one-line error" || fail "expected one stderr line, got $n"
}
expect_file() { [ -e "$1" ] && ok "$1 exists" || fail "$1 missing"; }
expect_no_file() { [ ! -e "$1" ] && ok "$1 not created" || fail "$1 was created"; }
# expect_dir_empty DIR - nothing at all was written there (no temp files either)
expect_dir_empty() {
  local n; n=$(find "$1" -mindepth 1 -not -name '.out' -not -name '.err' | wc -l)
  [ "$n" -eq 0 ] && ok "nothing written in $1" || fail "found $n files in $1: $(find "$1" -mindepth 1 | head -3)"
}

# setup_fail MSG... - the test cannot even start (a service, a fixture): one FAIL line, exit 1
setup_fail() { echo "FAIL - setup: $*"; exit 1; }

# pycheck WHAT ARGS... - one check of the script's own $WORK/check.py (run by $PY, default
# Debian's python3): it prints "ok ..." as its last line, or fails with its reason
pycheck() {
  run "${PY:-/usr/bin/python3}" "$WORK/check.py" "$@"
  if [ "$RC" -eq 0 ]; then ok "$(tail -n 1 "$WORK/.out")"; else fail "$1: $(tail -n 3 "$WORK/.err")"; fi
}

# payloads RUN_DIR - files waiting in the run's plugin spool (prometheus' delivered-rank<r>
# records are bookkeeping, not payloads)
payloads() {
  [ -d "$1/spool" ] || { echo 0; return; }
  find "$1/spool" -type f ! -name 'delivered-rank*' | wc -l
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
