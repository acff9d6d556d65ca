#!/usr/bin/env bash
# test_spec_errors.sh - bad specs and cluster files: exit 2, one line with file:line:col,
# and nothing written (no output folder, no temp files).
. "$(dirname "$0")/../cli_lib.sh"

"$MAESTRO" data synth --rows 300 --features 4 --classes 3 -o data.h5 >/dev/null 2>&1 ||
  { echo "FAIL - setup: data synth failed"; exit 1; }
mkdir specs

good='kind: validate
name: checks
data: {path: data.h5}
checks:
  - {check: row_count, min: 10}
output: out/checks
'
printf '%s' "$good" > specs/good.yml

# bad NAME 'yaml text' 'expected message fragment'
bad() {
  local name=$1 text=$2 want=$3
  case_ "$name"
  printf '%s' "$text" > "specs/$name.yml"
  maestro validate "specs/$name.yml"
  expect_exit 2
  expect_stderr "$want"
  expect_one_line
  maestro run "specs/$name.yml"
  expect_exit 2
  expect_stderr "$want"
  expect_no_file out
}

case_ "a good spec validates and writes nothing"
maestro validate specs/good.yml
expect_exit 0
expect_stdout "specs/good.yml: ok (kind validate, name checks, output out/checks"
expect_no_file out

bad bad_indent 'kind: validate
data:
  path: data.h5
 checks: []
' "specs/bad_indent.yml:4:"

bad tab $'kind: validate\ndata:\n\tpath: data.h5\n' "specs/tab.yml:3:"
bad unclosed_quote 'kind: validate
name: "checks
data: {path: data.h5}
' "specs/unclosed_quote.yml:"

bad unknown_key "${good}chekcs_extra: 1
" "specs/unknown_key.yml:7:1: unknown key 'chekcs_extra'"

bad unknown_nested_key 'kind: validate
data: {path: data.h5}
checks:
  - {check: row_count, minn: 10}
' "specs/unknown_nested_key.yml:4:24: unknown key 'minn' in checks[0]; did you mean 'min'?"

bad wrong_type 'kind: validate
data: {path: data.h5}
checks:
  - {check: row_count, min: lots}
' "specs/wrong_type.yml:4:29: checks[0].min must be an integer >= 0, got \"lots\""

bad missing_required 'kind: validate
checks:
  - {check: row_count, min: 10}
' "missing required key 'data'"

bad out_of_range 'kind: validate
data: {path: data.h5}
checks:
  - {check: class_balance, min_fraction: 1.5}
' "specs/out_of_range.yml:4:42: checks[0].min_fraction must be a number"

bad unknown_kind 'kind: trian
' "specs/unknown_kind.yml:1:7: unknown kind 'trian' (kinds: train, sweep, materialize, dataset, validate, pipeline); did you mean 'train'?"

bad missing_kind 'name: x
' "missing required key 'kind'"

bad bad_name 'kind: validate
name: "has space"
' "specs/bad_name.yml:2:7: name must be"

bad dataset_missing 'kind: validate
data: {path: nowhere.h5}
checks: [{check: row_count}]
' "specs/dataset_missing.yml:2:14: data.path: nowhere.h5"

bad env_unset 'kind: validate
data: {path: "${env:MAESTRO_TEST_SURELY_UNSET}"}
checks: [{check: row_count}]
' "MAESTRO_TEST_SURELY_UNSET"

case_ "env default applies"
printf 'kind: validate\ndata: {path: "${env:MAESTRO_TEST_SURELY_UNSET:-data.h5}"}\nchecks: [{check: row_count}]\n' > specs/env_default.yml
maestro validate specs/env_default.yml
expect_exit 0

case_ "spec missing"
maestro validate specs/nope.yml
expect_exit 2
expect_stderr "specs/nope.yml"
expect_one_line

case_ "spec unreadable (a folder)"
maestro validate specs
expect_exit 2
expect_stderr "specs"
expect_one_line

