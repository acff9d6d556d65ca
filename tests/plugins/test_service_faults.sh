#!/usr/bin/env bash
# test_service_faults.sh - service faults DURING a 2-rank training run, as an operator would see
# them: a real Pushgateway, a real MLflow server and the Loki fake, each behind a chaos proxy
# (tests/fakes/chaos_proxy.py) the test switches while the run trains. It exercises the plugin
# host's queue, spool and retries (plugins/host.c, host_queue.c, host_spool.c, host_http.c) and
# the prometheus, loki and mlflow plugins' delivery; the run is paced by core/fault.c's
# MAESTRO_FAULT_DELAY so it lasts long enough without burning the CPUs.
#   1. during the run, keyed to its epochs: every proxy refuses and the Pushgateway and MLflow
#      really stop; they come back on the same ports; connections are reset for a few epochs,
#      then held past the plugins' timeouts, then pass. Exit 0; the training result is the one
#      of the same spec without plugins; the proxies counted the faults; nothing is left in the
#      spool (no `maestro plugins flush`); the servers hold everything: MLflow a FINISHED run
#      with one val_accuracy point per epoch and the model version @champion, the Pushgateway
#      both ranks' final state, Loki every progress line once.
#   2. every service slow for the whole run: the run ends in bounded time with exit 0, warns and
#      spools; once the services answer, `maestro plugins flush` delivers it all.
. "$(dirname "$0")/../cli_lib.sh"

SRC=$MAESTRO_SOURCE_DIR
PY=/usr/bin/python3 # standard library only
TENANT=chaos-tenant
EPOCHS=80
LIMIT=150 # seconds any one maestro command may take
SLOW_S=4  # how long a slow proxy holds a request: past every plugin timeout (1 s) below

if [ -n "${MAESTRO_PLUGIN_TEST_DIR:-}" ]; then export MAESTRO_PLUGIN_PATH="$MAESTRO_PLUGIN_TEST_DIR"; fi
unset MLFLOW_TRACKING_TOKEN MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD MAESTRO_CLUSTER \
  MAESTRO_FAULT KUBERNETES_SERVICE_HOST

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  "$SRC/scripts/services/pushgateway.sh" stop "$WORK/pg" >/dev/null 2>&1
  "$SRC/scripts/services/mlflow.sh" stop "$WORK/mlflow" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
T0=$SECONDS

# ---- the checks, Python standard library ----------------------------------------------------
cat > check.py <<'PY'
import json, subprocess, sys, urllib.parse, urllib.request

