#!/usr/bin/env bash
# test_pipeline.sh - `kind: pipeline` (jobs/pipeline) as a user runs it: events -> features ->
# validation -> point-in-time training set -> training on 2 ranks -> registration when the
# gates pass; dependency order, ${steps...} references, a failing step blocking only the steps
# that need it, stop by signal and --resume, and the graph's bad input before anything runs.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3
REF="$MAESTRO_SOURCE_DIR/tests/jobs/features_ref.py"
export MAESTRO_REGISTRY_DIR="$WORK/registry"

"$PY" "$REF" events events.csv --seed 5 --rows 3000 --entities 60 || { echo "FAIL - setup"; exit 1; }
"$PY" "$REF" labels labels.csv events.csv --seed 6 --rows 1500 || { echo "FAIL - setup"; exit 1; }
mkdir -p specs
cat > specs/features.yml <<'YML'
kind: materialize
name: features
source: {path: events.csv, entity: customer_id, timestamp: event_ts, created: created_ts}
feature_views:
  - name: activity
    ttl: 3d
    features:
      - {name: cnt_1d, column: amount, agg: count, window: 1d}
      - {name: mean_7d, column: amount, agg: mean, window: 7d}
      - {name: last_qty, column: qty, agg: last}
offline: {path: store/features.h5}
YML
cat > specs/checks.yml <<'YML'
kind: validate
name: checks
data: {path: store/features.h5, view: activity}
checks:
  - {check: row_count, min: 100}
output: runs/checks
YML
cat > specs/trainset.yml <<'YML'
kind: dataset
name: trainset
entities: {path: labels.csv, entity: customer_id, timestamp: event_ts, label: label}
features: [activity:cnt_1d, activity:mean_7d, activity:last_qty]
store: store/features.h5
fill: 0
output: data/train.h5
YML
cat > specs/train.yml <<'YML'
kind: train
name: churn
data: {path: data/placeholder.h5, validation_split: 0.2}
model: {type: logreg}
optimizer: {name: sgd, lr: 0.05}
training: {epochs: 3, batch_size: 64, seed: 1, checkpoint_every: 5}
gates: {val_accuracy: ">= 0.0"}
output: runs/churn
YML
cat > nightly.yml <<'YML'
kind: pipeline
name: nightly
plugins: [mlflow]
steps:
  - {name: features, spec: specs/features.yml}
  - {name: validate, spec: specs/checks.yml, needs: [features]}
  - {name: trainset, spec: specs/trainset.yml, needs: [validate]}
  - {name: train, spec: specs/train.yml, needs: [trainset], set: {data.path: "${steps.trainset.output}"}}
  - {name: register, registry: {model: churn-model, alias: production}, needs: [train], when: "${steps.train.gates_passed}"}
output: runs/nightly
YML

case_ "the nightly pipeline runs every step in order on 2 ranks and registers the model"
mpi 2 run nightly.yml
expect_exit 0
cp "$WORK/.err" nightly.err
expect_file data/train.h5
expect_file runs/churn/run.h5
run "$PY" -c "
import json
j = json.load(open('runs/nightly/pipeline.json'))
states = [(s['name'], s['state']) for s in j['steps']]
assert states == [('features', 'ok'), ('validate', 'ok'), ('trainset', 'ok'), ('train', 'ok'), ('register', 'ok')], states
assert j['steps'][3]['output'] == 'runs/churn', j['steps'][3]
print('ok')"
expect_exit 0
run sh -c "grep -o 'step [a-z]*: running' nightly.err | tr '\n' ' '"
[ "$OUT" = "step features: running step validate: running step trainset: running step train: running step register: running " ] && ok "dependency order" || fail "order: $OUT"
maestro registry show churn-model@production --json
expect_exit 0
expect_stdout '"version": 1'

case_ "a failing step blocks the steps that need it; the others run; the summary names it"
cat > failing.yml <<'YML'
kind: pipeline
name: failing
steps:
  - {name: features, spec: specs/features.yml}
  - {name: strict, spec: specs/strict.yml, needs: [features]}
  - {name: trainset, spec: specs/trainset.yml, needs: [strict]}
  - {name: other, spec: specs/checks.yml, needs: [features]}
