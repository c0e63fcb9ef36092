"""Two commits' runs of one config, side by side on this machine, one after the other: wall time, job CPU
(the jobs' own `cpu_time` in logs/benchmarks), the run's CPU (every process it started) and the number of
jobs, with their ratios; and which result files differ, byte for byte.

    python benchmarks/side_by_side.py --base be22410 [--change HEAD] [--config config.yaml] [--cores 2]

Each commit runs in a clean clone of this repository under --work, with this environment's Snakemake
and that clone's own library first on the import path (so the base may be a commit from before the
library was installed as a package). Results: benchmarks/results/side_by_side.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks/results/side_by_side.json"


def job_cpu(run: Path) -> tuple[float, int]:
    """(sum of the jobs' cpu_time in s, number of jobs) from a run's logs/benchmarks/**/*.tsv."""
    files = sorted((run / "logs/benchmarks").rglob("*.tsv"))
    cpu = sum(float(pd.read_csv(f, sep="\t")["cpu_time"].iloc[-1]) for f in files)
    return cpu, len(files)


def differing(a: Path, b: Path, folders=("results", "resources")) -> dict[str, list[str]]:
    """Files under `folders` that differ byte for byte between runs `a` and `b`, or exist in one only."""

    def files(run: Path) -> set[str]:
        return {str(p.relative_to(run)) for d in folders for p in (run / d).rglob("*") if p.is_file()}

    in_a, in_b = files(a), files(b)
    changed = sorted(f for f in in_a & in_b if (a / f).read_bytes() != (b / f).read_bytes())
    return {
        "differ": changed,
        "only_base": sorted(in_a - in_b),
        "only_change": sorted(in_b - in_a),
        "same": len(in_a & in_b) - len(changed),
    }


def clone(rev: str, dest: Path) -> str:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", rev], check=True)
    return subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def run(checkout: Path, config: str | None, cores: int) -> dict:
    """One run of the workflow in `checkout`: wall time, CPU of every process it started, job CPU, jobs."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", str(cores)]
    if config:
        cmd += ["--configfile", config]
    env = {**os.environ, "PYTHONPATH": str(checkout / "workflow")}  # this checkout's library first
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    (checkout / "side_by_side.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode:
        raise RuntimeError(f"{checkout}: snakemake failed ({proc.returncode}); see its side_by_side.log")
    cpu, jobs = job_cpu(checkout)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "run_cpu_s": round(used, 1), "job_cpu_s": round(cpu, 1), "jobs": jobs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against (e.g. the last main)")
    parser.add_argument("--change", default="HEAD")
    parser.add_argument("--config", default=None, help="a --configfile, relative to the checkout")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="where the clones go (default: a temp dir)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="side_by_side."))
    sides = {}
    for side, rev in (("base", args.base), ("change", args.change)):
        commit = clone(rev, work / side)
        print(f"{side} {commit}: running ...", flush=True)
        sides[side] = {"commit": commit, **run(work / side, args.config, args.cores)}
    keys = ("wall_s", "run_cpu_s", "job_cpu_s", "jobs")
    ratios = {k: round(sides["change"][k] / sides["base"][k], 3) for k in keys}
    comparison = differing(work / "base", work / "change")
    print(pd.DataFrame({**sides, "change / base": ratios}).to_string())
    print(
        f"result files: {comparison['same']} identical, {len(comparison['differ'])} differ, "
        f"{len(comparison['only_base'])} only in base, {len(comparison['only_change'])} only in change"
    )
    for f in comparison["differ"]:
        print("  differs:", f)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {"config": args.config or "config.yaml", "cores": args.cores, **sides, "ratios": ratios}
    RESULTS.write_text(json.dumps({**record, "files": comparison, "work": str(work)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
