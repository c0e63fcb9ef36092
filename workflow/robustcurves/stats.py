"""Statistics beyond the paper: trends over epochs and regime differences, with confidence intervals
over folds, and the paper's claims checked against a run.

Folds are the unit of replication: each fold gives one number (a Spearman correlation, a mean
difference), and the interval is a Student-t interval over those numbers (for correlations on
Fisher's z, so it stays inside [-1, 1]). Regimes are paired by fold: fold k of every regime starts
from the same weights, validates on the same images and is measured on the same metric images with
the same CLEVER samples. Folds share most of their training data and one test set, so fold values
are not independent and the intervals are optimistic.

p-values come from the same per-fold numbers as the intervals (so a verdict and its p agree at the
run's confidence): a one-sample t-test of mean 0 (on z for correlations) for "rising" and for the
sign of a difference, and for "level" the two one-sided tests against ±artanh(LEVEL) (TOST), whose
larger p is doubled so that p < 1 - confidence exactly when the interval lies within ±LEVEL. A
verdict of "not supported" takes the p of the test that refutes the claim. Holm's step-down
adjustment runs over every claim with a p-value; deterministic checks (Linf exactness, L2 ratio)
and saturated series have none and keep their verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# |Spearman rho| below this counts as "level" (no monotone trend worth the name).
LEVEL = 0.5
# A per-fold rho of ±1 is clipped to this before Fisher's z (artanh(1) is infinite).
RHO_CLIP = 0.9999


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


def fisher_interval(rhos, confidence: float = 0.95) -> dict:
    """Mean of per-fold correlations with a Student-t interval on Fisher's z = artanh(rho), mapped back.

    On the z scale the interval is symmetric and unbounded; tanh brings it back inside [-1, 1]. A
    correlation of exactly ±1 (a monotone fold) is clipped to ±RHO_CLIP so its z stays finite; when
    every fold gives the same value the interval is that value.
    """
    v = np.asarray(rhos, float)
    v = v[np.isfinite(v)]
    n = len(v)
    out = {"mean": float(v.mean()) if n else float("nan"), "low": float("nan"), "high": float("nan")}
    out |= {"folds": n, "values": v.tolist(), "scale": "fisher"}
    if n < 2:
        return out
    if np.ptp(v) == 0:
        return out | {"low": float(v[0]), "high": float(v[0])}
    z = np.arctanh(np.clip(v, -RHO_CLIP, RHO_CLIP))
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * z.std(ddof=1) / np.sqrt(n)
    return out | {"low": float(np.tanh(z.mean() - half)), "high": float(np.tanh(z.mean() + half))}


def trend(df: pd.DataFrame, value: str, warmup: int, confidence: float = 0.95) -> dict:
    """Spearman correlation of `value` with the epoch after `warmup` epochs, per fold, then over folds.

    `df` has columns fold, epoch and `value`. A fold whose series is constant (an ASR saturated at 1,
    say) has no correlation: it is counted in `saturated` (with its `constant` value) instead of
    passing for rho = 0; the interval (`fisher_interval`) is over the other folds.
    """
    late = df[df["epoch"] > warmup]
    rhos, constant = [], []
    for _, fold in late.groupby("fold"):
        fold = fold.dropna(subset=[value])
        if fold["epoch"].nunique() < 2:
            continue
        if fold[value].nunique() == 1:
            constant.append(float(fold[value].iloc[0]))
        else:
            rhos.append(stats.spearmanr(fold["epoch"], fold[value]).statistic)
    ci = fisher_interval(rhos, confidence)
    return ci | {"saturated": len(constant), "constant": sorted(set(constant))}


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, value: str, warmup: int, confidence=0.95) -> dict:
    """Mean over matched epochs (after warm-up) of a - b, per fold, then over folds (paired by fold)."""
    merged = a.merge(b, on=["fold", "epoch"], suffixes=("_a", "_b"))
    merged = merged[merged["epoch"] > warmup]
    per_fold = (merged[f"{value}_a"] - merged[f"{value}_b"]).groupby(merged["fold"]).mean()
    ci = interval(per_fold.to_numpy(), confidence)
    return ci | {"values": [float(v) for v in per_fold.to_numpy() if np.isfinite(v)], "scale": "raw"}


def trend_verdict(ci: dict, expect: str) -> str:
    """'rising' is supported when the interval lies above 0; 'level' when it lies within ±LEVEL;
    'saturated' when every fold's series is constant (no trend can be measured)."""
    low, high = ci["low"], ci["high"]
    if ci["folds"] == 0 and ci.get("saturated", 0):
        return "saturated"
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


