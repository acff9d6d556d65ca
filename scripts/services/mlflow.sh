#!/usr/bin/env bash
# mlflow.sh - start or stop a real MLflow tracking server (SQLite backend, artifact proxy) for tests
#
#   scripts/services/mlflow.sh start DIR [PORT]   server on 127.0.0.1 (a free port, or PORT);
#                                                 writes DIR/PORT and DIR/PID, prints the port
#   scripts/services/mlflow.sh stop DIR           stops it (its whole process group)
#
# The server is MLflow's own, pinned in scripts/requirements-test.txt and installed in .venv by
# scripts/python-env.sh (made once, then reused). It keeps runs and the model registry in
# DIR/mlflow.db and artifacts in DIR/artifacts, served through --serve-artifacts, which is how
# the platform runs it. `start` returns once /health answers, so tests can talk to it at once.
# PORT lets a test bring a server (back) on the port its plugin was configured with (the
# "service comes back" case). Starting takes ~2-3 s once the venv exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/services/common.sh
. "$(dirname "$0")/common.sh" "$@"

stop() {
  [[ -f "$dir/PID" ]] || return 0
  local pid; pid=$(cat "$dir/PID")
  # setsid made the server the leader of its own process group: end the group, which holds the
  # mlflow CLI, gunicorn and its worker.
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    alive "$pid" || break
    sleep 0.05
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$dir/PID"
}

health() {
  "$py" -c 'import sys, urllib.request
sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=1).status == 200 else 1)' "$1" 2>/dev/null
}

case "$cmd" in
start)
  mkdir -p "$dir/artifacts"
  dir=$(cd "$dir" && pwd)
  stop
  py=$("$here/../python-env.sh")
  venv=$(dirname "$(dirname "$py")")
  for attempt in 1 2 3; do
    if [[ -n "$want_port" ]]; then
      port=$want_port
    else
      # A free port: bind to 0 and let the kernel choose. Someone may take it before the server
      # binds it; the server then exits at once and the next attempt picks another port.
      port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    fi
    # One gunicorn worker: plenty for tests, and it starts faster than the default four.
    setsid "$venv/bin/mlflow" server \
      --backend-store-uri "sqlite:///$dir/mlflow.db" \
      --artifacts-destination "$dir/artifacts" --serve-artifacts \
      --host 127.0.0.1 --port "$port" --workers 1 \
      >>"$dir/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" > "$dir/PID"
    echo "$port" > "$dir/PORT"
    for _ in $(seq 1 600); do
      if health "$port"; then
        echo "$port"
        exit 0
      fi
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      echo "mlflow.sh: no answer on http://127.0.0.1:$port/health after 60 s; see $dir/server.log" >&2
      stop
      exit 1
    fi
    rm -f "$dir/PID"
    [[ -z "$want_port" ]] || break
  done
  echo "mlflow.sh: the server exited; last lines of $dir/server.log:" >&2
  tail -n 20 "$dir/server.log" >&2
  exit 1
  ;;
stop)
  stop
  ;;
*)
  echo "usage: $0 start DIR [PORT] | stop DIR" >&2
  exit 2
  ;;
esac
