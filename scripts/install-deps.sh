#!/usr/bin/env bash
# install-deps.sh - install the Debian packages Maestro needs to build, test and run its demo.
#
# Idempotent and quiet when everything is present: it asks dpkg what is missing and only then
# runs apt-get (as root, or through sudo). Called by the Makefile before every build, so a
# fresh clone needs nothing installed by hand.
set -euo pipefail

packages=(
  # toolchain
  gcc make cmake pkg-config
  # MPI and parallel HDF5 (Debian's openmpi flavour)
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
  # math, config, services, formats
  libopenblas-dev libyaml-dev libcurl4-openssl-dev libjansson-dev libcsv-dev zlib1g-dev libssl-dev
  # tests: CUnit; Debian's h5py to craft malformed files the way other tools write them
  libcunit1-dev python3-h5py python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 4; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
