#!/usr/bin/env bash
# A SLURM job array: task I of N trains shard I/N of a sweep into one shared results folder.
#
#   sbatch --array=0-7 examples/slurm_array.sh sweeps/parity_grid.toml results/parity_grid
#   python -m grokjax status results/parity_grid     # which shards are complete
#   python -m grokjax report results/parity_grid     # the merged rows' report
#
# No coordinator: every task computes the same chunk plan from the sweep file and trains its
# contiguous, model-steps-balanced slice. A task that fails leaves only its slice unfinished;
# resubmit that index (sbatch --array=3 ...) or, once no shard runs, train the rest with a plain
# `python -m grokjax sweep SPEC --out OUT`. The folder must be on a filesystem every node sees
# (or give each task its own --out and copy the runs/ folders together afterwards).
#SBATCH --job-name=grokjax
#SBATCH --cpus-per-task=4
#SBATCH --time=04:00:00
#SBATCH --output=grokjax-%A_%a.log
set -euo pipefail
SPEC=${1:?usage: sbatch --array=0-N examples/slurm_array.sh SPEC OUT}
OUT=${2:?usage: sbatch --array=0-N examples/slurm_array.sh SPEC OUT}
# SLURM_ARRAY_TASK_COUNT is the number of tasks (SLURM >= 18.08); array indices must be 0..N-1.
python -m grokjax sweep "$SPEC" --out "$OUT" --quiet \
    --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"
