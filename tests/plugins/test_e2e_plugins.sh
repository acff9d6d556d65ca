#!/usr/bin/env bash
# test_e2e_plugins.sh - a 2-rank training run reporting to the platform, end to end, as a
# platform engineer would check it: a real Pushgateway, the Loki fake (tenant required), a real
# MLflow server (tracking, artifact proxy, model registry) and the Kubernetes Secrets fake, all on
# 127.0.0.1. It exercises the whole run life around a job (runner/run_life.c: run id, spec.yml,
# plugins' run_start / events / artifacts / run_end) and runner/run_plugins.c.
#   1. services up: exit 0; the Pushgateway holds a group per rank with the run's status, validation
#      metrics and per-rank throughput; Loki holds the run's log streams, labelled and in order,
#      under the tenant; MLflow holds the experiment, a FINISHED run with the flattened spec as
#      params, the metric history, run.h5 byte for byte and the registered model @champion; no
#      spool. A transient Loki 503 is retried and nothing is lost.
#   2. services down: exit 0 all the same, warnings, everything spooled under the run folder; the
#      services come back on the same ports and `maestro plugins flush` delivers it all.
#   3. redaction: the secret (resolved from the Kubernetes fake, used as MLflow's token in
#      cluster.yml and in the spec's labels) is nowhere in what Maestro printed, wrote, spooled or
#      sent, except the Authorization header of the service it belongs to.
# Rank 1 logs nothing during a normal run, so Loki holds rank 0's streams only (any stream's rank
# label is checked); the per-rank side is checked on the Pushgateway and in the spool.
. "$(dirname "$0")/../cli_lib.sh"

SRC=$MAESTRO_SOURCE_DIR
PY=/usr/bin/python3 # the checks use the standard library only
SECRET='mlf-tok-5e2e-71c4d9a0-never-shown' # mlflow/token in the Kubernetes fake
SECRET2='ci-tok-5e2e-0b9d27f1-never-shown' # mlflow/ci-token, a spec option's token
SA_TOKEN='sa-tok-e2e-3b8f-never-shown'     # the service account token the fake accepts
TENANT=e2e-tenant
LIMIT=120 # seconds any one maestro command may take

if [ -n "${MAESTRO_PLUGIN_TEST_DIR:-}" ]; then export MAESTRO_PLUGIN_PATH="$MAESTRO_PLUGIN_TEST_DIR"; fi
unset MLFLOW_TRACKING_TOKEN MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD \
  MAESTRO_SECRET_MLFLOW_TOKEN KUBERNETES_SERVICE_HOST MAESTRO_CLUSTER

