"""The conda environments pin exactly the versions that requirements.txt pins, and every rule names one."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pins(lines):
    out = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)==([^\s#]+)\s*(#.*)?", line)
        if m:
            out[m[1].lower()] = m[2]
    return out


def test_conda_envs_pin_the_same_versions_as_requirements():
    required = pins((ROOT / "requirements.txt").read_text().splitlines())
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
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
