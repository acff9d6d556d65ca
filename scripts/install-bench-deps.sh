#!/usr/bin/env bash
# install-bench-deps.sh - install the Debian packages Maestro's benchmarks need on top of
# install-deps.sh: the peers they measure Maestro against.
#
# Idempotent and quiet when everything is present: it asks dpkg what is missing and only then
# runs apt-get (as root, or through sudo). Called by bench/train_throughput.sh before a run.
# Debian's packages, never PyPI: the peers run on /usr/bin/python3 and Debian's torch links
# the system OpenBLAS, which is part of what the benchmark compares.
set -euo pipefail

packages=(
  # PyTorch CPU (1.13 in Debian 12; matrix products in the system OpenBLAS) and h5py to read
  # the same HDF5 file Maestro trains on
  python3-torch python3-h5py python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-bench-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-bench-deps: need root or sudo to install: ${missing[*]}" >&2; exit 4; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