def get(url, data=None):
    req = urllib.request.Request(url, data=None if data is None else json.dumps(data).encode(),
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()

def jget(url, data=None):
    return json.loads(get(url, data))

def proxy(ctl, mode):  # switch a chaos proxy
    print(jget(f"http://127.0.0.1:{ctl}/mode?set={mode}")["mode"])

def stats(ctl):
    print(json.dumps(jget(f"http://127.0.0.1:{ctl}/stats")))

def faults(name, ctl, want_reset, want_slow, want_any=0):
    """What the proxy injected: connections reset, requests held until the client gave up."""
    s = jget(f"http://127.0.0.1:{ctl}/stats")
    reset, slow = s["counts"]["reset"], s["dropped_slow"]
    assert reset + slow >= int(want_any), f"{name}: no fault reached the plugin: {s}"
    assert reset >= int(want_reset), f"{name}: {reset} connections reset, want >= {want_reset}: {s}"
    assert slow >= int(want_slow), f"{name}: {slow} requests timed out, want >= {want_slow}: {s}"
    print(f"{name} proxy: {reset} connections reset, {slow} requests held past the timeout, "
          f"{s['counts']['pass']} passed")

def hit(kind, *ctls):  # exit 0 once every proxy injected a fault of this kind
    s = [jget(f"http://127.0.0.1:{c}/stats") for c in ctls]
    sys.exit(0 if all((x["counts"]["reset"] if kind == "reset" else x["dropped_slow"]) for x in s) else 1)

def same_training(maestro, a, b):
    """The training result (final metrics) of two run.h5 files is the same, bit for bit."""
    m = [json.loads(subprocess.check_output([maestro, "inspect", p, "--json"]))["final_metrics"]
         for p in (a, b)]
    assert m[0] and m[0] == m[1], f"final metrics differ:\n{m[0]}\n{m[1]}"
    print(f"same final metrics as without plugins ({len(m[0])}, val_accuracy {m[0]['val_accuracy']:.6f})")

def pushgateway(port, run_id, epochs):
    data = jget(f"http://127.0.0.1:{port}/api/v1/metrics")["data"]
    groups = {g["labels"].get("rank"): g for g in data
              if g["labels"].get("job") == "maestro" and g["labels"].get("run") == run_id}
    assert sorted(groups) == ["0", "1"], f"groups for ranks {sorted(groups)}"
    def series(g, family, **labels):
        fam = g.get(family)
        assert fam, f"rank {g['labels']['rank']}: no {family}"
        return [float(m["value"]) for m in fam["metrics"]
                if all(m["labels"].get(k) == v for k, v in labels.items())]
    g0 = groups["0"]  # the run-level series come from rank 0, throughput from every rank
    assert series(g0, "maestro_run_status", status="ok") == [1.0], "run_status{status=ok} is not 1"
    assert series(g0, "maestro_run_status", status="running") == [0.0], "still running"
    assert series(g0, "maestro_epoch") == [float(epochs)], f"epoch {series(g0, 'maestro_epoch')}"
    for r, g in groups.items():
        sps = series(g, "maestro_samples_per_second")
        assert len(sps) == 1 and sps[0] > 0, f"rank {r}: samples/s {sps}"
        assert g.get("last_push_successful") is True, f"rank {r}: last push failed"
    print(f"Pushgateway: run {run_id}: status ok at epoch {epochs}, ranks 0,1 pushed their last state")

def loki(port, run_id, tenant, epochs):
    """Every progress line of the run, once, in the rank 0 info stream under the tenant."""
    epochs = int(epochs)
    entries = jget(f"http://127.0.0.1:{port}/test/entries")
    streams = [s for s in entries["streams"] if s["stream"].get("run_id") == run_id]
    assert streams and all(s["tenant"] == tenant for s in streams), "no stream under the tenant"
    info0 = [s for s in streams if s["stream"]["rank"] == "0" and s["stream"]["level"] == "info"]
    assert len(info0) == 1, f"{len(info0)} rank 0 info streams"
    msgs = [json.loads(line)["msg"] for _, line in info0[0]["values"]]
    want = [f"epoch {e}/{epochs} " for e in range(1, epochs + 1)]
    seen = [w for m in msgs for w in want if m.startswith(w)]
    assert seen == want, f"progress lines {len(seen)}, want {epochs}: missing " \
        f"{sorted(set(want) - set(seen))[:5]}, twice {sorted({w for w in seen if seen.count(w) > 1})[:5]}"
    assert len(msgs) == len(set(msgs)), "a line is stored twice"
    assert any(m.startswith("wrote ") and "run.h5 (status ok)" in m for m in msgs), "no 'wrote run.h5'"
    bodies = [b for b in jget(f"http://127.0.0.1:{port}/test/bodies") if run_id in (b.get("body") or "")]
    bad = [b["status"] for b in bodies if b["status"] != 204]
    assert not bad, f"Loki rejected pushes: {bad}"
    print(f"Loki: run {run_id}: {epochs} progress lines once each, {len(msgs)} rank 0 info lines, "
          f"{len(bodies)} pushes all accepted")

def mlflow(port, run_id, experiment, model, alias, epochs):
    epochs = int(epochs)
    api = f"http://127.0.0.1:{port}/api/2.0/mlflow"
    exp = jget(f"{api}/experiments/get-by-name?experiment_name={urllib.parse.quote(experiment)}")
    runs = jget(f"{api}/runs/search", {"experiment_ids": [exp["experiment"]["experiment_id"]],
                                       "filter": f"tags.`maestro.run_id` = '{run_id}'"}).get("runs", [])
    assert len(runs) == 1, f"{len(runs)} MLflow runs tagged maestro.run_id={run_id}"
    info = runs[0]["info"]
    assert info["status"] == "FINISHED" and int(info.get("end_time", 0)) > 0, info
    rid = info["run_id"]
    for key in ("val_accuracy", "val_loss"):
        hist = jget(f"{api}/metrics/get-history?run_id={rid}&metric_key={key}")["metrics"]
        steps = sorted(int(m["step"]) for m in hist)
        assert len(hist) == epochs and len(set(steps)) == epochs, \
            f"{key}: {len(hist)} points, {len(set(steps))} distinct steps, want {epochs}"
    mv = jget(f"{api}/registered-models/alias?name={urllib.parse.quote(model)}&alias={alias}")
    mv = mv["model_version"]
    assert mv["run_id"] == rid and mv["status"] == "READY", f"@{alias}: {mv}"
    print(f"MLflow: run {rid} FINISHED, {epochs} val_accuracy and val_loss points, "
          f"{model} v{mv['version']} @{alias}")

globals()[sys.argv[1]](*sys.argv[2:])
PY

# ---- services, each behind a chaos proxy ------------------------------------------------------
PG_PORT=$("$SRC/scripts/services/pushgateway.sh" start "$WORK/pg" 2>pg.err) ||
  setup_fail "pushgateway.sh start: $(tail -n 3 pg.err)"
ML_PORT=$("$SRC/scripts/services/mlflow.sh" start "$WORK/mlflow" 2>ml.err) ||
  setup_fail "mlflow.sh start: $(tail -n 3 ml.err)"
"$PY" "$SRC/tests/fakes/loki_fake.py" --tenant-required --port-file loki.port >/dev/null 2>loki.err &
PIDS+=($!)
for _ in $(seq 100); do [ -s loki.port ] && break; sleep 0.1; done
LOKI_PORT=$(cat loki.port 2>/dev/null)
[ -n "$LOKI_PORT" ] || setup_fail "the Loki fake did not start: $(tail -n 3 loki.err)"
for s in pg ml loki; do
  case $s in pg) b=$PG_PORT ;; ml) b=$ML_PORT ;; loki) b=$LOKI_PORT ;; esac
  "$PY" "$SRC/tests/fakes/chaos_proxy.py" --backend "$b" --slow-s "$SLOW_S" \
    --port-file "$s.proxy" --control-file "$s.ctl" >/dev/null 2>"$s.proxy.err" &
  PIDS+=($!)