LOKI_PID=""
K8S_PID=""
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null; return 0; }
stop_loki() { stop_pid "$LOKI_PID"; LOKI_PID=""; }
cleanup() {
  stop_loki
  stop_pid "$K8S_PID"
  "$SRC/scripts/services/pushgateway.sh" stop "$WORK/pg" >/dev/null 2>&1
  "$SRC/scripts/services/mlflow.sh" stop "$WORK/mlflow" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

T0=$SECONDS

# Every stdout/stderr of a maestro command, for the redaction check at the end.
: > "$WORK/printed.txt"
keep() { cat "$WORK/.out" "$WORK/.err" >> "$WORK/printed.txt"; }
mpi2() { run timeout -k 5 "$LIMIT" mpirun -np 2 --oversubscribe "$MAESTRO" "$@"; keep; }
cli() { run timeout -k 5 "$LIMIT" "$MAESTRO" "$@"; keep; }

# ---- the checks, Python standard library ----------------------------------------------------
cat > check.py <<'PY'
import json, os, sys, urllib.parse, urllib.request

def get(url, data=None):
    req = urllib.request.Request(url, data=None if data is None else json.dumps(data).encode(),
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()

def jget(url, data=None):
    return json.loads(get(url, data))

def dump(path, obj):  # what the redaction check greps
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")

def pushgateway(port, run_id, want_ranks="0,1"):
    """Groups job/maestro/run/<id>/rank/<r> with the run's series."""
    data = jget(f"http://127.0.0.1:{port}/api/v1/metrics")["data"]
    groups = {g["labels"].get("rank"): g for g in data
              if g["labels"].get("job") == "maestro" and g["labels"].get("run") == run_id}
    ranks = want_ranks.split(",")
    assert sorted(groups) == ranks, f"groups for ranks {sorted(groups)}, want {ranks}"
    def series(g, family, **labels):
        fam = g.get(family)
        assert fam, f"rank {g['labels']['rank']}: no {family} (has {sorted(k for k in g if k.startswith('maestro_'))})"
        return [float(m["value"]) for m in fam["metrics"]
                if all(m["labels"].get(k) == v for k, v in labels.items())]
    g0 = groups["0"]
    assert series(g0, "maestro_run_status", status="ok") == [1.0], "run_status{status=ok} is not 1"
    assert series(g0, "maestro_run_status", status="running") == [0.0], "still running"
    info = g0["maestro_run_info"]["metrics"][0]["labels"]
    assert info["run_id"] == run_id and info["kind"] == "train" and info["name"] == "e2e", info
    acc = series(g0, "maestro_val_metric", name="accuracy")
    assert acc and acc[0] >= 0.9, f"val accuracy {acc}"
    assert series(g0, "maestro_gates_passed") == [1.0], "gates_passed"
    assert series(g0, "maestro_epoch") == [3.0], "epoch"
    for r in ranks:
        sps = series(groups[r], "maestro_samples_per_second")
        assert len(sps) == 1 and sps[0] > 0, f"rank {r}: samples/s {sps}"
        assert groups[r].get("last_push_successful") is True, f"rank {r}: last push failed"
    print(f"Pushgateway: run {run_id}, ranks {','.join(ranks)}: status ok, val accuracy {acc[0]:.4f}, "
          f"samples/s per rank")

def loki(port, run_id, tenant, epochs, allowed_503, strict_order):
    """The run's streams under the tenant, labelled, every progress line, in order."""
    epochs, allowed_503, strict_order = int(epochs), int(allowed_503), strict_order == "1"
    base = f"http://127.0.0.1:{port}"
    entries, bodies = jget(base + "/test/entries"), jget(base + "/test/bodies")
    streams = [s for s in entries["streams"] if s["stream"].get("run_id") == run_id]
    assert streams, f"no stream with run_id {run_id}"
    for s in streams:
        lab = s["stream"]
        assert lab.get("job") == "maestro" and lab.get("kind") == "train", lab
        assert lab.get("rank") in ("0", "1") and lab.get("level"), lab
        if tenant != "-":
            assert s["tenant"] == tenant, f"stream {lab} under tenant {s['tenant']}"
        for ts, line in s["values"]:
            assert ts.isdigit() and len(ts) >= 19, f"timestamp {ts!r}"
    info0 = [s for s in streams if s["stream"]["rank"] == "0" and s["stream"]["level"] == "info"]
    assert len(info0) == 1, "no (or several) rank 0 info stream"
    msgs = [json.loads(line)["msg"] for _, line in info0[0]["values"]]  # sorted by timestamp
    want = [f"epoch {e}/{epochs} " for e in range(1, epochs + 1)]
    seen = [w for m in msgs for w in want if m.startswith(w)]
    assert seen == want, f"progress lines by timestamp {seen}, want {want}"
    assert msgs[0] == f"run id {run_id}", f"first line {msgs[0]!r}"
    assert any(m.startswith("wrote ") and "run.h5 (status ok)" in m for m in msgs), "no 'wrote run.h5'"
    # every push of this run: the tenant header, 204 but for the 503s the fake was told to give
    mine = [b for b in bodies if run_id in (b.get("body") or "")]
    statuses = [b["status"] for b in mine]
    assert statuses.count(503) <= allowed_503 and all(s in (204, 503) for s in statuses), statuses
    if tenant != "-":
        assert all(b["tenant"] == tenant for b in mine), [b["tenant"] for b in mine]
    assert all(b["content_type"] == "application/json" for b in mine)
    if strict_order:  # as received: each stream's timestamps never go back
        last = {}
        for b in mine:
            if b["status"] != 204:
                continue
            for s in json.loads(b["body"])["streams"]:
                key = json.dumps(s["stream"], sort_keys=True)
                for ts, _ in s["values"]:
                    assert int(ts) >= last.get(key, 0), f"stream {key} went back in time"
                    last[key] = int(ts)
    ranks = sorted({s["stream"]["rank"] for s in streams})
    print(f"Loki: run {run_id}: {len(streams)} streams (ranks {','.join(ranks)}), "
          f"{sum(len(s['values']) for s in streams)} entries, {len(mine)} pushes {statuses}")

def mlflow(port, run_id, run_dir, experiment, model, alias, epochs, dump_path):
    """Experiment, FINISHED run, params, metric history, artifacts, registry alias."""
    epochs = int(epochs)
    api = f"http://127.0.0.1:{port}/api/2.0/mlflow"
    exp = jget(f"{api}/experiments/get-by-name?experiment_name={urllib.parse.quote(experiment)}")
    exp = exp["experiment"]
    found = jget(f"{api}/runs/search", {"experiment_ids": [exp["experiment_id"]],
                                        "filter": f"tags.`maestro.run_id` = '{run_id}'"})
    dump(dump_path, found)
    runs = found.get("runs", [])
    assert len(runs) == 1, f"{len(runs)} MLflow runs tagged maestro.run_id={run_id}"
    info, data = runs[0]["info"], runs[0]["data"]
    assert info["status"] == "FINISHED" and int(info.get("end_time", 0)) > 0, info
    tags = {t["key"]: t["value"] for t in data.get("tags", [])}
    for k, v in (("mlflow.runName", "e2e"), ("maestro.run_id", run_id), ("maestro.ranks", "2"),
                 ("maestro.kind", "train")):
        assert tags.get(k) == v, f"tag {k}={tags.get(k)!r}, want {v!r}"
    assert tags.get("mlflow.source.git.commit"), "no git commit tag"
    plist = data.get("params", [])
    params = {p["key"]: p["value"] for p in plist}
    assert len(params) == len(plist), "a param is logged twice"
    for k, v in (("kind", "train"), ("training.epochs", str(epochs)), ("model.hidden", "[32]"),
                 ("optimizer.momentum", "0.9"), ("gates.val_accuracy", ">= 0.9"),
                 ("labels.team", "ml-platform"), ("labels.auth", "***"),
                 ("registry.model", model), ("registry.alias", alias)):
        assert params.get(k) == v, f"param {k}={params.get(k)!r}, want {v!r}"
    assert all(v == "***" for k, v in params.items() if k.endswith(".token")), "a token param"
    rid = info["run_id"]
    hist = jget(f"{api}/metrics/get-history?run_id={rid}&metric_key=val_accuracy")["metrics"]
    dump(dump_path, hist)
    steps = [m["step"] for m in sorted(hist, key=lambda m: (int(m["step"]), int(m["timestamp"])))]
    assert len(hist) == epochs and len(set(steps)) == epochs, f"val_accuracy history steps {steps}"
    assert all(int(m["timestamp"]) > 0 for m in hist)
    sps = jget(f"{api}/metrics/get-history?run_id={rid}&metric_key=samples_per_second")["metrics"]
    assert sps, "no samples_per_second history"
    # artifacts, through the server's artifact proxy, against the run folder's files
    uri = info["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/"), uri
    art = f"http://127.0.0.1:{port}/api/2.0/mlflow-artifacts/artifacts/" + uri[len("mlflow-artifacts:/"):].lstrip("/")
    for name, local in (("model/run.h5", "run.h5"), ("spec.yml", "spec.yml")):
        got = get(f"{art}/{name}")
        want = open(os.path.join(run_dir, local), "rb").read()
        assert got == want, f"artifact {name}: {len(got)} bytes differ from {local} ({len(want)})"
    # the registry: the alias points at the version made from this run's artifacts
    rm = jget(f"{api}/registered-models/get?name={urllib.parse.quote(model)}")
    dump(dump_path, rm)
    mv = jget(f"{api}/registered-models/alias?name={urllib.parse.quote(model)}&alias={alias}")
    dump(dump_path, mv)
    mv = mv["model_version"]
    assert mv["run_id"] == rid, f"@{alias} is version {mv['version']} of run {mv['run_id']}, not {rid}"
    assert mv["source"] == uri + "/model", f"source {mv['source']}, want {uri}/model"
    assert mv["status"] == "READY", mv
    print(f"MLflow: experiment {experiment}, run {rid} FINISHED, {len(params)} params, "
          f"{len(hist)} val_accuracy points, run.h5 identical, {model} v{mv['version']} @{alias}")

def k8s_reads(port, sa_token):
    reqs = jget(f"http://127.0.0.1:{port}/test/requests")
    sec = [r for r in reqs if r["path"] == "/api/v1/namespaces/ml/secrets/mlflow"]
    assert sec, f"the Secret was never read: {[r['path'] for r in reqs]}"
    assert all(r["headers"].get("Authorization") == "Bearer " + sa_token for r in sec)
    print(f"Kubernetes: the Secret mlflow was read {len(sec)} times with the service account token")

def bearer(port, secret, seen_file):
    """The MLflow plugin pointed at the fake: the token travels as the bearer credential only.
    Checks the MLflow requests the fake got since the last call (their count is kept in
    seen_file)."""
    seen = int(open(seen_file).read()) if os.path.exists(seen_file) else 0
    reqs = [r for r in jget(f"http://127.0.0.1:{port}/test/requests")
            if r["path"].startswith("/api/2.0/mlflow/")]
    open(seen_file, "w").write(str(len(reqs)))
    reqs = reqs[seen:]
    assert reqs, "no MLflow request reached the fake"
    for r in reqs:
        auth = r["headers"].get("Authorization", "(none)")
        assert auth == "Bearer " + secret, \
            "Authorization is not 'Bearer <the secret>'" + (": " + auth if "*" in auth or "{" in auth else "")
        others = {k: v for k, v in r["headers"].items() if k.lower() != "authorization"}
        assert secret not in r["path"] and secret not in json.dumps(others), "token elsewhere"
    print(f"the MLflow token went as 'Authorization: Bearer' in {len(reqs)} requests, nowhere else")

def save(url, path):  # a service's state, for the redaction grep
    open(path, "wb").write(get(url))
    print(f"saved {url}")

globals()[sys.argv[1]](*sys.argv[2:])
PY

# snapshot TAG - what the Loki fake received and what the Pushgateway holds (both forget it all
# when they stop), for the redaction grep
snapshot() {
  "$PY" "$WORK/check.py" save "http://127.0.0.1:$LOKI_PORT/test/bodies" "snap-$1-loki-bodies.json" &&
    "$PY" "$WORK/check.py" save "http://127.0.0.1:$LOKI_PORT/test/entries" "snap-$1-loki-entries.json" &&
    "$PY" "$WORK/check.py" save "http://127.0.0.1:$PG_PORT/metrics" "snap-$1-pushgateway.txt" &&
    "$PY" "$WORK/check.py" save "http://127.0.0.1:$PG_PORT/api/v1/metrics" "snap-$1-pushgateway.json"
}

# ---- services ---------------------------------------------------------------------------------
# start_loki [PORT] - the Loki fake with auth on (X-Scope-OrgID required)
start_loki() {
  rm -f loki.port
  "$PY" "$SRC/tests/fakes/loki_fake.py" --tenant-required --port "${1:-0}" --port-file loki.port \
    >/dev/null 2>>loki.err &
  LOKI_PID=$!
  for _ in $(seq 100); do [ -s loki.port ] && break; sleep 0.1; done
  [ -s loki.port ] || setup_fail "the Loki fake did not start: $(tail -n 3 loki.err)"
  LOKI_PORT=$(cat loki.port)
}
PG_PORT=$("$SRC/scripts/services/pushgateway.sh" start "$WORK/pg" 2>pg.err) ||
  setup_fail "pushgateway.sh start: $(tail -n 3 pg.err)"
ML_PORT=$("$SRC/scripts/services/mlflow.sh" start "$WORK/mlflow" 2>ml.err) ||
  setup_fail "mlflow.sh start: $(tail -n 3 ml.err)"
start_loki
printf '[{"metadata": {"name": "mlflow", "namespace": "ml"}, "stringData": {"token": "%s", "ci-token": "%s"}}]\n' \
  "$SECRET" "$SECRET2" > k8s.json
printf '%s\n' "$SA_TOKEN" > sa-token
"$PY" "$SRC/tests/fakes/k8s_fake.py" k8s.json --token "$SA_TOKEN" --port-file k8s.port \
  --allow-namespace ml >/dev/null 2>k8s.err &
K8S_PID=$!
for _ in $(seq 100); do [ -s k8s.port ] && break; sleep 0.1; done
K8S_PORT=$(cat k8s.port 2>/dev/null)
[ -n "$K8S_PORT" ] || setup_fail "the Kubernetes fake did not start: $(cat k8s.err)"
echo "# services: pushgateway :$PG_PORT, loki fake :$LOKI_PORT, mlflow :$ML_PORT, k8s fake :$K8S_PORT ($((SECONDS - T0)) s)"

"$MAESTRO" data synth --rows 3000 --features 8 --classes 3 --class-sep 3 --seed 5 -o sep.h5 \
  >/dev/null || setup_fail "data synth"

# cluster.yml FILE MLFLOW_PORT - the services as the platform configures them: Loki's tenant and
# MLflow's token (a secret, from the Kubernetes fake) in their sections of cluster.yml
cluster() {
  cat > "$1" <<EOF
name: e2e
services:
  pushgateway: {url: "http://127.0.0.1:$PG_PORT"}
  loki: {url: "http://127.0.0.1:$LOKI_PORT", tenant: $TENANT}
  mlflow: {url: "http://127.0.0.1:$2", token: "\${secret:mlflow/token}"}
secrets:
  providers: [kubernetes]
  kubernetes: {namespace: ml, api_url: "http://127.0.0.1:$K8S_PORT", token_file: "$WORK/sa-token",
               insecure_http: true}
EOF
}
cluster cluster.yml "$ML_PORT"
case_ "cluster.yml with plugin settings and a \${secret:...} validates"
cli validate --cluster cluster.yml
expect_exit 0

cat > spec.yml <<EOF
kind: train
name: e2e
description: "end-to-end run of the platform plugins"
labels: {team: ml-platform, auth: "\${secret:mlflow/token}"}
data: {path: sep.h5, validation_split: 0.2}
model: {type: mlp, hidden: [32], activation: relu}
optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
training: {epochs: 3, batch_size: 64, seed: 1, checkpoint_every: 0}
gates: {val_accuracy: ">= 0.9"}
plugins: [prometheus, loki, {name: mlflow, experiment: e2e}]
registry: {model: e2e-model, alias: champion}
EOF

run_id_of() { sed -n 's/.*runner: run id \([^ ]*\).*/\1/p' "$WORK/.err" | head -n 1; }

# ---- 1. every service up ----------------------------------------------------------------------
case_ "2 ranks, every service up"
mpi2 run spec.yml --cluster cluster.yml --output runs/up
expect_exit 0
RUN_UP=$(run_id_of)
[ -n "$RUN_UP" ] && ok "run id $RUN_UP" || fail "no 'run id' line"
expect_no_stderr "warn"
expect_file runs/up/run.h5
n=$(payloads runs/up)
[ "$n" -eq 0 ] && ok "nothing spooled" || fail "$n payloads in runs/up/spool: $(find runs/up/spool -type f | head -3)"

case_ "Pushgateway: a group per rank with status, validation metrics, throughput"
pycheck pushgateway "$PG_PORT" "$RUN_UP"
case_ "Loki: the run's streams under the tenant, labelled, in order"
pycheck loki "$LOKI_PORT" "$RUN_UP" "$TENANT" 3 0 1
case_ "MLflow: experiment, FINISHED run, params, history, run.h5, e2e-model@champion"
pycheck mlflow "$ML_PORT" "$RUN_UP" runs/up e2e e2e-model champion 3 "$WORK/mlflow-rest.jsonl"
case_ "the secret came from the Kubernetes API with the service account token"
pycheck k8s_reads "$K8S_PORT" "$SA_TOKEN"

# A 503 from Loki (the fake's fail_next) is retried in the run: nothing spooled, nothing lost. A
# longer run on Loki alone, so batches go out while it trains.
"$MAESTRO" data synth --rows 20000 --features 16 --classes 3 --class-sep 3 --seed 9 -o mid.h5 \
  >/dev/null || setup_fail "data synth"
case_ "Loki answers 503 once: retried within the run, every line delivered"
run "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(
  "http://127.0.0.1:%s/test/config" % sys.argv[1], data=b"{\"fail_next\": 1}", method="POST"), timeout=5)' "$LOKI_PORT"