def _t_pvalue(values, null: float = 0.0, side: str = "two") -> float:
    """One-sample t-test of mean == null: two-sided, or one-sided 'greater' / 'less' than null."""
    v = np.asarray(values, float)
    n = len(v)
    if n < 2:
        return float("nan")
    diff, sd = v.mean() - null, v.std(ddof=1)
    if sd == 0:
        t = np.inf if diff > 0 else -np.inf if diff < 0 else 0.0
    else:
        t = diff / (sd / np.sqrt(n))
    if side == "greater":
        return float(stats.t.sf(t, n - 1))
    if side == "less":
        return float(stats.t.cdf(t, n - 1))
    return float(min(1.0, 2 * stats.t.sf(abs(t), n - 1)))


def pvalue(ci: dict, expect: str, verdict: str) -> float:
    """The p-value behind a verdict on `ci` (from `trend` or `paired_difference`); NaN when none."""
    if verdict == "saturated" or "values" not in ci:
        return float("nan")
    v = np.asarray(ci["values"], float)
    if ci.get("scale") == "fisher":
        v = np.arctanh(np.clip(v, -RHO_CLIP, RHO_CLIP))
    if expect == "level" and verdict != "not supported":
        bound = np.arctanh(LEVEL)
        return float(min(1.0, 2 * max(_t_pvalue(v, -bound, "greater"), _t_pvalue(v, bound, "less"))))
    return _t_pvalue(v)


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values; NaNs stay NaN and do not count in the family."""
    p = np.asarray(p, float)
    out = np.full(len(p), np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    if m:
        order = tested[np.argsort(p[tested], kind="stable")]
        adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
        out[order] = np.minimum(adjusted, 1.0)
    return out


def holm_verdicts(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Add `p_holm` and `verdict_holm` to a claims table with `verdict` and `p_value` columns.

    A decided verdict (supported / not supported) whose adjusted p is not below 1 - confidence
    becomes inconclusive; the others keep their raw verdict.
    """
    table = table.copy()
    table["p_holm"] = holm(table["p_value"])
    decided = table["verdict"].isin(["supported", "not supported"]) & (table["p_holm"] >= 1 - confidence)
    table["verdict_holm"] = table["verdict"].where(~decided, "inconclusive")
    return table


def _fmt(ci: dict) -> str:
    if ci["folds"] == 0 and ci.get("saturated"):
        return f"constant in all {ci['saturated']} folds (≡ {', '.join(f'{c:g}' for c in ci['constant'])})"
    text = f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}], {ci['folds']} folds"
    if ci.get("saturated"):
        text += f" ({ci['saturated']} more constant, ≡ {', '.join(f'{c:g}' for c in ci['constant'])})"
    return text


def _row(claim: str, verdict: str, evidence: str, p: float = float("nan")) -> dict:
    return {"claim": claim, "verdict": verdict, "p_value": p, "evidence": evidence}


