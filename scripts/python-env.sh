#!/usr/bin/env bash
# python-env.sh - the virtualenv (.venv) holding the PyPI tools tests use, pinned in
# scripts/requirements-test.txt. Made once and reused: it is rebuilt only when the
# requirements file changes. Prints the venv's python path on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
req="$root/scripts/requirements-test.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
# Tests that need the venv may start at the same time (ctest -j): one builds, the others wait.
exec 9>"$root/.venv.lock"
flock 9
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "python-env: creating $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  if grep -Eq '^[^#[:space:]]' "$req"; then
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  fi
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
