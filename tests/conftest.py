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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The workflow run once on tests/config/tiny.yaml, shared by the slow tests that read its results."""
    from workflow_utils import snakemake, workflow_copy

    work = workflow_copy(tmp_path_factory.mktemp("run"))
    proc = snakemake(work, "--configfile", "tests/config/tiny.yaml")
    (work / "console.txt").write_text(proc.stdout + proc.stderr)
    return work
