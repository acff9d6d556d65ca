#!/usr/bin/env bash
# demo.sh - the nightly pipeline end to end on generated data (called by `make demo`):
# generate events and labels, then one MPI job on 2 ranks runs jobs/pipeline/example.yml:
# features -> validation -> point-in-time training set -> training -> registration in the
# embedded model registry when the gates pass. Results go under out/demo/.
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
# one's journal and checkpoints (a fresh run refuses to mix with another run's).
rm -rf "$out"
mkdir -p "$out/data"
# Where the example specs read and write (their ${env:...} defaults point at data/ and runs/).
export MAESTRO_OUT="$out" MAESTRO_EVENTS="$out/data/events.h5" MAESTRO_LABELS="$out/data/labels.csv"
export MAESTRO_STORE="$out/features/store.h5" MAESTRO_TRAINSET="$out/data/train.h5"
export MAESTRO_REGISTRY_DIR="$out/registry"

step "1. generate 200,000 events of 5,000 customers over 30 days, and 20,000 labelled rows"
"$maestro" data events --events 200000 --entities 5000 --labels 20000 \
    --labels-out "$MAESTRO_LABELS" --seed 7 -o "$MAESTRO_EVENTS"

step "2. the nightly pipeline on $np ranks (jobs/pipeline/example.yml)"
"${mpirun[@]}" "$maestro" run jobs/pipeline/example.yml --cluster /dev/null

step "3. what it made"
"$maestro" inspect "$MAESTRO_STORE"
"$maestro" inspect "$out/churn-mlp/run.h5"
"$maestro" registry show churn-mlp@production

step "done"
echo "feature store:     $MAESTRO_STORE   (maestro features export ... --view customer_activity)"
echo "training set:      $MAESTRO_TRAINSET"
echo "trained run:       $out/churn-mlp/run.h5"
echo "registered model:  churn-mlp@production in $MAESTRO_REGISTRY_DIR"
echo "pipeline journal:  $out/nightly/pipeline.json"
