#!/usr/bin/env bash
# test_sweep_plugins.sh - a `kind: sweep` of template trials reporting to the platform, end to end,
# checked on the servers as a platform engineer would: a real MLflow server (tracking, artifact
# proxy, model registry) and a real Pushgateway on 127.0.0.1 (scripts/services/*.sh, as
# tests/plugins/test_e2e_plugins.sh starts them). Six random trials with the median rule, two
# groups of one rank under `mpirun -np 2`, `plugins: [mlflow, prometheus]` and `registry:`.
#   MLflow: one FINISHED parent run tagged maestro.run_id = the sweep's run id, whose metrics hold
#     best_val_loss and trials_completed (the journal's); one child run per trial in the same
#     experiment, tagged mlflow.parentRunId = the parent's MLflow id and maestro.parent_run_id =
#     the sweep's id, with the trial's parameters as params, its val_loss history (one point per
#     epoch it reported, the last its objective) and its run.h5; the model registered once, from
#     the parent run, whose model/run.h5 is <output>/run.h5, itself the best trial's run.h5.
#   Pushgateway: the sweep's rank 0 group has status ok, sweep_trials{status=...} equal to the
#     journal's counts and sweep_best_objective equal to its best objective.
#   Nothing spooled anywhere under the output folder; exit 0.
# The journal (`maestro inspect <output>/sweep.h5 --json`) is the reference for every number.
# Services start once (~5 s), the sweep takes a few seconds.
. "$(dirname "$0")/../cli_lib.sh"

SRC=$MAESTRO_SOURCE_DIR
PY=/usr/bin/python3 # the checks use the standard library only
LIMIT=120           # seconds the sweep may take

if [ -n "${MAESTRO_PLUGIN_TEST_DIR:-}" ]; then export MAESTRO_PLUGIN_PATH="$MAESTRO_PLUGIN_TEST_DIR"; fi
unset MLFLOW_TRACKING_TOKEN MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD \
  MAESTRO_SECRET_MLFLOW_TOKEN KUBERNETES_SERVICE_HOST MAESTRO_CLUSTER

cleanup() {
  "$SRC/scripts/services/pushgateway.sh" stop "$WORK/pg" >/dev/null 2>&1
  "$SRC/scripts/services/mlflow.sh" stop "$WORK/mlflow" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

T0=$SECONDS

# ---- the checks, Python standard library ------------------------------------------------------
cat > check.py <<'PY'
import json, os, sys, urllib.parse, urllib.request

def get(url, data=None):
    req = urllib.request.Request(url, data=None if data is None else json.dumps(data).encode(),
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()

def jget(url, data=None):
    return json.loads(get(url, data))

def close(a, b):
    return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))

def journal(path):
    j = json.load(open(path))
    assert j["kind"] == "sweep" and j["trials"], "not a sweep journal with trials"
    return j

def api(port):
    return f"http://127.0.0.1:{port}/api/2.0/mlflow"

def all_runs(port):
    exps = jget(f"{api(port)}/experiments/search", {"max_results": 1000})["experiments"]
    ids = [e["experiment_id"] for e in exps]
    runs, token = [], None
    while True:
        body = {"experiment_ids": ids, "max_results": 1000}
        if token:
            body["page_token"] = token
        page = jget(f"{api(port)}/runs/search", body)
        runs += page.get("runs", [])
        token = page.get("next_page_token")
        if not token:
            return runs

def tags(r):
    return {t["key"]: t["value"] for t in r["data"].get("tags", [])}

def parent_of(port, sweep_id):
    mine = [r for r in all_runs(port) if tags(r).get("maestro.run_id") == sweep_id]
    assert len(mine) == 1, f"{len(mine)} MLflow runs tagged maestro.run_id={sweep_id}, want 1"
    return mine[0]

def artifact(port, uri, name):
    assert uri.startswith("mlflow-artifacts:/"), uri
    base = f"http://127.0.0.1:{port}/api/2.0/mlflow-artifacts/artifacts/"
    return get(base + uri[len("mlflow-artifacts:/"):].lstrip("/") + "/" + name)

def history(port, rid, key):
    h = jget(f"{api(port)}/metrics/get-history?run_id={rid}&metric_key={key}").get("metrics", [])
    return sorted(h, key=lambda m: (int(m["step"]), int(m["timestamp"])))

