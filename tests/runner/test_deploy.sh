#!/bin/bash
# test_deploy.sh - deploy/ assets: the Grafana dashboard and the Prometheus alert rules parse and
# use only metric names docs/metrics.md documents; the Dockerfile runs as a non-root user with
# maestro as its entrypoint; the generated MPIJob, CronJob and sbatch examples have the shape the
# commands promise. promtool, when installed, checks the rules as well.
. "$MAESTRO_SOURCE_DIR/tests/cli_lib.sh"
PY=/usr/bin/python3
D="$MAESTRO_SOURCE_DIR/deploy"
DOC="$MAESTRO_SOURCE_DIR/docs/metrics.md"

# The checker: `check.py dashboard|alerts FILE` prints one line per problem, exits 1 if any.
cat >check.py <<'PYEOF'
import json, re, sys, yaml

doc = open(sys.argv[1]).read()
documented = set(re.findall(r"`((?:maestro|push|push_failure|node_textfile)_[a-z0-9_]*)`", doc))
# PromQL words that are not metric names.
words = set("""and or unless by without on ignoring group_left group_right bool offset
  sum min max avg count stddev stdvar topk bottomk quantile count_values group
  rate irate increase delta idelta deriv time vector scalar absent absent_over_time
  label_values label_replace label_join sort sort_desc clamp_min clamp_max round abs
  avg_over_time min_over_time max_over_time sum_over_time count_over_time last_over_time
  quantile_over_time changes resets histogram_quantile humanize humanizeDuration
  inf nan""".split())

def names(expr):
    m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", expr, re.S)
    if m:                                                 # Grafana: label_values(SERIES, LABEL)
        expr = m.group(1)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)        # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                       # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                      # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    e = re.sub(r"\$\w+", "", e)                           # Grafana variables
    return [w for w in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", e)
            if w not in words and not re.fullmatch(r"\d.*|[smhdwy]", w)]

def check(where, expr, bad):
    used = names(expr)
    if not used:
        bad.append(f"{where}: no metric name in {expr!r}")
    for n in used:
        if n not in documented:
            bad.append(f"{where}: metric {n!r} is not in docs/metrics.md")

bad = []
what, path = sys.argv[2], sys.argv[3]
if what == "dashboard":
    d = json.load(open(path))
    if not 36 <= d.get("schemaVersion", 0) <= 40:
        bad.append(f"schemaVersion {d.get('schemaVersion')}")
    if not any(t.get("type") == "datasource" and t.get("name") == "DS_PROMETHEUS"
               for t in d["templating"]["list"]):
        bad.append("no DS_PROMETHEUS datasource variable")
    n = 0
    for p in d["panels"]:
        for t in p.get("targets", []):
            if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                bad.append(f"panel {p['title']!r}: datasource is not ${{DS_PROMETHEUS}}")
            check(f"panel {p['title']!r}", t["expr"], bad); n += 1
    for v in d["templating"]["list"]:
        if v.get("type") == "query":
            check(f"variable {v['name']!r}", v["query"]["query"], bad); n += 1
    if n < 10:
        bad.append(f"only {n} expressions")
