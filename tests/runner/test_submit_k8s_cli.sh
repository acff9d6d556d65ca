#!/usr/bin/env bash
# test_submit_k8s_cli.sh - `maestro submit --target kubernetes` (runner/cmd_submit.c,
# runner/submit_k8s.c) as a user runs it: the documents on stdout and with -o, checked against
# the MPIJob CRD's schema; a spec name with quotes, spaces and $(...) kept literal; --apply
# through kubectl, and without it.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3
CRD="$MAESTRO_SOURCE_DIR/../shared/schemas/mpijob-v2beta1-crd.yaml"
[ -r "$CRD" ] || CRD=/work/shared/schemas/mpijob-v2beta1-crd.yaml

# check_docs FILE NAME - two documents, the MPIJob valid against the CRD, NAME in the annotation
check_docs() {
  run "$PY" - "$1" "$CRD" "$2" <<'PYEOF'
import sys, yaml, jsonschema
path, crd_path, name = sys.argv[1:4]
docs = [d for d in yaml.safe_load_all(open(path, encoding='utf-8')) if d]
assert [d['kind'] for d in docs] == ['ConfigMap', 'MPIJob'], docs
crd = [d for d in yaml.safe_load_all(open(crd_path)) if d][0]
v = [v for v in crd['spec']['versions'] if v['name'] == 'v2beta1'][0]
jsonschema.validate(docs[1], v['schema']['openAPIV3Schema'])
assert docs[1]['metadata']['annotations']['maestro.dev/spec-name'] == name
print(docs[1]['metadata']['name'])
PYEOF
}

cat > cluster.yml <<'YML'
name: test
launch:
  kubernetes: {namespace: ml, image: "maestro:1", workers: 2, slots_per_worker: 4, gpus_per_worker: 1}
services:
  mlflow: {url: "http://mlflow:5000", token: "${secret:mlflow/token}"}
secrets: {providers: [env]}
YML
export MAESTRO_SECRET_MLFLOW_TOKEN=do-not-print-me
NAME='it'"'"'s "x" $(touch pwned) a b'
cat > spec.yml <<YML
kind: train
name: 'it''s "x" \$(touch pwned) a b'
data: {path: data/x.h5}
model: {type: logreg}
YML

case_ "stdout: a ConfigMap and an MPIJob that the CRD accepts"
maestro submit spec.yml --target kubernetes --cluster cluster.yml
expect_exit 0
cp "$WORK/.out" stdout.yaml
check_docs stdout.yaml "$NAME"
expect_exit 0
case "$OUT" in maestro-it-s-x-touch-pwned-a-b-????????) ok "DNS-1123 name $OUT" ;; *) fail "name $OUT" ;; esac
expect_no_file pwned
grep -qF do-not-print-me stdout.yaml && fail "secret value in the output" || ok "no secret value"
grep -qF '"mpirun"' stdout.yaml && grep -qF '"8"' stdout.yaml && ok "mpirun -np 8" || fail "np"
grep -qF 'secretKeyRef' stdout.yaml && ok "secretKeyRef" || fail "no secretKeyRef"

case_ "-o FILE writes the same documents"
maestro submit spec.yml --target kubernetes --cluster cluster.yml -o job.yaml
expect_exit 0
run cmp job.yaml stdout.yaml
expect_exit 0

case_ "--apply without kubectl on PATH: exit 1, one clear line"
mkdir -p empty
PATH="$WORK/empty" run "$MAESTRO" submit spec.yml --target kubernetes --cluster cluster.yml --apply
expect_exit 1
expect_stderr "kubectl, which is not on PATH"

case_ "--apply pipes the documents to kubectl apply -f -"
mkdir -p bin
printf '#!/bin/sh\nprintf "%%s\\n" "$@" > "%s/args"\n/bin/cat > "%s/applied.yaml"\n' "$WORK" "$WORK" > bin/kubectl
chmod +x bin/kubectl
PATH="$WORK/bin:$PATH" run "$MAESTRO" submit spec.yml --target kubernetes --cluster cluster.yml --apply
expect_exit 0
run cmp applied.yaml stdout.yaml
expect_exit 0
[ "$(tr '\n' ' ' < args)" = "apply -f - " ] && ok "kubectl apply -f -" || fail "args: $(cat args)"

finish
