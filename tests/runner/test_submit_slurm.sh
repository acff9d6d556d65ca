#!/usr/bin/env bash
# test_submit_slurm.sh - `maestro submit --target slurm` and `maestro status` against a real
# single-node Slurm (scripts/services/slurm.sh: munged, slurmctld, slurmd in a temp folder):
# a tiny train run completes and writes run.h5; a longer one requeued with `scontrol requeue`
# mid-training resumes from its checkpoint by itself (runner/slurm_env.c); and sbatch itself
# reads a nasty job name and launch line literally. Where Slurm cannot run here (not root, packages missing, daemons that
# do not start) the test says why and skips; every daemon is stopped at the end.
. "$(dirname "$0")/../cli_lib.sh"
SRC=$MAESTRO_SOURCE_DIR
SLURM_DIR="$WORK/slurm"
skip() {
  echo "SKIP - real Slurm submission: $*"
  finish
  exit $?
}
trap '"$SRC/scripts/services/slurm.sh" stop "$SLURM_DIR" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

[ "$(id -u)" -eq 0 ] || skip "needs root to start slurmd"
for c in sbatch squeue scontrol slurmctld slurmd munged; do
  command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] ||
    skip "$c is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done
if ! "$SRC/scripts/services/slurm.sh" start "$SLURM_DIR" > slurm-start.log 2>&1; then
  skip "the single-node cluster did not start: $(tail -n 3 slurm-start.log | tr '\n' ' ')"
fi
export SLURM_CONF="$SLURM_DIR/slurm.conf"

# wait_job JOB - poll `maestro status JOB` until a terminal state (120 s at most); sets STATE
wait_job() {
  local deadline=$(($(date +%s) + 120))
  STATE=""
  while (($(date +%s) < deadline)); do
    "$MAESTRO" status "$1" > status.out 2>&1
    STATE=$(sed -n 's/^job [0-9_]*: \([A-Z_]*\).*/\1/p' status.out)
    case "$STATE" in
    PENDING | RUNNING | CONFIGURING | COMPLETING | REQUEUED | "") sleep 0.3 ;;
    *) return 0 ;;
    esac
  done
}

"$MAESTRO" data synth --rows 2000 --features 8 --classes 2 --seed 4 -o d.h5 >/dev/null ||
  fail "setup: synth"
cat > t.yml <<'YML'
kind: train
name: t
data: {path: d.h5, validation_split: 0.2}
model: {type: mlp, hidden: [8], activation: relu}
optimizer: {name: sgd, lr: 0.1}
training: {epochs: 2, batch_size: 64, seed: 1, checkpoint_every: 0}
YML
cat > cluster.yml <<'YML'
launch:
  slurm: {nodes: 1, ntasks_per_node: 2, cpus_per_task: 1, time: "00:10:00", partition: debug}
YML

case_ "a train spec submitted to Slurm completes and writes run.h5"
maestro submit t.yml --target slurm --cluster cluster.yml
expect_exit 0
expect_stdout "submitted batch job "
JOB=$(sed -n 's/^submitted batch job \([0-9]*\)$/\1/p' <<<"$OUT")
if [ -n "$JOB" ]; then
  wait_job "$JOB"
  [ "$STATE" = COMPLETED ] && ok "job $JOB COMPLETED" ||
    { OUT=$(cat status.out "runs/t/slurm-$JOB.err" 2>/dev/null | tail -n 20); fail "job $JOB ended $STATE"; }
  expect_file runs/t/run.h5
  expect_file "runs/t/slurm-$JOB.out"
  maestro status "$JOB"
  expect_exit 0
  expect_stdout "job $JOB: COMPLETED (exit 0:0)"
  run grep -c "run t (kind train) on 2 ranks" "runs/t/slurm-$JOB.err"
  [ "$OUT" = 1 ] && ok "ran on 2 ranks" || fail "rank line count: $OUT"
fi

case_ "a job requeued mid-training resumes from its checkpoint by itself"
"$MAESTRO" data synth --rows 40000 --features 16 --classes 2 --seed 4 -o long.h5 >/dev/null
cat > long.yml <<'YML'
kind: train
name: long
data: {path: long.h5, validation_split: 0.1}
model: {type: mlp, hidden: [64, 64], activation: tanh}
optimizer: {name: adam, lr: 0.001}
training: {epochs: 6, batch_size: 32, seed: 3, checkpoint_every: 200}
YML
maestro submit long.yml --target slurm --cluster cluster.yml
expect_exit 0
JOB=$(sed -n 's/^submitted batch job \([0-9]*\)$/\1/p' <<<"$OUT")
if [ -n "$JOB" ]; then
  for _ in $(seq 1 300); do # training under way: its first checkpoint is there
    ls runs/long/checkpoints 2>/dev/null | grep -q 'ckpt-.*\.h5$' && break
    sleep 0.2
  done
  # Slurm stops the job (SIGTERM: every rank checkpoints) and queues it again; its begin time
  # is then a little in the future, which the test does not wait for.
  run scontrol requeue "$JOB"
  expect_exit 0
  sleep 1
  scontrol update JobId="$JOB" StartTime=now >/dev/null 2>&1
  wait_job "$JOB"
  [ "$STATE" = COMPLETED ] && ok "job $JOB COMPLETED after the requeue" || fail "job $JOB ended $STATE"
  run grep -c "SLURM_RESTART_COUNT=1: resuming from checkpoint runs/long/checkpoints/ckpt-" \
    "runs/long/slurm-$JOB.err"
  [ "$OUT" = 1 ] && ok "resumed by itself" || fail "no resume line in slurm-$JOB.err"
  run "$MAESTRO" inspect runs/long/run.h5 --json
  grep -q '"status": "ok"' "$WORK/.out" && ok "run.h5 status ok" || fail "run.h5: $OUT"
fi

case_ "status of a job Slurm does not know"
maestro status 999999
expect_exit 2
expect_stderr "Slurm knows no job 999999"

case_ "sbatch reads a nasty job name and launch line literally"
NASTY_NAME="it's \"q\" \$(touch pwned-name) a  b"
mkdir -p bin
cat > bin/fake-maestro <<'SH'
#!/bin/bash
printf '%s\n' "$@" > "$(dirname "$0")/../args"
SH
chmod +x bin/fake-maestro
python3 - n.yml "$NASTY_NAME" <<'PY'
import json, sys
open(sys.argv[1], "w").write("kind: train\nname: %s\n" % json.dumps(sys.argv[2]))
PY
printf 'launch:\n  slurm: {ntasks_per_node: 1, maestro: "%s"}\n' "$WORK/bin/fake-maestro" > fake.yml
maestro submit n.yml --target slurm --cluster fake.yml --set "x=\$(touch pwned-set)'"
expect_exit 0
JOB=$(sed -n 's/^submitted batch job \([0-9]*\)$/\1/p' <<<"$OUT")
if [ -n "$JOB" ]; then
  wait_job "$JOB"
  [ "$STATE" = COMPLETED ] && ok "job $JOB COMPLETED" || fail "job $JOB ended $STATE"
  run squeue -h -t all -j "$JOB" -o %j
  [ "$OUT" = "$NASTY_NAME" ] && ok "job name literal" || fail "job name: [$OUT]"
  printf '%s\n' run "$WORK/n.yml" --cluster "$WORK/fake.yml" --set "x=\$(touch pwned-set)'" > want.args
  run diff -u want.args args
  expect_exit 0
  run find "$WORK" -name 'pwned*'
  [ -z "$OUT" ] && ok "no command substitution ran" || fail "ran: $OUT"
fi

finish