[ "$RC" -eq 0 ] || fail "could not configure the Loki fake"
mpi2 run spec.yml --cluster cluster.yml --output runs/loki503 --set data.path=mid.h5 \
  --set 'model.hidden=[64, 64]' --set training.epochs=40 --set training.batch_size=32 \
  --set optimizer.lr=0.01 --set "plugins=[{name: loki, tenant: $TENANT, batch_wait: \"0.2\"}]"
expect_exit 0
expect_stderr "HTTP 503"
RUN_503=$(run_id_of)
n=$(payloads runs/loki503)
[ "$n" -eq 0 ] && ok "spool empty after the retry" || fail "$n payloads left in runs/loki503/spool"
pycheck loki "$LOKI_PORT" "$RUN_503" "$TENANT" 40 1 0

snapshot part1 >/dev/null || fail "could not read the services' state"
echo "# part 1 done ($((SECONDS - T0)) s)"

# ---- 2. every service down, then `maestro plugins flush` --------------------------------------
"$SRC/scripts/services/pushgateway.sh" stop "$WORK/pg"
"$SRC/scripts/services/mlflow.sh" stop "$WORK/mlflow"
stop_loki

case_ "Pushgateway, Loki and MLflow down: the run succeeds and spools"
mpi2 run spec.yml --cluster cluster.yml --output runs/down
expect_exit 0
RUN_DOWN=$(run_id_of)
expect_file runs/down/run.h5
expect_stderr "warn"
expect_stderr "spooled for retry"
expect_stderr "payloads left in runs/down/spool/prometheus"
expect_stderr "payloads left in runs/down/spool/loki"
expect_stderr "payloads left in runs/down/spool/mlflow"
expect_stderr "maestro plugins flush runs/down"
for p in prometheus loki mlflow; do
  n=$(find "runs/down/spool/$p" -type f ! -name 'delivered-rank*' 2>/dev/null | wc -l)
  [ "$n" -gt 0 ] && ok "$n payloads in spool/$p" || fail "nothing spooled for $p"