def mlflow_parent(port, sweep_id, journal_path):
    """The sweep's run: FINISHED, tagged, kind sweep."""
    p = parent_of(port, sweep_id)
    info, t = p["info"], tags(p)
    assert info["status"] == "FINISHED" and int(info.get("end_time") or 0) > 0, \
        f"parent status {info['status']}, end_time {info.get('end_time')}"
    assert t.get("maestro.kind") == "sweep", f"maestro.kind={t.get('maestro.kind')!r}"
    assert t.get("maestro.ranks") == "2", f"maestro.ranks={t.get('maestro.ranks')!r}"
    assert "mlflow.parentRunId" not in t and "maestro.parent_run_id" not in t, \
        f"the sweep's own run has a parent: {t.get('mlflow.parentRunId')} {t.get('maestro.parent_run_id')}"
    print(f"parent {info['run_id']} FINISHED, maestro.run_id={sweep_id}, kind sweep, 2 ranks")

def mlflow_parent_metrics(port, sweep_id, journal_path):
    """The sweep's summary as the parent's metrics: best_<objective metric>, trials_*."""
    j = journal(journal_path)
    p = parent_of(port, sweep_id)
    m = {x["key"]: x["value"] for x in p["data"].get("metrics", [])}
    want = {"best_val_loss": j["best"]["objective"],
            "trials_completed": j["counts"]["completed"],
            "trials_pruned": j["counts"]["pruned"],
            "trials_failed": j["counts"]["failed"]}
    missing = [k for k in want if k not in m]
    assert not missing, f"parent run {p['info']['run_id']} lacks metrics {missing}; it has {sorted(m)}"
    for k, v in want.items():
        assert close(m[k], v), f"parent metric {k}={m[k]}, journal says {v}"
    print("parent metrics " + ", ".join(f"{k}={m[k]:g}" for k in want) + " = the journal's")

def mlflow_children(port, sweep_id, out_dir, journal_path):
    """One child run per trial, nested under the parent, with params, val_loss history, run.h5."""
    j = journal(journal_path)
    p = parent_of(port, sweep_id)
    pid, pexp = p["info"]["run_id"], p["info"]["experiment_id"]
    kids = [r for r in all_runs(port) if tags(r).get("maestro.parent_run_id") == sweep_id]
    by_dir = {}
    for r in kids:
        d = tags(r).get("maestro.run_dir", "")
        by_dir.setdefault(os.path.relpath(d, out_dir) if d else "?", []).append(r)
    want_dirs = sorted(t["artifact"] for t in j["trials"])
    assert sorted(by_dir) == want_dirs and all(len(v) == 1 for v in by_dir.values()), \
        f"child runs by maestro.run_dir {sorted((k, len(v)) for k, v in by_dir.items())}, want one per {want_dirs}"
    points = 0
    for t in j["trials"]:
        r = by_dir[t["artifact"]][0]
        info, tg, n = r["info"], tags(r), t["number"]
        rid = info["run_id"]
        assert info["experiment_id"] == pexp, f"trial {n}: experiment {info['experiment_id']}, parent's {pexp}"
        assert tg.get("mlflow.parentRunId") == pid, \
            f"trial {n} (MLflow run {rid}): mlflow.parentRunId={tg.get('mlflow.parentRunId')!r}, want {pid}"
        assert tg.get("maestro.kind") == "train", f"trial {n}: maestro.kind={tg.get('maestro.kind')!r}"
        want_status = "FINISHED" if t["status"] in ("completed", "pruned") else "FAILED"
        assert info["status"] == want_status, f"trial {n} ({t['status']}): MLflow status {info['status']}"
        params = {x["key"]: x["value"] for x in r["data"].get("params", [])}
        assert params == t["params"], f"trial {n}: params {params}, journal {t['params']}"
        h = history(port, rid, "val_loss")
        assert len(h) == t["steps"] and len({int(m['step']) for m in h}) == len(h), \
            f"trial {n}: val_loss history steps {[m['step'] for m in h]}, journal has {t['steps']} reports"
        assert close(h[-1]["value"], t["objective"]), \
            f"trial {n}: last val_loss {h[-1]['value']}, objective {t['objective']}"
        points += len(h)
        got = artifact(port, info["artifact_uri"], "model/run.h5")
        want = open(os.path.join(out_dir, t["artifact"], "run.h5"), "rb").read()
        assert got == want, f"trial {n}: artifact model/run.h5 ({len(got)} bytes) differs from {t['artifact']}/run.h5 ({len(want)})"
    print(f"{len(kids)} child runs under {pid}: params, {points} val_loss points, run.h5 identical "
          f"({j['counts']['completed']} completed, {j['counts']['pruned']} pruned)")

