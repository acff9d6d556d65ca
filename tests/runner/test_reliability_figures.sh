#!/usr/bin/env bash
# test_reliability_figures.sh - scripts/reliability-figures.sh renders the figures table of
# docs/reliability.md from a ctest -V log: checks counted per suite, failures counted and
# reported by the exit code, suites missing from the log shown as not run, fuzz inputs summed,
# the page outside the markers untouched; a page without the markers is refused.
. "$(dirname "$0")/../cli_lib.sh"
SCRIPT=$MAESTRO_SOURCE_DIR/scripts/reliability-figures.sh

cat > page.md <<'MD'
# Reliability
before
<!-- figures:begin -->
old table
<!-- figures:end -->
after
MD
cat > ctest.log <<'LOG'
test 122
    Start 122: plugins/test_tls
122: ok - default: exit 0
122: ok - default: stderr has 'certificate'
122: ok - ca_file: exit 0
1/3 Test #122: plugins/test_tls .................   Passed    7.43 sec
test 134
    Start 134: runner/test_spec_errors
134: ok - a: exit 2
134: FAIL - b: expected exit 2
2/3 Test #134: runner/test_spec_errors ..........***Failed    5.64 sec
test 139
    Start 139: fuzz/csv
139: 5 inputs run, 0 unreadable
3/3 Test #139: fuzz/csv .........................   Passed    0.01 sec
LOG

case_ "a log with a failed suite: the table says so, exit 1"
run bash "$SCRIPT" --from-log ctest.log --doc page.md
expect_exit 1
expect_stderr "A SUITE FAILED"
run grep -F '| `plugins/test_tls` |' page.md
expect_stdout '| 3 | 0 | 7.43 |'
run grep -F '| `runner/test_spec_errors` |' page.md
expect_stdout '| 1 | 1 | 5.64 |'
run grep -F '| `jobs/test_faults` |' page.md
expect_stdout 'not run |'
run grep -F '| `fuzz/*` |' page.md
expect_stdout '5 inputs'
run sh -c "head -n 3 page.md; tail -n 2 page.md"
[ "$OUT" = "$(printf '# Reliability\nbefore\n<!-- figures:begin -->\n<!-- figures:end -->\nafter')" ] &&
  ok "the page outside the markers is as it was" || fail "page: $OUT"
run grep -c "old table" page.md
[ "$OUT" = 0 ] && ok "the old table is replaced" || fail "old table kept"

case_ "a page without the markers: exit 2, untouched"
printf '# no markers\n' > bare.md
run bash "$SCRIPT" --from-log ctest.log --doc bare.md
expect_exit 2
expect_stderr "has no <!-- figures:begin -->"
run cat bare.md
[ "$OUT" = "# no markers" ] && ok "untouched" || fail "changed: $OUT"
finish
