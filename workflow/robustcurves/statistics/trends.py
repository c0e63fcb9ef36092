"""Each series' trend over the epochs (results/<dataset>/summary/trends.csv): descriptive, beside the
claims, not one of them."""

from __future__ import annotations

import pandas as pd

from robustcurves.statistics.inference import CONFIDENCE, fold_test, spearman, within
from robustcurves.statistics.snapshots import sound


def trend(df: pd.DataFrame, value: str, warmup: int, confidence: float = CONFIDENCE) -> dict:
    """Spearman's ρ of `value` with the epoch after `warmup` epochs, per fold, then `fold_test` over
    folds (bounds within [-1, 1]).

    `df` has columns fold, epoch and `value`. A fold whose series is constant (an ASR saturated at 1,
    say) has no ranks to correlate: it is counted in `saturated` (with its `constant` value) and left
    out of the mean.
    """
    late = df[df["epoch"] > warmup].dropna(subset=[value])
    rhos, constant = [], []
    for _, fold in late.groupby("fold"):
        if fold["epoch"].nunique() < 2:
            continue
        if fold[value].nunique() == 1:
            constant.append(float(fold[value].iloc[0]))
        else:
            rhos.append(spearman(fold["epoch"], fold[value]))
    ci = within(fold_test(rhos, confidence), -1, 1)
    return ci | {"saturated": len(constant), "constant": sorted(set(constant))}


def trend_table(evaluation: pd.DataFrame, robustness: pd.DataFrame, warmup: int, confidence=CONFIDENCE):
    """Per regime and quantity (each attack's ASR and conditional ASR, clean accuracy, CLEVER …): the
    trend over epochs, leaving out degenerate snapshots."""
    evaluation, robustness = sound(evaluation), sound(robustness)
    keep = ("mean", "low", "high", "folds", "saturated")
    rows = []
    for (regime, attack), df in evaluation.groupby(["regime", "attack"]):
        quantities = ["accuracy"] if attack == "clean" else ["asr", "asr_given_correct"]
        for quantity in quantities:
            if quantity not in df or df[quantity].isna().all():
                continue
            ci = trend(df, quantity, warmup, confidence)
            rows.append({"regime": regime, "quantity": f"{quantity} ({attack})", **{k: ci[k] for k in keep}})
    for regime, df in robustness.groupby("regime"):
        for quantity in ("clever", "loss_sensitivity", "empirical_robustness"):
            ci = trend(df, quantity, warmup, confidence)
            rows.append({"regime": regime, "quantity": quantity, **{k: ci[k] for k in keep}})
    return pd.DataFrame(rows).rename(columns={"mean": "spearman"})
