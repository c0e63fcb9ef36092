"""Run the real workflow in a scratch copy of the repository."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COPY = ["Snakefile", "config.yaml", "workflow", "envs", "profiles", "tests/config"]


def workflow_copy(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
            )
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args, check=True, timeout=1800) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "snakemake"), "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(workdir: Path, *args) -> dict[str, int]:
    """Rule → number of jobs that `snakemake -n` would run."""
    out = snakemake(workdir, "-n", "--quiet", "rules", *args).stdout
    jobs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("job", "total"):
            jobs[parts[0]] = int(parts[1])
    return jobs
