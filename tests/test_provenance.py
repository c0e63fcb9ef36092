"""The provenance record: what it states, that it reads the machine without a backend, and its rule."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from robustcurves.stages import provenance
from workflow_utils import planned_jobs, snakemake, workflow_copy

KEYS = {
    "commit", "dirty", "packages", "python", "backend", "platform", "cpu", "threads", "gpu", "seed",
    "config_sha256",
}  # fmt: skip


def test_record_states_code_versions_machine_and_settings():
    config = {"seed": 2021, "compute": {"threads": 3, "backend": "jax"}, "epochs": 35}
    record = provenance.provenance(config)
    assert set(record) == KEYS
    json.dumps(record)  # serialisable as it is
    assert re.fullmatch(r"[0-9a-f]{40}", record["commit"])  # this checkout's HEAD
    assert isinstance(record["dirty"], bool)
    assert record["packages"]["numpy"] == np.__version__ and "keras" in record["packages"]
    assert (record["seed"], record["threads"], record["backend"]) == (2021, 3, "jax")
    assert record["cpu"]["model"] and record["cpu"]["cores"] >= 1
    assert record["config_sha256"] == provenance.config_digest(config)
    # explicit values win over the config's
    record = provenance.provenance(config, seed=1, threads=2, backend="torch")
    assert (record["seed"], record["threads"], record["backend"]) == (1, 2, "torch")


def test_config_digest_ignores_key_order_and_sees_every_value():
    a = {"seed": 1, "compute": {"threads": 1, "gpu": 0}, "attacks": {"cw": {"max_iter": 10}}}
    b = {"attacks": {"cw": {"max_iter": 10}}, "compute": {"gpu": 0, "threads": 1}, "seed": 1}
    assert provenance.config_digest(a) == provenance.config_digest(b)
    assert re.fullmatch(r"[0-9a-f]{64}", provenance.config_digest(a))
    b["compute"]["threads"] = 2
    assert provenance.config_digest(a) != provenance.config_digest(b)


def test_outside_a_checkout_without_gpu_and_cpuinfo(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance.shutil, "which", lambda name: None)  # no nvidia-smi
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    record = provenance.provenance({"seed": 0}, root=tmp_path, cpuinfo=tmp_path / "missing")
    assert (record["commit"], record["dirty"]) == ("unknown", None)
    assert record["gpu"] == "none" and record["backend"] == "tensorflow"
    assert record["cpu"]["model"] and record["cpu"]["flags"] == ""  # the platform's name, no flags
    assert record["threads"] is None  # no compute section: nothing claimed
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert provenance.provenance({"seed": 0}, root=tmp_path)["backend"] == "jax"


def test_cpu_model_and_flags_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Example CPU 9000\nflags\t\t: fpu sse2 avx2 fma\n\n"
        "processor\t: 1\nmodel name\t: Example CPU 9000\nflags\t\t: fpu sse2 avx2 fma\n"
    )
    cpu = provenance.cpu(info)
    assert cpu["model"] == "Example CPU 9000" and cpu["flags"] == "fpu sse2 avx2 fma"


def test_missing_package_is_none(monkeypatch):
    monkeypatch.setitem(provenance.PACKAGES, "nothing", ("no-such-distribution-here",))
    assert provenance.package_versions()["nothing"] is None


def test_reading_the_record_imports_no_backend():
    code = (
        "import sys; from robustcurves.stages import provenance; provenance.provenance({'seed': 0}); "
        "print(sorted(m for m in ('tensorflow', 'jax', 'torch', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A copy of the workflow whose tiny-config results all exist (empty, marked done with --touch),
    except the provenance record: only its rule has anything left to do."""
    work = workflow_copy(tmp_path_factory.mktemp("touched"))
    tiny = ("--configfile", "tests/config/tiny.yaml")
    planned = snakemake(work, "-n", "--summary", "--forceall", *tiny).stdout.splitlines()[1:]
    for line in planned:
        path = work / line.split("\t")[0]
        if path.name != "provenance.json":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    snakemake(work, "--touch", *tiny)
    return work, tiny


def test_rule_writes_the_record_beside_the_results(finished_run):
    work, tiny = finished_run
    # written once the dataset's figures and tables are all there; nothing else left to do
    assert planned_jobs(work, *tiny) == {"provenance": 1, "all": 1}
    snakemake(work, "results/mnist5k/provenance.json", *tiny)
    record = json.loads((work / "results/mnist5k/provenance.json").read_text())
    assert KEYS <= set(record)
    assert (record["seed"], record["threads"], record["backend"]) == (7, 1, "tensorflow")  # tiny.yaml
    assert record["model"] == {"name": "lenet5"}  # the network this dataset ran
    assert "results/mnist5k/tables/claims.csv" in record["artifacts"]
    assert "results/mnist5k/figures/headline.png" in record["artifacts"]
    # every run's final outputs include it
    summary = snakemake(work, "-n", "--summary", "--forceall", *tiny).stdout
    assert "results/mnist5k/provenance.json" in summary
    assert not list((work / "results/mnist5k").glob(".provenance.json.*"))  # written atomically
