#!/usr/bin/env bash
# slurm.sh - start or stop a throwaway single-node Slurm (Debian's 22.05) in a folder, for tests
#
#   scripts/services/slurm.sh start DIR   munged, slurmctld and slurmd, everything under DIR;
#                                         prints DIR/slurm.conf once the node is idle
#   scripts/services/slurm.sh stop DIR    cancels every job, stops the daemons (by pid file)
#   scripts/services/slurm.sh status DIR  what runs
#
# Clients find the cluster through SLURM_CONF=DIR/slurm.conf (sbatch, squeue, scontrol, and
# jobs, which inherit it). Nothing outside DIR is written: munged gets its own key and socket
# (AuthInfo=socket=... in slurm.conf), the daemons their own ports, state, spool, logs and pid
# files, so a cluster started here never meets /etc/slurm, /run/munge or another test's cluster.
# The recipe is shared/reference/slurm-single-node.md: proctrack/linuxproc and task/none (no
# cgroups), SlurmUser=root, NodeName=localhost with `slurmd -N localhost` (independent of the
# host name), batch_sched_delay=0 (jobs start in about a second). Needs root: slurmd starts jobs
# as the submitting user. Packages: slurm-wlm slurmctld slurmd munge (scripts/install-deps.sh).
# munged runs as root with --force here because DIR is usually a 0700 root-owned temp folder the
# munge user cannot enter; the socket is only in DIR.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start DIR | stop DIR | status DIR" >&2
  exit 2
fi
START_TIMEOUT=${START_TIMEOUT:-30}

# pid_of FILE COMM - the pid in FILE when that process runs and is COMM (a stale pid file may
# name some other process by now)
pid_of() {
  local pid
  [[ -s "$1" ]] || return 1
  pid=$(cat "$1")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
  local state
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ "$state" != Z ]] || return 1
  echo "$pid"
}

# wait_until SECONDS CMD... - poll CMD every 0.1 s until it succeeds
wait_until() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.1
  done
}

stop_pid() { # PID: TERM, then KILL after 5 s
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

munge_ok() { munge -S "$dir/munge/munge.socket" -n </dev/null | unmunge -S "$dir/munge/munge.socket"; }
ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_idle() { [[ "$(sinfo -h -n localhost -o %t 2>/dev/null)" == idle ]]; }
queue_empty() { [[ -z "$(squeue -h -o %i 2>/dev/null)" ]]; }

do_stop() {
  export SLURM_CONF="$dir/slurm.conf"
  local pid
  if [[ -f "$SLURM_CONF" ]] && pid_of "$dir/slurmctld.pid" slurmctld >/dev/null; then
    # Running jobs outlive `scontrol shutdown` (their slurmstepd stays): cancel them first.
    local jobs
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [[ -n "$jobs" ]]; then
      # shellcheck disable=SC2086 # one argument per job id
      scancel $jobs 2>/dev/null || true
      wait_until 20 queue_empty || true
    fi
    scontrol shutdown >/dev/null 2>&1 || true
  fi
  for pair in "slurmctld.pid slurmctld" "slurmd.pid slurmd" "munge/munged.pid munged"; do
    set -- $pair
    if pid=$(pid_of "$dir/$1" "$2"); then
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        [[ "$2" == munged ]] && break # munged only stops when told
        sleep 0.1
      done
      stop_pid "$pid"
    fi
  done
}

do_start() {
  local c
  for c in munged munge unmunge mungekey slurmctld slurmd scontrol sinfo squeue sbatch; do
    if ! command -v "$c" >/dev/null && [[ ! -x "/usr/sbin/$c" ]]; then
      echo "slurm.sh: $c is not installed: the tests need Debian's slurm-wlm, slurmctld," \
           "slurmd and munge (scripts/install-deps.sh installs them)" >&2
      exit 4
    fi
  done
  if [[ $(id -u) -ne 0 ]]; then
    echo "slurm.sh: must run as root (slurmd starts jobs as the submitting user)" >&2
    exit 4
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  do_stop
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  find "$dir/state" "$dir/spool" -mindepth 1 -delete
  : >"$dir/log/jobcomp.log"

  # munge: a key of our own, root-owned like everything here
  [[ -s "$dir/munge/munge.key" ]] || /usr/sbin/mungekey --create --keyfile="$dir/munge/munge.key"
  chmod 0600 "$dir/munge/munge.key"
  /usr/sbin/munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    --pid-file="$dir/munge/munged.pid"
  wait_until 10 munge_ok || {
    echo "slurm.sh: munged does not answer; last lines of $dir/munge/munged.log:" >&2
    tail -n 5 "$dir/munge/munged.log" >&2 || true
    exit 1
  }

  # RealMemory must not exceed what slurmd detects, or the node drains: take its own line.
  local hw ctld_port slurmd_port
  hw=$(/usr/sbin/slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  cat >"$dir/slurm.conf" <<EOF
# written by scripts/services/slurm.sh: a throwaway single-node cluster
ClusterName=maestro-test
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0
NodeName=localhost $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  /usr/sbin/slurmctld
  wait_until "$START_TIMEOUT" ctld_up || {
    echo "slurm.sh: slurmctld does not answer; last lines of $dir/log/slurmctld.log:" >&2
    tail -n 20 "$dir/log/slurmctld.log" >&2 || true
    do_stop
    exit 1
  }
  /usr/sbin/slurmd -N localhost
  wait_until "$START_TIMEOUT" node_idle || {
    echo "slurm.sh: node not idle; last lines of $dir/log/slurmd.log:" >&2
    tail -n 20 "$dir/log/slurmd.log" >&2 || true
    do_stop
    exit 1
  }
  echo "$dir/slurm.conf"
}

case "$cmd" in
start) do_start ;;
stop)
  [[ -d "$dir" ]] || exit 0
  dir=$(cd "$dir" && pwd)
  do_stop
  ;;
status)
  for p in "munge/munged.pid munged" "slurmctld.pid slurmctld" "slurmd.pid slurmd"; do
    set -- $p
    if pid=$(pid_of "$dir/$1" "$2"); then echo "$2: running (pid $pid)"; else echo "$2: not running"; fi
  done
  ;;
*)
  echo "usage: $0 start DIR | stop DIR | status DIR" >&2
  exit 2
  ;;
esac
