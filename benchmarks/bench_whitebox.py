"""Our batched APGD (CE and DLR) against ART's AutoProjectedGradientDescent, on mnist5k and real CIFAR-10.

    .venv/bin/python benchmarks/bench_whitebox.py [--images 100] [--threads 1]

Per dataset, on one LeNet-5 and the same correctly classified test images: the eps is chosen where our
APGD-CE leaves a robust accuracy nearest 50% (scanning a few eps), so that ART's lies inside (20%, 80%)
and strength can differ; then ART's APGD and ours run at equal settings (L∞, eps_step = 2·eps,
100 iterations, one random start; ART at batch 50, ours at its default batch) and we report robust
accuracy and seconds per image. Prints a table and writes it as JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from real_data import cifar10_lenet, correctly_classified

from robustcurves import art_adapter, data, models
from robustcurves.attacks.apgd import apgd_with_success
from robustcurves.stages import prepare, train

ART_LOSS = {"ce": "cross_entropy", "dlr": "difference_logits_ratio"}
SCAN = {"mnist5k": (0.03, 0.05, 0.08, 0.12), "cifar10": (0.5 / 255, 1 / 255, 2 / 255, 4 / 255)}
MAX_ITER = 100


def mnist5k_lenet(epochs: int = 3, seed: int = 0):
    """A LeNet-5 trained on 4,000 mnist5k images (cached in benchmarks/results/)."""
    d = prepare.mnist5k(seed=seed, test_fraction=0.2)
    x, y = data.to_float(d["x_train"]), d["y_train"]
    x_test, y_test = data.to_float(d["x_test"]), d["y_test"]
    path = ROOT / "benchmarks" / "results" / "mnist5k_lenet" / f"snapshots_e{epochs}_s{seed}.h5"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        train.train(
            train.Split(x[:3500], y[:3500], x[3500:], y[3500:], x_test, y_test),
            model="lenet5",
            classes=10,
            epochs=epochs,
            batch_size=32,
            optimizer="adam",
            momentum=0.9,
            weight_decay=0.0,
            augment=False,
            learning_rate=1e-3,
            seed=seed,
            snapshots_path=path,
        )
    with models.Snapshots(path) as s:
        return s.model(s.epochs[-1]), x_test, y_test


def robust_accuracy(model, adv, y) -> float:
    return float((models.predict(models.logits_fn(model), adv) == y).mean())


def compare(name: str, model, x, y) -> dict:
    apgd_with_success(model, x[:8], y[:8], seed=0, eps=0.01, max_iter=MAX_ITER)  # trace once
    scan = {
        float(e): 1 - apgd_with_success(model, x, y, seed=0, eps=e, max_iter=MAX_ITER)[1].mean()
        for e in SCAN[name]
    }
    eps = min(scan, key=lambda e: abs(scan[e] - 0.5))
    out = {"dataset": name, "images": len(x), "eps": eps, "scan_ours_ce": scan}
    for loss in ("ce", "dlr"):
        settings = {"eps": eps, "eps_step": 2 * eps, "max_iter": MAX_ITER, "nb_random_init": 1}
        start = time.perf_counter()
        adv = art_adapter.generate(
            "apgd", model, x, y, {**settings, "batch_size": 50, "loss_type": ART_LOSS[loss]}, 0
        )
        art_s = time.perf_counter() - start
        start = time.perf_counter()
        ours, _ = apgd_with_success(model, x, y, seed=0, eps=eps, loss=loss, max_iter=MAX_ITER)
        ours_s = time.perf_counter() - start
        out[loss] = {
            "art_robust_accuracy": robust_accuracy(model, adv, y),
            "ours_robust_accuracy": robust_accuracy(model, ours, y),
            "art_s_per_image": art_s / len(x),
            "ours_s_per_image": ours_s / len(x),
            "speedup": art_s / ours_s,
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    models.configure(threads=args.threads, seed=0)
    rows = []
    for name, load in (("mnist5k", mnist5k_lenet), ("cifar10", cifar10_lenet)):
        model, x_test, y_test = load()
        x, y = correctly_classified(model, x_test, y_test, args.images, seed=0)
        rows.append(compare(name, model, x, y))
        print(json.dumps(rows[-1], indent=1), flush=True)
    print(
        f"\n{'dataset':8} {'eps':>8} {'loss':4} {'RA ART':>7} {'RA ours':>7} "
        f"{'s/img ART':>9} {'s/img ours':>10} {'x':>5}"
    )
    for r in rows:
        for loss in ("ce", "dlr"):
            c = r[loss]
            print(
                f"{r['dataset']:8} {r['eps']:8.4f} {loss:4} {c['art_robust_accuracy']:7.2f} "
                f"{c['ours_robust_accuracy']:7.2f} {c['art_s_per_image']:9.4f} {c['ours_s_per_image']:10.4f} "
                f"{c['speedup']:5.1f}"
            )
    meta = {"threads": args.threads, "machine": platform.machine(), "max_iter": MAX_ITER, "rows": rows}
    out = ROOT / "benchmarks" / "results" / "bench_whitebox.json"
    out.write_text(json.dumps(meta, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
