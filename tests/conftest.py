import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def separable(n=240, shape=(12, 12, 1), classes=3, seed=0):
    """Tiny images whose class is a bright patch position: learnable in a few epochs."""
    r = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = r.uniform(0, 0.2, size=(n, *shape)).astype(np.float32)
    w = shape[1] // classes
    for c in range(classes):
        x[y == c, :, c * w : (c + 1) * w, :] += 0.7
    return np.clip(x, 0, 1), y.astype(np.int64)


def separable_split(n=300, train=200, val=50, shape=(32, 32, 1)):
    """`separable` images cut, in order, into training, validation and test sets (a train.Split)."""
    from robustcurves.stages.train import Split  # TensorFlow: only for the tests that train

    x, y = separable(n=n, shape=shape)
    b = train + val
    return Split(x[:train], y[:train], x[train:b], y[train:b], x[b:], y[b:])


# The tiny LeNet-5 run most tests train: learns separable images in 3 epochs.
TINY_TRAINING = {
    "model": "lenet5",
    "classes": 3,
    "epochs": 3,
    "batch_size": 16,
    "learning_rate": 2e-3,
    "optimizer": "adam",
    "momentum": 0.9,
    "weight_decay": 0.0,
    "augment": False,
    "seed": 1,
}


def train_tiny(path, split=None, **overrides):
    """Train on `split` (default: separable_split()) with TINY_TRAINING and the overrides; the history."""
    from robustcurves.stages import train

    split = separable_split() if split is None else split
    return train.train(split, snapshots_path=path, **{**TINY_TRAINING, **overrides})


@pytest.fixture(scope="session")
def trained_snapshots(tmp_path_factory):
    """(snapshots path, split): train_tiny once, shared by the tests that attack a trained model."""
    path, split = tmp_path_factory.mktemp("trained") / "s.h5", separable_split()
    train_tiny(path, split)
    return path, split


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The workflow run once on tests/config/tiny.yaml, shared by the slow tests that read its results."""
    from workflow_utils import snakemake, workflow_copy

    work = workflow_copy(tmp_path_factory.mktemp("run"))
    proc = snakemake(work, "--configfile", "tests/config/tiny.yaml")
    (work / "console.txt").write_text(proc.stdout + proc.stderr)
    return work
