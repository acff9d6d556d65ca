#!/usr/bin/env bash
# test_trainer.sh - jobs/train (trainer.c, state.c, spec.c) as a user runs it under mpirun:
# accuracy at 1, 2 and 3 ranks, loss agreement across rank counts, stop + resume bitwise,
# gates, divergence, and the bad inputs found once the ranks are known.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3

"$MAESTRO" data synth --rows 3000 --features 8 --classes 3 --class-sep 3 --seed 5 -o sep.h5 \
  >/dev/null || { echo "FAIL - setup: synth"; exit 1; }

cat > t.yml <<'YML'
kind: train
name: t
data: {path: sep.h5, validation_split: 0.2}
model: {type: mlp, hidden: [32], activation: relu}
optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
training: {epochs: 6, batch_size: 64, seed: 1, checkpoint_every: 0}
YML

# metric RUN_H5 NAME - print a final metric of a run
metric() { "$PY" -c "import h5py; print(h5py.File('$1')['final_metrics'].attrs['$2'])"; }

for np in 1 2 3; do
  case_ "train at np $np reaches val_accuracy >= 0.95"
  mpi $np run t.yml --output runs/np$np
  expect_exit 0
  expect_file runs/np$np/run.h5
  acc=$(metric runs/np$np/run.h5 val_accuracy)
  run "$PY" -c "assert $acc >= 0.95, $acc"
  [ "$RC" -eq 0 ] && ok "val_accuracy $acc" || fail "val_accuracy $acc < 0.95"
done

case_ "progress lines name epoch, loss, samples/s and ETA"
mpi 2 run t.yml --output runs/progress
expect_stderr "epoch 6/6 step 228/228 loss"
expect_stderr "samples/s"
expect_stderr "ETA"

case_ "2-rank final loss within 1% of the 1-rank one"
l1=$(metric runs/np1/run.h5 loss)
l2=$(metric runs/np2/run.h5 loss)
run "$PY" -c "assert abs($l2 - $l1) <= 0.01 * abs($l1), ($l1, $l2)"
[ "$RC" -eq 0 ] && ok "loss $l1 vs $l2" || fail "loss $l1 vs $l2 differ by more than 1%"

case_ "inspect run.h5 --json shows status, final metrics, history, provenance"
maestro inspect runs/np2/run.h5 --json
expect_exit 0
printf '%s' "$OUT" > run.json
run "$PY" -c "
import json; d = json.load(open('run.json'))
assert d['kind'] == 'run' and d['status'] == 'ok', d
assert d['final_metrics']['val_accuracy'] >= 0.95, d['final_metrics']
assert d['history_length'] > 0 and d['provenance']['ranks'] == '2', d
assert len(d['provenance']['dataset_sha256']) == 64
print('ok')"
expect_exit 0

# A longer run for stopping: big enough that a signal lands mid-training.
"$MAESTRO" data synth --rows 40000 --features 16 --classes 2 --seed 9 -o big.h5 >/dev/null
cat > long.yml <<'YML'
kind: train
name: long
data: {path: big.h5, validation_split: 0.1}
model: {type: mlp, hidden: [64, 64], activation: tanh}
optimizer: {name: adam, lr: 0.001}
schedule: {name: cosine, warmup_steps: 20}
training: {epochs: 24, batch_size: 32, seed: 3, checkpoint_every: 0, eval_every: 300}
YML

case_ "uninterrupted reference run"
mpi 2 run long.yml --output runs/ref
expect_exit 0

# stop_after SIGNAL TARGET - start the run in the background, wait until training runs, send
# SIGNAL to TARGET (mpirun or the ranks), wait for the exit code.
stop_run() {
  local sig=$1 target=$2 out=$3
  mpirun -np 2 --oversubscribe "$MAESTRO" run long.yml --output "$out" >"$out.log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 200); do
    grep -q "training rows" "$out.log" 2>/dev/null && break
    sleep 0.05
  done
  sleep 0.3
  # The ranks' command lines start with the binary; mpirun's with "mpirun" (a signal to mpirun
  # itself makes mpirun exit 1 whatever the ranks do).
  if [ "$target" = mpirun ]; then kill -"$sig" "$pid"; else pkill -"$sig" -f -- "^$MAESTRO run long.yml --output $out"; fi
  wait "$pid"
  RC=$?
  ERR=$(cat "$out.log")
  cp "$out.log" "$WORK/.err"
}

case_ "SIGTERM to the ranks checkpoints and exits 143"
stop_run TERM ranks runs/stop
expect_exit 143
expect_stderr "stop signal received: checkpointed at step"
run sh -c 'ls runs/stop/checkpoints | grep -c "^ckpt-.*\.h5$"'
[ "$OUT" -ge 1 ] && ok "checkpoint written" || fail "no checkpoint in runs/stop/checkpoints"
st=$("$PY" -c "import h5py; print(h5py.File('runs/stop/run.h5').attrs['status'])")
[ "$st" = preempted ] && ok "status preempted" || fail "status $st"

case_ "--resume finishes with bitwise-identical parameters and metrics"
mpi 2 run long.yml --output runs/stop --resume
expect_exit 0
expect_stderr "resumed from runs/stop/checkpoints/ckpt-"
run "$PY" -c "
import h5py, numpy as np
a, b = h5py.File('runs/ref/run.h5'), h5py.File('runs/stop/run.h5')
for l in a['model']:
    for k in a['model'][l]:
        x, y = a['model'][l][k][()], b['model'][l][k][()]
        assert x.tobytes() == y.tobytes(), (l, k)
