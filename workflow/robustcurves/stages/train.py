"""Training with a snapshot after every epoch, resumable from its last completed epoch."""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from robustcurves import backend
from robustcurves.data import to_float
from robustcurves.io import read_h5, write_csv, write_h5
from robustcurves.measures import degenerate
from robustcurves.models import build, logits_fn, predict, write_snapshots
from robustcurves.progress import Progress

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class Split:
    """The images of one training run: float32 in [0, 1], labels int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @classmethod
    def from_fold(cls, dataset: dict, folds: np.ndarray, k: int) -> Split:
        """Fold `k` of the training images validates, the other folds train; the test set is the dataset's."""
        x, y = to_float(dataset["x_train"]), dataset["y_train"]
        val = folds == k
        return cls(x[~val], y[~val], x[val], y[val], to_float(dataset["x_test"]), dataset["y_test"])


def _evaluator(model, loss_fn):
    def summed(forward, x, y):
        logits = forward(x)
        n = keras.ops.cast(keras.ops.shape(x)[0], "float32")
        return loss_fn(y, logits) * n, backend.correct_count(logits, y)

    batch = backend.model_function(model, summed)

    def evaluate(x, y, batch_size=1024):
        loss = hits = 0.0
        for i in range(0, len(x), batch_size):
            bl, bh = batch(x[i : i + batch_size], y[i : i + batch_size])
            loss, hits = loss + float(bl), hits + float(bh)
        return loss / len(x), hits / len(x)

    return evaluate


def flip_and_crop(x: np.ndarray, rng: np.random.Generator, pad: int = 4) -> np.ndarray:
    """Random horizontal flips and random crops of the images zero-padded by `pad` pixels, one draw per
    image (He et al. 2016, §4.2). x: (N, H, W, C); returns the same shape."""
    n, h, w, _ = x.shape
    x = np.where((rng.random(n) < 0.5)[:, None, None, None], x[:, :, ::-1], x)
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
    rows, cols = dy[:, None] + np.arange(h), dx[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def make_optimizer(name: str, *, learning_rate: float, momentum: float, weight_decay: float):
    """Keras's Adam or SGD (with `momentum`); `weight_decay` is Keras's decoupled decay, 0 for none."""
    decay = weight_decay or None
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate, weight_decay=decay)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum, weight_decay=decay)
    raise ValueError(f"optimizer {name!r}: expected adam or sgd")


