#!/usr/bin/env bash
# deploy-examples.sh - regenerate deploy/'s example manifests and scripts from the commands that
# make them, with this checkout's cluster.yml and example specs:
#   deploy/mpijob-example.yaml     maestro submit jobs/train/example.yml --target kubernetes --dry-run
#   deploy/cronjob-example.yaml    maestro schedule nightly --target kubernetes
#   deploy/sbatch-example.sh       maestro submit jobs/train/example.yml --target slurm --dry-run
#   deploy/sbatch-schedule-example.sh  maestro schedule nightly --target slurm
# Paths inside (the spec, the binary) are absolute where the command ran: examples to read and
# adapt, not to apply as they are. tests/runner/test_deploy.sh checks their structure.
# usage: scripts/deploy-examples.sh [MAESTRO]   (default build/maestro)
set -euo pipefail
cd "$(dirname "$0")/.."
m=${1:-build/maestro}
c=cluster.yml
"$m" submit jobs/train/example.yml --target kubernetes --cluster "$c" --dry-run \
  >deploy/mpijob-example.yaml
"$m" schedule nightly --target kubernetes --cluster "$c" >deploy/cronjob-example.yaml
"$m" submit jobs/train/example.yml --target slurm --cluster "$c" --dry-run >deploy/sbatch-example.sh
"$m" schedule nightly --target slurm --cluster "$c" >deploy/sbatch-schedule-example.sh
echo "regenerated deploy/{mpijob,cronjob}-example.yaml, deploy/sbatch{,-schedule}-example.sh"
