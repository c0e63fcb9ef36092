"""Statistics beyond the paper: trends over epochs and regime differences, with confidence intervals
over folds, and the paper's claims checked against a run.

Folds are the unit of replication: each fold gives one number (a Spearman correlation, a mean
difference), and the interval is a Student-t interval over those numbers. Regimes are paired by fold,
since fold k of every regime validates on the same images.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# |Spearman rho| below this counts as "level" (no monotone trend worth the name).
LEVEL = 0.5


def interval(values, confidence: float = 0.95) -> dict:
    """Mean, t-interval and count of per-fold values (NaNs dropped); the interval is NaN for one fold."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    n = len(v)
    mean = float(v.mean()) if n else float("nan")
    if n < 2:
        return {"mean": mean, "low": float("nan"), "high": float("nan"), "folds": n}
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / np.sqrt(n)
    return {"mean": mean, "low": mean - half, "high": mean + half, "folds": n}


def trend(df: pd.DataFrame, value: str, warmup: int, confidence: float = 0.95) -> dict:
    """Spearman correlation of `value` with the epoch after `warmup` epochs, per fold, then over folds.

    `df` has columns fold, epoch and `value`.
    """
    late = df[df["epoch"] > warmup]
    rhos = []
    for _, fold in late.groupby("fold"):
        fold = fold.dropna(subset=[value])
        varies = fold[value].nunique() > 1 and fold["epoch"].nunique() > 1
        rhos.append(stats.spearmanr(fold["epoch"], fold[value]).statistic if varies else 0.0)
    return interval(rhos, confidence)


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, value: str, warmup: int, confidence=0.95) -> dict:
    """Mean over matched epochs (after warm-up) of a - b, per fold, then over folds (paired by fold)."""
    merged = a.merge(b, on=["fold", "epoch"], suffixes=("_a", "_b"))
    merged = merged[merged["epoch"] > warmup]
    per_fold = (merged[f"{value}_a"] - merged[f"{value}_b"]).groupby(merged["fold"]).mean()
    return interval(per_fold.to_numpy(), confidence)


def trend_verdict(ci: dict, expect: str) -> str:
    """'rising' is supported when the interval lies above 0; 'level' when it lies within ±LEVEL."""
    low, high = ci["low"], ci["high"]
    if not np.isfinite(low):
        return "inconclusive"
    if expect == "rising":
        return "supported" if low > 0 else "not supported" if high < 0 else "inconclusive"
    if expect == "level":
        if -LEVEL < low and high < LEVEL:
            return "supported"
        return "not supported" if low > 0 or high < 0 else "inconclusive"
    raise ValueError(expect)


def sign_verdict(ci: dict, expect: str) -> str:
    """A difference expected 'positive' or 'negative': supported when its interval excludes 0 that way."""
    low, high = ci["low"], ci["high"]
    if not np.isfinite(low):
        return "inconclusive"
    lo, hi = (low, high) if expect == "positive" else (-high, -low)
    return "supported" if lo > 0 else "not supported" if hi < 0 else "inconclusive"


def _fmt(ci: dict) -> str:
    return f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}], {ci['folds']} folds"


def trend_table(evaluation: pd.DataFrame, robustness: pd.DataFrame, warmup: int, confidence=0.95):
    """Per regime and quantity (each attack's ASR, clean accuracy, CLEVER …): the trend over epochs."""
    rows = []
    for (regime, attack), df in evaluation.groupby(["regime", "attack"]):
        quantity = "accuracy" if attack == "clean" else "asr"
        rows.append(
            {
                "regime": regime,
                "quantity": f"{quantity} ({attack})",
                **trend(df, quantity, warmup, confidence),
            }
        )
    for regime, df in robustness.groupby("regime"):
        for quantity in ("clever", "loss_sensitivity", "empirical_robustness"):
            rows.append({"regime": regime, "quantity": quantity, **trend(df, quantity, warmup, confidence)})
    return pd.DataFrame(rows).rename(columns={"mean": "spearman"})