else:
    d = yaml.safe_load(open(path))
    rules = [r for g in d["groups"] for r in g["rules"]]
    if not all(g.get("name") for g in d["groups"]) or len(rules) < 3:
        bad.append("groups need a name and there must be at least 3 rules")
    for r in rules:
        for k in ("alert", "expr", "for", "labels", "annotations"):
            if k not in r:
                bad.append(f"rule {r.get('alert')!r}: no {k}")
        if "severity" not in r.get("labels", {}) or "summary" not in r.get("annotations", {}):
            bad.append(f"rule {r.get('alert')!r}: no severity label or summary annotation")
        check(f"rule {r.get('alert')!r}", r.get("expr", ""), bad)
    alerts = {r.get("alert") for r in rules}
    for want in ("MaestroRunFailed", "MaestroNoSuccessfulNightlyRun", "MaestroThroughputDrop"):
        if want not in alerts:
            bad.append(f"no rule {want}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF

case_ "the checker rejects an undocumented metric"
printf '{"schemaVersion":38,"templating":{"list":[]},"panels":[{"title":"x","targets":[{"expr":"sum by (status) (maestro_sweep_trials)"}]}]}\n' >bad.json
run $PY check.py "$DOC" dashboard bad.json
[ "$RC" -ne 0 ] && grep -q "maestro_sweep_trials" "$WORK/.out" && ok "maestro_sweep_trials refused" || fail "not refused"

case_ "grafana-dashboard.json"
run $PY check.py "$DOC" dashboard "$D/grafana-dashboard.json"
expect_exit 0

case_ "prometheus-alerts.yml"
run $PY check.py "$DOC" alerts "$D/prometheus-alerts.yml"
expect_exit 0

case_ "promtool check rules"
if command -v promtool >/dev/null; then
  run promtool check rules "$D/prometheus-alerts.yml"
  expect_exit 0
else
  ok "skipped: promtool not installed (Debian: prometheus)"
fi

case_ "the generated examples (scripts/deploy-examples.sh)"
run $PY -c "
import sys, yaml
docs = [d for d in yaml.safe_load_all(open('$D/cronjob-example.yaml')) if d]
kinds = [d['kind'] for d in docs]
for k in ('ServiceAccount', 'Role', 'RoleBinding', 'ConfigMap', 'CronJob'):
    assert k in kinds, (k, kinds)
cj = [d for d in docs if d['kind'] == 'CronJob'][0]
assert cj['apiVersion'] == 'batch/v1', cj['apiVersion']
sp = cj['spec']
assert sp['schedule'] == '0 2 * * *' and sp['timeZone'] == 'UTC', sp
assert sp['concurrencyPolicy'] == 'Forbid', sp
docs = [d for d in yaml.safe_load_all(open('$D/mpijob-example.yaml')) if d]
assert [d['kind'] for d in docs] == ['ConfigMap', 'MPIJob'], [d['kind'] for d in docs]
assert docs[1]['apiVersion'] == 'kubeflow.org/v2beta1'
print('ok')"
expect_exit 0
for f in sbatch-example.sh sbatch-schedule-example.sh; do
  run bash -n "$D/$f"
  [ "$RC" -eq 0 ] && ok "$f parses" || fail "$f: $ERR"
done
for opt in "--requeue" "--signal=B:USR1@120" "--ntasks-per-node=2"; do
  grep -q -- "^#SBATCH $opt" "$D/sbatch-example.sh" && ok "sbatch $opt" || fail "no #SBATCH $opt"
done
grep -q -- "^#SBATCH --begin=" "$D/sbatch-schedule-example.sh" && ok "schedule uses --begin" ||
  fail "no --begin in the schedule script"

case_ "Dockerfile"
F="$D/Dockerfile"
user=$(grep -E '^USER ' "$F" | tail -1 | awk '{print $2}')
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] && ok "USER $user" || fail "no non-root USER"
grep -qE '^RUN useradd .*--uid 1000 .*maestro' "$F" && ok "maestro is uid 1000" || fail "no useradd --uid 1000 maestro"
grep -qxF 'ENTRYPOINT ["maestro"]' "$F" && ok "ENTRYPOINT" || fail "no ENTRYPOINT [\"maestro\"]"
grep -qxF 'WORKDIR /maestro' "$F" && ok "WORKDIR" || fail "no WORKDIR /maestro"
grep -qE '^FROM debian:12-slim' "$F" && ok "debian:12-slim" || fail "base is not debian:12-slim"
grep -q '/usr/local/lib/maestro/plugins' "$F" && ok "plugins folder" || fail "plugins not in /usr/local/lib/maestro/plugins"

finish
