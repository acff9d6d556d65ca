#!/usr/bin/env bash
# demo.sh - the main job end to end on generated data (called by `make demo`):
# generate a dataset, check it and validate it on 2 ranks, train an MLP on 2 ranks, inspect
# the dataset and the trained run.
# Results go under out/demo/.
set -euo pipefail
maestro=${1:-build/maestro}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${DEMO_OUT:-out/demo}
np=${DEMO_NP:-2}
cd "$root"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpirun=(mpirun -np "$np" --oversubscribe)

step() { printf '\n== %s\n' "$*"; }
# The demo owns this folder: start clean, so a second `make demo` does not meet the first
# one's checkpoints (a fresh run refuses to mix with another run's).
rm -rf "$out"
mkdir -p "$out"

step "1. generate a dataset: 20000 rows x 16 features, 3 classes"
"$maestro" data synth --rows 20000 --features 16 --classes 3 --class-sep 2 --seed 7 \
    -o "$out/synth.h5"

step "2. read it back on $np ranks: every row once, values and labels checked"
"${mpirun[@]}" "$maestro" data check "$out/synth.h5"

step "3. run the validation job (jobs/validate/example.yml) on $np ranks"
"${mpirun[@]}" "$maestro" run jobs/validate/example.yml --set "data.path=$out/synth.h5" \
    --output "$out/validate"

step "4. train an MLP on $np ranks (jobs/train/example.yml, 3 epochs)"
"${mpirun[@]}" "$maestro" run jobs/train/example.yml --set "data.path=$out/synth.h5" \
    --set training.epochs=3 --set 'gates={val_accuracy: ">= 0.80"}' --output "$out/train"

step "5. inspect the dataset and the run"
"$maestro" inspect "$out/synth.h5"
"$maestro" inspect "$out/train/run.h5"

step "done"
echo "dataset:           $out/synth.h5   (maestro inspect $out/synth.h5 --json)"
echo "validation report: $out/validate/report.json"
echo "trained run:       $out/train/run.h5   (maestro inspect $out/train/run.h5 --json)"
echo "checkpoints:       $out/train/checkpoints/"
