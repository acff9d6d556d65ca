# common.sh - what the service scripts share (sourced by pushgateway.sh, redis.sh, mlflow.sh)
#
# Sets cmd, dir and want_port from "start DIR [PORT] | stop DIR" (usage and exit 2 otherwise),
# and defines alive PID and stop_pidfile (TERM, then KILL after 2.5 s, of the pid in DIR/PID).

cmd=${1:-}
dir=${2:-}
want_port=${3:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start DIR [PORT] | stop DIR" >&2
  exit 2
fi

# 0 while $1 runs. A server that exited stays a zombie until whoever adopted it (setsid, the
# script is gone) reaps it, which can take a while in a container: a zombie is not running.
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z ]]
}

stop_pidfile() {
  [[ -f "$dir/PID" ]] || return 0
  local pid; pid=$(cat "$dir/PID")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/PID"
}
