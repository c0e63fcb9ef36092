"""Running one library call under another Keras backend, for the cross-backend agreement tests.

Keras picks its backend once per process, so the other backend runs in a subprocess: `on_backend`
hands it numpy arrays (a model's weights among them) through an .npz file and gets the arrays that a
function of a test module returns. The same weights and images go to every backend.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
# the backend checked against TensorFlow on the CPU (GPU path: tools/gpu_check.sh)
OTHER = os.environ.get("ROBUSTCURVES_OTHER_BACKEND", "jax")

needs_other = pytest.mark.skipif(
    importlib.util.find_spec(OTHER) is None, reason=f"{OTHER} is not installed (requirements.txt pins it)"
)


def weights_arrays(model) -> dict[str, np.ndarray]:
    return {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}


def model_from(arrays: dict, input_shape, classes: int):
    """LeNet-5 with the weights `weights_arrays` wrote (w0, w1, …), on this process's backend."""
    from robustcurves.models import lenet5

    model = lenet5(tuple(int(d) for d in input_shape), int(classes))
    model.set_weights([arrays[f"w{i}"] for i in range(len(model.weights))])
    return model


def on_backend(backend: str, target: str, tmp_path, **arrays) -> dict[str, np.ndarray]:
    """`module:function` (a module under tests/) called with `arrays` under `backend`; its dict of arrays."""
    src, dst = tmp_path / f"in-{backend}.npz", tmp_path / f"out-{backend}.npz"
    np.savez(src, **arrays)
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "workflow"), str(ROOT / "tests")]),
        "CUDA_VISIBLE_DEVICES": "",
    }
    code = (
        "import sys, importlib, numpy as np\n"
        "mod, fn = sys.argv[1].split(':')\n"
        "out = getattr(importlib.import_module(mod), fn)(**dict(np.load(sys.argv[2])))\n"
        "np.savez(sys.argv[3], **out)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, target, str(src), str(dst)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    if run.returncode:
        raise AssertionError(f"{target} on {backend} failed:\n{run.stderr[-4000:]}")
    return dict(np.load(dst))
