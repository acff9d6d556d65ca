#!/usr/bin/env bash
# test_tls.sh - TLS verification of the plugins' https services (plugins/host_http.c, host.c,
# runner/cluster.c), against a real Pushgateway serving https with a self-signed certificate:
#   - by default the certificate is checked: an unknown CA fails the push (warned, spooled),
#     the run itself succeeds and the gateway holds nothing;
#   - `ca_file` with the certificate: delivered, no warning;
#   - `tls_verify: false` (cluster.yml, or the spec's plugin options): delivered, and every
#     process warns that the certificate is not checked;
#   - `tls_verify: maybe` in cluster.yml: exit 2 with file:line:col before anything runs; in the
#     spec's plugin options: exit 2 naming the plugin.
# Also secrets.kubernetes.tls_verify is read with its position.
. "$(dirname "$0")/../cli_lib.sh"

SRC=$MAESTRO_SOURCE_DIR
PY=/usr/bin/python3
if [ -n "${MAESTRO_PLUGIN_TEST_DIR:-}" ]; then export MAESTRO_PLUGIN_PATH="$MAESTRO_PLUGIN_TEST_DIR"; fi
unset MAESTRO_CLUSTER KUBERNETES_SERVICE_HOST
cleanup() { "$SRC/scripts/services/pushgateway.sh" stop "$WORK/pg" >/dev/null 2>&1; rm -rf "$WORK"; }
trap cleanup EXIT

command -v openssl >/dev/null || setup_fail "openssl is not installed (scripts/install-deps.sh installs it)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
  -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>openssl.err ||
  setup_fail "openssl req: $(tail -n 2 openssl.err)"
PG_PORT=$(PUSHGATEWAY_TLS_CERT="$WORK/cert.pem" PUSHGATEWAY_TLS_KEY="$WORK/key.pem" \
  "$SRC/scripts/services/pushgateway.sh" start "$WORK/pg" 2>pg.err) ||
  setup_fail "pushgateway.sh start (https): $(tail -n 3 pg.err)"
URL="https://127.0.0.1:$PG_PORT"
echo "# Pushgateway over https on :$PG_PORT"

"$MAESTRO" data synth --rows 400 --features 4 --classes 2 --class-sep 3 --seed 2 -o d.h5 \
  >/dev/null || setup_fail "data synth"
cat > spec.yml <<EOS
kind: train
name: tls
data: {path: d.h5, validation_split: 0.25}
model: {type: mlp, hidden: [8]}
optimizer: {name: sgd, lr: 0.1}
training: {epochs: 2, batch_size: 50, seed: 1, checkpoint_every: 0}
plugins: [prometheus]
EOS
# cluster FILE EXTRA - the gateway's section of cluster.yml with EXTRA settings
cluster() { printf 'name: tls\nservices:\n  pushgateway: {url: "%s"%s}\n' "$URL" "$2" > "$1"; }

# groups RUN_DIR - how many groups of that run the gateway holds (over https, trusting cert.pem)
groups() {
  local id
  id=$(sed -n 's/.*runner: run id \([^ ]*\).*/\1/p' "$WORK/.err" | head -n 1)
  "$PY" -c 'import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
d = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/metrics", timeout=10, context=ctx))["data"]
print(sum(1 for g in d if g["labels"].get("run") == sys.argv[3]))' "$URL" "$WORK/cert.pem" "$id"
}
spooled() { find "$1/spool/prometheus" -type f ! -name 'delivered-rank*' 2>/dev/null | wc -l; }

case_ "default: the self-signed certificate is refused; the run succeeds and spools"
cluster c-default.yml ""
mpi 2 run spec.yml --cluster c-default.yml --output runs/default
expect_exit 0
expect_stderr "certificate"
expect_stderr "spooled for retry"
expect_no_stderr "NOT checked"
[ "$(spooled runs/default)" -gt 0 ] && ok "payloads spooled" || fail "nothing spooled"
[ "$(groups)" -eq 0 ] && ok "the gateway holds nothing of the run" || fail "an unverified push got through"

case_ "ca_file with the certificate: delivered, no warning"
cluster c-ca.yml ", ca_file: \"$WORK/cert.pem\""
mpi 2 run spec.yml --cluster c-ca.yml --output runs/ca
expect_exit 0
expect_no_stderr "warn"
[ "$(groups)" -eq 2 ] && ok "a group per rank" || fail "groups: $(groups)"
[ "$(spooled runs/ca)" -eq 0 ] && ok "nothing spooled" || fail "payloads spooled"

case_ "tls_verify: false in cluster.yml: delivered, each rank warns"
cluster c-off.yml ", tls_verify: false"
mpi 2 run spec.yml --cluster c-off.yml --output runs/off
expect_exit 0
expect_stderr "prometheus: tls_verify: false: the server's TLS certificate and name are NOT checked"
n=$(grep -c "NOT checked" "$WORK/.err")
[ "$n" -ge 1 ] && ok "warned ($n lines)" || fail "no warning"
[ "$(groups)" -eq 2 ] && ok "a group per rank" || fail "groups: $(groups)"

case_ "tls_verify: false in the spec's plugin options overrides cluster.yml"
mpi 2 run spec.yml --cluster c-default.yml --output runs/spec-off \
  --set 'plugins=[{name: prometheus, tls_verify: "false"}]'
expect_exit 0
expect_stderr "NOT checked"
[ "$(groups)" -eq 2 ] && ok "a group per rank" || fail "groups: $(groups)"

case_ "tls_verify: maybe in cluster.yml: exit 2 with the position, nothing run"
cluster c-bad.yml ", tls_verify: maybe"
maestro run spec.yml --cluster c-bad.yml --output runs/bad
expect_exit 2
expect_stderr "c-bad.yml:3:"
expect_stderr "tls_verify"
expect_no_file runs/bad/run.h5

case_ "tls_verify: maybe in the spec's plugin options: exit 2 naming the plugin"
maestro run spec.yml --cluster c-ca.yml --output runs/bad2 \
  --set 'plugins=[{name: prometheus, tls_verify: maybe}]'
expect_exit 2
expect_stderr "plugin prometheus: tls_verify must be true or false"
expect_no_file runs/bad2/run.h5

case_ "secrets.kubernetes.tls_verify is checked with its position"
printf 'name: tls\nsecrets:\n  providers: [kubernetes]\n  kubernetes: {namespace: ml, tls_verify: sometimes}\n' > c-k8s.yml
maestro validate --cluster c-k8s.yml
expect_exit 2
expect_stderr "c-k8s.yml:4:"
expect_stderr "tls_verify"
finish