def mlflow_registry(port, sweep_id, out_dir, journal_path, model, alias):
    """The sweep's model, registered once, from the parent run, is the best trial's run.h5."""
    j = journal(journal_path)
    p = parent_of(port, sweep_id)
    pid, uri = p["info"]["run_id"], p["info"]["artifact_uri"]
    best = open(os.path.join(out_dir, "trials", "%04d" % j["best"]["number"], "run.h5"), "rb").read()
    mine = open(os.path.join(out_dir, "run.h5"), "rb").read()
    assert mine == best, f"{out_dir}/run.h5 is not trial {j['best']['number']}'s run.h5"
    names = [m["name"] for m in jget(f"{api(port)}/registered-models/search").get("registered_models", [])]
    assert names == [model], f"registered models {names}, want [{model}]"
    vs = jget(f"{api(port)}/model-versions/search?filter=" +
              urllib.parse.quote(f"name='{model}'"))["model_versions"]
    assert len(vs) == 1, f"{len(vs)} versions of {model} (from runs {[v['run_id'] for v in vs]}), want 1"
    mv = jget(f"{api(port)}/registered-models/alias?name={urllib.parse.quote(model)}&alias={alias}")["model_version"]
    assert mv["run_id"] == pid, f"@{alias} is version {mv['version']} of run {mv['run_id']}, not the parent {pid}"
    assert mv["source"] == uri + "/model", f"source {mv['source']}, want {uri}/model"
    assert mv["status"] == "READY", mv["status"]
    got = artifact(port, uri, "model/run.h5")
    assert got == mine, f"the parent's model/run.h5 ({len(got)} bytes) differs from {out_dir}/run.h5 ({len(mine)})"
    print(f"{model} v{mv['version']} @{alias} from parent {pid}: model/run.h5 = {out_dir}/run.h5 = "
          f"trial {j['best']['number']}'s run.h5")

def pushgateway(port, sweep_id, journal_path):
    """The sweep's group: status ok, sweep_trials{status} and sweep_best_objective = the journal's."""
    j = journal(journal_path)
    data = jget(f"http://127.0.0.1:{port}/api/v1/metrics")["data"]
    groups = {g["labels"].get("rank"): g for g in data
              if g["labels"].get("job") == "maestro" and g["labels"].get("run") == sweep_id}
    assert "0" in groups, f"no group job=maestro,run={sweep_id},rank=0 (groups for ranks {sorted(groups)})"
    g = groups["0"]
    def series(family, **labels):
        fam = g.get(family)
        assert fam, f"no {family} in the sweep's group (has {sorted(k for k in g if k.startswith('maestro_'))})"
        return [float(m["value"]) for m in fam["metrics"]
                if all(m["labels"].get(k) == v for k, v in labels.items())]
    assert series("maestro_run_status", status="ok") == [1.0], "run_status{status=ok} is not 1"
    info = g["maestro_run_info"]["metrics"][0]["labels"]
    assert info.get("run_id") == sweep_id and info.get("kind") == "sweep", info
    got = {}
    for s in ("running", "completed", "pruned", "failed"):
        v = series("maestro_train_metric", name="sweep_trials", status=s)
        assert len(v) == 1, f"sweep_trials{{status={s}}}: {v}"
        got[s] = v[0]
    want = {s: float(j["counts"][s]) for s in got}
    assert got == want, f"sweep_trials by status {got}, journal {want}"
    b = series("maestro_train_metric", name="sweep_best_objective")
    assert len(b) == 1 and close(b[0], j["best"]["objective"]), \
        f"sweep_best_objective {b}, journal's best {j['best']['objective']}"
    print(f"Pushgateway run {sweep_id}: status ok, sweep_trials {got}, best {b[0]:.6g}")

globals()[sys.argv[1]](*sys.argv[2:])
PY

# ---- services, data, specs --------------------------------------------------------------------
PG_PORT=$("$SRC/scripts/services/pushgateway.sh" start "$WORK/pg" 2>pg.err) ||
  setup_fail "pushgateway.sh start: $(tail -n 3 pg.err)"
