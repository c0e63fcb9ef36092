"""CLEVER against the perturbations that exist: a finished run's per-image CLEVER scores beside the
smallest L2 perturbation a strong white-box CW-L2 finds, on the same snapshots and images.

CLEVER (Weng et al. 2018) estimates a lower bound on the minimal L2 perturbation that changes the
prediction; any adversarial example that CW finds is an upper bound on it. Where a CLEVER score
exceeds a CW distance, the "bound" is violated by a perturbation that exists. Per regime this
reports how often, and whether CLEVER and CW rank the regimes the same way (overfit - normal, a t
interval over folds of the per-fold median differences). Then, on the last epoch's snapshots, how the
overfit and normal CLEVER values move with the radius and with the sample budget.

    python benchmarks/clever_vs_cw.py --run /path/to/run --config configs/paper-cifar10-cpu.yaml \
        --dataset cifar10 --out benchmarks/results/clever_vs_cw

Writes pairs.csv (one row per regime, fold, epoch, image), sensitivity.csv, summary.md to --out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]

from robustcurves import data, models, sampling
from robustcurves.attacks.cw import carlini_wagner_l2
from robustcurves.config import load as config_file
from robustcurves.measures import clever

# Stronger than the white-box stage's default CW (3 x 15): tight upper bounds make violations count.
CW = {
    "binary_search_steps": 10,
    "max_iter": 100,
    "learning_rate": 0.05,
    "initial_const": 0.1,
    "confidence": 0.0,
}
# (radius, nb_batches) settings of the sensitivity study; batch size as the run's
SETTINGS = [(2.0, 50), (5.0, 50), (10.0, 50), (5.0, 200)]


def cw_distances(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, L2 of CW's adversarial against it; inf where CW found none) per image."""
    forward = models.logits_fn(model)
    pred = models.predict(forward, x)
    adv = carlini_wagner_l2(model, x, pred, batch_size=len(x), **CW)
    found = models.predict(forward, adv) != pred
    l2 = np.sqrt(((adv - x) ** 2).reshape(len(x), -1).sum(axis=1))
    return pred, np.where(found, l2, np.inf)


def pairs(run: Path, config: dict, dataset: str, x_test: np.ndarray, epochs_of) -> pd.DataFrame:
    rows = []
    for regime in config["regimes"]:
        for fold in range(config["folds"]):
            base = run / f"results/{dataset}/{regime}/fold{fold}"
            scores = pd.read_csv(base / "clever.csv")
            idx, _ = sampling.fold_images(
                len(x_test), config["robustness"]["samples"], config["seed"], dataset, fold, "robustness"
            )
            x = x_test[idx]
            with models.Snapshots(base / "snapshots.h5") as snapshots:
                model = snapshots.model()
                for epoch in epochs_of(base, scores):
                    model.set_weights(snapshots.weights(epoch))
                    pred, l2 = cw_distances(model, x)
                    s = scores[scores["epoch"] == epoch].set_index("image")
                    rows.append(pd.DataFrame({
                        "regime": regime, "fold": fold, "epoch": epoch, "image": np.arange(len(x)),
                        "test_index": idx, "prediction": pred, "cw_l2": l2,
                        "clever": s["score"].reindex(range(len(x))).to_numpy(),
                    }))  # fmt: skip
            print(f"{regime} fold {fold}: done", flush=True)
    return pd.concat(rows, ignore_index=True)


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    values = np.asarray(values, float)
    res = stats.ttest_1samp(values, 0.0)
    low, high = res.confidence_interval(confidence)
    return float(values.mean()), float(low), float(high)


