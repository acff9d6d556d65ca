#!/usr/bin/env bash
# test_literal_values.sh - names, parameter values and paths holding quotes, spaces, line
# breaks, `$(...)`, backticks, `${...}` and `../` stay literal: in a command trial's argv
# (jobs/sweep/worker.c, space.c mo_space_arg), in a template trial's spec.yml and the values it
# trains with (sweep_spec.c, space.c flow text, io/config_node.c dump), in an output folder
# name, in the local model registry (runner/run_plugins.c, plugins/mlflow/local.c); nothing
# runs, nothing lands outside the output folder. (The sbatch script and MPIJob manifest have
# their own nasty-value cases in test_submit.sh and test_submit_k8s_cli.sh.)
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3
export MAESTRO_REGISTRY_DIR="$WORK/registry"
mkdir -p here && cd here || exit 1 # everything the commands make lands below here

"$MAESTRO" data synth --rows 200 --features 4 --classes 2 --seed 1 -o d.h5 >/dev/null ||
  { echo "FAIL - setup: data synth"; exit 1; }
cat > echo.sh <<'SH'
#!/bin/bash
# the trial's argv, NUL-separated, into its folder
printf '%s\0' "$@" > "$MAESTRO_TRIAL_DIR/argv"
echo "loss=0.5"
SH
chmod +x echo.sh
# The values, as the sweep spec writes them (YAML double-quoted), and as bytes.
cat > values.yml <<'YML'
["it's \"q\"", "$(touch pwned-dollar)", "`touch pwned-tick`", "../../escaped", "a\nb\tc", "$${env:HOME}", "semi; rm -rf x", [1, "two words"], plain]
YML
printf '%s\n' "it's \"q\"" '$(touch pwned-dollar)' '`touch pwned-tick`' '../../escaped' \
  'a\nb\tc' '${env:HOME}' 'semi; rm -rf x' '[1, "two words"]' plain > want.txt

case_ "a command trial gets each categorical value as one literal argument"
cat > cmd.yml <<YML
kind: sweep
name: lit
objective: {metric: loss, goal: minimize}
algorithm: {name: grid}
parameters:
  - {name: p, type: categorical, values: $(cat values.yml)}
max_trials: 9
trial: {command: ["./echo.sh", "\${p}", "\${trial}"]}
YML
maestro run cmd.yml --output "out/we ird'dir \$(touch pwned-dir)"
expect_exit 0
expect_stderr "9 trials (9 completed, 0 pruned, 0 failed)"
run "$PY" - "out/we ird'dir \$(touch pwned-dir)" <<'PY'
import sys
want = [l.encode().decode("unicode_escape") if l.startswith("a\\n") else l
        for l in open("want.txt").read().splitlines()]
for n, w in enumerate(want):
    got = open(f"{sys.argv[1]}/trials/{n:04d}/argv", "rb").read().split(b"\0")[:-1]
    assert got == [w.encode(), str(n).encode()], (n, got, w)
print("ok", len(want))
PY
expect_exit 0

case_ "a template trial trains with each value as written; its spec.yml reloads to the same value"
cat > t.yml <<'YML'
kind: train
name: t
description: plain
data: {path: d.h5, validation_split: 0.25}
model: {type: mlp, hidden: [4]}
optimizer: {name: sgd, lr: 0.1}
training: {epochs: 1, batch_size: 50, seed: 1, checkpoint_every: 0}
YML
head -c -1 values.yml | sed 's/, \[1, "two words"\]//' > v2.yml
cat > tpl.yml <<YML
kind: sweep
name: tpl
objective: {metric: val_loss, goal: minimize}
algorithm: {name: grid}
parameters:
  - {name: description, type: categorical, values: $(cat v2.yml)]}
max_trials: 8
trial: {template: t.yml}
YML
sed -i 's/]]}$/]}/' tpl.yml
maestro run tpl.yml --output out/tpl
expect_exit 0
expect_stderr "8 trials (8 completed, 0 pruned, 0 failed)"
run "$PY" - <<'PY'
import yaml
want = [l.encode().decode("unicode_escape") if l.startswith("a\\n") else l
        for l in open("want.txt").read().splitlines() if not l.startswith("[")]
for n, w in enumerate(want):
    got = yaml.safe_load(open(f"out/tpl/trials/{n:04d}/spec.yml"))["description"]
    # spec.yml is Maestro's spec language: a literal ${ is written $${
    assert got == w.replace("${", "$${"), (n, got, w)
print("ok", len(want))
PY
expect_exit 0
expect_stdout "ok 8"
run "$MAESTRO" run out/tpl/trials/0005/spec.yml --output out/rerun
expect_exit 0
run grep -c 'description: "\$\${env:HOME}"' out/rerun/spec.yml
[ "$OUT" = 1 ] && ok "a rerun of the trial's spec.yml keeps \${env:HOME} literal" || fail "$(grep description out/rerun/spec.yml)"

case_ "nothing ran and nothing landed outside the output folders"
run find "$WORK" -name 'pwned*' -o -name 'escaped'
[ -z "$OUT" ] && ok "no pwned*/escaped file anywhere" || fail "found: $OUT"
run sh -c 'ls -A "$0" | sort | tr "\n" " "' "$WORK/here"
[ "$OUT" = "cmd.yml d.h5 echo.sh out t.yml tpl.yml v2.yml values.yml want.txt " ] &&
  ok "only the test's own files and out/" || fail "here holds: $OUT"

case_ "a categorical value longer than 255 characters: exit 2 with its position"
long=$(head -c 300 /dev/zero | tr '\0' 'x')
printf 'kind: sweep\nname: long\nobjective: {metric: loss, goal: minimize}\nalgorithm: {name: grid}\nparameters:\n  - {name: p, type: categorical, values: [a, "%s"]}\nmax_trials: 2\ntrial: {command: ["./echo.sh", "${p}"]}\n' "$long" > long.yml
maestro run long.yml --output out/long
expect_exit 2
expect_stderr "long.yml:6:"
expect_stderr "value 2 is longer than 255 characters"
rm -f long.yml

case_ "registry.model '..' is refused before anything runs; a name with spaces registers"
cat > reg.yml <<'YML'
kind: train
name: reg
data: {path: d.h5, validation_split: 0.25}
model: {type: mlp, hidden: [4]}
optimizer: {name: sgd, lr: 0.1}
training: {epochs: 1, batch_size: 50, seed: 1, checkpoint_every: 0}
plugins: [mlflow]
registry: {model: "..", alias: champion}
YML
maestro run reg.yml --output out/reg-bad
expect_exit 2
expect_stderr 'reg.yml:8:19: registry.model ".." must be'
expect_no_file out/reg-bad/run.h5
maestro run reg.yml --output out/reg --set 'registry.model=churn model v2'
expect_exit 0
maestro registry show "churn model v2@champion"
expect_exit 0
expect_stdout "churn model v2/1 @champion"
run find "$WORK" -maxdepth 2 -name versions
[ "$OUT" = "" ] && ok "no versions folder outside the registry's model folders" || fail "$OUT"
finish