def trend_table(evaluation: pd.DataFrame, robustness: pd.DataFrame, warmup: int, confidence=0.95):
    """Per regime and quantity (each attack's ASR and conditional ASR, clean accuracy, CLEVER …): the
    trend over epochs, leaving out degenerate snapshots."""
    evaluation, robustness = sound(evaluation), sound(robustness)
    rows = []
    for (regime, attack), df in evaluation.groupby(["regime", "attack"]):
        quantities = ["accuracy"] if attack == "clean" else ["asr", "asr_given_correct"]
        for quantity in quantities:
            if quantity not in df or df[quantity].isna().all():
                continue
            ci = trend(df, quantity, warmup, confidence)
            ci = {k: ci[k] for k in ("mean", "low", "high", "folds", "saturated")}
            rows.append({"regime": regime, "quantity": f"{quantity} ({attack})", **ci})
    for regime, df in robustness.groupby("regime"):
        for quantity in ("clever", "loss_sensitivity", "empirical_robustness"):
            ci = trend(df, quantity, warmup, confidence)
            ci = {k: ci[k] for k in ("mean", "low", "high", "folds", "saturated")}
            rows.append({"regime": regime, "quantity": quantity, **ci})
    return pd.DataFrame(rows).rename(columns={"mean": "spearman"})