def claims(
    evaluation,
    robustness,
    distances,
    *,
    normal: str,
    overfit: str,
    cw: str | None,
    linf_attacks: dict[str, float],
    warmup: int,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The paper's claims, each with a verdict computed from this run and the numbers behind it.

    evaluation / robustness: per-fold frames with a regime column; distances: the fold summary
    (regime, attack, quantity, mean, std, folds); linf_attacks: attack name → its eps.
    """
    rows = []

    def add(claim, verdict, evidence):
        rows.append({"claim": claim, "verdict": verdict, "evidence": evidence})

    def asr(regime, attack):
        df = evaluation[(evaluation["regime"] == regime) & (evaluation["attack"] == attack)]
        return df[["fold", "epoch", "asr"]]

    def clean(regime):
        df = evaluation[(evaluation["regime"] == regime) & (evaluation["attack"] == "clean")]
        return df[["fold", "epoch", "accuracy"]]

    after = f"Spearman ρ with the epoch after epoch {warmup}, mean [{confidence:.0%} CI]"
    if cw is not None:
        acc, ci = (
            trend(clean(normal), "accuracy", warmup, confidence),
            trend(asr(normal, cw), "asr", warmup, confidence),
        )
        add(
            f"In the {normal} regime, {cw} ASR rises as test accuracy rises",
            trend_verdict(ci, "rising") if trend_verdict(acc, "rising") == "supported" else "inconclusive",
            f"{after}: test accuracy {_fmt(acc)}; {cw} ASR {_fmt(ci)}",
        )
    for attack in sorted(evaluation.loc[evaluation["attack"] != "clean", "attack"].unique()):
        ci = trend(asr(overfit, attack), "asr", warmup, confidence)
        add(
            f"In the {overfit} regime, {attack} ASR stays level",
            trend_verdict(ci, "level"),
            f"{after}: {_fmt(ci)} (level: |ρ| < {LEVEL})",
        )
    for attack in sorted(evaluation.loc[evaluation["attack"] != "clean", "attack"].unique()):
        d = paired_difference(asr(overfit, attack), asr(normal, attack), "asr", warmup, confidence)
        add(
            f"{attack} ASR is lower when overfitting (more robust)",
            sign_verdict(d, "negative"),
            f"ASR {overfit} − {normal} at matched epochs after {warmup}, paired by fold: {_fmt(d)}",
        )
    rob = {r: robustness[robustness["regime"] == r][["fold", "epoch", "clever"]] for r in (normal, overfit)}
    d = paired_difference(rob[overfit], rob[normal], "clever", warmup, confidence)
    add(
        "CLEVER is higher when overfitting",
        sign_verdict(d, "positive"),
        f"CLEVER {overfit} − {normal} at matched epochs after {warmup}, paired by fold: {_fmt(d)}",
    )

    def dist(attack, quantity):
        hit = distances[(distances["attack"] == attack) & (distances["quantity"] == quantity)]
        return hit["mean"].to_numpy()

    for attack, eps in linf_attacks.items():
        linf = dist(attack, "linf")
        exact = len(linf) > 0 and np.allclose(linf, eps, atol=1e-4)
        add(
            f"{attack} Linf is exactly {eps:g}",
            "supported" if exact else "not supported",
            f"mean Linf per regime: {', '.join(f'{v:.5f}' for v in linf)}",
        )
    if cw is not None and linf_attacks:
        cw_l2 = dist(cw, "l2")
        other = np.concatenate([dist(a, "l2") for a in linf_attacks])
        far = len(cw_l2) > 0 and len(other) > 0 and np.nanmax(cw_l2) < 0.5 * np.nanmin(other)
        add(
            f"{cw}'s L2 is far smaller (< half) than that of the Linf attacks",
            "supported" if far else "not supported",
            f"mean L2: {cw} {', '.join(f'{v:.3f}' for v in cw_l2)}; "
            f"{'/'.join(linf_attacks)} {', '.join(f'{v:.3f}' for v in other)}",
        )
    return pd.DataFrame(rows)


def whitebox_claims(whitebox_frame, normal: str, overfit: str, warmup: int, confidence: float = 0.95):
    """Claims rows from the white-box stage: is the overfit regime more robust when each snapshot is
    attacked itself? Per APGD attack (and the worst case over the L∞ attacks) by the median minimal
    L∞ eps, and for CW by the median minimal L2, as paired differences overfit − normal at matched
    epochs after `warmup`, per fold, then a t-interval over folds.

    whitebox_frame: the per-fold whitebox.csv tables stacked, with regime and fold columns. A median
    of `inf` (more than half the images resisted every grid eps) leaves that fold out of the interval.
    """
    rows = []
    measures = [(a, "median_min_eps", "median minimal L∞ eps") for a in ("apgd-ce", "apgd-dlr", "worst")]
    measures.append(("cw", "median_min_l2", "median minimal L2"))
    for attack, value, label in measures:
        df = whitebox_frame[whitebox_frame["attack"] == attack]
        if df.empty:
            continue
        df = df.drop_duplicates(["regime", "fold", "epoch"]).replace([np.inf, -np.inf], np.nan)
        a, b = (df[df["regime"] == r][["fold", "epoch", value]] for r in (overfit, normal))
        d = paired_difference(a, b, value, warmup, confidence)
        rows.append(
            {
                "claim": f"The {overfit} regime is more robust under white-box {attack} ({label} higher)",
                "verdict": sign_verdict(d, "positive"),
                "evidence": f"{label} {overfit} − {normal} at matched epochs after {warmup}, each "
                f"snapshot attacked itself, paired by fold: {_fmt(d)}",
            }
        )
    return pd.DataFrame(rows, columns=["claim", "verdict", "evidence"])
