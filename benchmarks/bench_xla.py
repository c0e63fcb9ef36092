"""Images/s with and without XLA (`compute.xla`): training, evaluation and the attacks, on CIFAR-10.

    python benchmarks/bench_xla.py [--reps 2] [--threads 1] [--train-images 4096] [--attack-images 64]

XLA is process-wide (models.configure), so every measurement runs in a fresh process, plain and XLA in
turns, `--reps` times each; the best run of each counts (the machine is shared; the best is the least
disturbed). The model is benchmarks/real_data.py's LeNet-5 trained 3 epochs on the real CIFAR-10, the
attack settings those of configs/paper.yaml. Results: benchmarks/results/bench_xla.json and
benchmarks/README.md, "XLA".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_xla.json"
from robustcurves.config import attack_defaults  # (no TensorFlow in the parent process)

# our Adam CW at its defaults (the schema's); `algorithm` said, since the default algorithm is line-search
CW = attack_defaults("cw", algorithm="adam")
# 20 of the paper's 100 PGD iterations: the images/s of 100 are a fifth of these
PGD = {"method": "pgd", "eps": 0.3, "eps_step": 0.1, "max_iter": 20, "batch_size": 512}
FGSM = {"method": "fgsm", "eps": 0.3, "batch_size": 512}


def rate(images: int, fn) -> tuple[float, float, object]:
    """Images per wall-clock second and per CPU-second of this process (all its threads): on a shared
    machine the second is the steadier measure of the work a configuration needs."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return images / (time.perf_counter() - start), images / (time.process_time() - cpu), out


def child(xla: bool, threads: int, train_images: int, attack_images: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf
    from real_data import cifar10_lenet, correctly_classified

    from robustcurves import attacks, models
    from robustcurves.stages import train

    models.configure(threads=threads, seed=0, xla=xla)
    model, x_test, y_test = cifar10_lenet()
    out = {}

    # training: the pipeline's step function, batch 32, on a copy of the cached model
    net = models.lenet5(model.input_shape[1:], 10)
    net.set_weights(model.get_weights())
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(net.trainable_variables)
    step = train._train_step(net, optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = x_test[:train_images], y_test[:train_images].astype(np.int64)

    def epoch():
        for i in range(0, len(x), 32):
            step(tf.constant(x[i : i + 32]), tf.constant(y[i : i + 32]))

    epoch()  # traces and compiles (a partial last batch too)
    out["train_images_per_s"], out["train_images_per_cpu_s"], _ = rate(len(x), epoch)
    weights = b"".join(w.tobytes() for w in net.get_weights())
    out["train_weights_sha256"] = hashlib.sha256(weights).hexdigest()[:16]

    # evaluation: every test image through one snapshot, as evaluate/craft/robustness do
    forward = models.logits_fn(model)
    models.predict(forward, x_test[:2048])
    out["eval_images_per_s"], out["eval_images_per_cpu_s"], _ = rate(
        len(x_test), lambda: models.predict(forward, x_test)
    )

    xa, ya = correctly_classified(model, x_test, y_test, attack_images, seed=0)
    for name, params in (("fgsm", FGSM), ("pgd", PGD), ("cw", CW)):
        attacks.craft(model, xa[:8], ya[:8], params, seed=0)  # traces and compiles
        out[f"{name}_images_per_s"], out[f"{name}_images_per_cpu_s"], adv = rate(
            len(xa), lambda p=params: attacks.craft(model, xa, ya, p, seed=1)
        )
        out[f"{name}_success"] = float((models.predict(forward, adv) != ya).mean())
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-images", type=int, default=4096)
    parser.add_argument("--attack-images", type=int, default=64)
    parser.add_argument("--child", choices=["plain", "xla"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child == "xla", args.threads, args.train_images, args.attack_images)))
        return {}

    runs = {"plain": [], "xla": []}
    for rep in range(args.reps):
        for mode in runs:
            cmd = [sys.executable, __file__, "--child", mode, "--threads", str(args.threads)]
            cmd += ["--train-images", str(args.train_images), "--attack-images", str(args.attack_images)]
            env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode:
                raise SystemExit(f"{mode} run {rep} failed:\n{proc.stderr[-4000:]}")
            runs[mode].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"{mode} run {rep}: {runs[mode][-1]}", flush=True)
    best = {
        mode: {k: max(r[k] for r in rs) if "per_" in k else rs[0][k] for k in rs[0]}
        for mode, rs in runs.items()
    }
    result = {
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_average": os.getloadavg(),
        "train_images": args.train_images,
        "attack_images": args.attack_images,
        "runs": runs,
        "best": best,
        # with XLA op determinism is off: do repeated XLA trainings still agree?
        "xla_training_repeatable": len({r["train_weights_sha256"] for r in runs["xla"]}) == 1,
    }
    print(f"\n{'best of ' + str(args.reps):28} {'plain':>9} {'XLA':>9} {'XLA/plain':>9}")
    for key in best["plain"]:
        if "per_" in key:
            p, x = best["plain"][key], best["xla"][key]
            print(f"{key:28} {p:9.1f} {x:9.1f} {x / p:9.2f}")
    for name in ("fgsm", "pgd", "cw"):
        print(
            f"{name} success rate: plain {best['plain'][name + '_success']:.3f},"
            f" XLA {best['xla'][name + '_success']:.3f}"
        )
    print(f"XLA training repeatable across runs: {result['xla_training_repeatable']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
