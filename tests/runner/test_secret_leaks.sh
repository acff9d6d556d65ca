#!/usr/bin/env bash
# test_secret_leaks.sh - a secret's value appears nowhere (issue 9): a `${secret:db/password}`
# (env provider) sits in the description and labels of a spec of every kind — train (with the
# MLflow plugin's local store), sweep, materialize, dataset, validate, pipeline — each run at
# debug log level in both log formats, plus the Slurm script, the MPIJob manifest and the
# CronJob that submit and schedule render. Then every byte under the test's folder (stdout and
# stderr of every command, logs, run.h5, checkpoints, sweep.h5, the feature store, reports,
# journals, manifests, the MLflow store) is searched for the value, raw and base64-encoded.
# (runner/secrets.c, core/log.c redaction, runner/spec.c's resolved spec keeps references.)
. "$(dirname "$0")/../cli_lib.sh"

VALUE='s3cr3t-9f2a-must-not-leak'
export MAESTRO_SECRET_DB_PASSWORD=$VALUE
if [ -n "${MAESTRO_PLUGIN_TEST_DIR:-}" ]; then export MAESTRO_PLUGIN_PATH="$MAESTRO_PLUGIN_TEST_DIR"; fi

cat > cluster.yml <<'YML'
name: leak-test
secrets: {providers: [env]}
launch:
  slurm: {nodes: 1, ntasks_per_node: 2, time: "00:10:00"}
  kubernetes: {namespace: ml, image: "maestro:test", workers: 1, slots_per_worker: 2}
schedules:
  nightly: {cron: "0 2 * * *", timezone: UTC, spec: p.yml, target: kubernetes}
YML
"$MAESTRO" data synth --rows 600 --features 4 --classes 2 --seed 1 -o d.h5 >/dev/null &&
  "$MAESTRO" data events --events 3000 --entities 60 --days 3 --seed 2 --labels 300 \
    --labels-out labels.csv -o ev.h5 >/dev/null || { echo "FAIL - setup"; exit 1; }

common='description: "db password ${secret:db/password}"
labels: {owner: "${secret:db/password}"}'
cat > t.yml <<YML
kind: train
name: t
$common
plugins: [mlflow]
data: {path: d.h5, validation_split: 0.2}
model: {type: mlp, hidden: [8], activation: relu}
optimizer: {name: sgd, lr: 0.1}
training: {epochs: 1, batch_size: 32, seed: 1, checkpoint_every: 5}
registry: {model: leak-model, alias: production}
YML
cat > s.yml <<YML
kind: sweep
name: s
$common
objective: {metric: value, goal: minimize}
algorithm: {name: random, settings: {seed: 3}}
max_trials: 4
trial: {objective: quadratic}
YML
cat > m.yml <<YML
kind: materialize
name: m
$common
source: {path: ev.h5, entity: customer_id, timestamp: event_ts, created: created_ts}
feature_views:
  - name: v
    entity: customer_id
    ttl: 7d
    features:
      - {name: s1d, column: amount, agg: sum, window: 1d}
      - {name: last_amount, column: amount, agg: last}
offline: {path: store.h5}
YML
cat > ds.yml <<YML
kind: dataset
name: ds
$common
entities: {path: labels.csv, entity: customer_id, timestamp: event_ts, label: label}
features: [v:s1d, v:last_amount]
store: store.h5
fill: 0
output: train.h5
YML
cat > v.yml <<YML
kind: validate
name: v
$common
data: {path: store.h5, view: v}
checks:
  - {check: row_count, min: 1}
YML
cat > p.yml <<YML
kind: pipeline
name: p
$common
steps:
  - {name: features, spec: m.yml}
  - {name: check, spec: v.yml, needs: [features]}
YML

n=0
for spec in t s m ds v p; do
  for fmt in human json; do
    n=$((n + 1))
    case_ "kind of $spec.yml runs ($fmt logs, debug)"
    run mpirun -np 2 --oversubscribe "$MAESTRO" --log-level debug --log-format "$fmt" run "$spec.yml" \
      --cluster cluster.yml --output "runs/$spec-$fmt"
    expect_exit 0
    cp "$WORK/.out" "out-$n.txt"
    cp "$WORK/.err" "err-$n.txt"
  done
done

case_ "submit and schedule render without the value"
maestro submit t.yml --target slurm --cluster cluster.yml --dry-run
expect_exit 0
cp "$WORK/.out" sbatch.sh
maestro submit t.yml --target kubernetes --cluster cluster.yml -o mpijob.yaml
expect_exit 0
maestro schedule nightly --target kubernetes --cluster cluster.yml
expect_exit 0
cp "$WORK/.out" cronjob.yaml
grep -q 'secret:db/password' mpijob.yaml && ok "the manifest keeps the reference" ||
  fail "no reference in the manifest"

case_ "the search finds the value where it is (a control)"
b64=$(printf '%s' "$VALUE" | base64)
mkdir -p control && printf 'x%sx\n' "$VALUE" > control/planted && printf '%s' "$b64" > control/b64
run grep -r -a -l -F -e "$VALUE" -e "$b64" control
[ "$(printf '%s\n' "$OUT" | wc -l)" = 2 ] && ok "both planted copies found" || fail "control: $OUT"
rm -rf control

case_ "the value appears in no file and no output"
run grep -r -a -l -F -e "$VALUE" -e "$b64" "$WORK" --exclude=.out --exclude=.err
[ -z "$OUT" ] && ok "searched $(find "$WORK" -type f | wc -l) files" || fail "found in: $OUT"

finish
