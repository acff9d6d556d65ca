#!/usr/bin/env bash
# gpu-check.sh - the GPU checks of the CUDA backend, in one go, on a machine with a GPU
#
# Runs from the repository root of a copy that carries .gpu/bundle.tar.xz (scripts/gpu-bundle.sh
# made from a CUDA build with the test executables below): installs the bundle, then
#   1. maestro version (the GPUs it sees);
#   2. tests/kernels/test_cuda_backend.c: every CUDA op against the CPU backend;
#   3. tests/comm/test_devcomm_mpi.c at 2 ranks;
#   4. tests/jobs/test_train_cuda.sh: GPU vs CPU training at 1 and 2 ranks, TF32, GPU<->CPU
#      checkpoints;
#   5. bench/train_gpu.sh (unless BENCH=0): samples/s against PyTorch, TFLOP/s against SGEMM.
# Logs go to $OUT (default out/gpu-check). Exit status: the number of failed steps.
#
# usage: scripts/gpu-check.sh          env: OUT, BUILD (default build), BENCH (1), ROWS
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/gpu-check}
build=${BUILD:-build}
mkdir -p "$out"
bash scripts/gpu-unpack.sh .gpu/bundle.tar.xz >"$out/unpack.log" 2>&1 || {
  tail -30 "$out/unpack.log"
  exit 1
}
# shellcheck disable=SC1091 # written by gpu-unpack.sh
source /tmp/gpu-env.sh
export MAESTRO_SOURCE_DIR=$PWD
failed=0
step() { printf '\n== %s\n' "$*"; }
note() { [ "$1" -eq 0 ] && echo "-- ok" || { echo "-- FAILED (exit $1)"; failed=$((failed + 1)); }; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$MAESTRO" version
note $?

step "kernels/test_cuda_backend"
"$build/tests/kernels_test_cuda_backend" >"$out/cuda_backend.log" 2>&1
rc=$?
grep -E "skipped|rel err|param|FAIL|asserts|tests " "$out/cuda_backend.log"
note $rc

step "comm/test_devcomm_mpi at 2 ranks"
mpirun -np 2 --oversubscribe "$build/tests/comm_test_devcomm_mpi" >"$out/devcomm.log" 2>&1
rc=$?
grep -E "asserts|tests " "$out/devcomm.log" | head -2
note $rc

step "jobs/test_train_cuda.sh"
bash tests/jobs/test_train_cuda.sh >"$out/train_cuda.log" 2>&1
rc=$?
grep -vE "^ok " "$out/train_cuda.log" | tail -40
note $rc

if [ "${BENCH:-1}" != 0 ]; then
  step "bench/train_gpu.sh"
  bench/train_gpu.sh "$out/bench" >"$out/bench.log" 2>&1
  rc=$?
  tail -40 "$out/bench.log"
  note $rc
fi
echo
echo "gpu-check: $failed step(s) failed"
exit "$failed"