def train(
    split: Split,
    *,
    model: str,
    classes: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    optimizer: str,
    momentum: float,
    weight_decay: float,
    augment: bool,
    seed: int,
    snapshots_path,
    history_path=None,
    label: str = "",
) -> pd.DataFrame:
    """Train the model named `model` (models.build: refused before training unless it is a logits model
    of `classes` outputs for these images), writing every epoch's weights, batch-normalisation
    statistics included, to `snapshots_path`; return the history.

    Progress (weights, optimizer state, history) is kept next to the snapshots (`<name>.resume/`)
    after each epoch, so a killed run continues where it stopped, with the same data
    order, and ends with the same snapshots as an uninterrupted one. `label` names the run in errors.
    """
    x_train, y_train, x_val, y_val = split.x_train, split.y_train, split.x_val, split.y_val
    x_test, y_test = split.x_test, split.y_test
    keras.utils.set_random_seed(seed)
    network = build(model, x_train.shape[1:], classes)
    opt = make_optimizer(optimizer, learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay)
    opt.build(network.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    step, evaluate = backend.train_step(network, opt, loss_fn), _evaluator(network, loss_fn)
    forward = logits_fn(network)

    resume_dir = Path(snapshots_path).with_suffix(".resume")
    run = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "model": model,
        "optimizer": optimizer,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "augment": augment,
        "seed": seed,
        "data": hashlib.sha256(x_train.tobytes() + y_train.tobytes() + x_val.tobytes()).hexdigest(),
    }
    history, snapshots, start = _restore(resume_dir, network, opt, run)
    if start > 1:
        log.info("%s: resuming after epoch %d from %s", label, start - 1, resume_dir)

    progress = Progress(epochs, "epochs", done=start - 1)
    for epoch in range(start, epochs + 1):
        order = np.random.default_rng([seed, epoch]).permutation(len(x_train))
        draws = np.random.default_rng([seed, epoch, 1])  # its own stream: the order stays as without
        loss_sum = hits = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            x = flip_and_crop(x_train[idx], draws) if augment else x_train[idx]
            bl, bh = step(backend.tensor(x), backend.tensor(y_train[idx]))
            loss_sum, hits = loss_sum + float(bl), hits + float(bh)
        row = {"epoch": epoch, "train_loss": loss_sum / len(order), "train_accuracy": hits / len(order)}
        row["val_loss"], row["val_accuracy"] = evaluate(x_val, y_val)
        row["test_loss"], row["test_accuracy"] = evaluate(x_test, y_test)
        bad = [k for k in ("train_loss", "val_loss") if not np.isfinite(row[k])]
        if bad:
            raise TrainingDiverged(
                f"{label}: {bad[0]} is {row[bad[0]]} at epoch {epoch} "
                f"(learning rate {learning_rate:g}); lower the regime's learning_rate"
            )
        _warn_if_degenerate(network, forward, x_test, y_test, label, epoch)
        history.append(row)
        snapshots[epoch] = network.get_weights()
        _checkpoint(resume_dir, epoch, snapshots[epoch], opt, history, run)
        log.info(
            "%s epoch %d/%d: loss %.4f acc %.4f | val loss %.4f acc %.4f | test acc %.4f | %s",
            label,
            epoch,
            epochs,
            row["train_loss"],
            row["train_accuracy"],
            row["val_loss"],
            row["val_accuracy"],
            row["test_accuracy"],
            progress.update(),
        )

    write_snapshots(snapshots_path, snapshots, x_train.shape[1:], classes, model)
    frame = pd.DataFrame(history)
    if history_path is not None:
        write_csv(frame, history_path)
    shutil.rmtree(resume_dir, ignore_errors=True)
    return frame


def _warn_if_degenerate(model, forward, x_test, y_test, label: str, epoch: int, images: int = 16) -> None:
    """Warn when the snapshot collapsed (degenerate.degenerate): its robustness would read as "robust"."""
    norms = degenerate.input_gradient_norms(model, x_test[:images])
    flags = degenerate.degenerate(predict(forward, x_test), norms, y_test)
    if flags["degenerate"]:
        log.warning(
            "%s epoch %d is degenerate, its robustness metrics will be NaN: %s",
            label or "training",
            epoch,
            flags["degenerate"],
        )


def _checkpoint(resume_dir: Path, epoch, weights, optimizer, history, run: dict) -> None:
    # The epoch's weights first, then the state that declares it complete: a kill in between
    # leaves an orphan epoch file that the next run simply overwrites.
    write_h5(resume_dir / f"epoch_{epoch:03d}.h5", {f"w{i}": w for i, w in enumerate(weights)})
    write_h5(
        resume_dir / "state.h5",
        {f"opt{i}": backend.to_numpy(v) for i, v in enumerate(optimizer.variables)},
        {"epoch": epoch, "history": history, "run": run},
    )


def _restore(resume_dir: Path, model, optimizer, run: dict):
    state = resume_dir / "state.h5"
    if not state.exists():
        return [], {}, 1
    arrays, attrs = read_h5(state)
    if attrs.get("run") != run:
        # Progress of a run with other settings (a changed config): resuming it would mix two runs.
        log.warning(
            "%s holds progress of a different run (%s); starting afresh", resume_dir, attrs.get("run")
        )
        shutil.rmtree(resume_dir)
        return [], {}, 1
    done = int(attrs["epoch"])
    snapshots = {}
    for epoch in range(1, done + 1):
        w, _ = read_h5(resume_dir / f"epoch_{epoch:03d}.h5")
        snapshots[epoch] = [w[f"w{i}"] for i in range(len(w))]
    model.set_weights(snapshots[done])
    for i, var in enumerate(optimizer.variables):
        var.assign(arrays[f"opt{i}"])
    return list(attrs["history"]), snapshots, done + 1