output: runs/failing
YML
sed 's/min: 100/min: 100000000/' specs/checks.yml > specs/strict.yml
maestro run failing.yml
expect_exit 1
expect_stderr "step 'strict' failed"
run "$PY" -c "
import json
j = {s['name']: s['state'] for s in json.load(open('runs/failing/pipeline.json'))['steps']}
assert j == {'features': 'ok', 'strict': 'failed', 'trainset': 'blocked', 'other': 'ok'}, j
print('ok')"
expect_exit 0

case_ "a stopped step resumes from its checkpoint; finished steps are kept"
"$PY" "$REF" labels biglabels.csv events.csv --seed 8 --rows 60000
sed -e 's/labels.csv/biglabels.csv/' -e 's#data/train.h5#data/big.h5#' specs/trainset.yml > specs/bigset.yml
sed -e 's/epochs: 3/epochs: 40/' -e 's#runs/churn#runs/bigchurn#' specs/train.yml > specs/bigtrain.yml
sed -e 's#specs/trainset.yml#specs/bigset.yml#' -e 's#specs/train.yml#specs/bigtrain.yml#' \
    -e 's#runs/nightly#runs/stop#' -e '/registry/d' nightly.yml > stop.yml
mpirun -np 2 --oversubscribe "$MAESTRO" run stop.yml >stop.out 2>&1 &
pid=$!
for _ in $(seq 300); do
  grep -q "step train: running" stop.out && grep -q "epoch 2/40" stop.out && break
  sleep 0.1
done
pkill -TERM -f -- "^$MAESTRO run stop.yml"
wait $pid
RC=$?
expect_exit 143
run "$PY" -c "
import json
j = {s['name']: s['state'] for s in json.load(open('runs/stop/pipeline.json'))['steps']}
assert j['train'] == 'stopped' and j['features'] == 'ok', j
print('ok')"
expect_exit 0
mpi 2 run stop.yml --resume
expect_exit 0
expect_stderr "step features: ok earlier, kept"
expect_stderr "step train: resuming"
expect_stderr "resumed from"

# ---- bad input: exit 2 before any step runs ----------------------------------------------------
bad() { # NAME EXPECTED
  case_ "bad input: $1"
  rm -rf runs/bad
  maestro run bad.yml --output runs/bad
  expect_exit 2
  expect_stderr "$2"
  expect_no_file runs/bad/pipeline.json
}
printf 'kind: pipeline\nname: bad\nsteps:\n  - {name: a, spec: specs/checks.yml, needs: [b]}\n  - {name: b, spec: specs/checks.yml, needs: [a]}\n' > bad.yml
bad "a cycle" "the steps' needs form a cycle among: a, b"
printf 'kind: pipeline\nname: bad\nsteps:\n  - {name: a, spec: specs/checks.yml, needs: [zz]}\n' > bad.yml
bad "unknown needs" "bad.yml:4:47: step 'a' needs 'zz', which is not a step of this pipeline"
printf 'kind: pipeline\nname: bad\nsteps:\n  - {name: a, spec: specs/checks.yml}\n  - {name: b, spec: specs/train.yml, needs: [a], set: {data.path: "${steps.a.outptu}"}}\n' > bad.yml
bad "an unknown \${steps...} field" "a step has output, status and gates_passed, not 'outptu'"
printf 'kind: pipeline\nname: bad\nsteps:\n  - {name: a, spec: specs/checks.yml}\n  - {name: b, spec: specs/train.yml, set: {data.path: "${steps.a.output}"}}\n' > bad.yml
bad "a reference to a step not needed" "step 'b' refers to step 'a', which it does not need"
printf 'kind: pipeline\nname: bad\nsteps:\n  - {name: a, spec: specs/nope.yml}\n' > bad.yml
bad "a missing spec file" "cannot read spec specs/nope.yml"

finish
