#!/bin/bash
# Written by 'maestro submit --target slurm'; submit again to change it.
#SBATCH --job-name='churn-mlp'
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=2
#SBATCH --cpus-per-task=1
#SBATCH --time='01:00:00'
#SBATCH --partition='gpu'
#SBATCH --account='ml'
#SBATCH --chdir='/work/main'
#SBATCH --output='/work/main/runs/churn-mlp/slurm-%j.out'
#SBATCH --error='/work/main/runs/churn-mlp/slurm-%j.err'
#SBATCH --open-mode=append
#SBATCH --signal=B:USR1@120
#SBATCH --requeue

set -u
# A job that starts again (requeued at the time limit, after a node failure or
# preemption) continues from its newest checkpoint: maestro sees
# SLURM_RESTART_COUNT and resumes by itself.
# USR1 comes 120 s before the time limit: every rank checkpoints and exits 143,
# then the job goes back into the queue.
stopping=0
trap 'stopping=1; kill -USR1 "$pid" 2>/dev/null' USR1
mpirun '/work/main/build/maestro' 'run' '/work/main/jobs/train/example.yml' '--cluster' '/work/main/cluster.yml' &
pid=$!
wait "$pid"
rc=$?
# wait returns early when the trap runs: wait again for the real status
while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
    rc=$?
done
if [ "$stopping" = 1 ] && [ "$rc" -eq 143 ]; then
    scontrol requeue "$SLURM_JOB_ID" && exit 0
fi
exit "$rc"
