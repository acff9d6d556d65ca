#!/bin/bash
# test_schedule.sh - `maestro schedule` (runner/cmd_schedule.c, runner/schedule_render.c): next
# run times, crontab line, sbatch script, CronJob
. "$MAESTRO_SOURCE_DIR/tests/cli_lib.sh"
PY=/usr/bin/python3

SPECDIR="$WORK/jobs/it's \$(touch pwned) 100%"
mkdir -p "$SPECDIR"
printf 'name: "nightly \\"q\\""\nkind: train\n' >"$SPECDIR/spec.yml"
cat >cluster.yml <<'EOF'
name: t
launch:
  kubernetes: {namespace: ml, image: "reg/maestro:1"}
  slurm: {partition: "gpu's", account: ml}
schedules:
  nightly: {cron: "30 2 * * 7", timezone: Europe/Berlin, spec: "jobs/it's $(touch pwned) 100%/spec.yml", target: kubernetes}
  utc: {cron: "*/15 1-10/2 * jan-MAR MON-fri", spec: "jobs/it's $(touch pwned) 100%/spec.yml"}
  ny: {cron: "0 9 13 * FRI", timezone: America/New_York, spec: "jobs/it's $(touch pwned) 100%/spec.yml", target: slurm}
  badfield: {cron: "0 0 * * 8", spec: x.yml}
  badname: {cron: "0 0 * FOO *", spec: x.yml}
  badtz: {cron: "0 0 * * *", timezone: Mars/Base, spec: x.yml}
EOF

case_ "--next in UTC (default zone)"
maestro schedule utc --next 5 --cluster cluster.yml --after 2026-01-02T10:40:00Z
expect_exit 0
want="2026-01-05T01:00:00+00:00
2026-01-05T01:15:00+00:00
2026-01-05T01:30:00+00:00
2026-01-05T01:45:00+00:00
2026-01-05T03:00:00+00:00"
[ "$OUT" = "$want" ] && ok "five runs" || fail "got: $OUT"

case_ "--next across Berlin's spring-forward gap"
maestro schedule nightly --next 3 --cluster cluster.yml --after 2026-03-20T00:00:00Z
want="2026-03-22T02:30:00+01:00
2026-03-29T03:00:00+02:00
2026-04-05T02:30:00+02:00"
[ "$OUT" = "$want" ] && ok "02:30 on 29 March runs at 03:00 CEST" || fail "got: $OUT"

case_ "--next in New York, day-of-month OR day-of-week"
MAESTRO_CLUSTER=cluster.yml run "$MAESTRO" schedule ny --next 3 --after 2026-03-01T00:00:00Z
want="2026-03-06T09:00:00-05:00
2026-03-13T09:00:00-04:00
2026-03-20T09:00:00-04:00"
[ "$OUT" = "$want" ] && ok "Fridays and the 13th, EST then EDT" || fail "got: $OUT"

case_ "crontab line: CRON_TZ first, absolute paths, the spec path literal"
maestro schedule nightly --target cron --cluster cluster.yml
expect_exit 0
[ "$(printf '%s\n' "$OUT" | head -1)" = "CRON_TZ=Europe/Berlin" ] && ok "CRON_TZ line" || fail "no CRON_TZ first"
line=$(printf '%s\n' "$OUT" | sed -n 2p)
case "$line" in "30 2 * * 7 '"*) ok "schedule fields then a quoted command" ;; *) fail "line: $line" ;; esac
# What cron then hands /bin/sh: '\%' becomes '%'. Split it as the shell would.
printf '%s' "${line#30 2 \* \* 7 }" | sed 's/\\%/%/g' >cmd.txt
run "$PY" -c 'import shlex,sys,json; print(json.dumps(shlex.split(open("cmd.txt").read())))'
want=$("$PY" -c 'import json,sys,os; print(json.dumps([os.path.realpath(sys.argv[1]),"submit",sys.argv[2],"--target","kubernetes","--apply","--cluster",sys.argv[3]]))' \
  "$MAESTRO" "$SPECDIR/spec.yml" "$WORK/cluster.yml")
[ "$OUT" = "$want" ] && ok "argv is literal and absolute" || fail "argv $OUT, want $want"
grep -q '100\\%' <<<"$line" && ok "% escaped for cron" || fail "% not escaped"
# running the words through sh expands nothing
sh -c "printf '%s\n' $(cat cmd.txt)" >/dev/null
expect_no_file "$WORK/pwned"

case_ "crontab line without a timezone: no CRON_TZ, target local"
maestro schedule utc --target cron --cluster cluster.yml
expect_exit 0
expect_stdout "--target local '--cluster'"
[ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ] && ok "one line" || fail "expected one line"

