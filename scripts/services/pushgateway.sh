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
# PUSHGATEWAY_TLS_CERT and PUSHGATEWAY_TLS_KEY (PEM files) serve https instead, through the
# gateway's own --web.config.file (tls_server_config); readiness is then checked over https
# with that certificate as the trusted CA.
set -euo pipefail
# shellcheck source=scripts/services/common.sh
. "$(dirname "$0")/common.sh" "$@"

stop() { stop_pidfile; }

tls_cert=${PUSHGATEWAY_TLS_CERT:-}
tls_key=${PUSHGATEWAY_TLS_KEY:-}
scheme=http
[[ -z "$tls_cert" ]] || scheme=https

# 0 when $scheme://127.0.0.1:$1/-/ready answers 200.
ready() {
  python3 -c 'import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[3]) if sys.argv[2] == "https" else None
url = "%s://127.0.0.1:%s/-/ready" % (sys.argv[2], sys.argv[1])
sys.exit(0 if urllib.request.urlopen(url, timeout=1, context=ctx).status == 200 else 1)' "$1" "$scheme" "$tls_cert" 2>/dev/null
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
  web=()
  if [[ -n "$tls_cert" ]]; then
    [[ -r "$tls_cert" && -r "${tls_key:-}" ]] || {
      echo "pushgateway.sh: PUSHGATEWAY_TLS_CERT needs PUSHGATEWAY_TLS_KEY, both readable" >&2
      exit 2
    }
    printf 'tls_server_config:\n  cert_file: "%s"\n  key_file: "%s"\n' "$tls_cert" "$tls_key" \
      > "$dir/web.yml"
    web=(--web.config.file="$dir/web.yml")
  fi
  # A free port: bind to 0 and let the kernel choose. Someone may take it before the gateway
  # binds it; the gateway then exits at once and the next try picks another port.
  for attempt in 1 2 3 4 5; do
    port=$want_port
    if [[ -z "$port" ]]; then
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    fi
    # setsid: the gateway outlives this script and ignores the test's terminal signals
    setsid "$gw" --web.listen-address="127.0.0.1:$port" --persistence.file= "${web[@]}" \
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
      echo "pushgateway.sh: no answer on $scheme://127.0.0.1:$port/-/ready after 30 s; see $dir/pushgateway.log" >&2
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
