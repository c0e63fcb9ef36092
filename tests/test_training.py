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

from conftest import separable
from robustcurves import models, training

ROOT = Path(__file__).resolve().parents[1]
# Trains the tiny model in its own process so that the test can SIGKILL it mid-run.
TRAIN = """
import sys
sys.path.insert(0, {lib!r}); sys.path.insert(0, {tests!r})
from conftest import separable
from robustcurves import models, training
models.configure(threads=1)
x, y = separable(n=600, shape=(32, 32, 1))
training.train(x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:], classes=3, epochs=int(sys.argv[2]),
               batch_size=8, learning_rate=1e-3, seed=5, snapshots_path=sys.argv[1],
               history_path=sys.argv[1] + ".csv")
"""


def run_training(tmp_path, name, epochs=6, kill_after_epoch=None):
    script = tmp_path / "train.py"
    script.write_text(TRAIN.format(lib=str(ROOT / "workflow"), tests=str(ROOT / "tests")))
    out = tmp_path / name
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(epochs)])
    if kill_after_epoch is not None:
        state = out.with_suffix(".resume") / f"epoch_{kill_after_epoch:03d}.h5"
        deadline = time.time() + 120
        while not state.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not out.exists(), "a killed run must not leave snapshots.h5 looking complete"
        proc = subprocess.Popen([sys.executable, str(script), str(out), str(epochs)])
    assert proc.wait(timeout=300) == 0
    return out


def weights(path):
    with models.Snapshots(path) as s:
        return {e: s.weights(e) for e in s.epochs}


def test_training_writes_a_snapshot_per_epoch_and_learns(tmp_path):
    x, y = separable(n=300, shape=(32, 32, 1))
    hist = training.train(
        x[:200],
        y[:200],
        x[200:250],
        y[200:250],
        x[250:],
        y[250:],
        classes=3,
        epochs=4,
        batch_size=16,
        learning_rate=2e-3,
        seed=1,
        snapshots_path=tmp_path / "s.h5",
        history_path=tmp_path / "h.csv",
    )
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


def test_killed_training_resumes_to_identical_snapshots(tmp_path):
    straight = run_training(tmp_path, "straight.h5")
    resumed = run_training(tmp_path, "resumed.h5", kill_after_epoch=3)
    a, b = weights(straight), weights(resumed)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for epoch in a:
        for wa, wb in zip(a[epoch], b[epoch], strict=True):
            np.testing.assert_array_equal(wa, wb)
    pd.testing.assert_frame_equal(pd.read_csv(f"{straight}.csv"), pd.read_csv(f"{resumed}.csv"))


def test_nan_loss_names_run_and_epoch_and_writes_nothing(tmp_path):
    x, y = separable(n=60, shape=(32, 32, 1))
    with pytest.raises(
        training.TrainingDiverged,
        match=r"mnist5k/overfit/fold3: train_loss is nan at epoch 1 \(learning rate 1e\+09\)",
    ):
        training.train(
            x[:40],
            y[:40],
            x[40:50],
            y[40:50],
            x[50:],
            y[50:],
            classes=3,
            epochs=2,
            batch_size=8,
            learning_rate=1e9,
            seed=0,
            snapshots_path=tmp_path / "s.h5",
            label="mnist5k/overfit/fold3",
        )
    assert not (tmp_path / "s.h5").exists()


def test_progress_of_a_different_run_is_not_resumed(tmp_path, monkeypatch):
    x, y = separable(n=120, shape=(32, 32, 1))
    split = (x[:80], y[:80], x[80:100], y[80:100], x[100:], y[100:])
    args = dict(classes=3, epochs=2, batch_size=16, seed=0)
    with monkeypatch.context() as m:  # keep the progress behind, as a job killed at the very end would
        m.setattr(training.shutil, "rmtree", lambda *a, **k: None)
        training.train(*split, learning_rate=1e-3, snapshots_path=tmp_path / "s.h5", **args)
    assert (tmp_path / "s.resume/state.h5").exists()
    changed = training.train(*split, learning_rate=5e-3, snapshots_path=tmp_path / "s.h5", **args)
    fresh = training.train(*split, learning_rate=5e-3, snapshots_path=tmp_path / "f.h5", **args)
    pd.testing.assert_frame_equal(changed, fresh)