fa, fb = dict(a['final_metrics'].attrs), dict(b['final_metrics'].attrs)
assert fa.keys() == fb.keys() and all(np.float64(fa[k]).tobytes() == np.float64(fb[k]).tobytes() for k in fa), (fa, fb)
assert a['history/value'][()].tobytes() == b['history/value'][()].tobytes()
print('bitwise identical')"
expect_exit 0
expect_stdout "bitwise identical"

case_ "SIGUSR1 to mpirun (forwarded to the ranks) also checkpoints"
stop_run USR1 mpirun runs/usr1
expect_exit 143
mpi 2 run long.yml --output runs/usr1 --resume
expect_exit 0

case_ "gates met: exit 0; not met: exit 3, status gate_failed"
mpi 2 run t.yml --output runs/gate_ok --set 'gates={val_accuracy: ">= 0.5"}'
expect_exit 0
mpi 2 run t.yml --output runs/gate_bad --set 'gates={val_accuracy: "> 1.0"}'
expect_exit 3
expect_stderr "quality gate not met: val_accuracy is"
st=$("$PY" -c "import h5py; print(h5py.File('runs/gate_bad/run.h5').attrs['status'])")
[ "$st" = gate_failed ] && ok "status gate_failed" || fail "status $st"

case_ "a gate on a metric the run does not produce is bad input"
maestro validate t.yml --set 'gates={val_acuracy: ">= 0.5"}'
expect_exit 2
expect_stderr "did you mean 'val_accuracy'?"

case_ "divergence: exit 1 naming the step, checkpoint kept"
"$MAESTRO" data synth --rows 2000 --features 8 --task regression --noise 1 -o reg.h5 >/dev/null
cat > div.yml <<'YML'
kind: train
data: {path: reg.h5, validation_split: 0.1}
model: {type: linreg}
optimizer: {name: sgd, lr: 9}
training: {epochs: 50, batch_size: 50, checkpoint_every: 1, checkpoint_keep: 1}
YML
mpi 2 run div.yml --output runs/div
expect_exit 1
expect_stderr "training diverged"
expect_stderr "at step"
run sh -c 'ls runs/div/checkpoints | grep -c "^ckpt-"'
[ "$OUT" = 1 ] && ok "last good checkpoint kept" || fail "checkpoints: $OUT"
st=$("$PY" -c "import h5py; print(h5py.File('runs/div/run.h5').attrs['status'])")
[ "$st" = failed ] && ok "status failed" || fail "status $st"

case_ "batch smaller than the rank count: exit 2, no output folder"
mpi 3 run t.yml --output runs/small_batch --set training.batch_size=2
expect_exit 2
expect_stderr "training.batch_size 2 is smaller than the 3 ranks"
expect_no_file runs/small_batch

case_ "regression data under a classification model"
maestro validate t.yml --set data.path=reg.h5 --set 'model={type: softmax}'
expect_exit 2
expect_stderr "is a classification model but reg.h5 holds regression targets"

case_ "validation labels outside the model's classes"
"$MAESTRO" data synth --rows 200 --features 8 --classes 5 -o five.h5 >/dev/null
maestro validate t.yml --set data.validation_path=five.h5 --set data.validation_split=0
expect_exit 2
expect_stderr "has class ids up to 4 but the model has 3 classes"

case_ "resume with a different feature count"
"$MAESTRO" data synth --rows 3000 --features 10 --classes 3 -o ten.h5 >/dev/null
mpi 1 run t.yml --output runs/ck --set training.checkpoint_every=50
expect_exit 0
mpi 1 run t.yml --output runs/ck --set data.path=ten.h5 --resume
expect_exit 2
expect_stderr "trained on 8 features, the data has 10"

case_ "a fresh run into a folder with another run's checkpoints is refused"
mpi 1 run t.yml --output runs/ck
expect_exit 2
expect_stderr "holds checkpoints of an earlier run"
expect_stderr "add --resume"

case_ "resuming with another optimiser setting is refused"
mpi 1 run t.yml --output runs/ck --resume --set optimizer.lr=0.2
expect_exit 2
expect_stderr "cannot resume: the checkpoint was made with"
expect_stderr "lr 0.1"

case_ "resuming a checkpoint at the last step reports the final metrics again"
mpi 2 run t.yml --output runs/last --set training.checkpoint_every=228
expect_exit 0
before=$(metric runs/last/run.h5 val_accuracy)
mpi 2 run t.yml --output runs/last --resume --set 'gates={val_accuracy: ">= 0.9"}'
expect_exit 0
after=$(metric runs/last/run.h5 val_accuracy)
[ "$before" = "$after" ] && ok "val_accuracy $after kept" || fail "val_accuracy $before became $after"

case_ "early stopping on val_accuracy defaults to mode max"
# In min mode the first rise of accuracy would count as "no improvement" and stop at step 10.
mpi 1 run t.yml --output runs/es --set 'training.early_stopping={metric: val_accuracy, patience: 2}' \
  --set training.eval_every=5 --set training.epochs=2 --set optimizer.lr=0.01
expect_exit 0
steps=$("$PY" -c "import h5py; print(h5py.File('runs/es/run.h5')['provenance'].attrs['steps'])")
[ "$steps" -gt 10 ] && ok "trained $steps steps" || fail "stopped at step $steps"

case_ "--resume with no checkpoint"
mpi 1 run t.yml --output runs/none --resume
expect_exit 2
expect_stderr "no checkpoint in"

case_ "activation on a linear model is bad input"
maestro validate t.yml --set 'model={type: softmax, activation: tanh}'
expect_exit 2
expect_stderr "model.activation applies to type mlp only"

finish