done
run sh -c 'ls runs/down/spool/prometheus | grep -c -- "-push-rank1$"'
[ "${OUT:-0}" -ge 1 ] && ok "rank 1 spooled its own pushes" || fail "no push of rank 1 spooled"
cp -r runs/down/spool snap-spool-down # a flush deletes what it delivers: keep it for the grep

"$SRC/scripts/services/pushgateway.sh" start "$WORK/pg" "$PG_PORT" >/dev/null 2>pg.err ||
  setup_fail "pushgateway.sh restart on $PG_PORT: $(tail -n 3 pg.err)"
"$SRC/scripts/services/mlflow.sh" start "$WORK/mlflow" "$ML_PORT" >/dev/null 2>ml.err ||
  setup_fail "mlflow.sh restart on $ML_PORT: $(tail -n 3 ml.err)"
start_loki "$LOKI_PORT"

case_ "services back: maestro plugins flush delivers everything"
cli plugins flush runs/down --cluster cluster.yml
expect_exit 0
expect_stdout "runs/down: delivered "
expect_stdout " 0 left"
n=$(payloads runs/down)
[ "$n" -eq 0 ] && ok "spool empty" || fail "$n payloads left: $(find runs/down/spool -type f | head -3)"
pycheck pushgateway "$PG_PORT" "$RUN_DOWN"
pycheck loki "$LOKI_PORT" "$RUN_DOWN" "$TENANT" 3 0 0
pycheck mlflow "$ML_PORT" "$RUN_DOWN" runs/down e2e e2e-model champion 3 "$WORK/mlflow-rest.jsonl"

