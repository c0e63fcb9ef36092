"""tools/estimate.py on synthetic Snakemake benchmark files: the cost models scale as stated."""

import copy
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# a command-line tool, not a module of the library: loaded from its file
_spec = importlib.util.spec_from_file_location("estimate", ROOT / "tools/estimate.py")
estimate = sys.modules["estimate"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(estimate)

from robustcurves import registry
from workflow_utils import planned_jobs

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def calibration_config():
    return estimate.load_config(ROOT / "config.yaml")


def write_tsv(path: Path, cpu: float, wall: float | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    wall = cpu if wall is None else wall
    path.write_text(HEADER + f"{wall:.8f}\t0:00:01\t100\t200\t90\t95\t0.1\t0.2\t99.0\t{cpu:.8f}\n")


# CPU-seconds per cost unit of each TF rule (craft: per method) in the synthetic "measured" run.
TRUE_K = {
    "train": 2e-8,
    "evaluate": 1e-8,
    "robustness": 3e-9,
    "fgsm": 4e-8,
    "pgd": 3e-8,
    "cw": 5e-8,
    "whitebox": 2e-9,
}
TRUE_K.update(prepare=1e-7, split=1e-5, distances=2e-6)


def cost(units, rule, key=None):
    return estimate.overhead(rule) + TRUE_K[key or rule] * units[(rule, key or rule)]


def synthetic_run(directory: Path, config: dict) -> None:
    """Benchmark TSVs as a run of `config` would leave them if every job cost overhead + k * units."""
    facts = {n: estimate.dataset_facts(n, d) for n, d in config["datasets"].items()}
    units = {}
    for job in estimate.jobs(config, facts):
        units[(job["rule"], job["key"])] = job["units"]
    for dataset in config["datasets"]:
        for regime in config["regimes"]:
            for fold in range(config["folds"]):
                where = f"{dataset}/{regime}/fold{fold}"
                for rule in ("train", "evaluate", "robustness", "whitebox"):
                    cpu = estimate.overhead(rule) + TRUE_K[rule] * units[(rule, rule)]
                    write_tsv(directory / rule / f"{where}.tsv", cpu)
                for name, attack in config["attacks"].items():
                    m = attack["method"]
                    cpu = estimate.overhead("craft") + TRUE_K[m] * units[("craft", m)]
                    write_tsv(directory / "craft" / where / f"{name}.tsv", cpu)
                    write_tsv(directory / "distances" / where / f"{name}.tsv", cost(units, "distances"))
                write_tsv(directory / "select_best" / f"{where}.tsv", 1.0)
        write_tsv(directory / "prepare" / f"{dataset}.tsv", cost(units, "prepare"))
        write_tsv(directory / "split" / f"{dataset}.tsv", cost(units, "split"))
        for summary in registry.SUMMARIES:
            write_tsv(directory / "aggregate" / dataset / f"{summary}.tsv", 1.2)
        write_tsv(directory / "statistics" / f"{dataset}.tsv", 2.5)


def test_projection_recovers_the_cost_model_on_another_config(tmp_path):
    calibration = calibration_config()
    synthetic_run(tmp_path, calibration)
    bench = estimate.read_benchmarks(tmp_path)
    target = copy.deepcopy(calibration)
    target["epochs"] = 70
    target["folds"] = 3
    target["craft"]["samples"] = 100
    target["attacks"]["pgd"]["max_iter"] = 10
    target["robustness"]["every"] = 5
    projected = estimate.estimate(target, calibration, bench, overheads=estimate.OVERHEAD)
    facts = {n: estimate.dataset_facts(n, d) for n, d in target["datasets"].items()}
    expected = []
    for job in estimate.jobs(target, facts):
        if job["key"] in TRUE_K:
            expected.append(estimate.overhead(job["rule"]) + TRUE_K[job["key"]] * job["units"])
    got = projected[projected["rule"].isin([*estimate.TF_RULES, "prepare", "split", "distances"])]["cpu"]
    got = got.to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # flat rules keep their calibrated mean per job
    assert projected[projected["rule"] == "statistics"]["cpu"].tolist() == pytest.approx([2.5])
    assert (projected["rule"] == "train").sum() == 3 * len(target["regimes"])


def test_cost_models_scale_with_the_work():
    config = calibration_config()
    facts = {n: estimate.dataset_facts(n, d) for n, d in config["datasets"].items()}

    def units(cfg, rule, key=None):
        f = (
            {n: estimate.dataset_facts(n, d) for n, d in cfg["datasets"].items()}
            if cfg is not config
            else facts
        )
        return next(
            j["units"] for j in estimate.jobs(cfg, f) if j["rule"] == rule and j["key"] == (key or rule)
        )

    double = copy.deepcopy(config)
    double["epochs"] *= 2
    assert units(double, "train") == pytest.approx(2 * units(config, "train"))
    assert units(double, "evaluate") == pytest.approx(2 * units(config, "evaluate"))
    cw = copy.deepcopy(config)
    cw["attacks"]["cw"]["max_iter"] *= 4
    f = facts["mnist5k"]
    image = estimate.model_macs("lenet5", f["shape"], f["classes"])
    forward = estimate.FORWARD * f["test"] * image  # choosing the attack set
    attack = units(config, "craft", "cw") - forward
    steps = config["attacks"]["cw"]["binary_search_steps"] * config["attacks"]["cw"]["max_iter"]
    assert steps == 25 * 10  # the default CW: ART's algorithm with 25 binary-search steps
    assert attack == pytest.approx(config["craft"]["samples"] * steps * image)
    assert units(cw, "craft", "cw") - forward == pytest.approx(4 * attack)
    stl = copy.deepcopy(config)
    stl["datasets"] = {"stl10": {"kind": "stl10"}}
    # 96x96x3 against mnist5k's 32x32x1: 27 times the pixels, but a LeNet-5 pass costs 21.4 times as much
    per_image = units(stl, "robustness") / units(config, "robustness")
    assert per_image == pytest.approx(estimate.model_macs("lenet5", (96, 96, 3), 10) / image)
    assert per_image == pytest.approx(21.4, abs=0.05)


def test_the_cost_unit_is_the_models_own_multiply_accumulates():
    """The dataset's model sets the unit: LeNet-5's figure as the estimate had it before models were
    configurable (the hand count: tests/test_models.py), ResNet-20's 62x at CIFAR-10's shape."""
    lenet = 28 * 28 * 6 * 75 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    assert estimate.model_macs("lenet5", (32, 32, 3), 10) == lenet
    config = calibration_config()
    config["datasets"] = {"cifar10": {"kind": "cifar10"}, "resnet": {"kind": "cifar10", "model": "resnet20"}}
    facts = {n: estimate.dataset_facts(n, d) for n, d in config["datasets"].items()}
    train = {j["dataset"]: j["units"] for j in estimate.jobs(config, facts) if j["rule"] == "train"}
    ratio = estimate.model_macs("resnet20", (32, 32, 3), 10) / lenet
    assert ratio == pytest.approx(62.2, abs=0.05)
    assert train["resnet"] / train["cifar10"] == pytest.approx(ratio)


def test_jobs_are_the_ones_snakemake_plans():
    config = calibration_config()
    facts = {n: estimate.dataset_facts(n, d) for n, d in config["datasets"].items()}
    planned = planned_jobs(ROOT, "--forceall")
    planned.pop("all")  # the target rule: no work, no benchmark file
    assert Counter(job["rule"] for job in estimate.jobs(config, facts)) == planned


def test_wall_time_is_the_spread_or_the_critical_path():
    import pandas as pd

    upstream = estimate.rule_graph(calibration_config())
    # the rule graph of the dry run: craft waits for the best epoch, white-box for it and training
    assert upstream["craft"] >= {"select_best", "train"} and upstream["select_best"] == {"train"}
    assert upstream["whitebox"] >= {"select_best", "train"} and upstream["train"] >= {"split", "prepare"}
    many = pd.DataFrame({"rule": ["train"] * 8, "cpu": [100.0] * 8, "note": ""})
    assert estimate.wall_time(many, 2, upstream) == pytest.approx(400.0)
    assert estimate.wall_time(many, 8, upstream) == pytest.approx(100.0)
    one_long = pd.DataFrame({"rule": ["train", "craft", "split"], "cpu": [1000.0, 500.0, 1.0], "note": ""})
    assert estimate.wall_time(one_long, 8, upstream) == pytest.approx(1501.0)
    # the white-box stage waits for the best epoch, not for craft: it runs beside craft and evaluate
    side = pd.DataFrame({"rule": ["craft", "evaluate", "whitebox"], "cpu": [10.0, 20.0, 300.0], "note": ""})
    assert estimate.wall_time(side, 8, upstream) == pytest.approx(300.0)


def test_cli_prints_per_rule_hours_and_wall_times(tmp_path, capsys):
    calibration = calibration_config()
    synthetic_run(tmp_path / "bench", calibration)
    config = tmp_path / "calibration.yaml"
    config.write_text(yaml.safe_dump(calibration))
    rc = estimate.main(
        [
            "--config",
            str(ROOT / "configs/paper.yaml"),
            "--calibration",
            str(tmp_path / "bench"),
            "--calibration-config",
            str(config),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    for rule in ("train", "craft", "evaluate", "robustness"):
        assert f"\n{rule} " in out
    assert "wall time on 2 cores" in out and "wall time on 8 cores" in out
    # the paper preset: 2 datasets x 2 regimes x 5 folds trainings
    assert re.search(r"^train\s+20\s", out, re.M)
    assert re.search(r"^craft\s+60\s", out, re.M)


def test_bad_calibration_fails_with_the_path(tmp_path, capsys):
    assert (
        estimate.main(["--config", str(ROOT / "config.yaml"), "--calibration", str(tmp_path / "none")]) == 1
    )
    assert "no such directory" in capsys.readouterr().err
    bad = tmp_path / "bench" / "train" / "x.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("not\ta benchmark\n")
    with pytest.raises(estimate.EstimateError, match="x.tsv"):
        estimate.read_benchmarks(tmp_path / "bench")


def test_arrays_dataset_size_from_the_npz_headers(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x_train=np.zeros((30, 8, 8, 3), np.uint8),
        y_train=np.zeros(30, np.int64),
        x_test=np.zeros((7, 8, 8, 3), np.uint8),
        y_test=np.zeros(7, np.int64),
    )
    facts = estimate.dataset_facts("d", {"kind": "arrays", "path": str(path)})
    assert facts == {"train": 30, "test": 7, "shape": (8, 8, 3), "classes": 10}
    with pytest.raises(estimate.EstimateError, match="neither"):
        estimate.dataset_facts("e", {"kind": "arrays", "path": str(tmp_path / "missing.npz")}, root=tmp_path)


def test_measured_run_of_the_target_is_compared_and_other_datasets_are_ignored(tmp_path, capsys):
    calibration = calibration_config()
    bench = tmp_path / "bench"
    synthetic_run(bench, calibration)
    # a run of the target config in the same folder, as `logs/benchmarks` holds after both runs
    target = copy.deepcopy(calibration)
    target["datasets"] = {"other": {"kind": "stl10"}}
    target["folds"] = 2
    synthetic_run(bench, target)
    model = estimate.calibrate(
        estimate.read_benchmarks(bench),
        calibration,
        {n: estimate.dataset_facts(n, d) for n, d in calibration["datasets"].items()},
        estimate.OVERHEAD,
    )
    assert model[("train", "train")]["k"] == pytest.approx(TRUE_K["train"])
    for name, cfg in (("calibration", calibration), ("target", target)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    args = [
        "--config",
        str(tmp_path / "target.yaml"),
        "--calibration-config",
        str(tmp_path / "calibration.yaml"),
    ]
    args += ["--overhead", str(estimate.OVERHEAD["tf"]), str(estimate.OVERHEAD["other"])]
    assert estimate.main([*args, "--calibration", str(bench), "--measured", str(bench)]) == 0
    out = capsys.readouterr().out
    # the synthetic target run follows the cost model exactly: only the flat rules' means differ (none here)
    assert re.search(r"error \+0\.0 %", out), out


def test_fixed_cost_per_job_is_the_cheapest_calibration_job_of_its_kind(tmp_path):
    calibration = calibration_config()
    synthetic_run(tmp_path, calibration)
    bench = estimate.read_benchmarks(tmp_path)
    overheads = estimate.measured_overheads(bench)
    tf_jobs = bench[bench["rule"].isin(estimate.TF_RULES)]["cpu"]
    assert overheads["tf"] == pytest.approx(tf_jobs.min())
    assert overheads["other"] == pytest.approx(bench[~bench["rule"].isin(estimate.TF_RULES)]["cpu"].min())
    model = estimate.calibrate(
        bench, calibration, {n: estimate.dataset_facts(n, d) for n, d in calibration["datasets"].items()}
    )
    assert model["overhead"] == overheads
    # the cheapest TF job (FGSM) is all overhead now; the dearer ones keep a positive rate
    assert model[("craft", "fgsm")]["k"] == pytest.approx(0.0, abs=1e-12)
    assert model[("craft", "cw")]["k"] > 0


def test_gpu_column_from_a_gpu_run_uses_wall_seconds(tmp_path, capsys):
    """A GPU run's jobs wait on the GPU: its column is calibrated on wall time, not CPU time."""
    calibration = calibration_config()
    synthetic_run(tmp_path / "cpu", calibration)
    synthetic_run(tmp_path / "gpu", calibration)
    for tsv in (tmp_path / "gpu").rglob("*.tsv"):  # every GPU job: a tenth of the CPU job's wall time
        row = tsv.read_text().splitlines()[1].split("\t")
        write_tsv(tsv, cpu=1.0, wall=float(row[0]) / 10)
    config = tmp_path / "calibration.yaml"
    config.write_text(yaml.safe_dump(calibration))
    args = [
        "--config",
        str(config),
        "--calibration",
        str(tmp_path / "cpu"),
        "--calibration-config",
        str(config),
    ]
    assert estimate.main([*args, "--gpu-calibration", str(tmp_path / "gpu")]) == 0
    out = capsys.readouterr().out
    hours = {
        m[1]: (float(m[2]), float(m[3]))
        for m in re.finditer(r"^(\w+)\s+\d+\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    }
    assert hours["train"][0] > 1 and hours["train"][1] == pytest.approx(hours["train"][0] / 10, rel=0.02)
    assert re.search(r"^on one GPU: [\d.]+ h with the jobs one after another", out, re.M)


def test_the_keras_rules_are_the_rules_that_run_in_the_keras_env():
    # the cost model's one typed list of rules, held to the rules' own `conda:` directives
    keras = set()
    for path in (ROOT / "workflow/rules").glob("*.smk"):
        text = path.read_text()
        for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", text, re.M | re.S):
            if re.search(r"conda:\s*\n\s*TF_ENV\b", body):
                keras.add(rule)
    assert keras == set(estimate.TF_RULES)
