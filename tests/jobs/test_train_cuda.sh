#!/usr/bin/env bash
# test_train_cuda.sh - `device: cuda | auto` in jobs/train (trainer.c, device.c, spec.c) and the
# CUDA backend seen from the CLI. Everywhere: what a build without CUDA, or a CUDA build on a
# machine without a GPU, answers (exit 2, nothing written) and that `auto` trains on the CPU.
# Where a GPU is visible: GPU training against the CPU at 1 and 2 ranks (final loss within
# 1e-3 relative), the device cache against host-fed batches, the allreduce methods, TF32, and
# checkpoints that move between GPU and CPU.
# The GPU cases print why they skip when no GPU is visible.
. "$(dirname "$0")/../cli_lib.sh"

"$MAESTRO" data synth --rows 4000 --features 16 --classes 4 --class-sep 2 --seed 3 -o d.h5 \
  >/dev/null || { echo "FAIL - setup: synth"; exit 1; }

cat > t.yml <<'YML'
kind: train
name: t
data: {path: d.h5, validation_split: 0.2}
model: {type: mlp, hidden: [64, 32], activation: relu}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
training: {epochs: 2, batch_size: 128, seed: 1, checkpoint_every: 0}
YML

# field RUN_H5 EXPR - a value from `maestro inspect --json` (d is the parsed object)
field() {
  "$MAESTRO" inspect "$1" --json | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)"
}
# close A B TOL - |A - B| <= TOL * |B|
close() { python3 -c "import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(abs(a - b) > t * abs(b))" "$@"; }

state=$("$MAESTRO" version --json | python3 -c "
import json, sys
c = json.load(sys.stdin)['cuda']
print('gpu' if c['devices'] else 'nogpu' if c['backend'] else 'nobuild')")
echo "CUDA here: $state"

case_ "device: auto trains on what this machine has"
mpi 1 run t.yml --set device=auto --output runs/auto
expect_exit 0
dev=$(field runs/auto/run.h5 "d['provenance']['device']")
want=cpu; [ "$state" = gpu ] && want=cuda
[ "$dev" = "$want" ] && ok "auto chose $dev" || fail "auto chose '$dev', expected $want"

case_ "precision: tf32 on device: cpu is bad input"
maestro validate t.yml --set device=cpu --set precision=tf32
expect_exit 2
expect_stderr "precision=tf32"
expect_stderr "precision tf32 needs device: cuda"

case_ "an unknown device lists the known ones"
maestro validate t.yml --set device=tpu
expect_exit 2
expect_stderr "cpu, cuda, auto"

case_ "data.device_cache takes auto, on or off"
maestro validate t.yml --set data.device_cache=maybe
expect_exit 2
expect_stderr "device_cache"

case "$state" in
nobuild)
  case_ "device: cuda in a build without CUDA"
  mkdir -p empty && cd empty
  run "$MAESTRO" run ../t.yml --set device=cuda --output runs/x
  expect_exit 2
  expect_stderr "built without CUDA"
  expect_one_line
  cd .. && expect_dir_empty empty
  ;;
nogpu)
  case_ "device: cuda in a CUDA build on a machine without a GPU"
  mkdir -p empty && cd empty
  run "$MAESTRO" run ../t.yml --set device=cuda --output runs/x
  expect_exit 2
  expect_stderr "no CUDA device visible"
  expect_one_line
  cd .. && expect_dir_empty empty
  ;;
esac
if [ "$state" != nobuild ]; then
  case_ "the CUDA module (maestro-cuda.so) missing: the reason, exit 2"
  MAESTRO_CUDA_MODULE=$WORK/none.so run "$MAESTRO" run t.yml --set device=cuda --output runs/nomod
  expect_exit 2
  expect_stderr "the CUDA module maestro-cuda.so was not found"
  expect_one_line
  printf 'not an ELF file\n' > bad.so
  MAESTRO_CUDA_MODULE=$WORK/bad.so run "$MAESTRO" run t.yml --set device=cuda --output runs/badmod
  expect_exit 2
  expect_stderr "cannot load $WORK/bad.so"
  case_ "a CPU run never loads the CUDA module (~210 MiB a process)"
  run /usr/bin/time -f "maxrss %M" "$MAESTRO" run t.yml --set device=cpu --output runs/cpu-rss
  expect_exit 0
  kib=$(sed -n 's/^maxrss //p' "$WORK/.err")
  [ -n "$kib" ] && [ "$kib" -lt 120000 ] && ok "peak RSS $kib KiB" || fail "peak RSS ${kib:-?} KiB"
fi

if [ "$state" != gpu ]; then
  echo "skip: GPU training cases (CPU vs GPU loss, allreduce methods, TF32, GPU<->CPU" \
    "checkpoints): no CUDA device visible here ($state)"
  finish
  exit $?
fi