echo "# part 2 done ($((SECONDS - T0)) s)"

# ---- 3. redaction -----------------------------------------------------------------------------
# The real server does not show headers: here the plugin talks to the Kubernetes fake instead,
# which records every request (it answers 404, which the plugin reports and the run survives).
case_ "the MLflow token from cluster.yml reaches MLflow only as the bearer credential"
cluster cluster-bearer.yml "$K8S_PORT"
mpi2 run spec.yml --cluster cluster-bearer.yml --output runs/bearer \
  --set 'plugins=[{name: mlflow, retries: "0"}]'
expect_exit 0
pycheck bearer "$K8S_PORT" "$SECRET" "$WORK/bearer.seen"

case_ "a token in the spec's plugin options (another secret) wins over cluster.yml's"
mpi2 run spec.yml --cluster cluster.yml --output runs/bearer-spec --set "plugins=[{name: mlflow, \
url: \"http://127.0.0.1:$K8S_PORT\", retries: \"0\", token: \"\${secret:mlflow/ci-token}\"}]"
expect_exit 0
pycheck bearer "$K8S_PORT" "$SECRET2" "$WORK/bearer.seen"

case_ "the secret's bytes are nowhere: printed, written, spooled, stored or sent"
snapshot part3 >/dev/null && ok "services' state saved" || fail "could not read the services' state"
where=(printed.txt runs snap-* mlflow-rest.jsonl "$WORK/mlflow/mlflow.db" "$WORK/mlflow/artifacts"
       "$WORK/mlflow/server.log")
for v in "$SECRET" "$SECRET2" "$SA_TOKEN"; do
  hits=$(grep -r -a -l -F -- "$v" "${where[@]}" 2>/dev/null)
  [ -z "$hits" ] && ok "no ${v:0:8}... bytes in stdout/stderr, run folders, spools, Loki, Pushgateway, MLflow" ||
    fail "secret bytes in: $(echo $hits)"
done
run sh -c 'ls -d snap-* snap-spool-down/*/* runs/*/spec.yml runs/*/run.h5 mlflow-rest.jsonl "$0" | wc -l' "$WORK/mlflow/mlflow.db"
[ "$OUT" -ge 30 ] && ok "$OUT files searched besides stdout/stderr" || fail "only $OUT files to search"

echo "# total $((SECONDS - T0)) s"
finish
