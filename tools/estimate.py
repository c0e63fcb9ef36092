"""Projected cost of a config, from the Snakemake benchmark files of a finished calibration run.

    python tools/estimate.py --config configs/paper.yaml \
        [--calibration logs/benchmarks] [--calibration-config config.yaml] [--cores 2 8]

The jobs are Snakemake's own: a dry run of the config with every job forced (`dry_run`, through
Snakemake's API), so that no copy of the rules lives here. Every job of a rule costs
`overhead + k * units` CPU-seconds, where `units` is the rule's cost model below
(images x epochs x a LeNet-5 pass for training, attacked images x iterations x a pass for an attack, ...;
a pass costs the network's multiply-accumulates at the dataset's image shape), `k` is
fitted per rule (per attack method for `craft`) from the calibration run's `cpu_time` (benchmark TSVs under
logs/benchmarks/<rule>/**), and `overhead` is the fixed start of a job (imports). A rule without a cost model
costs its calibrated mean per job. The wall time on N cores is the larger of the CPU time spread over N
cores and the critical path (the longest job of each rule, along the longest chain of rules that the dry
run's jobs depend on). benchmarks/README.md, "Estimate".
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import sys
import tempfile
import zipfile
from collections import defaultdict
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]

from robustcurves import sampling
from robustcurves.config import ConfigError
from robustcurves.config import load as config_file

# Training-set and test-set sizes, image shape and classes of the datasets the pipeline downloads.
KNOWN = {
    "cifar10": {"train": 50000, "test": 10000, "shape": (32, 32, 3), "classes": 10},
    "stl10": {"train": 5000, "test": 8000, "shape": (96, 96, 3), "classes": 10},
}
MNIST5K = 5000
TF_RULES = ("train", "craft", "evaluate", "robustness", "whitebox")
# A job's fixed CPU-seconds (imports, tracing): by default the cheapest calibration job of its kind, a
# TensorFlow job or another; these only where the calibration has none.
OVERHEAD = {"tf": 5.0, "other": 1.5}
# The rules with a cost model (`units`); every other rule's job costs its calibrated mean (a few seconds
# of Python; `prepare` too: reading mnist5k, a user's arrays or the CIFAR archives differ by more than size).
SCALED = ("split", "train", "craft", "distances", "evaluate", "robustness", "whitebox")
# A forward pass costs about a third of a training step (forward + backward + update).
FORWARD = 1 / 3


@lru_cache(maxsize=32)
def model_macs(model: str, shape: tuple, classes: int) -> float:
    """Multiply-accumulates of one forward pass of the dataset's `model` on an image of `shape` (H, W, C),
    counted from the built model's layers (`models.macs`): the unit of every Keras rule's cost.

    Not pixels: in LeNet-5 only the first convolution grows with the channels, so CIFAR-10's 3x the
    pixels of mnist5k cost 1.6x, and STL-10's 27x cost 21x; a ResNet-20 costs 62x a LeNet-5 at 32x32x3.
    """
    from robustcurves import models

    return models.macs(models.build(model, tuple(shape), classes))


class EstimateError(ValueError):
    """The calibration run or a config cannot be read."""


# --- datasets -------------------------------------------------------------------------------------


def _npz_shapes(path: Path) -> dict:
    """Array shapes of an .npz from its headers, without reading the arrays."""
    shapes = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as f:
                major, _ = np.lib.format.read_magic(f)
                read = (
                    np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                )
                shape, _, _ = read(f)
            shapes[name.removesuffix(".npy")] = shape
    return shapes


def _h5_shapes(path: Path) -> dict:
    import h5py

    with h5py.File(path, "r") as f:
        return {k: f[k].shape for k in f if hasattr(f[k], "shape")}


def dataset_facts(name: str, ds: dict, root: Path = ROOT) -> dict:
    """Train/test sizes, image shape and class count of one configured (validated) dataset."""
    kind = ds["kind"]
    if kind in KNOWN:
        return dict(KNOWN[kind])
    if kind == "mnist5k":
        test = math.ceil(MNIST5K * ds["test_fraction"])
        return {"train": MNIST5K - test, "test": test, "shape": (32, 32, 1), "classes": 10}
    if kind == "arrays":
        path = Path(ds["path"])
        path = path if path.is_absolute() else root / path
        prepared = root / "resources" / f"{name}.h5"
        source = path if path.exists() else prepared
        if not source.exists():
            raise EstimateError(f"dataset {name}: neither {path} nor {prepared} exists to read its size from")
        shapes = _npz_shapes(source) if source.suffix == ".npz" else _h5_shapes(source)
        try:
            return {
                "train": shapes["x_train"][0],
                "test": shapes["x_test"][0],
                "shape": tuple(shapes["x_train"][1:]),
                "classes": ds.get("classes", 10),
            }
        except KeyError as err:
            raise EstimateError(f"dataset {name}: {source} has no {err}") from err
    raise EstimateError(f"dataset {name}: unknown kind {kind!r}")


# --- jobs and their cost units --------------------------------------------------------------------


def attack_iterations(params: dict) -> float:
    """Gradient steps per attacked image, of an attack's validated settings (the schema's defaults in)."""
    method = params["method"]
    if method == "fgsm":
        return 1.0
    if method == "pgd":
        return float(params["max_iter"]) * (1 + params["num_random_init"])
    if method == "cw":
        return float(params["binary_search_steps"]) * params["max_iter"]
    return float(params["max_iter"])


def metric_snapshots(epochs: int, every: int) -> int:
    """How many snapshots a per-snapshot stage measures: `sampling.metric_epochs` of epochs 1..epochs."""
    return len(sampling.metric_epochs(list(range(1, epochs + 1)), every))


@lru_cache(maxsize=16)
def _dry_run(config_yaml: str) -> tuple[dict, ...]:
    from snakemake.api import SnakemakeApi
    from snakemake.logging import logger
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings
    from snakemake_interface_logger_plugins.common import LogEvent

    jobs = []

    class Jobs(logging.Handler):
        """Snakemake announces each job it plans in a JOB_INFO record (what its logger plugins receive)."""

        def emit(self, record):
            if getattr(record, "event", None) == LogEvent.JOB_INFO:
                jobs.append(
                    {
                        "rule": record.rule_name,
                        "wildcards": dict(record.wildcards),
                        "input": [str(f) for f in record.input],
                        "output": [str(f) for f in record.output],
                        "benchmark": record.benchmark,
                    }
                )

    handler, said = Jobs(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_yaml)
        try:
            # Snakemake's console handler writes to the stderr of its creation: here, to `said`
            with contextlib.redirect_stderr(said), SnakemakeApi(OutputSettings(dryrun=True)) as api:
                logger.addHandler(handler)
                workflow = api.workflow(
                    ResourceSettings(cores=1),
                    ConfigSettings(configfiles=[path]),
                    snakefile=ROOT / "Snakefile",
                    workdir=ROOT,
                )
                workflow.dag(DAGSettings(forceall=True)).execute_workflow(executor="dryrun")
        except Exception as err:
            raise EstimateError(f"Snakemake's dry run of the config failed: {err}") from err
        finally:
            logger.removeHandler(handler)
    return tuple(jobs)


def dry_run(config: dict) -> list[dict]:
    """Every job the workflow runs for `config` from scratch, as Snakemake plans it (a dry run, every job
    forced): its rule, wildcards, input, output and benchmark file."""
    return [dict(job) for job in _dry_run(yaml.safe_dump(config, sort_keys=True))]


def rule_graph(config: dict) -> dict[str, set[str]]:
    """Rule -> the rules whose jobs' outputs its jobs read, in `config`'s dry run."""
    planned = dry_run(config)
    producer = {path: job["rule"] for job in planned for path in job["output"]}
    upstream = defaultdict(set)
    for job in planned:
        upstream[job["rule"]] |= {producer[path] for path in job["input"] if path in producer}
    return dict(upstream)


def units(job: dict, config: dict, facts: dict[str, dict]) -> tuple[str, float]:
    """(key, cost units) of one planned job; the key is its rule, for `craft` the attack's method."""
    rule, w = job["rule"], job["wildcards"]
    if rule not in SCALED:
        return rule, 1.0
    f = facts[w["dataset"]]
    model = config["datasets"][w["dataset"]].get("model", config["model"])
    image = model_macs(model, f["shape"], f["classes"])
    n_train, n_test, epochs = f["train"], f["test"], config["epochs"]
    attacked = min(config["craft"]["samples"], n_test)
    if rule == "split":
        return rule, float(n_train)
    if rule == "train":
        val = n_train / config["folds"]
        return rule, epochs * image * (n_train - val + FORWARD * (val + n_test))
    if rule == "craft":
        params = config["attacks"][w["attack"]]
        # the attack set is chosen by one forward pass over the test images
        return params["method"], attacked * attack_iterations(params) * image + FORWARD * n_test * image
    if rule == "distances":
        return rule, attacked * float(np.prod(f["shape"]))
    if rule == "evaluate":
        sets = n_test + len(config["attacks"]) * attacked
        return rule, FORWARD * epochs * sets * image
    if rule == "robustness":
        metrics = config["robustness"]
        clever, er = metrics["clever"], metrics["empirical_robustness"]
        points = clever["nb_batches"] * clever["batch_size"] * (f["classes"] - 1)
        steps = er["eps_max"] / er["eps_step"]
        images = metric_snapshots(epochs, metrics["every"]) * min(metrics["samples"], attacked)
        return rule, images * image * (points + FORWARD * steps)
    # whitebox: each attacked snapshot, every L∞ attack at every grid eps and bisection step, and CW
    whitebox = config["whitebox"]
    runs = len(whitebox["eps_grid"]) + whitebox["bisection_steps"]
    linf = sum(a != "cw" for a in whitebox["attacks"]) * runs * whitebox["max_iter"]
    cw = ("cw" in whitebox["attacks"]) * attack_iterations({"method": "cw", **whitebox["cw"]})
    snapshots = metric_snapshots(epochs, whitebox["every"]) + 1  # and the best
    return rule, snapshots * min(whitebox["samples"], n_test) * image * (linf + cw)


