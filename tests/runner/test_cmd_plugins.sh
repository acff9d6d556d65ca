#!/usr/bin/env bash
# test_cmd_plugins.sh - runner/cmd_plugins.c: `maestro plugins list` and `maestro plugins flush`,
# as a user runs them, against the plugins of this build (build/plugins)
. "$(dirname "$0")/../cli_lib.sh"
unset MAESTRO_CLUSTER MAESTRO_PLUGIN_PATH

case_ "plugins list shows the example plugin: type metrics, ABI 1.1, loads"
maestro plugins list
expect_exit 0
expect_stdout "search path: "
expect_stdout "this Maestro speaks plugin ABI 1.1"
printf '%s\n' "$OUT" | grep -Eq '^example +metrics +1\.0 +1\.1 +/.*/maestro-example\.so +ok$' \
  && ok "example row" || fail "no 'example metrics 1.0 1.1 .../maestro-example.so ok' row"
expect_stdout "NAME"

case_ "plugins list --json parses and has the documented keys"
maestro plugins list --json
expect_exit 0
printf '%s' "$OUT" > list.json
run python3 -c '
import json
d = json.load(open("list.json"))
assert d["abi"] == "1.1" and isinstance(d["search_path"], str), d
ex = [p for p in d["plugins"] if p["name"] == "example"]
assert ex, d
p = ex[0]
assert set(p) == {"name", "type", "version", "abi", "file", "status"}, p
assert p["type"] == "metrics" and p["abi"] == "1.1" and p["version"] == "1.0" and p["status"] == "ok", p
assert p["file"].endswith("/maestro-example.so"), p
print("ok")'
expect_exit 0

case_ "MAESTRO_PLUGIN_PATH comes first and is shown; empty entries are not the current folder"
mkdir -p mine
MAESTRO_PLUGIN_PATH="$WORK/mine::" run "$MAESTRO" plugins list
expect_exit 0
expect_stdout "search path: $WORK/mine:"
printf '%s\n' "$OUT" | grep -q '^search path: .*::' && fail "empty entry kept" || ok "no empty entry"

case_ "a broken maestro-*.so on the path is listed with why it cannot load"
printf 'not an ELF file' > mine/maestro-broken.so
MAESTRO_PLUGIN_PATH="$WORK/mine" run "$MAESTRO" plugins list
expect_exit 0
printf '%s\n' "$OUT" | grep -E '^broken ' | grep -q 'cannot load' \
  && ok "broken row says cannot load" || fail "no 'broken ... cannot load' row"

case_ "the example builds out of tree with the documented command and is found first"
mkdir -p oot
run cc -shared -fPIC -I"$MAESTRO_SOURCE_DIR/plugins" "$MAESTRO_SOURCE_DIR/plugins/example/example.c" \
  -o oot/maestro-example.so
expect_exit 0
MAESTRO_PLUGIN_PATH="$WORK/oot" run "$MAESTRO" plugins list
expect_exit 0
printf '%s\n' "$OUT" | grep -Eq "^example +metrics +1\.0 +1\.1 +$WORK/oot/maestro-example\.so +ok$" \
  && ok "out-of-tree example loads" || fail "no ok row for $WORK/oot/maestro-example.so"
printf '%s\n' "$OUT" | grep -Eq '^example .*/plugins/maestro-example\.so +shadowed by ' \
  && ok "the build's example is shadowed" || fail "the build's example is not shown as shadowed"

case_ "plugins list: bad argument"
maestro plugins list --bogus
expect_exit 2
expect_stderr "maestro plugins list: unexpected argument '--bogus'"

# A spooled payload as the example plugin writes it: "<destination file>\n<JSON line>".
spool_one() {  # RUN_DIR DEST SEQ
  mkdir -p "$1/spool/example"
  printf '%s\n{"event":"metric","name":"m","value":%d}' "$2" "$3" \
    > "$1/spool/example/$(printf '%08d' "$3")-line"
}

case_ "plugins flush delivers a spooled payload and removes it"
spool_one run1 "$WORK/delivered.jsonl" 1
spool_one run1 "$WORK/delivered.jsonl" 2
maestro plugins flush run1
expect_exit 0
expect_stdout "run1: delivered 2 spooled payloads, 0 left"
[ "$(cat delivered.jsonl 2>/dev/null)" = '{"event":"metric","name":"m","value":1}
{"event":"metric","name":"m","value":2}' ] && ok "lines delivered in order" \
  || fail "delivered.jsonl is: $(cat delivered.jsonl 2>/dev/null)"
[ -z "$(ls -A run1/spool/example)" ] && ok "spool emptied" || fail "spool left: $(ls run1/spool/example)"

case_ "plugins flush again: nothing to do"
maestro plugins flush run1
expect_exit 0
expect_stdout "delivered 0 spooled payloads, 0 left"

case_ "plugins flush while the destination is still away keeps the payload, exit 1"
spool_one run2 "$WORK/no-such-folder/x.jsonl" 1
maestro plugins flush run2 --cluster "$MAESTRO_SOURCE_DIR/cluster.yml"
expect_exit 1
expect_stdout "run2: delivered 0 spooled payloads, 1 left"
expect_stderr "1 payloads still spooled under run2/spool"
expect_file run2/spool/example/00000001-line

case_ "plugins flush: bad input"
maestro plugins flush
expect_exit 2
expect_stderr "no run folder given"
maestro plugins flush no-such-run
expect_exit 2
expect_stderr "no-such-run: no such run folder"
maestro plugins flush run1 --cluster missing.yml
expect_exit 2
expect_stderr "missing.yml"
maestro plugins flush run1 --frob
expect_exit 2
expect_stderr "unknown option '--frob'"

case_ "plugins: help and unknown subcommands"
maestro plugins --help
expect_exit 0
expect_stdout "maestro plugins flush RUN_DIR [--cluster FILE]"
maestro plugins flush --help
expect_exit 0
maestro plugins
expect_exit 2
maestro plugins frob
expect_exit 2
expect_stderr "unknown subcommand 'frob'"
maestro --help
expect_stdout "plugins"

finish
