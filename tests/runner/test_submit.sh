#!/usr/bin/env bash
# test_submit.sh - runner/cmd_submit.c, submit_local.c, submit_slurm.c without a cluster: the
# golden sbatch script, values that must stay literal (quotes, spaces, $(...), backticks), the
# local mpirun argv and a real local run, argument errors. The real Slurm submission is
# test_submit_slurm.sh.
. "$(dirname "$0")/../cli_lib.sh"
SRC=$MAESTRO_SOURCE_DIR
SELF=$(realpath "$MAESTRO")

case_ "help and bad arguments"
maestro submit --help
expect_exit 0
expect_stdout "usage: maestro submit SPEC.yml --target local|slurm|kubernetes"
expect_stdout "maestro validate"
maestro status --help
expect_exit 0
expect_stdout "usage: maestro status JOB"

printf 'kind: train\nname: golden\n' > golden.yml
maestro submit golden.yml
expect_exit 2
expect_stderr "--target is required"
maestro submit golden.yml --target nomad
expect_exit 2
expect_stderr "--target must be local, slurm or kubernetes, got \"nomad\""
maestro submit --target slurm
expect_exit 2
expect_stderr "no spec given"
maestro submit golden.yml --target slurm -o x.yaml
expect_exit 2
expect_stderr "-o is for --target kubernetes only"
maestro submit golden.yml --target slurm --bogus
expect_exit 2
expect_stderr "unknown option '--bogus'"
maestro submit golden.yml --target slurm --set nokey
expect_exit 2
expect_stderr "--set needs key.path=value"
maestro submit missing.yml --target slurm --dry-run
expect_exit 2
expect_stderr "missing.yml: No such file or directory"
expect_one_line
printf 'name: nokind\n' > nokind.yml
maestro submit nokind.yml --target slurm --dry-run
expect_exit 2
expect_stderr "the spec has no kind:"
maestro status
expect_exit 2
expect_stderr "no job id given"
maestro status '1;rm -rf /'
expect_exit 2
expect_stderr "job id must be a Slurm job id"
maestro status 1 --target kubernetes
expect_exit 2

case_ "golden sbatch script with every launch.slurm key"
cat > hpc.yml <<'YML'
name: hpc
launch:
  slurm: {partition: gpu, account: ml-team, nodes: 2, ntasks_per_node: 4, gpus_per_node: 4,
          cpus_per_task: 8, time: "02:30:00", maestro: /opt/maestro/bin/maestro}
YML
maestro submit golden.yml --target slurm --cluster hpc.yml --set training.epochs=3 --dry-run
expect_exit 0
printf '%s\n' "$OUT" > got.sbatch
sed "s|@WORK@|$(pwd -P)|g" "$SRC/tests/runner/data/submit_golden.sbatch" > want.sbatch
run diff -u want.sbatch got.sbatch
expect_exit 0
run bash -n got.sbatch
expect_exit 0
expect_no_file runs

case_ "defaults: no gpus line, no partition or account, this maestro binary"
printf 'name: plain\n' > plain.yml
maestro submit golden.yml --target slurm --cluster plain.yml --dry-run
expect_exit 0
expect_stdout "#SBATCH --nodes=1"
expect_stdout "#SBATCH --time='01:00:00'"
expect_no_stderr "error"
grep -q -- '--gpus-per-node\|--partition\|--account' <<<"$OUT" && fail "optional lines present" ||
  ok "no gpus, partition or account lines"
expect_stdout "mpirun '$SELF' 'run' '$(pwd -P)/golden.yml' '--cluster' '$(pwd -P)/plain.yml'"

case_ "output: and a file-output kind decide the log folder"
printf 'kind: train\nname: o\noutput: out/here/\n' > o.yml
maestro submit o.yml --target slurm --cluster plain.yml --dry-run
expect_stdout "#SBATCH --output='$(pwd -P)/out/here/slurm-%j.out'"
maestro submit o.yml --target slurm --cluster plain.yml --dry-run --set output=/abs/50%
expect_stdout "#SBATCH --output='/abs/50%%/slurm-%j.out'"

# A spec in a folder and with a name made to break shell quoting; nothing in them may run.
NASTY_DIR="$WORK/we ird'dir \$(touch pwned-dir)"
NASTY_NAME="it's \"q\" \$(touch pwned-name) \`touch pwned-tick\` a  b;"
NASTY_SET="note=x'y \$(touch pwned-set) \"z\""
mkdir -p "$NASTY_DIR" bin
python3 - "$NASTY_DIR/s.yml" "$NASTY_NAME" <<'PY'
import json, sys
open(sys.argv[1], "w").write("kind: train\nname: %s\n" % json.dumps(sys.argv[2]))
PY
cat > bin/fake-maestro <<'SH'
#!/bin/bash
printf '%s\n' "$@" > "$ARGS_FILE"
SH
cat > bin/mpirun <<'SH'
#!/bin/bash
exec "$@"
SH
chmod +x bin/fake-maestro bin/mpirun
printf 'launch:\n  slurm: {maestro: "%s"}\n' "$WORK/bin/fake-maestro" > "$NASTY_DIR/c.yml"

