#!/usr/bin/env bash
# test_slurm_env.sh - runner/slurm_env.c through `maestro run` with Slurm's variables set by
# hand (no cluster needed; test_submit_slurm.sh has the real one): the Slurm job's labels on
# every JSON log line and on every metric the plugins get (the prometheus textfile and the
# example plugin's events), said once in human logs, no secret anywhere; and a requeued job
# (SLURM_RESTART_COUNT > 0) resuming by itself from a checkpoint (bitwise the uninterrupted
# result) or a sweep journal, and starting fresh when there is nothing to resume from.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3
unset SLURM_JOB_ID SLURM_ARRAY_TASK_ID SLURM_ARRAY_JOB_ID SLURM_JOB_NODELIST SLURM_NODELIST \
  SLURM_RESTART_COUNT
SECRET="pa55-w0rd-not-for-logs"

"$MAESTRO" data synth --rows 600 --features 4 --classes 2 --seed 1 -o d.h5 >/dev/null ||
  fail "setup: synth"
printf 'secrets: {providers: [env]}\n' > cluster.yml
cat > t.yml <<'YML'
kind: train
name: t
labels: {auth: "${secret:db/password}"}
data: {path: d.h5, validation_split: 0.2}
model: {type: mlp, hidden: [8], activation: relu}
optimizer: {name: sgd, lr: 0.1}
training: {epochs: 1, batch_size: 64, seed: 1, checkpoint_every: 0}
plugins: [example, prometheus]
YML
export MAESTRO_SECRET_DB_PASSWORD="$SECRET"
SLURM_VARS=(SLURM_JOB_ID=123 SLURM_ARRAY_JOB_ID=120 SLURM_ARRAY_TASK_ID=4
  "SLURM_JOB_NODELIST=node[01-02]")

case_ "JSON log lines and plugin metrics carry the Slurm job on every rank"
# -x gives the variables to the ranks only: mpirun itself would take them for an allocation.
run mpirun -np 2 --oversubscribe -x SLURM_JOB_ID=123 -x SLURM_ARRAY_JOB_ID=120 \
  -x SLURM_ARRAY_TASK_ID=4 -x "SLURM_JOB_NODELIST=node[01-02]" -x MAESTRO_SECRET_DB_PASSWORD \
  "$MAESTRO" --log-format json --log-all-ranks run t.yml --cluster cluster.yml --output runs/json
expect_exit 0
cp .err json.log
run "$PY" - json.log runs/json <<'PY'
import glob, json, sys
want = {"slurm_job_id": "123", "slurm_array_job_id": "120", "slurm_array_task_id": "4",
        "slurm_nodelist": "node[01-02]"}
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) > 5, len(lines)
for l in lines:
    assert {k: l.get(k) for k in want} == want, l
assert {l["rank"] for l in lines} == {0, 1}, "both ranks logged"
metrics = [json.loads(l) for l in open(sys.argv[2] + "/example-events.jsonl")]
metrics = [m for m in metrics if m["event"] == "metric"]
assert metrics and all({k: m["labels"].get(k) for k in want} == want for m in metrics), metrics[:2]
proms = glob.glob(sys.argv[2] + "/maestro_*_rank*.prom")
assert len(proms) == 2, proms
for p in proms:
    # every series of the families only metric events feed (rank 1 sends throughput and
    # allreduce time); train_metric / val_metric also get the run end's final values, which
    # are not events and carry the run's labels only
    samples = [l for l in open(p) if l.startswith(("maestro_train_loss{",
               "maestro_samples_per_second{", "maestro_allreduce_seconds_total{"))]
    assert samples, p
    for s in samples:
        for k, v in want.items():
            assert '%s="%s"' % (k, v) in s, s
print("ok")
PY
expect_exit 0
expect_stdout "ok"

case_ "human logs say the Slurm job once; the secret is nowhere"
env "${SLURM_VARS[@]}" "$MAESTRO" run t.yml --cluster cluster.yml --output runs/human \
  > .out 2> .err
RC=$?
ERR=$(cat .err)
expect_exit 0
cp .err human.log
run grep -cF "under Slurm: slurm_job_id=123 slurm_array_job_id=120 slurm_array_task_id=4 slurm_nodelist=node[01-02]" human.log
[ "$OUT" = 1 ] && ok "said once" || fail "said $OUT times"
run grep -rlF -- "$SECRET" runs json.log human.log
[ -z "$OUT" ] && ok "no secret in the logs, metrics or files" || fail "secret found in: $OUT"

