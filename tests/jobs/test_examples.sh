#!/usr/bin/env bash
# test_examples.sh - every example spec under jobs/<kind>/ passes `maestro validate` (with the
# data it reads generated first, as its header comment says), and the example pipeline runs
# end to end on 2 ranks as `make demo` runs it.
. "$(dirname "$0")/../cli_lib.sh"
SRC=$MAESTRO_SOURCE_DIR
cd "$SRC" || exit 1
export MAESTRO_OUT="$WORK/out" MAESTRO_EVENTS="$WORK/events.h5" MAESTRO_LABELS="$WORK/labels.csv"
export MAESTRO_STORE="$WORK/store.h5" MAESTRO_TRAINSET="$WORK/train.h5"
export MAESTRO_DATA="$WORK/synth.h5" MAESTRO_REGISTRY_DIR="$WORK/registry"
CL=(--cluster /dev/null)

"$MAESTRO" data events --events 100000 --entities 2000 --labels 10000 --labels-out "$MAESTRO_LABELS" \
  -o "$MAESTRO_EVENTS" >/dev/null 2>&1 || { echo "FAIL - setup: events"; exit 1; }
"$MAESTRO" data synth --rows 2000 --features 16 --classes 3 -o "$MAESTRO_DATA" >/dev/null 2>&1 \
  || { echo "FAIL - setup: synth"; exit 1; }

case_ "the example pipeline runs end to end and registers the model"
mpi 2 run jobs/pipeline/example.yml "${CL[@]}"
expect_exit 0
expect_stderr "step register: ok"
expect_stderr "metrics: val_"
expect_file "$MAESTRO_REGISTRY_DIR/churn-mlp/versions/1/run.h5"

# The store and the training set exist now: every example can be checked.
for spec in jobs/*/example.yml jobs/validate/features.yml; do
  case_ "$spec passes maestro validate"
  maestro validate "$spec" "${CL[@]}"
  expect_exit 0
  expect_stdout "$spec: ok"
done
finish
