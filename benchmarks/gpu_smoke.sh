#!/usr/bin/env bash
# GPU smoke test, for a machine with an NVIDIA GPU and the GPU build installed (`make install-gpu`):
# lists the GPUs, trains one epoch of LeNet-5 on CIFAR-sized random data and crafts one batch of each
# attack (fgsm, pgd, cw at configs/paper.yaml's settings), through the pipeline's own code
# (models.configure, training.train, attacks.craft), and prints images/s on the GPU and on the CPU.
#
#   benchmarks/gpu_smoke.sh                 # PYTHON=.venv/bin/python by default
#   TRAIN_IMAGES=20000 ATTACK_IMAGES=512 XLA=1 benchmarks/gpu_smoke.sh
#
# Without a GPU it stops with "no GPU" and exit status 1 (ALLOW_CPU=1 runs the CPU half anyway).
# benchmarks/README.md, "GPU smoke test".
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

echo "== GPUs (nvidia-smi)"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi -L || echo "nvidia-smi found no GPU (driver not loaded?)"
else
    echo "nvidia-smi not found: no NVIDIA driver on this machine"
fi

PYTHONPATH=workflow exec "$PYTHON" - <<'EOF'
import logging
import os
import sys
import tempfile
import time

import numpy as np

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from robustcurves import attacks, models, training  # noqa: E402

import tensorflow as tf  # noqa: E402

print("== TensorFlow", tf.__version__, "build:", dict(tf.sysconfig.get_build_info()))
try:
    models.configure(
        seed=0,
        gpu_requested=1,
        allow_cpu_fallback=os.environ.get("ALLOW_CPU") == "1",
        xla=os.environ.get("XLA") == "1",
    )
except models.GPUUnavailable as err:
    print(f"no GPU: {err}\n(ALLOW_CPU=1 runs the CPU half anyway)", file=sys.stderr)
    sys.exit(1)

n_train = int(os.environ.get("TRAIN_IMAGES", 10000))
n_attack = int(os.environ.get("ATTACK_IMAGES", 256))
rng = np.random.default_rng(0)
x = rng.random((n_train + 512, 32, 32, 3), dtype=np.float32)  # CIFAR-sized
y = rng.integers(0, 10, len(x)).astype(np.int64)
ATTACKS = {
    "fgsm": {"method": "fgsm", "eps": 0.3, "batch_size": n_attack},
    "pgd": {"method": "pgd", "eps": 0.3, "eps_step": 0.1, "max_iter": 100, "batch_size": n_attack},
    # paper.yaml's CW: ART's algorithm (line-search) at ART's defaults, the library's defaults for it
    "cw": {"method": "cw", "algorithm": "line-search", "batch_size": n_attack},
}
devices = ["/GPU:0"] if tf.config.list_physical_devices("GPU") else []
rows = {}
for device in devices + ["/CPU:0"]:
    with tf.device(device), tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        training.train(
            training.Split(x[:n_train], y[:n_train], x[-512:-256], y[-512:-256], x[-256:], y[-256:]),
            classes=10, epochs=1, batch_size=32, learning_rate=1e-3, seed=0,
            snapshots_path=f"{tmp}/snapshots.h5", label=f"smoke {device}",
        )
        rows[(device, "train, 1 epoch")] = n_train / (time.perf_counter() - start)
        with models.Snapshots(f"{tmp}/snapshots.h5") as snapshots:
            model = snapshots.model(1)
        forward = models.logits_fn(model)
        xa = x[:n_attack]
        ya = models.predict(forward, xa)  # the model's own labels: every image starts correctly classified
        for name, params in ATTACKS.items():
            attacks.craft(model, xa[:4], ya[:4], params, seed=0)  # trace (and compile) first
            start = time.perf_counter()
            adv = attacks.craft(model, xa, ya, params, seed=1)
            rows[(device, name)] = n_attack / (time.perf_counter() - start)
            success = (models.predict(forward, adv) != ya).mean()
            print(f"{device} {name}: {rows[(device, name)]:.1f} images/s, success {success:.2f}", flush=True)

print(f"\n== images/s ({n_train} training images, {n_attack} attacked images)")
tasks = dict.fromkeys(task for _, task in rows)
print(f"{'':16}" + "".join(f"{d:>10}" for d in devices + ["/CPU:0"]))
for task in tasks:
    print(f"{task:16}" + "".join(f"{rows[(d, task)]:10.1f}" for d in devices + ["/CPU:0"]))
if not devices:
    print("no GPU: the CPU figures only (ALLOW_CPU=1)")
EOF