def summarise(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per regime: pairs, violations of the bound, medians; and the regime ranking by each measure."""
    both = table[np.isfinite(table["clever"])]
    per_regime = both.groupby("regime").apply(
        lambda g: pd.Series({
            "pairs": len(g),
            "cw_found": int(np.isfinite(g["cw_l2"]).sum()),
            "clever_above_cw": int((g["clever"] > g["cw_l2"]).sum()),
            "share_violated": float((g["clever"] > g["cw_l2"]).mean()),
            "median_clever": float(g["clever"].median()),
            "median_cw_l2": float(g["cw_l2"].median()),
            "median_ratio_clever_to_cw": float((g["clever"] / g["cw_l2"]).median()),
        }),
        include_groups=False,
    )  # fmt: skip
    medians = both.groupby(["regime", "fold"])[["clever", "cw_l2"]].median().unstack("regime")
    ranking = []
    for measure in ("clever", "cw_l2"):
        diff = (medians[(measure, "overfit")] - medians[(measure, "normal")]).to_numpy()
        mean, low, high = t_interval(diff)
        ranking.append({"measure": measure, "overfit_minus_normal": mean, "low_95": low, "high_95": high})
    return per_regime, pd.DataFrame(ranking)


def sensitivity(run: Path, config: dict, dataset: str, x_test: np.ndarray) -> pd.DataFrame:
    """Mean CLEVER of the last epoch's snapshot per regime and fold, for each (radius, nb_batches)."""
    settings = {
        k: v
        for k, v in config["robustness"]["clever"].items()
        if k not in ("radius", "nb_batches", "implementation")
    }
    rows = []
    for regime in config["regimes"]:
        for fold in range(config["folds"]):
            base = run / f"results/{dataset}/{regime}/fold{fold}"
            idx, seed = sampling.fold_images(
                len(x_test), config["robustness"]["samples"], config["seed"], dataset, fold, "robustness"
            )
            with models.Snapshots(base / "snapshots.h5") as snapshots:
                epoch = snapshots.epochs[-1]
                model = snapshots.model(epoch)
            for radius, nb_batches in SETTINGS:
                out = clever.clever_checked(
                    model, x_test[idx], seed=seed, **settings, radius=radius, nb_batches=nb_batches
                )
                score = out["score"]
                rows.append({
                    "regime": regime, "fold": fold, "epoch": epoch, "radius": radius,
                    "nb_batches": nb_batches,
                    "mean_clever": float(np.nanmean(score)), "median_clever": float(np.nanmedian(score)),
                    "at_radius": float(np.mean(out["raw"] >= radius * (1 - 1e-6))),
                    "rejected": float(np.mean(~np.isfinite(score))),
                })  # fmt: skip
            print(f"sensitivity {regime} fold {fold}: done", flush=True)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="the run's working directory")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folds", type=int, help="only the first folds (a quick look)")
    args = parser.parse_args(argv)
    models.configure(threads=1, seed=0)
    config = config_file(args.config)
    if args.folds:
        config["folds"] = args.folds

    def whitebox_epochs(base, scores):
        # the white-box stage's snapshots that CLEVER also measured
        attacked = set(pd.read_csv(base / "whitebox.csv")["epoch"])
        return sorted(attacked & set(scores["epoch"]))

    args.out.mkdir(parents=True, exist_ok=True)
    # the run's prepared test images, which CLEVER's image indices point into
    x_test = data.to_float(data.load(args.run / f"resources/{args.dataset}.h5")["x_test"])
    table = pairs(args.run, config, args.dataset, x_test, whitebox_epochs)
    table.to_csv(args.out / "pairs.csv", index=False)
    per_regime, ranking = summarise(table)
    sens = sensitivity(args.run, config, args.dataset, x_test)
    sens.to_csv(args.out / "sensitivity.csv", index=False)
    by_setting = sens.groupby(["regime", "radius", "nb_batches"])[
        ["mean_clever", "median_clever", "at_radius", "rejected"]
    ].mean()
    text = "\n\n".join([
        f"CW settings: {CW}; epochs: {sorted(int(e) for e in table['epoch'].unique())}",
        "Per regime (pairs with a CLEVER score):\n\n" + per_regime.to_markdown(floatfmt=".3g"),
        "Overfit - normal, per-fold medians, t interval over folds:\n\n"
        + ranking.to_markdown(index=False, floatfmt=".3g"),
        "CLEVER of the last epoch by radius and sample budget (mean over folds):\n\n"
        + by_setting.to_markdown(floatfmt=".3g"),
    ])  # fmt: skip
    (args.out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
