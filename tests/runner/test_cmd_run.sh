#!/usr/bin/env bash
# test_cmd_run.sh - runner/cmd_run.c under mpirun: sharded reads, rank-0-only outputs, runs of
# kind: validate
. "$(dirname "$0")/../cli_lib.sh"

"$MAESTRO" data synth --rows 1000 --features 5 --classes 4 --seed 3 -o d.h5 >/dev/null ||
  { echo "FAIL - setup"; exit 1; }
"$MAESTRO" data check d.h5 --json > one.json

for np in 1 2 3; do
  case_ "data check at np $np reads every row exactly once"
  mpi $np data check d.h5 --json
  expect_exit 0
  printf '%s' "$OUT" > np$np.json
  run python3 -c "import json; a=json.load(open('np$np.json')); b=json.load(open('one.json')); assert a['rows_read']==1000 and a['ranks']==$np, a; assert a['class_counts']==b['class_counts'], (a,b); assert sum(a['class_counts'])==1000; print('ok')"
  expect_exit 0
done

case_ "synth under mpirun writes one file, once"
mpi 2 data synth --rows 200 --features 3 -o m.h5
expect_exit 0
n=$(printf '%s\n' "$OUT" | grep -c "m.h5: 200 rows")
[ "$n" -eq 1 ] && ok "one report line" || fail "expected 1 report line, got $n"
run sh -c 'ls | grep -c "m.h5"'
[ "$OUT" = "1" ] && ok "one file" || fail "files: $OUT"

cat > v.yml <<'YML'
kind: validate
name: v
data: {path: d.h5}
checks:
  - {check: schema, features: 5, task: classification, classes: 4}
  - {check: row_count, min: 1000, max: 1000}
  - {check: class_balance, min_fraction: 0.2}
YML

for np in 1 3; do
  case_ "validate job at np $np passes and writes its report once"
  rm -rf runs
  mpi $np run v.yml
  expect_exit 0
  expect_file runs/v/report.json
  run python3 -c "import json; r=json.load(open('runs/v/report.json')); assert r['status']=='ok' and r['rows']==1000 and r['ranks']==$np, r; assert all(c['pass'] for c in r['checks']); print('ok')"
  expect_exit 0
  run sh -c 'ls runs/v | tr "\n" " "'
  [ "$OUT" = "report.h5 report.json spec.yml " ] && ok "report.h5, report.json and the resolved spec.yml" || fail "runs/v holds: $OUT"
done

case_ "a failed error check exits 1 and keeps the report"
mpi 2 run v.yml --set 'checks=[{check: row_count, min: 5000}]' --output runs/fail
expect_exit 1
expect_stderr "validation failed: 1 check of severity error (row_count: 1000, want >= 5000)"
run python3 -c "import json; r=json.load(open('runs/fail/report.json')); assert r['status']=='failed' and not r['checks'][0]['pass']; print('ok')"
expect_exit 0

case_ "a failed warning is logged, the run passes"
mpi 2 run v.yml --set 'checks=[{check: class_balance, min_fraction: 0.9, severity: warn}]' --output runs/warn
expect_exit 0
expect_stderr "class_balance FAIL"

case_ "--log-format json gives one JSON object per line, rank 0 only by default"
mpi 2 run v.yml --log-format json --output runs/json
expect_exit 0
printf '%s\n' "$ERR" | grep '^{' > log.jsonl
run python3 -c "
import json
recs = [json.loads(l) for l in open('log.jsonl')]
assert len(recs) >= 4, recs
assert all(set(r) >= {'ts', 'level', 'rank', 'component', 'msg'} for r in recs), recs
assert {r['rank'] for r in recs} == {0}, recs
assert any(r['component'] == 'validate' and 'row_count' in r['msg'] for r in recs), recs
print('ok')"
expect_exit 0

case_ "--log-all-ranks lets every rank print info lines"
mpi 2 run v.yml --log-format json --log-all-ranks --output runs/all
expect_exit 0
printf '%s\n' "$ERR" | grep '^{' > all.jsonl
run python3 -c "
import json
print(sorted({json.loads(l)['rank'] for l in open('all.jsonl')}))"
expect_stdout "[0, 1]"

finish
