"""The tiny workflow through `--profile profiles/slurm` on a real one-node SLURM on localhost."""

import os
import re
import shutil
import subprocess

import pytest

from workflow_utils import ROOT, snakemake, workflow_copy

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
SCRIPT = ROOT / "tests/cluster/slurm.sh"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if not all(shutil.which(b) for b in ("slurmctld", "slurmd", "munged", "sbatch")):
        if os.environ.get("CI") == "true":
            pytest.fail("SLURM is not installed; .ci/run must call .ci/slurm-setup.sh")
        pytest.skip("SLURM is not installed here (bash .ci/slurm-setup.sh installs it)")
    state = tmp_path_factory.mktemp("slurm")
    subprocess.run(["bash", str(SCRIPT), "start", str(state)], check=True, timeout=120)
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(state / "slurm.conf")
    yield state
    subprocess.run(["bash", str(SCRIPT), "stop", str(state)], check=False, timeout=60)
    if old is None:
        os.environ.pop("SLURM_CONF")
    else:
        os.environ["SLURM_CONF"] = old


def test_tiny_workflow_runs_through_the_slurm_profile(slurm, tmp_path):
    work = workflow_copy(tmp_path / "work")
    proc = snakemake(
        work,
        "--profile",
        "profiles/slurm",
        "--configfile",
        "tests/config/tiny.yaml",
        "--jobs",
        "4",
        "--slurm-init-seconds-before-status-checks",
        "3",
        "--slurm-keep-successful-logs",
        # the profile's placeholders, as a user would fill them in for their cluster
        "--default-resources",
        "slurm_partition=debug",
        "slurm_account=test",
        "mem_mb=2000",
        "runtime=30",
        timeout=2400,
    )
    slurm_logs = sorted((work / ".snakemake/slurm_logs").rglob("*.log"))
    jobs = _job_count(proc.stderr)
    # every job but the `all` target ran as its own SLURM job
    assert jobs > 40
    assert len(slurm_logs) == jobs - 1
    rules = {p.relative_to(work / ".snakemake/slurm_logs").parts[0] for p in slurm_logs}
    assert {"rule_prepare", "rule_train", "rule_craft", "rule_robustness", "rule_figure"} <= rules
    # and the controller saw each of them finish
    controller_log = (slurm / "log/slurmctld.log").read_text()
    done = set(re.findall(r"_job_complete: JobId=(\d+) done", controller_log))
    assert len(done) >= jobs - 1
    res = work / "results/mnist5k"
    for figure in ("training_curves", "accuracy_asr", "clever", "sensitivity_robustness"):
        assert (res / f"figures/{figure}.png").stat().st_size > 5000
    for regime in ("normal", "overfit"):
        assert (res / f"tables/distances_{regime}.csv").read_text().count("\n") == 4
    assert snakemake(work, "-n", "--configfile", "tests/config/tiny.yaml").stdout.count("rule ") == 0


def _job_count(log: str) -> int:
    for line in log.splitlines():
        if line.startswith("total"):
            return int(line.split()[1])
    raise AssertionError("no job statistics in the Snakemake log")