for np in 1 2; do
  case_ "GPU training at np $np matches the CPU within 1e-3"
  mpi $np run t.yml --set device=cpu --output runs/cpu$np
  expect_exit 0
  mpi $np run t.yml --set device=cuda --output runs/gpu$np
  expect_exit 0
  expect_stderr "device cuda:"
  expect_stderr "gradient allreduce"
  lc=$(field runs/cpu$np/run.h5 "d['final_metrics']['loss']")
  lg=$(field runs/gpu$np/run.h5 "d['final_metrics']['loss']")
  close "$lg" "$lc" 1e-3 && ok "loss gpu $lg cpu $lc" || fail "loss gpu $lg vs cpu $lc"
  ac=$(field runs/gpu$np/run.h5 "d['final_metrics']['val_accuracy']")
  close "$ac" "$(field runs/cpu$np/run.h5 "d['final_metrics']['val_accuracy']")" 0.02 &&
    ok "val_accuracy $ac" || fail "val_accuracy $ac differs from the CPU's"
done

case_ "rows cached on the GPU (the default here) and rows copied from the host agree bit for bit"
mpi 1 run t.yml --set device=cuda --set data.device_cache=on --output runs/cached
expect_exit 0
expect_stderr "training rows cached in device memory"
mpi 1 run t.yml --set device=cuda --set data.device_cache=off --output runs/hostfed
expect_exit 0
expect_stderr "batches copied from host memory"
l1=$(field runs/cached/run.h5 "d['final_metrics']['loss']")
l2=$(field runs/hostfed/run.h5 "d['final_metrics']['loss']")
[ "$l1" = "$l2" ] && ok "loss $l1 both ways" || fail "cached $l1 vs host-fed $l2"

case_ "the staged allreduce, forced, gives the same result"
MAESTRO_ALLREDUCE=staged mpi 2 run t.yml --set device=cuda --output runs/staged
expect_exit 0
expect_stderr "gradient allreduce staged"
ls_=$(field runs/staged/run.h5 "d['final_metrics']['loss']")
close "$ls_" "$lc" 1e-3 && ok "loss $ls_" || fail "staged loss $ls_ vs cpu $lc"

ngpu=$("$MAESTRO" version --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['cuda']['devices']))")
if [ "$ngpu" -lt 2 ]; then
  case_ "NCCL forced with two ranks on one GPU is refused, not hung"
  MAESTRO_ALLREDUCE=nccl mpi 2 run t.yml --set device=cuda --output runs/crowded
  expect_exit 4
  expect_stderr "NCCL needs one GPU per rank"
fi

case_ "TF32 trains and stays near fp32"
mpi 1 run t.yml --set device=cuda --set precision=tf32 --output runs/tf32
expect_exit 0
expect_stderr "TF32 matrix products"
lt=$(field runs/tf32/run.h5 "d['final_metrics']['loss']")
close "$lt" "$lg" 2e-2 && ok "tf32 loss $lt" || fail "tf32 loss $lt vs fp32 $lg"

case_ "a GPU run stopped at step 30 resumes on the GPU to the same result"
mpi 1 run t.yml --set device=cuda --set training.checkpoint_every=10 --set training.max_steps=30 \
  --output runs/gg
expect_exit 0
mpi 1 run t.yml --set device=cuda --set training.checkpoint_every=10 --output runs/gg --resume
expect_exit 0
lr_=$(field runs/gg/run.h5 "d['final_metrics']['loss']")
lu=$(field runs/gpu1/run.h5 "d['final_metrics']['loss']")
[ "$lr_" = "$lu" ] && ok "bitwise: $lr_" || {
  close "$lr_" "$lu" 1e-6 && ok "within 1e-6: $lr_ vs $lu" || fail "resumed $lr_ vs $lu"; }

case_ "a GPU checkpoint resumes on the CPU, and a CPU one on the GPU"
mpi 1 run t.yml --set device=cuda --set training.checkpoint_every=10 --set training.max_steps=30 \
  --output runs/gc
mpi 1 run t.yml --set device=cpu --set training.checkpoint_every=10 --output runs/gc --resume
expect_exit 0
expect_stderr "resumed from"
lx=$(field runs/gc/run.h5 "d['final_metrics']['loss']")
close "$lx" "$lc" 1e-3 && ok "gpu->cpu $lx" || fail "gpu->cpu $lx vs cpu $lc"
mpi 1 run t.yml --set device=cpu --set training.checkpoint_every=10 --set training.max_steps=30 \
  --output runs/cg
mpi 1 run t.yml --set device=cuda --set training.checkpoint_every=10 --output runs/cg --resume
expect_exit 0
lx=$(field runs/cg/run.h5 "d['final_metrics']['loss']")
close "$lx" "$lc" 1e-3 && ok "cpu->gpu $lx" || fail "cpu->gpu $lx vs cpu $lc"

finish
