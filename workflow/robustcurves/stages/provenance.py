"""Where a run's numbers came from: code, packages, backend, machine, threads, seed and config.

Same-seed reruns are bit-identical only on the same machine kind, thread count and package versions
(training already differs at epoch 12 between two CPUs, and 1 vs 2 threads change the weights after
2 epochs): the record says which of those a result folder was made with. Nothing here imports
TensorFlow or any other backend: versions come from the installed distributions' metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

# The packages whose versions change the numbers, by import name, with the distributions that
# provide them (the first one installed counts).
PACKAGES = {
    "keras": ("keras",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos"),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "torch": ("torch",),
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "art": ("adversarial-robustness-toolbox",),
    "pandas": ("pandas",),
    "snakemake": ("snakemake",),
}


def config_digest(config: dict) -> str:
    """sha256 of the config as canonical JSON (keys sorted): the same settings give the same digest
    whatever the order they were written in."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed version of each of PACKAGES, None where it is not installed."""
    versions = {}
    for name, distributions in PACKAGES.items():
        versions[name] = None
        for dist in distributions:
            try:
                versions[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def _run(args: list[str], cwd=None) -> str | None:
    """stdout of a command, stripped; None when it is missing or fails."""
    try:
        out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(root=None) -> dict:
    """`commit` (HEAD, or "unknown" outside a git checkout or without git) and `dirty` (tracked files
    changed since that commit, so the commit alone does not describe the code; None when unknown)."""
    commit = _run(["git", "rev-parse", "HEAD"], cwd=root)
    if not commit:
        return {"commit": "unknown", "dirty": None}
    status = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root)
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def cpu(cpuinfo="/proc/cpuinfo") -> dict:
    """The CPU's `model` and `flags` (space-separated, as the kernel lists them) from /proc/cpuinfo
    (Linux), else the platform's processor name and no flags; `cores`, the logical CPUs."""
    model, flags = None, ""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "cpu model") and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = value.strip()
    return {
        "model": model or platform.processor() or platform.machine() or "unknown",
        "flags": flags,
        "cores": os.cpu_count(),
    }


def gpus() -> list[str] | str:
    """The GPUs `nvidia-smi -L` lists, or "none" (no nvidia-smi, or it lists nothing)."""
    if shutil.which("nvidia-smi") is None:
        return "none"
    listed = _run(["nvidia-smi", "-L"])
    return [line for line in listed.splitlines() if line.strip()] if listed else "none"


def provenance(
    config: dict,
    *,
    seed: int | None = None,
    threads: int | None = None,
    backend: str | None = None,
    root=None,
    cpuinfo="/proc/cpuinfo",
) -> dict:
    """The provenance record of a run made with `config` (the validated config, defaults filled).

    `seed` and `threads` default to the config's `seed` and `compute.threads`; `backend` to
    `compute.backend`, else the environment's KERAS_BACKEND, else "tensorflow"; `root` is the
    checkout whose commit is recorded (by default the one this library lives in, wherever the run's
    working directory is). Reads the machine and runs `git` and `nvidia-smi` when present; writes
    nothing. JSON-serialisable. The machine is the one that calls this: on a cluster, where jobs run
    on several nodes, each Keras job's log holds its own record.
    """
    compute = config.get("compute", {}) if isinstance(config, dict) else {}
    backend = backend or compute.get("backend") or os.environ.get("KERAS_BACKEND") or "tensorflow"
    return {
        **git_state(root if root is not None else Path(__file__).resolve().parent),
        "packages": package_versions(),
        "python": platform.python_version(),
        "backend": backend,
        "platform": platform.platform(),
        "cpu": cpu(cpuinfo),
        "threads": threads if threads is not None else compute.get("threads"),
        "gpu": gpus(),
        "seed": seed if seed is not None else config.get("seed"),
        "config_sha256": config_digest(config),
    }
