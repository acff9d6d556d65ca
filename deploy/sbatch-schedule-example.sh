#!/bin/bash
# maestro schedule 'nightly': cron '0 2 * * *' in 'UTC'
# this run: 2026-11-27T02:00:00+00:00 (2026-11-27T02:00:00 local time, as --begin below)
# It submits the spec, then re-submits itself for the next run.
#SBATCH --job-name='maestro-schedule-nightly'
#SBATCH --begin='2026-11-27T02:00:00'
#SBATCH --ntasks='1'
#SBATCH --time='00:15:00'
#SBATCH --partition='gpu'
#SBATCH --account='ml'
set -u
status=0
'/work/main/build/maestro' submit '/work/main/jobs/pipeline/example.yml' --target slurm --cluster '/work/main/cluster.yml' || status=$?
'/work/main/build/maestro' schedule 'nightly' --target slurm --submit --cluster '/work/main/cluster.yml' || {
  echo "maestro schedule: could not re-submit; the schedule stops here" >&2
  exit 1
}
exit "$status"