case_ "--set on an unknown path"
maestro run specs/good.yml --set name=fine --set data.pth=x.h5
expect_exit 2
expect_stderr "--set data.pth=x.h5: unknown key 'pth' in data; did you mean 'path'?"
expect_one_line
expect_no_file out

case_ "--set with a bad value is checked like the file"
maestro validate specs/good.yml --set name=bad/name
expect_exit 2
expect_stderr "--set name=bad/name: name must be"

case_ "--set overrides a value"
maestro validate specs/good.yml --set name=renamed
expect_exit 0
expect_stdout "name renamed"

case_ "cluster.yml: unknown key with suggestion"
printf 'name: c\nlaunch:\n  local: {np: 2, mpirun_arg: []}\n' > c1.yml
maestro validate --cluster c1.yml
expect_exit 2
expect_stderr "c1.yml:3:18: unknown key 'mpirun_arg' in launch.local; did you mean 'mpirun_args'?"
expect_one_line

case_ "cluster.yml: number out of range"
printf 'launch:\n  local: {np: 0}\n' > c2.yml
maestro validate --cluster c2.yml
expect_exit 2
expect_stderr "c2.yml:2:15: launch.local.np must be an integer"

case_ "cluster.yml: bad slurm time and url"
printf 'launch:\n  slurm: {time: "1h"}\n' > c3.yml
maestro validate --cluster c3.yml
expect_exit 2
expect_stderr "c3.yml:2:17: launch.slurm.time must be a Slurm time limit"
printf 'services:\n  mlflow: {url: "ftp://x"}\n' > c4.yml
maestro validate --cluster c4.yml
expect_exit 2
expect_stderr "c4.yml:2:17: services.mlflow.url must be an http(s) URL"

case_ "cluster.yml: a secret in a service section resolves, and is never printed"
printf 'services:\n  mlflow: {url: "http://127.0.0.1:5", token: "${secret:mlflow/token}"}\nsecrets: {providers: [env]}\n' > c6.yml
MAESTRO_SECRET_MLFLOW_TOKEN=hunter2-token maestro validate --cluster c6.yml
expect_exit 0
maestro validate --cluster c6.yml
expect_exit 2
expect_stderr "c6.yml:2:"
expect_stderr "secret 'mlflow/token' not found (looked in: env MAESTRO_SECRET_MLFLOW_TOKEN)"

case_ "cluster.yml: a service setting nobody reads is an unknown key"
printf 'services:\n  loki: {url: "http://l:1", tenat: a}\n' > c7.yml
maestro validate --cluster c7.yml
expect_exit 2
expect_stderr "unknown key 'tenat' in services.loki; did you mean 'tenant'?"

case_ "cluster.yml of the repository is valid"
maestro validate --cluster "$MAESTRO_SOURCE_DIR/cluster.yml"
expect_exit 0
expect_stdout "ok (cluster 'ml-platform')"

case_ "bad cluster.yml fails a run before anything is written"
maestro run specs/good.yml --cluster c2.yml
expect_exit 2
expect_no_file out

case_ "secret from a file is used and never printed"
mkdir -p secrets
printf 'hunter2-data.h5\n' > secrets/dataset-path
printf 'secrets: {providers: [env, files], files_dir: secrets}\n' > c5.yml
printf 'kind: validate\ndata: {path: "${secret:dataset-path}"}\nchecks: [{check: row_count}]\n' > specs/secret.yml
maestro validate specs/secret.yml --cluster c5.yml
expect_exit 2
expect_no_stderr "hunter2"
expect_stderr "***"

case_ "secret not found names where it looked"
printf 'kind: validate\ndata: {path: "${secret:nope}"}\nchecks: [{check: row_count}]\n' > specs/nosecret.yml
maestro validate specs/nosecret.yml --cluster c5.yml
expect_exit 2
expect_stderr "specs/nosecret.yml:2:"
expect_stderr "secret 'nope' not found (looked in: env MAESTRO_SECRET_NOPE, files in secrets)"

finish
