#!/usr/bin/env bash
# redis.sh - start or stop a real Redis server (Debian's) for tests
#
#   scripts/services/redis.sh start DIR [PORT]   redis-server on 127.0.0.1 (a free port, or
#                                                PORT); writes DIR/PORT, DIR/PID, prints the port
#   scripts/services/redis.sh stop DIR           stops it
#
# The server is Debian's `redis-server`, installed by scripts/install-deps.sh, started without
# a config file and with no persistence: `--save ""` (the built-in default snapshots to
# ./dump.rdb) and `--appendonly no`, its working directory DIR, so instances never share data
# and nothing outlives the test. `start` returns once PING answers PONG, so tests can talk to
# it at once. PORT lets a test bring a server back on the port its client was configured with
# (the "service comes back" case).
set -euo pipefail
# shellcheck source=scripts/services/common.sh
. "$(dirname "$0")/common.sh" "$@"

stop() { stop_pidfile; }

# 0 when the server on port $1 answers PING (a password set by a test makes it answer NOAUTH,
# which still says it is up).
ready() {
  local out
  out=$(redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning PING 2>/dev/null) || return 1
  [[ "$out" == PONG || "$out" == NOAUTH* ]]
}

case "$cmd" in
start)
  server=$(command -v redis-server || true)
  if [[ -z "$server" ]] || ! command -v redis-cli >/dev/null; then
    echo "redis.sh: redis-server is not installed: the tests need Debian's package" \
         "redis-server (scripts/install-deps.sh installs it)" >&2
    exit 4
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop
  for attempt in 1 2 3 4 5; do
    port=$want_port
    if [[ -z "$port" ]]; then
      # A free port: bind to 0 and let the kernel choose. Someone may take it before the
      # server binds it; the server then exits at once and the next try picks another port.
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    fi
    : > "$dir/redis.log" # a previous instance's "Ready" must not count for this one
    # setsid: the server outlives this script and ignores the test's terminal signals
    setsid "$server" --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --dir "$dir" --daemonize no --logfile "$dir/redis.log" \
      </dev/null >/dev/null 2>&1 &
    pid=$!
    echo "$pid" > "$dir/PID"
    echo "$port" > "$dir/PORT"
    for _ in $(seq 1 300); do
      # ours, not another server on that port: alive and its log says it accepts connections
      if alive "$pid" && grep -q 'Ready to accept connections' "$dir/redis.log" 2>/dev/null &&
         ready "$port"; then
        echo "$port"
        exit 0
      fi
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      echo "redis.sh: no PONG on 127.0.0.1:$port after 15 s; see $dir/redis.log" >&2
      stop
      exit 1
    fi
    rm -f "$dir/PID"
    # a fixed port that cannot be bound will not become free by trying again
    [[ -z "$want_port" ]] || break
    echo "redis.sh: attempt $attempt on port $port failed: $(tail -n 1 "$dir/redis.log" 2>/dev/null)" >&2
  done
  echo "redis.sh: the server exited; last lines of $dir/redis.log:" >&2
  tail -n 20 "$dir/redis.log" >&2 || true
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
