"""The conda environments pin exactly the versions that requirements.txt pins (the GPU one:
requirements-gpu.txt, the JAX one: requirements-jax.txt), and every rule names one."""

import re
from pathlib import Path

import yaml

from robustcurves import job

ROOT = Path(__file__).resolve().parents[1]


def pins(lines):
    out = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.-]+(?:\[[A-Za-z0-9_,.-]+\])?)==([^\s#]+)\s*(#.*)?", line)
        if m:
            out[m[1].lower()] = m[2]
    return out


def requirements(name):
    return pins((ROOT / name).read_text().splitlines())


def conda_pins(env):
    spec = yaml.safe_load(env.read_text())
    return pins(next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d))


def test_conda_envs_pin_the_same_versions_as_requirements():
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        source = {"tensorflow-gpu": "requirements-gpu.txt", "jax": "requirements-jax.txt"}
        required = requirements(source.get(env.stem, "requirements.txt"))
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
        env_pins = pins(pip)
        assert env_pins and len(env_pins) == len(pip), f"{env.name}: unpinned pip entries"
        for name, version in env_pins.items():
            assert required.get(name) == version, (
                f"{env.name}: {name}=={version}, requirements.txt has {required.get(name)}"
            )
        assert "python=3.11" in spec["dependencies"]


def test_every_rule_has_log_benchmark_and_conda():
    text = "\n".join(p.read_text() for p in (ROOT / "workflow/rules").glob("*.smk"))
    rules = re.split(r"^rule ", text, flags=re.M)[1:]
    assert len(rules) >= 10
    for rule in rules:
        name = rule.split(":")[0]
        for directive in ("log:", "benchmark:", "conda:"):
            assert f"    {directive}" in rule, f"rule {name} lacks {directive}"


def test_gpu_set_is_the_cpu_set_with_the_cuda_build_of_tensorflow():
    cpu, gpu = requirements("requirements.txt"), requirements("requirements-gpu.txt")
    assert cpu.pop("tensorflow-cpu") == gpu.pop("tensorflow[and-cuda]") == "2.21.0"
    assert cpu == gpu
    assert not any(name.startswith("tensorflow") for name in gpu)
    env_cpu, env_gpu = (
        conda_pins(ROOT / "envs/tensorflow.yaml"),
        conda_pins(ROOT / "envs/tensorflow-gpu.yaml"),
    )
    assert env_cpu.pop("tensorflow-cpu") == env_gpu.pop("tensorflow[and-cuda]")
    assert env_cpu == env_gpu


def test_gpu_rules_use_the_gpu_env_and_make_installs_it():
    common = (ROOT / "workflow/rules/common.smk").read_text()
    assert re.search(r"^TF_ENV = job\.conda_env\(COMPUTE\)$", common, re.M)
    cases = [("tensorflow", 0, "tensorflow.yaml"), ("tensorflow", 1, "tensorflow-gpu.yaml")]
    cases += [("tensorflow", 2, "tensorflow-gpu.yaml"), ("jax", 0, "jax.yaml"), ("jax", 1, "jax.yaml")]
    for backend, gpu, env in cases:
        path = (ROOT / "workflow/rules" / job.conda_env({"gpu": gpu, "backend": backend})).resolve()
        assert path == ROOT / "envs" / env and path.exists()
    assert (ROOT / "workflow/rules" / job.ANALYSIS_ENV).resolve() == ROOT / "envs/analysis.yaml"
    assert "TF_ENV" in (ROOT / "workflow/rules/train.smk").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^install-gpu:", makefile, re.M)
    assert "requirements-gpu.txt" in makefile and "uninstall" in makefile
    assert re.search(r"^install-jax:", makefile, re.M) and "requirements-jax.txt" in makefile


def test_jax_set_is_the_cpu_set_without_tensorflow_with_cuda_jax():
    cpu, jax = requirements("requirements.txt"), requirements("requirements-jax.txt")
    assert cpu.pop("tensorflow-cpu") == "2.21.0"
    assert cpu.pop("jax") == jax.pop("jax[cuda13]") == cpu["jaxlib"]
    assert cpu == jax
