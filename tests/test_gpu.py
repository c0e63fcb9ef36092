"""Device choice and the loud failure of a GPU request without a GPU.

This machine has no GPU: the GPU-present branches are tested through `choose_device` with the device list
TensorFlow would report; the real TensorFlow paths (CPU build, no GPU) run in fresh processes, since
`configure` sets process-wide state (op determinism, XLA) that the rest of the test session must not see.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robustcurves import models

ROOT = Path(__file__).resolve().parents[1]


def test_a_visible_gpu_is_used_whether_or_not_one_was_requested():
    assert models.choose_device(["/physical_device:GPU:0"], 1) == ("/GPU:0", None)
    assert models.choose_device(["/physical_device:GPU:0"], 0) == ("/GPU:0", None)
    device, warning = models.choose_device(["/physical_device:GPU:0"], 2)
    assert device == "/GPU:0" and "sees 1" in warning


def test_no_gpu_and_none_requested_runs_on_the_cpu():
    assert models.choose_device([], 0) == ("/CPU:0", None)


@pytest.mark.parametrize(
    "built_with_cuda, visible, reason",
    [
        (False, None, "CPU-only build"),
        (True, "", "CUDA_VISIBLE_DEVICES is empty"),
        (True, " , ", "CUDA_VISIBLE_DEVICES is empty"),
        (True, None, "nvidia-smi"),
        (True, "0", "nvidia-smi"),
    ],
)
def test_a_gpu_request_without_a_gpu_fails_and_says_why(built_with_cuda, visible, reason):
    with pytest.raises(models.GPUUnavailable, match=reason) as err:
        models.choose_device([], 1, built_with_cuda=built_with_cuda, cuda_visible_devices=visible)
    assert "compute.gpu is 1" in str(err.value) and "allow_cpu_fallback" in str(err.value)


def test_the_fallback_runs_on_the_cpu_with_a_warning():
    device, warning = models.choose_device([], 1, allow_cpu_fallback=True, cuda_visible_devices="")
    assert device == "/CPU:0"
    assert "sees no GPU" in warning and "allow_cpu_fallback is true" in warning


PROBE = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from robustcurves import models
kwargs = json.loads(sys.argv[1])
device = models.configure(threads=1, **kwargs)
import tensorflow as tf
print(json.dumps({"device": device, "jit": str(tf.config.optimizer.get_jit())}))
"""


def configure_in_a_fresh_process(backend="tensorflow", **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow"), "CUDA_VISIBLE_DEVICES": ""}
    env["KERAS_BACKEND"] = backend
    return subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_configure_on_this_cpu_fails_loudly_then_falls_back_when_allowed():
    failed = configure_in_a_fresh_process(gpu_requested=1)
    assert failed.returncode != 0
    assert "GPUUnavailable: compute.gpu is 1 but TensorFlow sees no GPU" in failed.stderr
    # what it sees, logged before it stops
    assert "(CPU-only build) sees /physical_device:CPU:0" in failed.stderr

    fallback = configure_in_a_fresh_process(gpu_requested=1, allow_cpu_fallback=True, xla=True)
    assert fallback.returncode == 0, fallback.stderr
    assert json.loads(fallback.stdout) == {"device": "/CPU:0", "jit": "autoclustering"}
    assert "WARNING" in fallback.stderr and "allow_cpu_fallback is true" in fallback.stderr
    assert "using /CPU:0 with XLA" in fallback.stderr


def test_jax_without_a_gpu_fails_loudly_and_names_itself():
    failed = configure_in_a_fresh_process("jax", gpu_requested=1)
    assert failed.returncode != 0
    assert (
        "GPUUnavailable: compute.gpu is 1 but JAX sees no GPU: this jaxlib has no CUDA plugin"
        in failed.stderr
    )
    assert "JAX 0.10.2 (CPU-only build) sees cpu:0" in failed.stderr
    ok = configure_in_a_fresh_process("jax", gpu_requested=0)
    assert ok.returncode == 0, ok.stderr
    assert "backend jax, using /CPU:0" in ok.stderr


@pytest.mark.slow
def test_a_training_job_that_requests_a_gpu_stops_at_start_unless_falling_back(tmp_path):
    """One real `train` job of the tiny config with compute.gpu: 1 on this GPU-less machine."""
    import yaml

    from workflow_utils import snakemake, workflow_copy

    work = workflow_copy(tmp_path / "run")
    config = yaml.safe_load((ROOT / "tests/config/tiny.yaml").read_text())
    config["epochs"] = 1
    config["compute"] = {"threads": 1, "gpu": 1}
    (work / "gpu.yaml").write_text(yaml.safe_dump(config))
    target = "results/mnist5k/normal/fold0/history.csv"
    log = work / "logs/train/mnist5k/normal/fold0.log"

    failed = snakemake(work, target, "--configfile", "gpu.yaml", check=False)
    assert failed.returncode != 0
    assert "Error in rule train" in failed.stderr
    text = log.read_text()
    assert "GPUUnavailable: compute.gpu is 1 but TensorFlow sees no GPU" in text
    assert "allow_cpu_fallback" in text
    assert "epoch 1/1" not in text and not (work / target).exists()

    config["compute"].update(allow_cpu_fallback=True, xla=True)
    (work / "gpu.yaml").write_text(yaml.safe_dump(config))
    snakemake(work, target, "--configfile", "gpu.yaml")
    text = log.read_text()
    assert "WARNING" in text and "Running on the CPU because compute.allow_cpu_fallback is true" in text
    assert "using /CPU:0 with XLA" in text and "epoch 1/1" in text
    assert len((work / target).read_text().splitlines()) == 2  # header + one epoch
