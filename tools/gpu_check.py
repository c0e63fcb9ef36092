"""Throughput of the study's three hot paths on this machine's Keras backend, at CIFAR-10's and STL-10's
image shapes, on synthetic arrays, for LeNet-5 (the paper's) and ResNet-20 (10 classes):

- training: images/s of `backend.train_step` (Adam) at batch 32;
- CLEVER: gradient points/s of the batched CLEVER kernel (`clever._pool_norms`: fresh pools in the L2
  ball, one forward and one backward pass per point, the dual norms out), and of CLEVER whole (with
  its Weibull fits on the CPU);
- CW-L2 line-search (ART's algorithm, batched) at its defaults: images/s.

Writes `gpu_check.json` and `gpu_check.md` to --out, with each rate beside the device's FP32 roofline
where the device is known (an H200: 67 TFLOP/s FP32, 4.8 TB/s). Run by tools/gpu_check.sh;
`--quick` shrinks every size for a test on the CPU. benchmarks/README.md, "GPU check".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from robustcurves import backend, models
from robustcurves.attacks import cw_linesearch
from robustcurves.measures import clever

# Peak FP32 rates of known devices (vendor data sheets): FLOP/s, bytes/s
ROOFLINES = {"H200": (67e12, 4.8e12), "H100": (67e12, 3.35e12), "A100": (19.5e12, 2.0e12)}


def best_of(fn, repeats: int) -> float:
    """The shortest of `repeats` timed calls of `fn` (each ends by reading its result back), seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def model_for(name: str, shape, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    return models.build(name, shape, 10)


def training_rate(name: str, shape, steps: int, repeats: int) -> float:
    import keras

    model = model_for(name, shape)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    optimizer.build(model.trainable_variables)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    step = backend.train_step(model, optimizer, loss)
    rng = np.random.default_rng(0)
    batches = [
        (backend.tensor(rng.random((32, *shape), np.float32)), backend.tensor(rng.integers(0, 10, 32)))
        for _ in range(8)
    ]
    float(step(*batches[0])[0])  # compile

    def run():
        for i in range(steps):
            out = step(*batches[i % len(batches)])
        float(out[0])

    return steps * 32 / best_of(run, repeats)


def clever_kernel_rate(name: str, shape, pairs: int, pool: int, repeats: int) -> float:
    model = model_for(name, shape)
    fn = clever._pool_norms(model, tuple(shape), pool, 2.0, 2, (0.0, 1.0))
    rng = np.random.default_rng(0)
    centres = rng.random((pairs, *shape), np.float32)
    ref = np.zeros(pairs, np.int64)
    other = np.ones(pairs, np.int64)
    seed = np.array([0, 0], np.int64)
    backend.to_numpy(fn(seed, centres, ref, other))  # compile
    return pairs * pool / best_of(lambda: backend.to_numpy(fn(seed, centres, ref, other)), repeats)


def clever_whole_rate(name: str, shape, images: int, batch_size: int, repeats: int) -> float:
    model = model_for(name, shape)
    x = np.random.default_rng(1).random((images, *shape), np.float32)
    settings = dict(nb_batches=50, batch_size=batch_size, radius=2.0, norm=2)
    clever.clever_scores(model, x[:1], **settings)  # compile
    points = images * 9 * 10 * batch_size
    return points / best_of(lambda: clever.clever_scores(model, x, **settings), repeats)


def cw_rate(name: str, shape, images: int, repeats: int) -> float:
    model = model_for(name, shape)
    rng = np.random.default_rng(2)
    x = rng.random((images, *shape), np.float32)
    y = rng.integers(0, 10, images)
    cw_linesearch.carlini_wagner_l2_linesearch(model, x[:2], y[:2])  # compile
    return images / best_of(lambda: cw_linesearch.carlini_wagner_l2_linesearch(model, x, y), repeats)


def roofline(device: str, name: str, shape, points_per_s: float) -> dict:
    """The CLEVER kernel's FP32 FLOP/s (forward + input-gradient pass ~ 3x the forward's 2 FLOP per
    multiply-accumulate, models.macs) against the device's peak, where the device is known."""
    flops = 3 * 2 * models.macs(model_for(name, shape)) * points_per_s
    peak = next((rates for name, rates in ROOFLINES.items() if name in device), None)
    return {"kernel_tflops": flops / 1e12, "fraction_of_fp32_peak": flops / peak[0] if peak else None}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a test of the script on a CPU")
    args = parser.parse_args(argv)
    backend.configure(seed=0)
    device = ", ".join(backend.gpus()) or "CPU"
    if backend.NAME == "jax":
        import jax

        device = ", ".join(d.device_kind for d in jax.devices())
    q = args.quick
    sizes = {
        "train_steps": 20 if q else 400,
        "clever_pairs": 4 if q else 64,
        "clever_pool": 160,
        "clever_images": 1 if q else 10,
        "cw_images": 8 if q else 512,
        "repeats": 1 if q else 3,
    }
    rows = []
    for name, shape in (("lenet5", (32, 32, 3)), ("lenet5", (96, 96, 3)), ("resnet20", (32, 32, 3))):
        r = sizes["repeats"]
        kernel = clever_kernel_rate(name, shape, sizes["clever_pairs"], sizes["clever_pool"], r)
        row = {
            "model": name,
            "shape": "x".join(map(str, shape)),
            "train_img_per_s": training_rate(name, shape, sizes["train_steps"], r),
            "clever_kernel_points_per_s": kernel,
            "clever_points_per_s": clever_whole_rate(name, shape, sizes["clever_images"], 16, r),
            "cw_linesearch_img_per_s": cw_rate(name, shape, sizes["cw_images"], r),
            **roofline(device, name, shape, kernel),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"backend": backend.NAME, "device": device, "quick": q, "sizes": sizes, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(result, indent=2) + "\n")
    import pandas as pd

    table = pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")
    (args.out / "gpu_check.md").write_text(f"{backend.NAME} on {device}\n\n{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
