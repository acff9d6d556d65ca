#!/usr/bin/env bash
# pushgateway.sh - start or stop a real Prometheus Pushgateway (Debian's) for tests
#
#   scripts/services/pushgateway.sh start DIR [PORT]   gateway on 127.0.0.1 (a free port, or
#                                                      PORT); writes DIR/PORT, DIR/PID
#   scripts/services/pushgateway.sh stop DIR           stops it
#
# The gateway is Debian's `prometheus-pushgateway`, installed by scripts/install-deps.sh. Debian
# builds it with a default --persistence.file under /var/lib: `--persistence.file=` (empty)
# keeps every test instance in memory, so instances never share groups. `start` returns once
# /-/ready answers, so tests can push at once. PORT lets a test bring a gateway back on the
# port its plugin was configured with (the "service comes back" case).
set -euo pipefail
# shellcheck source=scripts/services/common.sh
. "$(dirname "$0")/common.sh" "$@"

stop() { stop_pidfile; }

# 0 when http://127.0.0.1:$1/-/ready answers 200.
ready() {
  python3 -c 'import sys, urllib.request
sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:%s/-/ready" % sys.argv[1], timeout=1).status == 200 else 1)' "$1" 2>/dev/null
}

case "$cmd" in
start)
  gw=$(command -v prometheus-pushgateway || true)
  if [[ -z "$gw" ]]; then
    echo "pushgateway.sh: prometheus-pushgateway is not installed: the tests need Debian's" \
         "package prometheus-pushgateway (scripts/install-deps.sh installs it)" >&2
    exit 4
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop
  # A free port: bind to 0 and let the kernel choose. Someone may take it before the gateway
  # binds it; the gateway then exits at once and the next try picks another port.
  for attempt in 1 2 3 4 5; do
    port=$want_port
    if [[ -z "$port" ]]; then
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    fi
    # setsid: the gateway outlives this script and ignores the test's terminal signals
    setsid "$gw" --web.listen-address="127.0.0.1:$port" --persistence.file= \
      >"$dir/pushgateway.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" > "$dir/PID"
    echo "$port" > "$dir/PORT"
    for _ in $(seq 1 300); do
      # ours, not another server on that port: alive and saying it listens
      if ready "$port" && kill -0 "$pid" 2>/dev/null && grep -q 'Listening on' "$dir/pushgateway.log"; then
        echo "$port"
        exit 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "pushgateway.sh: no answer on http://127.0.0.1:$port/-/ready after 30 s; see $dir/pushgateway.log" >&2
      stop
      exit 1
    fi
    rm -f "$dir/PID"
    # a fixed port that cannot be bound will not become free by trying again
    [[ -z "$want_port" ]] || break
    echo "pushgateway.sh: attempt $attempt on port $port failed: $(tail -n 1 "$dir/pushgateway.log")" >&2
  done
  echo "pushgateway.sh: the gateway exited; last lines of $dir/pushgateway.log:" >&2
  tail -n 20 "$dir/pushgateway.log" >&2
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