def jobs(config: dict, facts: dict[str, dict]) -> list[dict]:
    """Every job of `config` that leaves a benchmark file (`dry_run`: `all` does no work), as {rule, key,
    units, dataset}."""
    out = []
    for job in dry_run(config):
        if job["benchmark"]:
            key, cost = units(job, config, facts)
            out.append(
                {"rule": job["rule"], "key": key, "units": cost, "dataset": job["wildcards"].get("dataset")}
            )
    return out


# --- calibration ----------------------------------------------------------------------------------


def read_benchmarks(directory) -> pd.DataFrame:
    """One row per benchmark TSV under `directory`/<rule>/**: rule, dataset, path, seconds (wall), cpu
    (CPU-seconds)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise EstimateError(f"{directory}: no such directory; run the calibration config first")
    rows = []
    for tsv in sorted(directory.rglob("*.tsv")):
        rel = tsv.relative_to(directory)
        if len(rel.parts) < 2:
            continue
        try:
            frame = pd.read_csv(tsv, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise EstimateError(f"{tsv}: not a Snakemake benchmark file ({err})") from err
        if "s" not in frame or frame.empty:
            raise EstimateError(f"{tsv}: no `s` column or no rows; not a Snakemake benchmark file")
        wall = float(frame["s"].mean())
        cpu = float(frame["cpu_time"].mean()) if "cpu_time" in frame else float("nan")
        # a job that waited on I/O or a sleeping child can show less CPU than it held a core
        rows.append(
            {
                "rule": rel.parts[0],
                # every benchmark path is <rule>/<dataset>/... or <rule>/<dataset>.tsv
                "dataset": rel.parts[1] if len(rel.parts) > 2 else Path(rel.parts[1]).stem,
                "path": str(rel),
                "seconds": wall,
                "cpu": cpu if cpu > 0 else wall,
            }
        )
    if not rows:
        raise EstimateError(f"{directory}: no benchmark TSVs under <rule>/")
    return pd.DataFrame(rows)


def _attack_of(path: str) -> str:
    return Path(path).stem


def kind(rule: str) -> str:
    return "tf" if rule in TF_RULES else "other"


def overhead(rule: str, overheads: dict | None = None) -> float:
    return (overheads or OVERHEAD)[kind(rule)]


def measured_overheads(bench: pd.DataFrame) -> dict:
    """The cheapest job of each kind: mostly imports and tracing (e.g. FGSM on a few hundred images)."""
    out = dict(OVERHEAD)
    for k, group in bench.groupby(bench["rule"].map(kind)):
        out[k] = float(group["cpu"].min())
    return out


def calibrate(
    bench: pd.DataFrame, config: dict, facts: dict[str, dict], overheads: dict | None = None
) -> dict:
    """Per (rule, key): CPU-seconds per unit (`k`) or, for flat rules, mean CPU-seconds per job; under
    "overhead" the fixed CPU-seconds per job of each kind (`overheads`, else measured_overheads)."""
    calibration_jobs = jobs(config, facts)
    units = defaultdict(list)
    for job in calibration_jobs:
        units[(job["rule"], job["key"])].append(job["units"])
    methods = {name: a["method"] for name, a in config["attacks"].items()}
    measured = defaultdict(list)
    # runs of other configs may share the folder: only this config's datasets calibrate
    bench = bench[bench["dataset"].isin(list(config["datasets"]))]
    if bench.empty:
        raise EstimateError(f"no benchmark files of the calibration datasets {', '.join(config['datasets'])}")
    overheads = overheads or measured_overheads(bench)
    for row in bench.itertuples():
        key = row.rule
        if row.rule == "craft":
            key = methods.get(_attack_of(row.path))
            if key is None:
                continue  # an attack the calibration config no longer names
        measured[(row.rule, key)].append(row.cpu)
    model = {"overhead": overheads}
    for (rule, key), cpu in measured.items():
        mean = float(np.mean(cpu))
        if rule not in SCALED or (rule, key) not in units:
            model[(rule, key)] = {"flat": mean}
        else:
            per_unit = max(mean - overhead(rule, overheads), 0.0) / float(np.mean(units[(rule, key)]))
            model[(rule, key)] = {"k": per_unit}
    return model


def project(model: dict, config: dict, facts: dict[str, dict]) -> pd.DataFrame:
    """Per job of `config`: its rule and projected CPU-seconds."""
    rows = []
    for job in jobs(config, facts):
        rule, key = job["rule"], job["key"]
        entry = model.get((rule, key))
        note = ""
        if entry is None and rule == "craft":
            # a method the calibration did not run: the mean rate of the ones it did, per iteration
            rates = [m["k"] for key_, m in model.items() if key_[0] == "craft" and "k" in m]
            entry = {"k": float(np.mean(rates))} if rates else None
            note = f"{key}: not calibrated, mean craft rate"
        if entry is None and rule not in SCALED:  # a few seconds of Python: a job's fixed start
            entry = {"flat": overhead(rule, model["overhead"])}
            note = f"{rule}: not in the calibration run, counted at a job's fixed cost"
        if entry is None:
            rows.append({"rule": rule, "cpu": float("nan"), "note": f"{rule}: not in the calibration run"})
            continue
        cpu = (
            entry["flat"]
            if "flat" in entry
            else overhead(rule, model["overhead"]) + entry["k"] * job["units"]
        )
        rows.append({"rule": rule, "cpu": cpu, "note": note})
    return pd.DataFrame(rows)


def wall_time(projected: pd.DataFrame, cores: int, upstream: dict[str, set[str]], threads: int = 1) -> float:
    """Seconds on `cores` cores: CPU time spread over them, or the critical path if that is longer: the
    longest chain of rules in `upstream` (`rule_graph`), each rule counted at its longest job."""
    spread = projected["cpu"].sum(skipna=True) / cores
    longest = projected.groupby("rule")["cpu"].max()

    @cache
    def finish(rule: str) -> float:
        before = max((finish(r) for r in upstream.get(rule, ())), default=0.0)
        return before + float(longest.get(rule, 0.0))

    # a job with `threads` threads runs its CPU time over that many cores (at best)
    path = max((finish(rule) for rule in {*longest.index, *upstream}), default=0.0) / min(threads, cores)
    return float(max(spread, path))


def estimate(
    target: dict, calibration: dict, bench: pd.DataFrame, root: Path = ROOT, overheads: dict | None = None
) -> pd.DataFrame:
    """Per job of `target`: rule and projected CPU-seconds."""
    target_facts = {n: dataset_facts(n, d, root) for n, d in target["datasets"].items()}
    calib_facts = {n: dataset_facts(n, d, root) for n, d in calibration["datasets"].items()}
    model = calibrate(bench, calibration, calib_facts, overheads)
    return project(model, target, target_facts)


def gpu_estimate(target: dict, calibration: dict, directory) -> pd.DataFrame:
    """Per job of `target`: GPU-job seconds, calibrated on a GPU run's benchmark files. A GPU job's cost
    is its wall time (its CPU time is mostly waiting on the GPU), in the same per-rule models; small
    calibration jobs are launch-bound, so the per-unit rates and hence the projection are upper bounds."""
    bench = read_benchmarks(directory)
    bench = bench.assign(cpu=bench["seconds"])
    return estimate(target, calibration, bench, overheads=measured_overheads(bench))


def summary(projected: pd.DataFrame) -> pd.DataFrame:
    table = projected.groupby("rule", sort=False).agg(jobs=("cpu", "size"), cpu_hours=("cpu", "sum"))
    table["cpu_hours"] /= 3600
    return table


def load_config(path) -> dict:
    """The config as the workflow sees it (`config.load`), its mistakes as this tool's errors."""
    try:
        return config_file(path)
    except ConfigError as err:
        raise EstimateError(str(err)) from err


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True, help="the config to estimate")
    parser.add_argument("--calibration", default="logs/benchmarks", help="benchmark folder of a finished run")
    parser.add_argument("--calibration-config", default="config.yaml", help="the config of that run")
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 8])
    parser.add_argument(
        "--overhead",
        type=float,
        nargs=2,
        metavar=("TF", "OTHER"),
        help="fixed CPU-seconds per TensorFlow job and per other job (default: the cheapest calibration job)",
    )
    parser.add_argument(
        "--measured", help="benchmark folder of a finished run of --config: compare the projection with it"
    )
    parser.add_argument(
        "--gpu-calibration",
        help="benchmark folder of a GPU run of --calibration-config (tools/gpu_check.sh keeps one):"
        " adds the GPU column",
    )
    args = parser.parse_args(argv)
    try:
        target, calibration = load_config(args.config), load_config(args.calibration_config)
        bench = read_benchmarks(args.calibration)
        overheads = dict(zip(("tf", "other"), args.overhead, strict=True)) if args.overhead else None
        projected = estimate(target, calibration, bench, overheads=overheads)
    except EstimateError as err:
        print(f"estimate: {err}", file=sys.stderr)
        return 1
    table = summary(projected)
    if args.gpu_calibration:
        try:
            table["gpu_hours"] = summary(gpu_estimate(target, calibration, args.gpu_calibration))["cpu_hours"]
        except EstimateError as err:
            print(f"estimate: {err}", file=sys.stderr)
            return 1
    print(f"{args.config}, calibrated on {args.calibration} ({args.calibration_config}, {len(bench)} jobs)")
    if not args.overhead:
        o = measured_overheads(bench[bench["dataset"].isin(list(calibration["datasets"]))])
        print(
            "fixed CPU-seconds per job (the cheapest calibration job):"
            f" TensorFlow {o['tf']:.1f}, other {o['other']:.1f}"
        )
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))
    print(f"total: {table['cpu_hours'].sum():.2f} CPU-hours over {len(projected)} jobs")
    if "gpu_hours" in table:
        print(
            f"on one GPU: {table['gpu_hours'].sum():.2f} h with the jobs one after another (calibrated on"
            f" {args.gpu_calibration}; jobs sharing the GPU can only shorten it)"
        )
    threads = target["compute"]["threads"]
    upstream = rule_graph(target)
    for cores in args.cores:
        hours = wall_time(projected, cores, upstream, threads) / 3600
        print(f"wall time on {cores} cores: {hours:.2f} h")
    for note in sorted(set(projected["note"]) - {""}):
        print(f"note: {note}")
    if args.measured:
        try:
            compare(projected, read_benchmarks(args.measured), target)
        except EstimateError as err:
            print(f"estimate: {err}", file=sys.stderr)
            return 1
    return 0


def compare(projected: pd.DataFrame, measured: pd.DataFrame, target: dict) -> pd.DataFrame:
    """Projected against measured CPU-hours per rule, for the target's datasets; prints and returns it."""
    measured = measured[measured["dataset"].isin(list(target["datasets"]))]
    table = summary(projected).join(
        measured.groupby("rule").agg(measured_jobs=("cpu", "size"), measured_hours=("cpu", "sum")),
        how="outer",
    )
    table["measured_hours"] /= 3600
    table["error_%"] = 100 * (table["cpu_hours"] / table["measured_hours"] - 1)
    print("\nprojected against measured (CPU-hours):")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    both = table.dropna(subset=["cpu_hours", "measured_hours"])
    total_p, total_m = both["cpu_hours"].sum(), both["measured_hours"].sum()
    error = 100 * (total_p / total_m - 1)
    print(f"total: projected {total_p:.3f}, measured {total_m:.3f} CPU-hours: error {error:+.1f} %")
    return table


if __name__ == "__main__":
    sys.exit(main())
