#!/usr/bin/env bash
# install-deps.sh - install the Debian packages Maestro needs, one group at a time.
#
#   scripts/install-deps.sh         build, test and run the demo. Called by the Makefile before
#                                   every build, so a fresh clone needs nothing installed by hand.
#   scripts/install-deps.sh bench   what the benchmarks need on top: the peers they measure
#                                   Maestro against. Called by bench/train_throughput.sh
#                                   (through install-bench-deps.sh) before a run.
#   scripts/install-deps.sh check   the deeper checks: clang with libFuzzer (`make fuzz`) and
#                                   valgrind (`make test-valgrind`).
#
# Idempotent and quiet when everything is present: it asks dpkg what is missing and only then
# runs apt-get (as root, or through sudo). Debian's packages, never PyPI: the bench peers run on
# /usr/bin/python3 and Debian's torch links the system OpenBLAS, which is part of what the
# benchmark compares.
set -euo pipefail

build_packages=(
  # toolchain
  gcc make cmake pkg-config
  # MPI and parallel HDF5 (Debian's openmpi flavour)
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
  # math, config, services, formats
  libopenblas-dev libyaml-dev libcurl4-openssl-dev libjansson-dev libcsv-dev zlib1g-dev libssl-dev
  # tests: CUnit; Debian's h5py to craft malformed files the way other tools write them
  libcunit1-dev python3-h5py python3-numpy
  # tests: the rendered MPIJob checked against the CRD's openAPIV3Schema (tests/runner/test_submit_k8s.c)
  python3-yaml python3-jsonschema
  # tests against real services; openssl makes the self-signed certificate of the https one
  prometheus-pushgateway python3-venv openssl
  # the online feature store: hiredis (client, linked into maestro_lib) and a real server for tests
  libhiredis-dev redis-server
  # `maestro submit --target slurm` against a real single-node Slurm (scripts/services/slurm.sh);
  # the sbatch/squeue/scontrol commands only, libslurm is not linked
  slurm-wlm slurmctld slurmd slurm-client munge
)

bench_packages=(
  # PyTorch CPU (1.13 in Debian 12; matrix products in the system OpenBLAS) and h5py to read
  # the same HDF5 file Maestro trains on
  python3-torch python3-h5py python3-numpy
  # Optuna 3.1, the TPE and random-search peer of bench/sweep_samplers.sh
  python3-optuna
  # pandas 1.5, the feature materialisation and point-in-time peer of bench/features.sh
  python3-pandas
)

check_packages=(
  # libFuzzer and its sanitizer runtimes come with Debian's clang
  clang
  valgrind
)

# Install those of the packages "$@" that dpkg does not report installed; `who` prefixes the
# messages so a failure says which group it was.
install_packages() {
  local who=$1 p status sudo=""
  shift
  local missing=()
  for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi

  echo "$who: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "$who: need root or sudo to install: ${missing[*]}" >&2; exit 4; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

if [[ $# -gt 1 ]]; then
  echo "usage: scripts/install-deps.sh [bench|check]" >&2
  exit 2
fi
case "${1:-}" in
  "") install_packages "install-deps" "${build_packages[@]}" ;;
  bench) install_packages "install-deps bench" "${bench_packages[@]}" ;;
  check) install_packages "install-deps check" "${check_packages[@]}" ;;
  *)
    echo "install-deps: unknown group '$1' (usage: scripts/install-deps.sh [bench|check])" >&2
    exit 2
    ;;
esac
