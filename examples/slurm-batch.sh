#!/bin/sh
# A Slurm batch job running a vhpc job on every node of its allocation. Submit with:
#   sbatch examples/slurm-batch.sh            (vhpc on PATH; or VHPC=/path/to/vhpc sbatch --export=ALL,VHPC … )
# Inside the allocation vhpc picks --launcher slurm by itself: one agent per node, started as one job step,
# -N defaults to the allocation's node count.
#SBATCH --job-name=vhpc-example
#SBATCH --nodes=3
#SBATCH --ntasks-per-node=2
#SBATCH --time=00:05:00
#SBATCH --output=vhpc-example-%j.out
set -eu
VHPC=${VHPC:-vhpc}
echo "allocation: $SLURM_JOB_NODELIST ($(scontrol show hostnames "$SLURM_JOB_NODELIST" | tr '\n' ' '))"
"$VHPC" run --ntasks-per-node=2 -l -- sh -c 'echo "task $VHPC_RANK of $VHPC_SIZE on $(hostname)"'
