"""Hand-made studies for the claims: every artefact the statistics rule reads, built from a few functions
of (regime, fold, epoch, …), so that a test states the data's shape and asks for the verdict."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

REGIMES = ("normal", "overfit")
ATTACKS = ("fgsm", "pgd", "cw")
WHITEBOX = ("worst", "cw")
LINF = {"fgsm": 0.3, "pgd": 0.3}
KW = {"normal": "normal", "overfit": "overfit", "cw": "cw", "linf_attacks": LINF, "warmup": 0}


def study(
    asr,
    *,
    accuracy=lambda regime, fold, epoch: 0.9,
    clever=lambda regime, fold, epoch, image: 0.1,
    minimal=lambda regime, fold, epoch, attack, image: 0.1,
    correct=lambda regime, fold, epoch, image: True,
    folds: int = 5,
    epochs=range(1, 8),
    images: int = 100,
) -> dict[str, pd.DataFrame]:
    """The stacked frames of a study: `asr(regime, fold, epoch, attack)` in [0, 1] sets the transfer
    ASR (images 0 … round(asr·images) − 1 fooled), `accuracy` the clean test accuracy, `clever` the
    per-image CLEVER score, `minimal` the white-box minimal eps / L2 (`inf`: resisted) of the images
    `correct` says the snapshot classifies correctly."""
    ev, rob, img, cl, wb = [], [], [], [], []
    for regime, fold, epoch in itertools.product(REGIMES, range(folds), epochs):
        key = {"regime": regime, "fold": fold, "epoch": epoch}
        acc = accuracy(regime, fold, epoch)
        ev.append(key | {"attack": "clean", "accuracy": acc, "asr": 1 - acc, "asr_given_correct": np.nan,
                         "degenerate": ""})  # fmt: skip
        for attack in ATTACKS:
            a = asr(regime, fold, epoch, attack)
            fooled = np.arange(images) < round(a * images)
            ev.append(key | {"attack": attack, "accuracy": 1 - fooled.mean(), "asr": fooled.mean(),
                             "asr_given_correct": fooled.mean(), "degenerate": ""})  # fmt: skip
            record = {"attack": attack, "test_index": np.arange(images), "fooled": fooled, "correct": True}
            img.append(pd.DataFrame(key | record | {"crafted_success": True}))
        scores = np.array([clever(regime, fold, epoch, i) for i in range(10)], float)
        cl.append(pd.DataFrame(key | {"image": np.arange(10), "score": scores, "raw": scores, "reason": ""}))
        rob.append(key | {"clever": float(np.nanmean(scores)), "loss_sensitivity": 1.0 + 0.01 * epoch,
                          "empirical_robustness": 0.1, "samples": 10, "clever_rejected": 0.0,
                          "degenerate": ""})  # fmt: skip
        for attack in WHITEBOX:
            ok = np.array([correct(regime, fold, epoch, i) for i in range(20)], bool)
            m = np.array([minimal(regime, fold, epoch, attack, i) for i in range(20)], float)
            wb.append(pd.DataFrame(key | {"attack": attack, "test_index": np.arange(20), "correct": ok,
                                          "minimal": np.where(ok, m, np.nan)}))  # fmt: skip
    distances = pd.DataFrame(
        [
            {"regime": r, "attack": a, "quantity": q, "mean": v, "std": 0.0, "folds": folds}
            for r in REGIMES
            for a, q, v in (
                ("fgsm", "linf", 0.3),
                ("pgd", "linf", 0.3),
                ("fgsm", "l2", 9.0),
                ("pgd", "l2", 8.0),
                ("cw", "l2", 1.0),
                ("cw", "linf", 0.2),
            )  # fmt: skip
        ]
    )
    return {
        "evaluation": pd.DataFrame(ev),
        "robustness": pd.DataFrame(rob),
        "images": pd.concat(img, ignore_index=True),
        "clever": pd.concat(cl, ignore_index=True),
        "whitebox_images": pd.concat(wb, ignore_index=True),
        "distances": distances,
    }


def effect_study(shift, seed=0, folds=5):
    """Transfer ASR, CLEVER and white-box values with fold and image noise, the overfit regime `shift`
    more robust (lower ASR, higher CLEVER and minimal eps / L2)."""
    rng = np.random.default_rng(seed)
    fold_noise = rng.normal(0, 0.02, (2, folds))
    image_noise = rng.normal(0, 0.05, (2, folds, 20))

    def asr(r, f, e, a):
        return float(np.clip(0.5 + fold_noise[0, f] - (shift if r == "overfit" else 0), 0, 1))

    def score(r, f, e, i):
        return 0.2 + fold_noise[1, f] + image_noise[0, f, i % 20] + (shift if r == "overfit" else 0)

    def minimal(r, f, e, a, i):
        return (
            0.1
            + abs(image_noise[1, f, i])
            + (shift if r == "overfit" else 0)
            + 0.001 * (i % 3) * (r == "normal")
        )

    return study(asr, clever=score, minimal=minimal, folds=folds)


def claims_of(frames, **kw):
    """The claims table of `study` frames, by claim text."""
    from robustcurves.statistics import claims

    f = dict(frames)
    table = claims.claims(f.pop("evaluation"), f.pop("distances"), **(KW | kw), **f)
    return table.set_index("claim")


FILES = {
    "evaluation": "evaluation.csv",
    "robustness": "robustness.csv",
    "images": "evaluation_images.csv",
    "clever": "clever.csv",
    "whitebox_images": "whitebox_images.csv",
}


def write_study(frames, work: Path, dataset: str) -> None:
    """The frames as the per-fold artefacts (and the distance summary) of `dataset` under `work`."""
    for name, file in FILES.items():
        for (regime, fold), df in frames[name].groupby(["regime", "fold"]):
            path = work / f"results/{dataset}/{regime}/fold{fold}/{file}"
            path.parent.mkdir(parents=True, exist_ok=True)
            df.drop(columns=["regime", "fold"]).to_csv(path, index=False)
    summary = work / f"results/{dataset}/summary/distances.csv"
    summary.parent.mkdir(parents=True, exist_ok=True)
    frames["distances"].to_csv(summary, index=False)