case_ "sbatch script: --begin in local time, quoted values, re-submits itself"
TZ=UTC run "$MAESTRO" schedule ny --target slurm --cluster cluster.yml --after 2026-03-01T00:00:00Z
expect_exit 0
expect_stdout "#SBATCH --begin='2026-03-06T14:00:00'"
expect_stdout "#SBATCH --partition='gpu'\\''s'"
expect_stdout "--target slurm --submit --cluster '$WORK/cluster.yml'"
[ "$(printf '%s\n' "$OUT" | tail -1)" = 'exit "$status"' ] && ok "ends with the resubmission" || fail "last line"
printf '%s\n' "$OUT" >job.sh
bash -n job.sh && ok "valid bash" || fail "bash -n"
TZ=America/New_York run "$MAESTRO" schedule ny --target slurm --cluster cluster.yml --after 2026-03-01T00:00:00Z
expect_stdout "#SBATCH --begin='2026-03-06T09:00:00'"

case_ "--submit hands the script to sbatch"
mkdir -p bin
printf '#!/bin/sh\necho "$@" >"%s/sbatch.args"\ncat >"%s/sbatch.in"\necho 42\n' "$WORK" "$WORK" >bin/sbatch
chmod +x bin/sbatch
PATH="$WORK/bin:$PATH" run "$MAESTRO" schedule ny --target slurm --submit --cluster cluster.yml
expect_exit 0
expect_stdout "42"
grep -q -- "--parsable" sbatch.args && ok "sbatch --parsable" || fail "args: $(cat sbatch.args)"
grep -q "^#SBATCH --begin=" sbatch.in && ok "script on stdin" || fail "no script on stdin"
PATH="/nonexistent" run "$MAESTRO" schedule ny --target slurm --submit --cluster cluster.yml
expect_exit 4
expect_stderr "cannot run sbatch"

case_ "CronJob and RBAC, checked as YAML"
maestro schedule nightly --target kubernetes --cluster cluster.yml -o k8s.yml
expect_exit 0
[ -z "$OUT" ] && ok "nothing on stdout with -o" || fail "stdout not empty"
run "$PY" - k8s.yml "$SPECDIR/spec.yml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
assert sorted(kinds) == ["ConfigMap", "CronJob", "Role", "RoleBinding", "ServiceAccount"], kinds.keys()
cj = kinds["CronJob"]
assert cj["apiVersion"] == "batch/v1"
s = cj["spec"]
assert s["schedule"] == "30 2 * * 0", s["schedule"]  # 7 written as 0 for the controller
assert s["timeZone"] == "Europe/Berlin"
assert s["concurrencyPolicy"] == "Forbid"
assert isinstance(s["startingDeadlineSeconds"], int)
assert s["successfulJobsHistoryLimit"] >= 1 and s["failedJobsHistoryLimit"] >= 1
pod = s["jobTemplate"]["spec"]["template"]["spec"]
sa = kinds["ServiceAccount"]["metadata"]["name"]
assert pod["serviceAccountName"] == sa
c = pod["containers"][0]
assert c["image"] == "reg/maestro:1"
assert c["command"][:6] == ["maestro", "submit", "/etc/maestro/schedule/spec.yml", "--target", "kubernetes", "--apply"], c["command"]
assert pod["volumes"][0]["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
cm = kinds["ConfigMap"]["data"]
assert cm["spec.yml"] == open(sys.argv[2]).read()
assert "it's $(touch pwned) 100%" in cm["cluster.yml"]
rules = kinds["Role"]["rules"]
mpi = [r for r in rules if "mpijobs" in r["resources"]][0]
assert mpi["apiGroups"] == ["kubeflow.org"]
assert sorted(mpi["verbs"]) == ["create", "get", "list", "watch"]
assert any("configmaps" in r["resources"] and r["apiGroups"] == [""] for r in rules)
rb = kinds["RoleBinding"]
assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": kinds["Role"]["metadata"]["name"]}
assert rb["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": "ml"}]
assert all(d["metadata"]["namespace"] == "ml" for d in docs)
print("yaml ok")
EOF
expect_exit 0
expect_stdout "yaml ok"

case_ "an invalid cron expression is exit 2, naming the field and where"
maestro schedule badfield --next 1 --cluster cluster.yml
expect_exit 2
expect_stderr "cluster.yml:9:"
expect_stderr "schedules.badfield.cron: cron field 'day-of-week': 8 is out of range 0-7"
expect_one_line
maestro schedule badname --target cron --cluster cluster.yml
expect_exit 2
expect_stderr "cron field 'month': unknown name 'FOO'"

case_ "an unknown time zone is exit 2"
maestro schedule badtz --next 1 --cluster cluster.yml
expect_exit 2
expect_stderr "schedules.badtz.timezone: unknown time zone \"Mars/Base\""

case_ "usage errors"
maestro schedule nosuch --next 1 --cluster cluster.yml
expect_exit 2
expect_stderr "no schedule \"nosuch\" (schedules: nightly, utc, ny"
maestro schedule nightly --target systemd --cluster cluster.yml
expect_exit 2
expect_stderr "--target must be kubernetes, slurm or cron"
maestro schedule nightly --cluster cluster.yml
expect_exit 2
maestro schedule nightly --next 0 --cluster cluster.yml
expect_exit 2
maestro schedule nightly --target cron --submit --cluster cluster.yml
expect_exit 2
maestro schedule nightly --next 1 --after yesterday --cluster cluster.yml
expect_exit 2
expect_stderr "RFC 3339"
maestro schedule --help
expect_exit 0
expect_stdout "usage: maestro schedule NAME"

finish
