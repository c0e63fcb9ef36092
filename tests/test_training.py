import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import separable_split, train_tiny
from robustcurves import models
from robustcurves.stages import train

ROOT = Path(__file__).resolve().parents[1]
# Trains the tiny model in its own process so that the test can SIGKILL it mid-run (the tests' helpers
# from PYTHONPATH, the library as installed).
TRAIN = """
import sys
from conftest import separable_split, train_tiny
from robustcurves import models
models.configure(threads=1)
train_tiny(sys.argv[1], separable_split(n=600, train=400, val=100, shape={shape}), epochs=int(sys.argv[2]),
           batch_size=8, learning_rate=1e-3, seed=5, history_path=sys.argv[1] + ".csv", **{settings})
"""


def run_training(tmp_path, name, epochs=6, kill_after_epoch=None, shape=(32, 32, 1), **settings):
    script = tmp_path / "train.py"
    script.write_text(TRAIN.format(shape=shape, settings=settings))
    out = tmp_path / name
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(epochs)], env=env)
    if kill_after_epoch is not None:
        state = out.with_suffix(".resume") / f"epoch_{kill_after_epoch:03d}.h5"
        deadline = time.time() + 120
        while not state.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not out.exists(), "a killed run must not leave snapshots.h5 looking complete"
        proc = subprocess.Popen([sys.executable, str(script), str(out), str(epochs)], env=env)
    assert proc.wait(timeout=300) == 0
    return out


def weights(path):
    with models.Snapshots(path) as s:
        return {e: s.weights(e) for e in s.epochs}


def test_training_writes_a_snapshot_per_epoch_and_learns(tmp_path):
    hist = train_tiny(tmp_path / "s.h5", epochs=4, history_path=tmp_path / "h.csv")
    assert list(hist.columns) == [
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
    ]
    assert hist["epoch"].tolist() == [1, 2, 3, 4]
    assert hist["train_accuracy"].iloc[-1] > 0.9 and hist["test_accuracy"].iloc[-1] > 0.9
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "h.csv"), hist, check_dtype=False)
    w = weights(tmp_path / "s.h5")
    assert sorted(w) == [1, 2, 3, 4]
    assert not np.array_equal(w[1][0], w[4][0])
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["classes"] == 3
    assert not (tmp_path / "s.resume").exists(), "the resume state is removed once training completes"


# LeNet-5 with the paper's Adam, and a batch-normalised ResNet-20 with SGD, decay and augmentation: its
# snapshots hold the normalisation statistics, and the augmentation draws restart with the epoch.
RESUMED = {
    "lenet5": {},
    "resnet20": {
        "shape": (12, 12, 1),
        "model": "resnet20",
        "optimizer": "sgd",
        "weight_decay": 1e-4,
        "augment": True,
    },
}