ML_PORT=$("$SRC/scripts/services/mlflow.sh" start "$WORK/mlflow" 2>ml.err) ||
  setup_fail "mlflow.sh start: $(tail -n 3 ml.err)"
echo "# services: pushgateway :$PG_PORT, mlflow :$ML_PORT ($((SECONDS - T0)) s)"

"$MAESTRO" data synth --rows 1500 --features 8 --classes 2 --seed 4 -o d.h5 >/dev/null ||
  setup_fail "data synth"
cat > cluster.yml <<EOF
name: sweep-e2e
services:
  pushgateway: {url: "http://127.0.0.1:$PG_PORT"}
  mlflow: {url: "http://127.0.0.1:$ML_PORT"}
EOF
cat > tmpl.yml <<'YML'
kind: train
name: tmpl
data: {path: d.h5, validation_split: 0.2}
model: {type: mlp, hidden: [16], activation: relu}
optimizer: {name: sgd, lr: 0.05, momentum: 0.5}
training: {epochs: 4, batch_size: 64, seed: 1, checkpoint_every: 0}
gates: {val_accuracy: ">= 0.6"}
YML
cat > sweep.yml <<'YML'
kind: sweep
name: swp
objective: {metric: val_loss, goal: minimize}
algorithm: {name: random, settings: {seed: 11}}
parameters:
  - {name: optimizer.lr, type: double, min: 1e-3, max: 1.0, scale: log}
  - {name: model.hidden, type: categorical, values: [[8], [16, 16]]}
max_trials: 6
parallel_trials: 2
early_stopping: {name: median, min_trials_required: 2, start_step: 1}
trial: {template: tmpl.yml}
plugins: [mlflow, prometheus]
registry: {model: swp-model, alias: champion}
YML

# ---- the sweep --------------------------------------------------------------------------------
case_ "a template sweep on 2 groups with mlflow and prometheus, every service up"
run timeout -k 5 "$LIMIT" mpirun -np 2 --oversubscribe "$MAESTRO" run sweep.yml \
  --cluster cluster.yml --output runs/s
expect_exit 0
SWEEP_ID=$(sed -n 's/.*runner: run id \([^ ]*\).*/\1/p' "$WORK/.err" | head -n 1)
[ -n "$SWEEP_ID" ] && ok "run id $SWEEP_ID" || fail "no 'run id' line"
expect_stderr "registered model swp-model version 1 in MLflow as @champion"
expect_file runs/s/run.h5
n=$(find runs/s -path '*/spool/*' -type f ! -name 'delivered-rank*' 2>/dev/null | wc -l)
[ "$n" -eq 0 ] && ok "nothing spooled under runs/s" ||
  fail "$n payloads spooled: $(find runs/s -path '*/spool/*' -type f | head -3)"
echo "# sweep done ($((SECONDS - T0)) s)"

case_ "the journal"
maestro inspect runs/s/sweep.h5 --json
printf '%s' "$OUT" > journal.json
run "$PY" -c "
import json
j = json.load(open('journal.json'))
c = j['counts']
assert len(j['trials']) == 6 and c['running'] == 0 and c['failed'] == 0, c
assert c['completed'] >= 1 and j['best']['number'] >= 0, j['best']
print(c)"
[ "$RC" -eq 0 ] && ok "6 trials: $OUT" || fail "journal: $(tail -n 2 "$WORK/.err")"

case_ "MLflow: the sweep is one FINISHED parent run"
pycheck mlflow_parent "$ML_PORT" "$SWEEP_ID" journal.json
case_ "MLflow: the parent's metrics hold the sweep's summary (best_val_loss, trials_*)"
pycheck mlflow_parent_metrics "$ML_PORT" "$SWEEP_ID" journal.json
case_ "MLflow: one nested child run per trial with its params, val_loss history and run.h5"
pycheck mlflow_children "$ML_PORT" "$SWEEP_ID" runs/s journal.json
case_ "MLflow: swp-model@champion is the parent's model/run.h5, the best trial's run.h5"
pycheck mlflow_registry "$ML_PORT" "$SWEEP_ID" runs/s journal.json swp-model champion
case_ "Pushgateway: sweep_trials by status and sweep_best_objective equal the journal's"
pycheck pushgateway "$PG_PORT" "$SWEEP_ID" journal.json

echo "# total $((SECONDS - T0)) s"
finish
