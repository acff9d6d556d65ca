#!/usr/bin/env bash
# reliability-figures.sh - run the reliability suites and write their figures into
# docs/reliability.md, between the lines `<!-- figures:begin -->` and `<!-- figures:end -->`:
# per suite, the cases (case_ lines of the test script), checks passed and failed, and its wall
# time; the fuzz corpora replayed (inputs per harness); when and where it ran. The table is
# rendered from ctest's verbose log, so a run's figures are what that run saw.
#
# usage: scripts/reliability-figures.sh [BUILD]            run the suites in BUILD (default
#                                                          build), update the page
#        scripts/reliability-figures.sh --from-log LOG [--doc DOC]
#                                                          render from an existing `ctest -V`
#                                                          log (tests use this)
# env:   DOC (default docs/reliability.md)
# Exit: 0 when every suite passed, 1 when one failed (the page is updated all the same), 2 on
# bad usage or a page without the markers.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
doc=${DOC:-$root/docs/reliability.md}
log=""
build=build
while [ $# -gt 0 ]; do
  case "$1" in
  --from-log) log=${2:?--from-log needs a file}; shift 2 ;;
  --doc) doc=${2:?--doc needs a file}; shift 2 ;;
  -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
  -*) echo "reliability-figures.sh: unknown option $1" >&2; exit 2 ;;
  *) build=$1; shift ;;
  esac
done
grep -q '^<!-- figures:begin -->$' "$doc" && grep -q '^<!-- figures:end -->$' "$doc" || {
  echo "reliability-figures.sh: $doc has no <!-- figures:begin --> / <!-- figures:end --> lines" >&2
  exit 2
}

# suite  ctest name  script (relative to the repo)  what it attacks
suites=(
  "jobs/test_faults|tests/jobs/test_faults.sh|rank killed mid-allreduce and mid-checkpoint, whole job killed writing run.h5, a checkpoint, the sweep journal and a feature table, a rank failing mid-materialise and mid-join, damaged checkpoints, disk full, repeated preemption, crashing/hanging/NaN trials"
  "plugins/test_service_faults|tests/plugins/test_service_faults.sh|Pushgateway, MLflow and Loki refused, stopped, restarted, resetting and hanging during a run"
  "jobs/test_materialize_redis|tests/jobs/test_materialize_redis.sh|Redis down during the online write, back later or never"
  "plugins/test_tls|tests/plugins/test_tls.sh|https with an unknown CA, a private CA, verification off"
  "runner/test_literal_values|tests/runner/test_literal_values.sh|quotes, line breaks, \$(...), backticks, \${...} and ../ in values, names and paths"
  "runner/test_secret_leaks|tests/runner/test_secret_leaks.sh|a secret in specs of every kind, searched for in every output"
  "runner/test_spec_errors|tests/runner/test_spec_errors.sh|bad input: one line with file:line:col, exit 2, nothing written"
)
fuzz=(config csv time h5 feast service)

if [ -z "$log" ]; then
  log=$(mktemp "${TMPDIR:-/tmp}/reliability-XXXXXX.log")
  names=""
  for s in "${suites[@]}"; do names="$names|${s%%|*}"; done
  for f in "${fuzz[@]}"; do names="$names|fuzz/$f"; done
  echo "== ctest --test-dir $build -R '${names#|}' (the reliability suites, several minutes)" >&2
  ctest --test-dir "$build" -R "^(${names#|})\$" -V --timeout 900 > "$log" 2>&1
fi
[ -r "$log" ] || { echo "reliability-figures.sh: cannot read $log" >&2; exit 2; }

# The log's test number of NAME ("    Start 111: jobs/test_faults"), its seconds and status
# ("2/13 Test #111: jobs/test_faults ......   Passed   60.12 sec").
num_of() { awk -v n="$1" '$1 == "Start" && $3 == n { sub(":", "", $2); print $2; exit }' "$log"; }
secs_of() { awk -v t="#$1:" '$2 == "Test" && $3 == t { print $(NF - 1); exit }' "$log"; }
status_of() {
  awk -v t="#$1:" '$2 == "Test" && $3 == t { for (i = 5; i <= NF; i++) if ($i !~ /^[.*]+$/) { print $i; exit } }' "$log"
}

table=$(mktemp)
failed_any=0
{
  echo "| suite | what it attacks | cases | checks passed | failed | seconds |"
  echo "|---|---|---:|---:|---:|---:|"
  for s in "${suites[@]}"; do
    IFS='|' read -r name script what <<<"$s"
    n=$(num_of "$name")
    cases=$(grep -c '^ *case_ ' "$root/$script" 2>/dev/null || echo 0)
    if [ -z "$n" ]; then
      echo "| \`$name\` | $what | $cases | - | - | not run |"
      failed_any=1
      continue
    fi
    okc=$(grep -c "^$n: ok - " "$log")
    bad=$(grep -c "^$n: FAIL - " "$log")
    st=$(status_of "$n")
    [ "$st" = Passed ] || failed_any=1
    [ "$bad" -eq 0 ] || failed_any=1
    echo "| \`$name\` | $what | $cases | $okc | $bad | $(secs_of "$n") |"
  done
  inputs=0
  for f in "${fuzz[@]}"; do
    n=$(num_of "fuzz/$f")
    k=$([ -n "$n" ] && sed -n "s/^$n: \([0-9]*\) inputs run.*/\1/p" "$log" | head -n 1)
    inputs=$((inputs + ${k:-0}))
    [ -z "$n" ] || [ "$(status_of "$n")" = Passed ] || failed_any=1
  done
  echo "| \`fuzz/*\` | every saved fuzz input replayed (${fuzz[*]}) | ${#fuzz[@]} harnesses | $inputs inputs | - | - |"
  echo
  commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  echo "Rendered by \`scripts/reliability-figures.sh\` from a \`ctest -V\` run: $(date -u +%Y-%m-%dT%H:%MZ), commit $commit, $(nproc) CPUs ($(uname -m)). Cases are the \`case_\` lines of each script; checks are the \`ok\` lines that run printed."
} > "$table"

awk -v t="$table" '
  /^<!-- figures:begin -->$/ { print; while ((getline line < t) > 0) print line; skip = 1; next }
  /^<!-- figures:end -->$/ { skip = 0 }
  !skip { print }' "$doc" > "$doc.tmp.$$" && mv "$doc.tmp.$$" "$doc"
rm -f "$table"
echo "reliability-figures.sh: $doc updated$([ $failed_any = 0 ] || echo '; A SUITE FAILED')" >&2
exit $failed_any
