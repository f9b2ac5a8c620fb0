# shellcheck shell=bash
# Job runners of the recipe stages (see utils/run_jobs.sh --help):
#   train_cmd   training and export
#   decode_cmd  rollouts and scoring
# Options a call site may add: --gpu N, --num-threads N (and --mem, --time for Slurm).

# This machine (default): the jobs of an array run in parallel here.
export train_cmd="utils/run_jobs.sh"
export decode_cmd="utils/run_jobs.sh"

# Slurm: each job is one srun (run the recipe inside tmux/screen or an salloc allocation).
# export train_cmd="utils/run_jobs.sh --backend slurm --partition gpu --time 2-00:00:00 --mem 32G --num-threads 8"
# export decode_cmd="utils/run_jobs.sh --backend slurm --partition cpu --time 4:00:00 --mem 8G"
