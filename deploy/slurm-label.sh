#!/bin/bash
# Label a folder of aligned faces on a Slurm cluster: a job array of N tasks, task i running
# `diffiqa label --shard auto/N` (shard i+1 of N, from SLURM_ARRAY_TASK_ID) into OUT_DIR/labels-part-i.csv, then a
# merge job that joins the parts into OUT_DIR/labels.csv once every task has succeeded (--dependency=afterok).
# deploy/README.md has the numbers (how many tasks a million images need).
#
#   deploy/slurm-label.sh FACES_DIR OUT_DIR    on the login node: submits the array and the merge job
#   sbatch --array=3 deploy/slurm-label.sh FACES_DIR OUT_DIR    rerun task 3 alone (with DIFFIQA_SHARDS=N set)
#
# The array is 0-based, like a Kubernetes Indexed Job: --array=0-(N-1), N = DIFFIQA_SHARDS (default 8, the
# --array below when submitted with plain sbatch). A task id outside 0..N-1 is an error, not a silently
# missing shard. Settings, from the environment (sbatch exports it to the tasks):
#   DIFFIQA             how to run diffiqa on the compute nodes (default: diffiqa on PATH), e.g.
#                       "apptainer exec diffiqa.sif diffiqa" (an image built from deploy/Dockerfile) or
#                       "node $HOME/diffiqa/dist/src/cli/main.js"
#   DIFFIQA_LABEL_ARGS  label options (default "--repeats 2": the shipped settings; "--repeats 10" is the paper's)
#   DIFFIQA_SHARDS      N (default 8)
# Each task's output resumes: a requeued or resubmitted task skips the images its part file already has.
#
#SBATCH --job-name=diffiqa-label
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=3G
#SBATCH --time=1-00:00:00
#SBATCH --requeue
#SBATCH --output=diffiqa-label-%A_%a.log
set -euo pipefail

read -r -a diffiqa <<< "${DIFFIQA:-diffiqa}"
read -r -a label_args <<< "${DIFFIQA_LABEL_ARGS:---repeats 2}"

usage() {
  echo "usage: $0 FACES_DIR OUT_DIR" >&2
  exit 2
}

# Merge mode (the dependent job): exactly N parts, or nothing.
merge() {
  local out=$1 shards=$2
  local parts=("$out"/labels-part-*.csv)
  if [[ ! -e ${parts[0]} || ${#parts[@]} -ne $shards ]]; then
    echo "diffiqa-merge: expected $shards files $out/labels-part-*.csv, found $([[ -e ${parts[0]} ]] && echo "${#parts[@]}" || echo 0)" >&2
    exit 1
  fi
  exec "${diffiqa[@]}" merge "${parts[@]}" --out "$out/labels.csv"
}

# Task mode: one shard.
label() {
  local faces=$1 out=$2
  local shards=${DIFFIQA_SHARDS:-${SLURM_ARRAY_TASK_COUNT:?}}
  # With --array=1-N every task would label the wrong shard and the last one would fail: say so at once.
  if [[ -z ${DIFFIQA_SHARDS:-} && ${SLURM_ARRAY_TASK_MIN:-0} -ne 0 ]]; then
    echo "diffiqa-label: the array must start at 0 (--array=0-$((shards - 1))), got --array=${SLURM_ARRAY_TASK_MIN}-${SLURM_ARRAY_TASK_MAX:-?}" >&2
    exit 2
  fi
  local part=$out/labels-part-$SLURM_ARRAY_TASK_ID.csv
  # A requeued task may run on another node than the attempt Slurm killed, whose output lock names that node: it
  # is this task's own lock, as Slurm never runs two attempts of one task at once.
  if [[ ${SLURM_RESTART_COUNT:-0} -gt 0 ]]; then rm -f "$part.lock"; fi
  # The kernels would size their thread pool from the node's cores, not from this task's allocation.
  export DIFFIQA_NUM_THREADS=${SLURM_CPUS_PER_TASK:-2}
  exec "${diffiqa[@]}" label --data "$faces" --shard "auto/$shards" "${label_args[@]}" --out "$part"
}

# Submit mode (the login node): the array, then the merge job that waits for all of it.
submit() {
  local faces out shards script
  faces=$(realpath "$1")
  out=$(realpath -m "$2")
  shards=${DIFFIQA_SHARDS:-8}
  script=$(realpath "$0")
  mkdir -p "$out"
  local array_id merge_id
  array_id=$(sbatch --parsable --array="0-$((shards - 1))" --chdir="$out" "$script" "$faces" "$out")
  array_id=${array_id%%;*}
  merge_id=$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes --job-name=diffiqa-merge \
    --cpus-per-task=1 --mem=4G --time=1:00:00 --chdir="$out" --output=diffiqa-merge-%j.log \
    --export="ALL,DIFFIQA_SHARDS=$shards" --wrap="bash $(printf '%q' "$script") merge $(printf '%q' "$out") $shards")
  echo "submitted: label array $array_id (${shards} tasks), merge $merge_id -> $out/labels.csv"
}

if [[ ${1:-} == merge ]]; then
  [[ $# -eq 3 ]] || usage
  merge "$2" "$3"
elif [[ -n ${SLURM_ARRAY_TASK_ID:-} ]]; then
  [[ $# -eq 2 ]] || usage
  label "$1" "$2"
elif [[ -z ${SLURM_JOB_ID:-} ]]; then
  [[ $# -eq 2 ]] || usage
  submit "$1" "$2"
else
  echo "diffiqa-label: run this script on the login node, or with sbatch --array=0-(N-1)" >&2
  exit 2
fi
