"""LeNet-5 as a logits model, its per-epoch snapshots, and batched inference, on any Keras backend."""

from __future__ import annotations

import logging

import keras
import numpy as np

from . import backend
from .backend import GPUUnavailable, choose_device, configure  # noqa: F401  (the job set-up lives there)
from .io import atomic_path, open_h5

log = logging.getLogger(__name__)


def lenet5(input_shape, classes: int) -> keras.Model:
    """LeNet-5 (two 5x5 conv + max-pool blocks, dense 120-84), ReLU, outputs logits."""
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            keras.layers.Conv2D(6, 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(120, activation="relu"),
            keras.layers.Dense(84, activation="relu"),
            keras.layers.Dense(classes),
        ],
        name="lenet5",
    )


class Snapshots:
    """Read access to `snapshots.h5`: one group per epoch holding every weight array of the model."""

    def __init__(self, path):
        self.path = path
        self._f = open_h5(path, required=("epochs",))
        self.epochs = [int(e) for e in self._f["epochs"][()]]
        self.input_shape = tuple(int(d) for d in self._f.attrs["input_shape"])
        self.classes = int(self._f.attrs["classes"])

    def weights(self, epoch: int) -> list[np.ndarray]:
        group = self._f[f"epoch_{epoch:03d}"]
        return [group[f"w{i}"][()] for i in range(len(group))]

    def model(self, epoch: int | None = None) -> keras.Model:
        model = lenet5(self.input_shape, self.classes)
        if epoch is not None:
            model.set_weights(self.weights(epoch))
        return model

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_snapshots(path, weights_per_epoch: dict[int, list[np.ndarray]], input_shape, classes: int) -> None:
    with atomic_path(path) as tmp:
        import h5py

        with h5py.File(tmp, "w") as f:
            epochs = sorted(weights_per_epoch)
            f.create_dataset("epochs", data=np.array(epochs, dtype=np.int64))
            f.attrs["input_shape"] = np.array(input_shape, dtype=np.int64)
            f.attrs["classes"] = classes
            for epoch in epochs:
                group = f.create_group(f"epoch_{epoch:03d}")
                for i, w in enumerate(weights_per_epoch[epoch]):
                    group.create_dataset(f"w{i}", data=w)


def logits_fn(model: keras.Model):
    """A compiled forward pass (inference mode); reused across snapshots because set_weights keeps the
    variables."""
    return backend.model_function(model, lambda forward, x: forward(x))


def predict_logits(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    out = [backend.to_numpy(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def predict(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return predict_logits(fn, x, batch_size).argmax(axis=1) if len(x) else np.zeros(0, np.int64)
