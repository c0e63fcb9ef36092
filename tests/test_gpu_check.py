"""tools/gpu_check.sh on this CPU with JAX at tiny sizes: the throughput table and JSON it writes,
and the GPU run of the study it plans (DRY=1: planned, not run; tests/test_jax_run.py runs the study on
JAX)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from backends import needs_other

ROOT = Path(__file__).resolve().parents[1]


@needs_other
@pytest.mark.slow
def test_gpu_check_measures_and_plans_the_run_on_jax(tmp_path):
    env = {**os.environ, "QUICK": "1", "GPU": "0", "DRY": "1", "OUT": str(tmp_path), "BUDGET_S": "900"}
    env["WHEELS"] = ""  # this machine has the packages; .whl/ (if built here) holds the H200's cp312 ones
    env["PYTHON"] = sys.executable
    run = subprocess.run(
        ["bash", str(ROOT / "tools/gpu_check.sh")], env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert result["backend"] == "jax" and result["quick"]
    assert [(r["model"], r["shape"]) for r in result["rows"]] == [
        ("lenet5", "32x32x3"),
        ("lenet5", "96x96x3"),
        ("resnet20", "32x32x3"),
    ]
    for row in result["rows"]:
        for key in ("train_img_per_s", "clever_kernel_points_per_s", "clever_points_per_s"):
            assert row[key] > 0, key
        assert row["cw_linesearch_img_per_s"] > 0
    assert "train_img_per_s" in (tmp_path / "gpu_check.md").read_text()
    planned = json.loads((tmp_path / "run.json").read_text())
    assert planned["exit"] == 0
    log = (tmp_path / "snakemake.log").read_text()
    assert "train" in log and "This was a dry-run" in log
