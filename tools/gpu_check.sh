#!/usr/bin/env bash
# The GPU check (issue "the study on a GPU for real"): one command on a machine with an NVIDIA GPU and
# JAX with CUDA, e.g. the lent H200, which has no TensorFlow and no package index. It
#   1. installs the carried wheels (.whl/, made here by tools/gpu_wheels.sh) when present;
#   2. measures throughput on Keras's JAX backend at 32x32x3 and 96x96x3 (tools/gpu_check.py);
#   3. runs the default study end to end on the GPU (compute: {backend: jax, gpu: 1}) within what is
#      left of BUDGET_S, and keeps its per-job benchmark files for `make estimate`'s GPU column.
# Everything lands in $OUT (default benchmarks/results/gpu_check): gpu_check.{json,md}, run.json,
# snakemake.log, benchmarks/. On a CPU: QUICK=1 GPU=0 tools/gpu_check.sh runs it at tiny sizes on the
# tiny config; DRY=1 only plans the run (tests/test_gpu_check.py).
set -uo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
OUT=${OUT:-benchmarks/results/gpu_check}
BUDGET_S=${BUDGET_S:-420}
GPU=${GPU:-1}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
WHEELS=${WHEELS-.whl}  # WHEELS= (empty) skips the install: a machine that has the packages
if [ -n "$WHEELS" ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl || exit 1
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    export PATH=/tmp/site/bin:$PATH
fi
# the device has no package index to install the project from: its library straight from the checkout
export PYTHONPATH=$PWD/workflow${PYTHONPATH:+:$PYTHONPATH}
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
[ "$GPU" -gt 0 ] && export XLA_FLAGS="--xla_gpu_deterministic_ops=true"
(command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "no nvidia-smi") | tee "$OUT/devices.txt"

"$PYTHON" tools/gpu_check.py --out "$OUT" ${QUICK:+--quick} || exit 1

LEFT=$((BUDGET_S - ($(date +%s) - START)))
if [ "$LEFT" -lt 60 ]; then
    echo "{\"default_run\": \"skipped: ${LEFT} s left of BUDGET_S\"}" > "$OUT/run.json"
    exit 0
fi
WORK=$(mktemp -d)
CONFIG=${CONFIG:-config.yaml}
printf 'compute:\n  backend: jax\n  gpu: %d\n' "$GPU" > "$WORK/compute.yaml"
CONFIGS=("$PWD/$CONFIG")
[ -n "${QUICK:-}" ] && CONFIGS+=("$PWD/tests/config/tiny.yaml")
CONFIGS+=("$WORK/compute.yaml")
EXTRA=()
[ -n "${DRY:-}" ] && EXTRA=(-n)
T0=$(date +%s)
timeout "$LEFT" "$PYTHON" -m snakemake --cores "$(nproc)" --resources gpu=8 --directory "$WORK" \
    --snakefile "$PWD/Snakefile" --configfile "${CONFIGS[@]}" "${EXTRA[@]}" >"$OUT/snakemake.log" 2>&1
RC=$?
T1=$(date +%s)
mkdir -p "$OUT/benchmarks" && cp -r "$WORK/logs/benchmarks/." "$OUT/benchmarks/" 2>/dev/null
cp -r "$WORK/results" "$OUT/results" 2>/dev/null
JOBS=$(grep -c "Finished jobid" "$OUT/snakemake.log")
echo "{\"default_run_s\": $((T1 - T0)), \"exit\": $RC, \"finished_jobs\": $JOBS, \"config\": \"$CONFIG\"}" \
    | tee "$OUT/run.json"
tail -5 "$OUT/snakemake.log"