done
for s in pg ml loki; do
  for _ in $(seq 100); do [ -s "$s.proxy" ] && break; sleep 0.1; done
  [ -s "$s.proxy" ] || setup_fail "chaos proxy $s: $(tail -n 3 "$s.proxy.err")"
done
PG_PROXY=$(cat pg.proxy) ML_PROXY=$(cat ml.proxy) LOKI_PROXY=$(cat loki.proxy)
echo "# services: pushgateway :$PG_PORT (proxy :$PG_PROXY), mlflow :$ML_PORT (:$ML_PROXY)," \
  "loki fake :$LOKI_PORT (:$LOKI_PROXY) ($((SECONDS - T0)) s)"

# every proxy at once: modes MODE
proxies() { for s in pg ml loki; do "$PY" check.py proxy "$(cat $s.ctl)" "$1" >/dev/null || return 1; done; }

"$MAESTRO" data synth --rows 2000 --features 8 --classes 3 --class-sep 1.5 --seed 11 -o data.h5 \
  >/dev/null || setup_fail "data synth"
cat > cluster.yml <<EOF
name: chaos
services:
  pushgateway: {url: "http://127.0.0.1:$PG_PROXY"}
  loki: {url: "http://127.0.0.1:$LOKI_PROXY", tenant: $TENANT, batch_wait: "0.2"}
  mlflow: {url: "http://127.0.0.1:$ML_PROXY", timeout_s: "1", retries: "0"}