@pytest.mark.parametrize("model", RESUMED)
def test_killed_training_resumes_to_identical_snapshots(tmp_path, model):
    epochs = 6 if model == "lenet5" else 3
    straight = run_training(tmp_path, "straight.h5", epochs, **RESUMED[model])
    resumed = run_training(tmp_path, "resumed.h5", epochs, kill_after_epoch=epochs // 2, **RESUMED[model])
    a, b = weights(straight), weights(resumed)
    assert sorted(a) == sorted(b) == list(range(1, epochs + 1))
    with models.Snapshots(resumed) as s:
        assert s.architecture == model and len(s.weights(1)) == len(s.model().weights)
    for epoch in a:
        for wa, wb in zip(a[epoch], b[epoch], strict=True):
            np.testing.assert_array_equal(wa, wb)
    pd.testing.assert_frame_equal(pd.read_csv(f"{straight}.csv"), pd.read_csv(f"{resumed}.csv"))


def test_nan_loss_names_run_and_epoch_and_writes_nothing(tmp_path):
    split = separable_split(n=60, train=40, val=10)
    with pytest.raises(
        train.TrainingDiverged,
        match=r"mnist5k/overfit/fold3: train_loss is nan at epoch 1 \(learning rate 1e\+09\)",
    ):
        train_tiny(
            tmp_path / "s.h5",
            split,
            epochs=2,
            batch_size=8,
            learning_rate=1e9,
            seed=0,
            label="mnist5k/overfit/fold3",
        )
    assert not (tmp_path / "s.h5").exists()


def test_progress_of_a_different_run_is_not_resumed(tmp_path, monkeypatch):
    split = separable_split(n=120, train=80, val=20)
    args = dict(epochs=2, seed=0)
    with monkeypatch.context() as m:  # keep the progress behind, as a job killed at the very end would
        m.setattr(train.shutil, "rmtree", lambda *a, **k: None)
        train_tiny(tmp_path / "s.h5", split, learning_rate=1e-3, **args)
    assert (tmp_path / "s.resume/state.h5").exists()
    changed = train_tiny(tmp_path / "s.h5", split, learning_rate=5e-3, **args)
    fresh = train_tiny(tmp_path / "f.h5", split, learning_rate=5e-3, **args)
    pd.testing.assert_frame_equal(changed, fresh)


def test_split_from_fold_validates_on_fold_k_and_tests_on_the_test_set():
    dataset = {
        "x_train": np.arange(6 * 4, dtype=np.uint8).reshape(6, 2, 2, 1),
        "y_train": np.arange(6, dtype=np.int64),
        "x_test": np.full((2, 2, 2, 1), 255, np.uint8),
        "y_test": np.array([7, 8]),
    }
    split = train.Split.from_fold(dataset, np.array([0, 1, 2, 1, 0, 1]), 1)
    assert split.y_train.tolist() == [0, 2, 4] and split.y_val.tolist() == [1, 3, 5]
    assert split.x_val.dtype == np.float32 and split.x_val[0].max() == pytest.approx(7 / 255)
    assert split.x_test.max() == 1.0 and split.y_test.tolist() == [7, 8]


def test_augmentation_flips_and_crops_each_image_reproducibly():
    x = np.random.default_rng(0).uniform(size=(64, 8, 8, 3)).astype(np.float32)
    a = train.flip_and_crop(x, np.random.default_rng(1))
    np.testing.assert_array_equal(a, train.flip_and_crop(x, np.random.default_rng(1)))
    assert a.shape == x.shape and a.dtype == x.dtype
    # each output is its image, maybe flipped, shifted by at most 4 pixels, zero where shifted in
    for image, out in zip(x, a, strict=True):
        padded = [np.pad(v, ((4, 4), (4, 4), (0, 0))) for v in (image, image[:, ::-1])]
        assert any(
            np.array_equal(out, p[i : i + 8, j : j + 8]) for p in padded for i in range(9) for j in range(9)
        )
    assert not np.array_equal(a, x)


def test_a_models_batch_normalisation_trains_and_its_statistics_are_snapshotted(tmp_path):
    from conftest import TINY_TRAINING

    split = separable_split(n=200, train=120, val=40, shape=(12, 12, 1))
    hist = train_tiny(tmp_path / "s.h5", split, model="resnet20", epochs=2, batch_size=16)
    assert hist["train_accuracy"].iloc[-1] > 1 / TINY_TRAINING["classes"]
    with models.Snapshots(tmp_path / "s.h5") as s:
        model = s.model(2)
        moving = [v for v in model.non_trainable_variables if "moving_mean" in v.path]
        assert len(moving) == 19 and any(np.abs(v.numpy()).max() > 0 for v in moving)
        # inference reads those statistics: a batch of one gives the same logits as within a batch
        fn = models.logits_fn(model)
        x = split.x_test[:8]
        np.testing.assert_allclose(
            models.predict_logits(fn, x[:1]), models.predict_logits(fn, x)[:1], rtol=1e-5, atol=1e-5
        )
