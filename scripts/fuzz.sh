#!/usr/bin/env bash
# fuzz.sh - run every libFuzzer harness of a MAESTRO_FUZZ build for a while (`make fuzz`)
#
# usage: scripts/fuzz.sh BUILD [SECONDS] [NAME...]   (default 60 s each, every harness)
# Each harness starts from tests/fuzz/corpus/<name>/ (read only) plus BUILD/corpus/<name>/,
# where the inputs it finds go; a crash, leak, timeout or sanitizer report lands in
# BUILD/crashes/<name>/ and makes the exit status non-zero. Add such an input to
# tests/fuzz/corpus/<name>/ once fixed: `make test` then runs it for good.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: scripts/fuzz.sh BUILD [SECONDS] [NAME...]}
secs=${2:-60}
shift $(($# >= 2 ? 2 : $#))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Leaks are checked after every input; the check at exit would see only what MPI_Init keeps.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:leak_check_at_exit=0}
# Open MPI's components stay loaded so LeakSanitizer can name (and tests/lsan.supp suppress)
# what they keep until exit; nothing of Maestro's is suppressed.
export OMPI_MCA_mca_base_component_disable_dlclose=1
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/fuzz_*.c; do
    n=$(basename "$f" .c)
    [ "$n" = fuzz_util ] || names+=("${n#fuzz_}")
  done
fi
failed=0
printf '%-10s %8s %10s %8s  %s\n' harness seconds execs corpus result
for n in "${names[@]}"; do
  bin="$build/tests/fuzz_$n"
  [ -x "$bin" ] || { echo "$n: $bin not built"; failed=$((failed + 1)); continue; }
  mkdir -p "$build/corpus/$n" "$build/crashes/$n"
  log="$build/fuzz-$n.log"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$n/" "$build/corpus/$n" "$root/tests/fuzz/corpus/$n" \
    >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$build/corpus/$n" -type f | wc -l)
  result=ok
  if [ $rc -ne 0 ]; then
    result="FOUND (exit $rc): $(ls "$build/crashes/$n" | head -3 | tr '\n' ' ')see $log"
    failed=$((failed + 1))
  fi
  printf '%-10s %8s %10s %8s  %s\n' "$n" "$secs" "${execs:-?}" "$corpus" "$result"
done
exit $failed