case_ "a nasty spec name, folder and --set stay literal in the sbatch script"
(cd "$NASTY_DIR" && "$MAESTRO" submit s.yml --target slurm --cluster c.yml --dry-run \
  --set "$NASTY_SET" > "$WORK/nasty.sbatch" 2> "$WORK/.err")
RC=$?
expect_exit 0
run bash -n nasty.sbatch
expect_exit 0
run python3 - nasty.sbatch "$NASTY_NAME" <<'PY'
import shlex, sys
lines = open(sys.argv[1]).read().splitlines()
name = [l for l in lines if l.startswith("#SBATCH --job-name=")][0].split("=", 1)[1]
words = shlex.split(name)
assert words == [sys.argv[2]], (words, sys.argv[2])
print("ok")
PY
expect_exit 0
(cd "$NASTY_DIR" && ARGS_FILE="$WORK/args1" PATH="$WORK/bin:$PATH" bash "$WORK/nasty.sbatch")
RC=$?
expect_exit 0
printf '%s\n' run "$(realpath "$NASTY_DIR")/s.yml" --cluster "$(realpath "$NASTY_DIR")/c.yml" \
  --set "$NASTY_SET" > want.args
run diff -u want.args args1
expect_exit 0
(cd "$NASTY_DIR" && SLURM_RESTART_COUNT=1 ARGS_FILE="$WORK/args2" PATH="$WORK/bin:$PATH" \
  bash "$WORK/nasty.sbatch")
RC=$?
expect_exit 0
run diff -u want.args args2
expect_exit 0
run find "$WORK" -name 'pwned*'
[ -z "$OUT" ] && ok "no command substitution ran" || fail "ran: $OUT"

case_ "a backslash cannot be carried by #SBATCH: refused, not changed"
printf 'kind: train\nname: "a\\\\b"\n' > bs.yml
maestro submit bs.yml --target slurm --cluster plain.yml --dry-run
expect_exit 2
expect_stderr "holds a backslash or a line break"
expect_one_line

case_ "local --dry-run prints the mpirun argv one quoted word a line"
cat > local.yml <<'YML'
launch:
  local: {np: 3, mpirun_args: [--oversubscribe, --mca, btl, "self,vader"]}
YML
(cd "$NASTY_DIR" && "$MAESTRO" submit s.yml --target local --cluster "$WORK/local.yml" \
  --dry-run --set "$NASTY_SET" > "$WORK/local.out" 2> "$WORK/.err")
RC=$?
expect_exit 0
run python3 - local.out "$SELF" "$(realpath "$NASTY_DIR")/s.yml" "$WORK/local.yml" "$NASTY_SET" <<'PY'
import shlex, sys
got = [shlex.split(l) for l in open(sys.argv[1]).read().splitlines()]
assert all(len(w) == 1 for w in got), got
got = [w[0] for w in got]
want = ["mpirun", "-np", "3", "--oversubscribe", "--mca", "btl", "self,vader", sys.argv[2], "run",
        sys.argv[3], "--cluster", sys.argv[4], "--set", sys.argv[5]]
assert got == want, (got, want)
print("ok")
PY
expect_exit 0

case_ "local submission runs the spec under mpirun with launch.local.np ranks"
"$MAESTRO" data synth --rows 300 --features 3 --classes 2 -o d.h5 >/dev/null ||
  fail "setup: synth"
cat > v.yml <<'YML'
kind: validate
name: v
data: {path: d.h5}
checks:
  - {check: row_count, min: 300, max: 300}
YML
printf 'launch:\n  local: {np: 2, mpirun_args: [--oversubscribe]}\n' > np2.yml
maestro submit v.yml --target local --cluster np2.yml
expect_exit 0
expect_file runs/v/report.json
run python3 -c "import json; r=json.load(open('runs/v/report.json')); assert r['ranks']==2 and r['status']=='ok', r; print('ok')"
expect_exit 0

case_ "slurm without sbatch on PATH is an environment error"
run env PATH=/nonexistent "$MAESTRO" submit golden.yml --target slurm --cluster plain.yml
expect_exit 4
expect_stderr "cannot run sbatch"

finish