def sound(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of snapshots not flagged degenerate (all rows of a frame without the flag)."""
    if "degenerate" not in df:
        return df
    return df[df["degenerate"].fillna("").astype(str) == ""]


def excluded_snapshots(*frames: pd.DataFrame) -> str:
    """'N degenerate snapshots (regime fold k epochs a–b; …)' over the frames, or 'none'."""
    flagged = [
        df.loc[df["degenerate"].fillna("").astype(str) != "", ["regime", "fold", "epoch"]]
        for df in frames
        if "degenerate" in df
    ]
    flagged = pd.concat(flagged).drop_duplicates() if flagged else pd.DataFrame()
    if flagged.empty:
        return "none"
    parts = [
        f"{regime} fold {fold} epoch {epoch_ranges(sorted(g['epoch']))}"
        for (regime, fold), g in flagged.groupby(["regime", "fold"])
    ]
    return f"{len(flagged)} degenerate ({'; '.join(parts)})"


def epoch_ranges(epochs: list[int]) -> str:
    """[1, 2, 3, 7] -> '1–3, 7'."""
    runs = []
    for e in epochs:
        if runs and e == runs[-1][1] + 1:
            runs[-1][1] = e
        else:
            runs.append([e, e])
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)


def rising_claims(evaluation, *, normal: str, cw: str | None, warmup: int, confidence: float) -> list[dict]:
    """Paper: in the normal regime, the CW attack succeeds more as test accuracy rises."""
    if cw is None:
        return []
    after = f"Spearman ρ with the epoch after epoch {warmup}, mean [{confidence:.0%} Fisher-z CI]"
    acc = trend(_series(evaluation, normal, "clean", "accuracy"), "accuracy", warmup, confidence)
    accuracy_rises = trend_verdict(acc, "rising") == "supported"
    rows = []
    for value, name in (("asr", "ASR"), ("asr_given_correct", "ASR on correctly classified originals")):
        series = _series(evaluation, normal, cw, value)
        if series[value].isna().all():
            continue
        ci = trend(series, value, warmup, confidence)
        verdict = trend_verdict(ci, "rising")
        rows.append(
            _row(
                f"In the {normal} regime, {cw} {name} rises as test accuracy rises",
                verdict if accuracy_rises or verdict == "saturated" else "inconclusive",
                f"{after}: test accuracy {_fmt(acc)}; {cw} {name} {_fmt(ci)}",
                pvalue(ci, "rising", verdict),
            )
        )
    return rows


def level_claims(evaluation, *, overfit: str, warmup: int, confidence: float) -> list[dict]:
    """Paper: when overfitting, every attack's success rate stays level over the epochs."""
    after = f"Spearman ρ with the epoch after epoch {warmup}, mean [{confidence:.0%} Fisher-z CI]"
    rows = []
    for attack in _attacks(evaluation):
        ci = trend(_series(evaluation, overfit, attack, "asr"), "asr", warmup, confidence)
        verdict = trend_verdict(ci, "level")
        rows.append(
            _row(
                f"In the {overfit} regime, {attack} ASR stays level",
                verdict,
                f"{after}: {_fmt(ci)} (level: -{LEVEL} < ρ < {LEVEL})",
                pvalue(ci, "level", verdict),
            )
        )
    return rows


def difference_claims(evaluation, *, normal: str, overfit: str, warmup: int, confidence: float) -> list[dict]:
    """Paper: every attack succeeds less against the overfit regime (plain and conditional ASR)."""
    rows = []
    for value, name in (("asr", "ASR"), ("asr_given_correct", "ASR on correctly classified originals")):
        for attack in _attacks(evaluation):
            a, b = _series(evaluation, overfit, attack, value), _series(evaluation, normal, attack, value)
            if a[value].isna().all() and b[value].isna().all():
                continue
            d = paired_difference(a, b, value, warmup, confidence)
            verdict = sign_verdict(d, "negative")
            rows.append(
                _row(
                    f"{attack} {name} is lower when overfitting (more robust)",
                    verdict,
                    f"{name} {overfit} − {normal} at matched epochs after {warmup}, "
                    f"paired by fold: {_fmt(d)}",
                    pvalue(d, "negative", verdict),
                )
            )
    return rows


def clever_claims(robustness, *, normal: str, overfit: str, warmup: int, confidence: float) -> list[dict]:
    """Paper: CLEVER scores are higher when overfitting."""
    rob = {r: robustness[robustness["regime"] == r][["fold", "epoch", "clever"]] for r in (normal, overfit)}
    d = paired_difference(rob[overfit], rob[normal], "clever", warmup, confidence)
    verdict = sign_verdict(d, "positive")
    return [
        _row(
            "CLEVER is higher when overfitting",
            verdict,
            f"CLEVER (mean over images with an accepted fit) {overfit} − {normal} at matched epochs "
            f"after {warmup}, paired by fold: {_fmt(d)}",
            pvalue(d, "positive", verdict),
        )
    ]


def distance_claims(distances, *, cw: str | None, linf_attacks: dict[str, float]) -> list[dict]:
    """Paper: FGSM/PGD use exactly their eps in Linf; CW's L2 is far smaller. Deterministic checks."""

    def dist(attack, quantity):
        hit = distances[(distances["attack"] == attack) & (distances["quantity"] == quantity)]
        return hit["mean"].to_numpy()

    rows = []
    for attack, eps in linf_attacks.items():
        linf = dist(attack, "linf")
        exact = len(linf) > 0 and np.allclose(linf, eps, atol=1e-4)
        rows.append(
            _row(
                f"{attack} Linf is exactly {eps:g}",
                "supported" if exact else "not supported",
                f"mean Linf per regime: {', '.join(f'{v:.5f}' for v in linf)}",
            )
        )
    if cw is not None and linf_attacks:
        cw_l2 = dist(cw, "l2")
        other = np.concatenate([dist(a, "l2") for a in linf_attacks])
        far = len(cw_l2) > 0 and len(other) > 0 and np.nanmax(cw_l2) < 0.5 * np.nanmin(other)
        rows.append(
            _row(
                f"{cw}'s L2 is far smaller (< half) than that of the Linf attacks",
                "supported" if far else "not supported",
                f"mean L2: {cw} {', '.join(f'{v:.3f}' for v in cw_l2)}; "
                f"{'/'.join(linf_attacks)} {', '.join(f'{v:.3f}' for v in other)}",
            )
        )
    return rows


def _series(evaluation, regime: str, attack: str, value: str) -> pd.DataFrame:
    df = evaluation[(evaluation["regime"] == regime) & (evaluation["attack"] == attack)]
    if value not in df:
        return df[["fold", "epoch"]].assign(**{value: np.nan})
    return df[["fold", "epoch", value]]


def _attacks(evaluation) -> list[str]:
    return sorted(evaluation.loc[evaluation["attack"] != "clean", "attack"].unique())


def clever_exclusions(robustness: pd.DataFrame, warmup: int) -> str:
    """How many metric images had no accepted CLEVER fit, over the snapshots the claims use."""
    if "clever_rejected" not in robustness:
        return ""
    late = robustness[(robustness["epoch"] > warmup) & robustness["clever_rejected"].notna()]
    images = int(late["samples"].sum())
    rejected = int(round((late["clever_rejected"] * late["samples"]).sum()))
    return f"CLEVER: {rejected} of {images} image scores rejected (Weibull fit check)" if images else ""


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
    whitebox: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The paper's claims (and ours on the white-box stage, given its frame), each with a raw and a
    Holm-adjusted verdict computed from this run, its p-values, the numbers behind it and what was
    excluded.

    evaluation / robustness: per-fold frames with a regime column; distances: the fold summary
    (regime, attack, quantity, mean, std, folds); linf_attacks: attack name → its eps. Degenerate
    snapshots (a `degenerate` reason) are left out of every claim and named in `excluded`.
    """
    skipped = excluded_snapshots(evaluation, robustness)
    ev, rob = sound(evaluation), sound(robustness)
    common = {"warmup": warmup, "confidence": confidence}
    rows = [
        *rising_claims(ev, normal=normal, cw=cw, **common),
        *level_claims(ev, overfit=overfit, **common),
        *difference_claims(ev, normal=normal, overfit=overfit, **common),
    ]
    for row in rows:
        row["excluded"] = f"snapshots: {skipped}"
    clever_rows = clever_claims(rob, normal=normal, overfit=overfit, **common)
    images = clever_exclusions(rob, warmup)
    for row in clever_rows:
        row["excluded"] = f"snapshots: {skipped}" + (f"; {images}" if images else "")
    rows += clever_rows
    rows += [
        row | {"excluded": "none (per-image distances of the crafted sets)"}
        for row in distance_claims(distances, cw=cw, linf_attacks=linf_attacks)
    ]
    if whitebox is not None:
        rows += [
            row | {"excluded": "none (every attacked snapshot; masking flags in whitebox.csv)"}
            for row in whitebox_claims(whitebox, normal=normal, overfit=overfit, **common)
        ]
    table = holm_verdicts(pd.DataFrame(rows), confidence)
    return table[["claim", "verdict", "verdict_holm", "p_value", "p_holm", "evidence", "excluded"]]


def whitebox_claims(whitebox, *, normal: str, overfit: str, warmup: int, confidence: float) -> list[dict]:
    """Ours, beyond the paper: is the overfit regime more robust when each snapshot is attacked itself?
    Per APGD loss (and the worst case over the L∞ attacks) by the median minimal L∞ eps, and for CW by
    the median minimal L2: paired differences overfit − normal at matched epochs after `warmup`, per
    fold, then a t-interval over folds.

    whitebox: the per-fold whitebox.csv tables stacked, with regime and fold columns. A median of `inf`
    (more than half the images resisted every grid eps) leaves that fold out of the interval.
    """
    rows = []
    measures = [(a, "median_min_eps", "median minimal L∞ eps") for a in ("apgd-ce", "apgd-dlr", "worst")]
    measures.append(("cw", "median_min_l2", "median minimal L2"))
    for attack, value, label in measures:
        df = whitebox[whitebox["attack"] == attack]
        if df.empty:
            continue
        df = df.drop_duplicates(["regime", "fold", "epoch"]).replace([np.inf, -np.inf], np.nan)
        a, b = (df[df["regime"] == r][["fold", "epoch", value]] for r in (overfit, normal))
        d = paired_difference(a, b, value, warmup, confidence)
        verdict = sign_verdict(d, "positive")
        rows.append(
            _row(
                f"The {overfit} regime is more robust under white-box {attack} ({label} higher)",
                verdict,
                f"{label} {overfit} − {normal} at matched epochs after {warmup}, each snapshot attacked "
                f"itself, paired by fold: {_fmt(d)}",
                pvalue(d, "positive", verdict),
            )
        )
    return rows
