"""The tests behind the claims: one per kind of claim, each with the interval it inverts to and the
smallest effect it could have detected.

Every claim is tested on one value per fold (the unit of replication: a fold is one training run). Where
the regimes pair image by image, a fold's value is the mean over its paired images of a per-image
difference: the summary-statistics approach to the random-intercept model (Holmes & Friston 1998), which
gives every fold one vote, however many images it holds, so that one large fold cannot decide for five
(a fold's images are not replicates of its training run). The fold values are then tested with the
one-sample t test (`scipy.stats.ttest_1samp`), whose interval (`low`, `high`: one-sided `confidence`
bounds) is the test inverted: a claim is decided exactly when its bound excludes the null.

- *difference* ("lower / higher when overfitting"): the fold means against 0, in the claimed direction;
- *association* ("ASR rises as accuracy rises"): per fold Spearman's ρ between the two series, against 0;
- *equivalence* ("stays level"): per fold the largest departure of the series from its own mean over
  the epochs, against the margin; the departure is ≥ 0, so of the two one-sided tests of TOST only the
  upper one can fail.

When every fold gives the same value the t test is taken at its limit (the spread going to 0): p 0 on
the side the folds lie, 1 at the null, and the interval the value itself. So a flatter curve is never
less "level" than a wiggling one, nor an exact shift less "lower" than a noisy one.

Power: `detectable` is the smallest effect (in the value's units) that a one-sided t test at this number
of folds and this spread finds with probability `POWER` (`statsmodels.stats.power.TTestPower`), and
`folds_needed` the folds at which the observed effect would be found so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from robustcurves.config import default

CONFIDENCE = default("statistics", "confidence")  # the schema's: statistics.confidence
POWER = 0.8  # the conventional power of a "could have detected" statement (Cohen 1988)


def fold_test(values, confidence: float = CONFIDENCE) -> dict:
    """The one-sample t summary of per-fold `values` (NaNs dropped): {mean, low, high, sd, se, folds,
    values}. `low`/`high` are one-sided `confidence` bounds (a 2·confidence − 1 interval, as in TOST);
    NaN for fewer than 2 folds; identical folds: their value (the module docstring). Raises ValueError
    for ±inf values.
    """
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if np.isinf(v).any():
        raise ValueError("infinite per-fold value: compare censored values by rank before testing")
    n, nan = len(v), float("nan")
    out = {"folds": n, "values": v.tolist(), "mean": float(v.mean()) if n else nan}
    if n < 2:
        return out | {"low": nan, "high": nan, "sd": nan, "se": nan}
    sd = float(v.std(ddof=1))
    if np.ptp(v) <= 1e-12 * max(1.0, float(np.abs(v).max())):  # identical up to round-off
        sd = 0.0
    se = sd / np.sqrt(n)
    half = float(stats.t.ppf(confidence, n - 1)) * se
    low, high = out["mean"] - half, out["mean"] + half
    return out | {"low": low, "high": high, "sd": sd, "se": se}


def within(ci: dict, low: float, high: float) -> dict:
    """`ci` with its bounds clipped to the range the quantity can take (Spearman's ρ: [-1, 1])."""
    return ci | {"low": float(np.clip(ci["low"], low, high)), "high": float(np.clip(ci["high"], low, high))}


def image_test(images: pd.DataFrame, confidence: float = CONFIDENCE) -> dict:
    """`fold_test` of the fold means of per-image values: `images` has columns fold and value (NaN: no
    pair, dropped). Adds images (their number), per_fold (images per fold) and image_sd (the pooled
    spread of the images around their fold's mean)."""
    df = images.dropna(subset=["value"])
    if np.isinf(df["value"]).any():
        raise ValueError("infinite per-image value: compare censored values by rank before testing")
    groups = df.groupby("fold")["value"]
    n = groups.size().to_numpy()
    resid = (df["value"] - groups.transform("mean")).to_numpy()
    dof = int(n.sum()) - len(n)
    image_sd = float(np.sqrt(resid @ resid / dof)) if dof > 0 else float("nan")
    return fold_test(groups.mean().to_numpy(), confidence) | {
        "images": int(n.sum()),
        "per_fold": n.tolist(),
        "image_sd": image_sd,
    }


def pvalue(ci: dict, null: float, alternative: str) -> float:
    """One-sided p of `fold_test`'s t test that the mean is above (`greater`) or below (`less`) `null`;
    its limit for identical folds (module docstring); NaN for fewer than 2 folds."""
    if ci["folds"] < 2:
        return float("nan")
    if ci["se"] > 0:
        t = (ci["mean"] - null) / ci["se"]
        return float(
            stats.t.sf(t, ci["folds"] - 1) if alternative == "greater" else stats.t.cdf(t, ci["folds"] - 1)
        )
    side = ci["mean"] - null if alternative == "greater" else null - ci["mean"]
    return 0.0 if side > 0 else 1.0


def decide(
    ci: dict, direction: str, confidence: float = CONFIDENCE, margin: float = 0.0
) -> tuple[str, float]:
    """(verdict, p) of a claim on `fold_test`'s `ci`.

    direction `positive` / `negative`: supported when the t test finds the mean above / below 0, not
    supported when the opposite test does; `below`: the equivalence claim that the mean lies below
    `margin` (supported when the test finds it below, not supported when it finds it above). Each
    verdict's p is the test that decides it (inconclusive: the supporting test's); fewer than 2 folds:
    inconclusive, p NaN. Raises ValueError for another direction.
    """
    if direction == "below":
        claimed, other, null = "less", "greater", margin
    elif direction in ("positive", "negative"):
        claimed, other = ("greater", "less") if direction == "positive" else ("less", "greater")
        null = 0.0
    else:
        raise ValueError(f"unknown direction {direction!r}")
    inside, outside = pvalue(ci, null, claimed), pvalue(ci, null, other)
    alpha = 1 - confidence
    if inside <= alpha:
        return "supported", inside
    if outside <= alpha:
        return "not supported", outside
    return "inconclusive", inside


def detectable(ci: dict, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """The smallest true effect (distance of the mean from the null, in the values' units) that the
    one-sided t test on `ci`'s folds finds with probability `power`, at the folds' observed spread (0
    when the folds agree exactly); NaN for fewer than 2 folds."""
    if ci["folds"] < 2:
        return float("nan")
    d = TTestPower().solve_power(nobs=ci["folds"], alpha=1 - confidence, power=power, alternative="larger")
    return float(d * ci["sd"])


def folds_needed(ci: dict, null: float = 0.0, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """The folds at which the observed effect (mean − null, at the observed spread) would be found with
    probability `power` by the one-sided t test; inf when the mean sits on the null, NaN without spread."""
    if ci["folds"] < 2 or not ci["sd"] > 0:
        return float("nan")
    d = abs(ci["mean"] - null) / ci["sd"]
    if d < 1e-9:
        return float("inf")
    n = TTestPower().solve_power(effect_size=d, alpha=1 - confidence, power=power, alternative="larger")
    return float(np.ceil(max(n, 2.0)))


def spearman(x, y) -> float:
    """Spearman's ρ of two series; NaN when either is constant (no ranks to correlate)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def paired_sign(a, b) -> np.ndarray:
    """sign(a − b) per pair of censored values: `inf` (resisted every try) lies above every finite value
    and ties with `inf`, so no value is capped at a number it may lie beyond."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(invalid="ignore"):
        s = np.sign(a - b)
    return np.where(np.isinf(a) & np.isinf(b), 0.0, s)


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (statsmodels); NaNs stay NaN and do not count in the family."""
    p = np.asarray(p, float)
    out = np.full(len(p), np.nan)
    tested = np.isfinite(p)
    if tested.any():
        out[tested] = multipletests(p[tested], method="holm")[1]
    return out