EOF
# 1600 training rows in steps of 32 rows: 50 steps an epoch, each paced by MAESTRO_FAULT_DELAY
cat > spec.yml <<EOF
kind: train
name: chaos
data: {path: data.h5, validation_split: 0.2}
model: {type: mlp, hidden: [16], activation: relu}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
training: {epochs: $EPOCHS, batch_size: 32, seed: 3, checkpoint_every: 0}
plugins: [{name: prometheus, timeout: "1"}, {name: loki, timeout: "1"},
          {name: mlflow, experiment: chaos}]
registry: {model: chaos-model, alias: champion}
EOF
run_id_of() { sed -n 's/.*runner: run id \([^ ]*\).*/\1/p' "$1" | head -n 1; }
epoch_of() { sed -n "s/.*train: epoch \([0-9]*\)\/$EPOCHS .*/\1/p" "$1" | tail -n 1; }
# wait_epoch FILE N - until the run logged epoch N (or ended); echoes the epoch reached
wait_epoch() {
  local e=0
  while kill -0 "$RUN_PID" 2>/dev/null; do
    e=$(epoch_of "$1"); e=${e:-0}
    [ "$e" -ge "$2" ] && break
    sleep 0.05
  done
  echo "${e:-0}"
}

# until_hit KIND SECONDS - until every proxy injected a KIND fault (each plugin met it), at most
# SECONDS (a plugin whose spool waits out a retry backoff may not call in that window); echoes
# the epoch reached
until_hit() {
  local end=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$end" ] && kill -0 "$RUN_PID" 2>/dev/null; do
    "$PY" check.py hit "$1" "$(cat pg.ctl)" "$(cat ml.ctl)" "$(cat loki.ctl)" && break
    sleep 0.1
  done
  epoch_of chaos.err
}

case_ "the same spec without plugins (the reference result)"
T=$SECONDS
run timeout -k 5 "$LIMIT" mpirun -np 2 --oversubscribe "$MAESTRO" run spec.yml --output runs/ref \
  --set 'plugins=[]'
expect_exit 0
echo "# reference run $((SECONDS - T)) s"

# ---- 1. faults during the run -------------------------------------------------------------------
case_ "2 ranks; services stop, come back, reset, hang, during the run"
export MAESTRO_FAULT_DELAY=allreduce:6 # ~0.3 s an epoch
T=$SECONDS
timeout -k 5 "$LIMIT" mpirun -np 2 --oversubscribe "$MAESTRO" run spec.yml --cluster cluster.yml \
  --output runs/chaos >chaos.out 2>chaos.err &
RUN_PID=$!
e=$(wait_epoch chaos.err 4)
proxies refuse || fail "could not switch the proxies"
"$SRC/scripts/services/pushgateway.sh" stop "$WORK/pg"
"$SRC/scripts/services/mlflow.sh" stop "$WORK/mlflow"
echo "# epoch $e: proxies refuse, pushgateway and mlflow stopped ($((SECONDS - T)) s)"
e=$(wait_epoch chaos.err 10)
"$SRC/scripts/services/pushgateway.sh" start "$WORK/pg" "$PG_PORT" >/dev/null 2>pg.err ||
  fail "pushgateway.sh restart on $PG_PORT: $(tail -n 3 pg.err)"
"$SRC/scripts/services/mlflow.sh" start "$WORK/mlflow" "$ML_PORT" >/dev/null 2>ml.err ||
  fail "mlflow.sh restart on $ML_PORT: $(tail -n 3 ml.err)"
proxies reset || fail "could not switch the proxies"
echo "# epoch $(epoch_of chaos.err): services back (restarted at epoch $e); proxies reset ($((SECONDS - T)) s)"
e=$(until_hit reset 8)
proxies slow || fail "could not switch the proxies"
echo "# epoch $e: proxies hold requests ${SLOW_S} s ($((SECONDS - T)) s)"
e=$(until_hit slow 8)
proxies pass || fail "could not switch the proxies"
echo "# epoch $e: proxies pass ($((SECONDS - T)) s)"
wait "$RUN_PID"
RC=$?
OUT=$(cat chaos.out)
ERR=$(cat chaos.err)
cp chaos.err "$WORK/.err"
echo "# faulted run $((SECONDS - T)) s"
expect_exit 0
[ "$e" -lt "$EPOCHS" ] && ok "faults ended at epoch $e of $EPOCHS" || fail "the run outran the fault plan (epoch $e)"
RUN_ID=$(run_id_of chaos.err)
[ -n "$RUN_ID" ] && ok "run id $RUN_ID" || fail "no 'run id' line"
for p in prometheus loki mlflow; do
  grep -q "plugin:$p.*\(refused\|connect\|reset\|Recv failure\|timed out\|Timeout\)" chaos.err &&
    ok "$p warned about the faults" || fail "no fault warning from $p"
