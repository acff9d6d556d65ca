#!/usr/bin/env bash
# test_secrets_cli.sh - `${secret:db/password}` through `maestro validate` with each provider
# (env, the secret volume layout, the Kubernetes API fake): the value is never printed (the
# bytes are searched in stdout and stderr, at debug log level), and a missing or refused
# secret is one line naming the reference only.
. "$(dirname "$0")/../cli_lib.sh"

VALUE='v4lue-7c1e-never-printed'   # what every provider hands back for db/password
TOKEN='sa-token-5b2d-never-printed'
FAKE_PID=""
stop_fake() { [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null; }
trap 'stop_fake; rm -rf "$WORK"' EXIT

if [ -n "${MAESTRO_PLUGIN_TEST_DIR:-}" ]; then export MAESTRO_PLUGIN_PATH="$MAESTRO_PLUGIN_TEST_DIR"; fi
unset MAESTRO_SECRET_DB_PASSWORD MAESTRO_SECRET_DB_MISSING KUBERNETES_SERVICE_HOST

"$MAESTRO" data synth --rows 50 --features 3 --classes 2 -o data.h5 >/dev/null 2>&1 ||
  { echo "FAIL - setup: data synth failed"; exit 1; }

# spec.yml: the secret in a description and a label (both kept in the resolved spec).
cat > spec.yml <<'EOF'
kind: validate
name: checks
description: "password ${secret:db/password}"
labels: {auth: "${secret:db/password}"}
data: {path: data.h5}
checks:
  - {check: row_count, min: 1}
EOF
sed 's#db/password#db/missing#g' spec.yml > missing.yml
# The value in a place that refuses it: the error must quote the reference, not the value.
sed 's#min: 1#min: "${secret:db/password}"#' spec.yml > typed.yml

# never_printed - neither the value nor the token is anywhere in what maestro wrote
never_printed() {
  local f
  for f in "$WORK/.out" "$WORK/.err"; do
    if grep -qF -- "$VALUE" "$f" || grep -qF -- "$TOKEN" "$f"; then
      fail "a secret's bytes are in $(basename "$f")"; return
    fi
  done
  ok "no secret bytes in stdout or stderr"
}

cluster() { # cluster PROVIDERS [KUBERNETES-SECTION]
  printf 'secrets:\n  providers: %s\n  files_dir: "%s"\n%s' "$1" "$WORK/secrets" "${2:-}" > cluster.yml
}

case_ "env provider: MAESTRO_SECRET_DB_PASSWORD"
cluster "[env]"
MAESTRO_SECRET_DB_PASSWORD="$VALUE" maestro --log-level debug validate --cluster cluster.yml spec.yml
expect_exit 0
expect_stdout "spec.yml: ok (kind validate, name checks"
never_printed

case_ "files provider: the secret volume layout, read through ..data"
mkdir -p secrets/db/..2024_01_01_00_00_00.1
printf '%s\n' "$VALUE" > secrets/db/..2024_01_01_00_00_00.1/password
ln -s ..2024_01_01_00_00_00.1 secrets/db/..data
ln -s ..data/password secrets/db/password
cluster "[env, files]"
maestro --log-level debug validate --cluster cluster.yml spec.yml
expect_exit 0
never_printed

case_ "a value the spec refuses is quoted by reference"
maestro validate --cluster cluster.yml typed.yml
expect_exit 2
expect_stderr 'typed.yml:7:'
expect_one_line
never_printed

case_ "a missing secret: exit 2, one line naming the reference and where it looked"
maestro validate --cluster cluster.yml missing.yml
expect_exit 2
expect_stderr "secret 'db/missing' not found (looked in: env MAESTRO_SECRET_DB_MISSING, files in $WORK/secrets)"
expect_one_line
never_printed

# ---- the Kubernetes API, through the plugin, against the fake -----------------------------
rm -rf secrets
printf '[{"metadata": {"name": "db", "namespace": "ml"}, "stringData": {"password": "%s"}}]\n' \
  "$VALUE" > k8s.json
printf '%s\n' "$TOKEN" > token
python3 "$MAESTRO_SOURCE_DIR/tests/fakes/k8s_fake.py" k8s.json --token "$TOKEN" \
  --port-file k8s.port --allow-namespace ml >/dev/null 2>fake.err &
FAKE_PID=$!
for _ in $(seq 100); do [ -s k8s.port ] && break; sleep 0.1; done
PORT=$(cat k8s.port 2>/dev/null)
[ -n "$PORT" ] || { echo "FAIL - setup: the Kubernetes fake did not start: $(cat fake.err)"; exit 1; }
k8s_section() { # k8s_section NAMESPACE [EXTRA]
  printf '  kubernetes:\n    namespace: %s\n    api_url: "http://127.0.0.1:%s"\n    token_file: "%s"\n    insecure_http: true\n' \
    "$1" "$PORT" "$WORK/token"
}

case_ "kubernetes provider: the Secrets API fake, bearer token from the token file"
cluster "[env, files, kubernetes]" "$(k8s_section ml)"
maestro --log-level debug validate --cluster cluster.yml spec.yml
expect_exit 0
never_printed
run python3 - "$PORT" "$TOKEN" <<'EOF'
import json, sys, urllib.request
reqs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/test/requests"))
assert reqs, "no request reached the fake"
for r in reqs:
    assert r["method"] == "GET" and r["path"] == "/api/v1/namespaces/ml/secrets/db", r
    assert r["headers"].get("Authorization") == "Bearer " + sys.argv[2], "wrong Authorization"
print("ok")
EOF
expect_stdout "ok"

case_ "kubernetes: a missing secret names the namespace it looked in"
maestro validate --cluster cluster.yml missing.yml
expect_exit 2
expect_stderr "secret 'db/missing' not found (looked in: env MAESTRO_SECRET_DB_MISSING, files in $WORK/secrets, kubernetes namespace ml)"
expect_one_line
never_printed

case_ "kubernetes: a refused token is an error naming the reference, not the token"
printf 'wrong-%s\n' "$TOKEN" > token
maestro --log-level debug validate --cluster cluster.yml spec.yml
[ "$RC" -ne 0 ] && ok "failed (exit $RC)" || fail "a refused token passed"
expect_stderr "secret 'db/password'"
expect_stderr "401"
never_printed
printf '%s\n' "$TOKEN" > token

case_ "kubernetes: plain http is refused without insecure_http"
cluster "[kubernetes]" "$(k8s_section ml | grep -v insecure_http)"
maestro validate --cluster cluster.yml spec.yml
expect_exit 2
expect_stderr "cluster.yml:6:"
expect_stderr "plain http"
expect_one_line

finish
