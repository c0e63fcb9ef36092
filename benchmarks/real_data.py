"""A LeNet-5 trained for a few epochs on the real CIFAR-10 (../shared/data/cifar10.npz), cached.

The benchmarks compare attacks and metrics on it because conclusions drawn on mnist5k do not carry over
to natural images (CW's L2 gap to ART is of opposite sign on the two). Training takes ~2 minutes on 2
cores; the snapshots are cached in benchmarks/results/ and reused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from robustcurves import data, models
from robustcurves.stages import prepare, train

CIFAR10 = ROOT.parent / "shared" / "data" / "cifar10.npz"
CACHE = ROOT / "benchmarks" / "results" / "cifar10_lenet"


def cifar10_lenet(epochs: int = 3, learning_rate: float = 1e-3, seed: int = 0, transform=None, tag: str = ""):
    """(model, x_test, y_test): LeNet-5 after `epochs` epochs of Adam on the 50,000 training images,
    optionally `transform`ed (float images in, float images out; cached under `tag`)."""
    transform = transform or (lambda x: x)
    if not CIFAR10.exists():
        raise FileNotFoundError(f"real CIFAR-10 not found at {CIFAR10} (the shared data folder)")
    d = prepare.load_arrays(CIFAR10)
    x_test, y_test = transform(data.to_float(d["x_test"])), d["y_test"].astype(np.int64)
    path = CACHE / f"{tag}snapshots_e{epochs}_lr{learning_rate:g}_s{seed}.h5"
    if not path.exists():
        x, y = transform(data.to_float(d["x_train"])), d["y_train"].astype(np.int64)
        path.parent.mkdir(parents=True, exist_ok=True)
        train.train(
            train.Split(x[:-1000], y[:-1000], x[-1000:], y[-1000:], x_test[:1000], y_test[:1000]),
            model="lenet5",
            classes=10,
            epochs=epochs,
            batch_size=32,
            optimizer="adam",
            momentum=0.9,
            weight_decay=0.0,
            augment=False,
            learning_rate=learning_rate,
            seed=seed,
            snapshots_path=path,
        )
    with models.Snapshots(path) as s:
        return s.model(s.epochs[-1]), x_test, y_test


def correctly_classified(model, x, y, n: int, seed: int = 0):
    """`n` correctly classified images, chosen with `seed` (the same for every attack compared)."""
    pred = models.predict(models.logits_fn(model), x)
    idx = np.flatnonzero(pred == y)
    idx = np.sort(np.random.default_rng(seed).choice(idx, min(n, len(idx)), replace=False))
    return x[idx], y[idx]


if __name__ == "__main__":
    models.configure(seed=0)
    model, x, y = cifar10_lenet()
    acc = (models.predict(models.logits_fn(model), x) == y).mean()
    print(f"cached LeNet-5 on real CIFAR-10: test accuracy {acc:.3f}")