done
n=$(payloads runs/chaos)
[ "$n" -eq 0 ] && ok "spool empty at the end of the run" ||
  fail "$n payloads left in runs/chaos/spool: $(find runs/chaos/spool -type f | head -3)"
expect_no_stderr "payloads left in"

case_ "the training result is that of the training alone"
pycheck same_training "$MAESTRO" runs/ref/run.h5 runs/chaos/run.h5
case_ "the proxies really injected the faults"
pycheck faults pushgateway "$(cat pg.ctl)" 1 1
pycheck faults mlflow "$(cat ml.ctl)" 0 0 1
pycheck faults loki "$(cat loki.ctl)" 0 0 1
case_ "delivered once the services were back, counted on the servers"
pycheck pushgateway "$PG_PORT" "$RUN_ID" "$EPOCHS"
pycheck loki "$LOKI_PORT" "$RUN_ID" "$TENANT" "$EPOCHS"
pycheck mlflow "$ML_PORT" "$RUN_ID" chaos chaos-model champion "$EPOCHS"
echo "# part 1 done ($((SECONDS - T0)) s)"

# ---- 2. every service slow for the whole run ----------------------------------------------------
case_ "every service slower than its timeout for the whole run"
export MAESTRO_FAULT_DELAY=allreduce:2 # 4 epochs: every push waits out its timeout
T=$SECONDS
run timeout -k 5 "$LIMIT" mpirun -np 2 --oversubscribe "$MAESTRO" run spec.yml --output runs/fast \
  --set 'plugins=[]' --set training.epochs=4
NORMAL=$((SECONDS - T))
proxies slow || fail "could not switch the proxies"
T=$SECONDS
run timeout -k 5 "$LIMIT" mpirun -np 2 --oversubscribe "$MAESTRO" run spec.yml --cluster cluster.yml \
  --output runs/slow --set training.epochs=4
WALL=$((SECONDS - T))
echo "# slow services: run $WALL s, $NORMAL s without plugins"
expect_exit 0
RUN_SLOW=$(sed -n 's/.*runner: run id \([^ ]*\).*/\1/p' "$WORK/.err" | head -n 1)
# bounded: the plugins' run end waits at most 30 s (end_timeout_s) for the queue
[ "$WALL" -le $((NORMAL + 40)) ] && ok "ended in $WALL s (no hang)" || fail "took $WALL s"
expect_stderr "spooled for retry"
for p in prometheus loki mlflow; do
  expect_stderr "payloads left in runs/slow/spool/$p"
done
expect_stderr "maestro plugins flush runs/slow"
proxies pass || fail "could not switch the proxies"
pycheck faults pushgateway "$(cat pg.ctl)" 1 2

case_ "services answer again: maestro plugins flush delivers everything"
run timeout -k 5 "$LIMIT" "$MAESTRO" plugins flush runs/slow --cluster cluster.yml
expect_exit 0
expect_stdout " 0 left"
n=$(payloads runs/slow)
[ "$n" -eq 0 ] && ok "spool empty" || fail "$n payloads left: $(find runs/slow/spool -type f | head -3)"
pycheck pushgateway "$PG_PORT" "$RUN_SLOW" 4
pycheck loki "$LOKI_PORT" "$RUN_SLOW" "$TENANT" 4
pycheck mlflow "$ML_PORT" "$RUN_SLOW" chaos chaos-model champion 4

echo "# total $((SECONDS - T0)) s"
finish
