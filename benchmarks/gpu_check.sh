#!/usr/bin/env bash
# The GPU check of issue 15 (item 6): the quickstart on one GPU, as a user would run it.
#
#   bash benchmarks/gpu_check.sh DATA_ROOT OUT_DIR
#
# DATA_ROOT holds hi-en/ as `make data PAIR=hi-en` prepares it (the device tool carries a copy:
# mono.* and synthetic/ left out); OUT_DIR receives the logs. Three stages, each logged apart:
#   A  configs/quickstart.yaml with train.accelerator=gpu and precision auto (at most 3.5 min): tokens/s, dev BLEU
#      after each validation with the time it was reached, the precision chosen; then the bundle's
#      beam-5 score and speed on the caption test on the GPU.
#   B  the same config with precision named, fp32 and bf16-mixed, seeds 1 and 2, 1,200 updates
#      each (the quickstart's max_steps; at most 3 min): the four run at once (their timings are not reported,
#      their dev BLEU after the same updates is).
#   C  A with 4x the batch tokens and 2x the learning rate (square-root scaling), 2 minutes: what a GPU user would try.
# ACCEL=cpu runs it here (a smoke test; add EXTRA="train.max_steps=4" to keep it short).
set -u
data=${1:?DATA_ROOT}
out=${2:?OUT_DIR}
accel=${ACCEL:-gpu}
device=$([ "$accel" = gpu ] && echo cuda || echo cpu)
extra=${EXTRA:-}
work=${WORK:-/tmp/gpu-check}
mkdir -p "$out" "$work"
export PYTHONUNBUFFERED=1
s2s="python3 -m seq2seq.cli.main"
began=$(date +%s)

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    python3 -c "import torch, pytorch_lightning as pl; print('torch', torch.__version__, \
'lightning', pl.__version__, 'cuda', torch.cuda.is_available())"
    lscpu | grep 'Model name'
} > "$out/machine.txt" 2>&1

train() {  # train NAME LOG [KEY=VALUE ...]
    local name=$1 logfile=$2
    shift 2
    # shellcheck disable=SC2086
    $s2s -v train --config configs/quickstart.yaml --overwrite name="$name" data.root="$data" \
        train.accelerator="$accel" train.run_dir="$work/runs" train.output_dir="$work/models" \
        "$@" $extra > "$logfile" 2>&1
    echo "$name: exit $? after $(($(date +%s) - began)) s" >> "$out/stages.txt"
}

# A: the quickstart as shipped, on the GPU.
train qs-auto "$out/A-quickstart.log" train.max_time_minutes=3.5
$s2s evaluate --model "$work/models/qs-auto" --beam 5 --device "$device" --data-root "$data" \
    --split test-vg --out-dir "$work/eval-A" > "$out/A-eval.log" 2>&1
echo "A eval: exit $? after $(($(date +%s) - began)) s" >> "$out/stages.txt"

# B: fp32 against bf16-mixed after the same updates, two seeds each, four processes at once.
for precision in 32-true bf16-mixed; do
    for seed in 1 2; do
        train "qs-$precision-s$seed" "$out/B-$precision-s$seed.log" \
            train.precision="$precision" train.seed="$seed" train.max_time_minutes=3 &
    done
done
wait

# C: larger batches, if the stages above left time (the device call is limited to 10 minutes).
if [ $(($(date +%s) - began)) -lt 300 ]; then
    train qs-big "$out/C-big-batches.log" data.batch_tokens=8000 train.lr=0.004 \
        train.max_time_minutes=2
fi
echo "done after $(($(date +%s) - began)) s" >> "$out/stages.txt"