case_ "no Slurm: no labels, no Slurm line"
maestro --log-format json run t.yml --cluster cluster.yml --output runs/plain
expect_exit 0
expect_no_stderr "slurm"
run grep -c slurm runs/plain/example-events.jsonl
[ "$OUT" = 0 ] && ok "no slurm labels" || fail "$OUT lines with slurm labels"

# A run long enough that a signal lands mid-training.
"$MAESTRO" data synth --rows 20000 --features 16 --classes 2 --seed 9 -o big.h5 >/dev/null
cat > long.yml <<'YML'
kind: train
name: long
data: {path: big.h5, validation_split: 0.1}
model: {type: mlp, hidden: [64, 64], activation: tanh}
optimizer: {name: adam, lr: 0.001}
training: {epochs: 40, batch_size: 32, seed: 3, checkpoint_every: 0, eval_every: 300}
YML

case_ "uninterrupted reference run"
maestro run long.yml --output runs/ref
expect_exit 0

case_ "SIGTERM under Slurm checkpoints and exits 143"
env SLURM_JOB_ID=77 "$MAESTRO" run long.yml --output runs/stop > stop.log 2>&1 &
PID=$!
for _ in $(seq 1 200); do
  grep -q "training rows" stop.log 2>/dev/null && break
  sleep 0.05
done
sleep 0.3
kill -TERM "$PID"
wait "$PID"
RC=$?
ERR=$(cat stop.log)
cp stop.log .err
expect_exit 143
expect_stderr "stop signal received: checkpointed at step"

case_ "without SLURM_RESTART_COUNT the checkpoints still need --resume"
env SLURM_JOB_ID=77 "$MAESTRO" run long.yml --output runs/stop > .out 2> .err
RC=$?
expect_exit 2
expect_stderr "add --resume"

case_ "requeued (SLURM_RESTART_COUNT=1): resumes by itself, bitwise the uninterrupted result"
env SLURM_JOB_ID=77 SLURM_RESTART_COUNT=1 "$MAESTRO" run long.yml --output runs/stop > .out 2> .err
RC=$?
expect_exit 0
expect_stderr "under Slurm: slurm_job_id=77 (started again after a requeue)"
expect_stderr "SLURM_RESTART_COUNT=1: resuming from checkpoint runs/stop/checkpoints/ckpt-"
expect_stderr "resumed from runs/stop/checkpoints/ckpt-"
run "$PY" -c "
import h5py
a, b = h5py.File('runs/ref/run.h5'), h5py.File('runs/stop/run.h5')
for l in a['model']:
    for k in a['model'][l]:
        assert a['model'][l][k][()].tobytes() == b['model'][l][k][()].tobytes(), (l, k)
assert a['history/value'][()].tobytes() == b['history/value'][()].tobytes()
assert b.attrs['status'] == 'ok', b.attrs['status']
print('bitwise identical')"
expect_exit 0
expect_stdout "bitwise identical"

case_ "requeued with nothing to resume from: starts fresh"
env SLURM_JOB_ID=78 SLURM_RESTART_COUNT=2 "$MAESTRO" run t.yml --cluster cluster.yml \
  --output runs/fresh > .out 2> .err
RC=$?
expect_exit 0
expect_stderr "SLURM_RESTART_COUNT=2: nothing to resume from in runs/fresh; starting fresh"
expect_file runs/fresh/run.h5

case_ "requeued sweep: continues from its journal"
cat > sw.yml <<'YML'
kind: sweep
name: sw
objective: {metric: value, goal: minimize}
algorithm: {name: random, settings: {seed: 3}}
max_trials: 6
trial: {objective: branin}
YML
maestro run sw.yml --output runs/sw --set max_trials=3
expect_exit 0
env SLURM_JOB_ID=79 SLURM_RESTART_COUNT=1 "$MAESTRO" run sw.yml --output runs/sw > .out 2> .err
RC=$?
expect_exit 0
expect_stderr "SLURM_RESTART_COUNT=1: resuming from sweep journal runs/sw/sweep.h5"
maestro inspect runs/sw/sweep.h5 --json
printf '%s' "$OUT" > sw.json
run "$PY" -c "
import json; d = json.load(open('sw.json'))
assert len(d['trials']) == 6 and all(t['status'] == 'completed' for t in d['trials']), d['trials']
print('ok')"
expect_exit 0

finish
