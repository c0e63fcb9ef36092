"""Statistics beyond the paper: trends over epochs and regime differences, and the paper's claims checked
against a run. docs/statistics.md explains the choices; in short:

Trend claims (a Spearman correlation with the epoch per fold) and the white-box differences have one
number per fold, and their verdicts are an exact sign-flip test on those numbers
(`scipy.stats.permutation_test`, all 2^n sign vectors): with 5 folds no p-value goes below 1/32. The
interval is that test inverted (the nulls it does not reject, one-sided at 1 - confidence on each side).

Regime differences whose images pair (the transfer ASR per attacked test image, CLEVER per metric image:
fold k of both regimes sees the same test images) are tested at the image level with the fold as a
random effect: a random-intercept model fitted in two stages (per fold the mean paired difference over
its images and its variance from the pooled image-level spread; then `statsmodels`' random-effects
combination with the Paule-Mandel between-fold variance) and a t reference with folds - 1 degrees of
freedom (the modified Knapp-Hartung interval). The p-value and the interval come from one standard
error, so they agree by construction, and the estimate lies at the interval's centre.

In both, the verdict, the p-value and the interval agree by construction. "level" is an equivalence
claim: the two one-sided tests against ±LEVEL (TOST). Holm's step-down adjustment
(`statsmodels.stats.multitest.multipletests`) runs over every claim with a p-value.

Folds share most of their training data and one test set, so fold values are not independent and
the p-values are optimistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from robustcurves.config import default

# |Spearman rho| below this counts as "level" (no monotone trend worth the name): the equivalence band.
LEVEL = 0.5
# The exact test enumerates 2^folds sign vectors.
MAX_FOLDS = 20  # the config schema's most folds
SNAPSHOT = ["regime", "fold", "epoch"]
CONFIDENCE = default("statistics", "confidence")  # the schema's: statistics.confidence


def _finite(values) -> np.ndarray:
    """The values without NaNs (a missing fold); ±inf must have been censored before."""
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if np.isinf(v).any():
        raise ValueError("infinite per-fold value: censor it to a finite bound before testing")
    if len(v) > MAX_FOLDS:
        raise ValueError(f"{len(v)} folds: the exact sign-flip test enumerates 2^n, at most {MAX_FOLDS}")
    return v


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def flip_pvalue(values, null: float = 0.0, alternative: str = "greater") -> float:
    """Exact one-sided p of the sign-flip test that the mean of per-fold `values` is above
    (`greater`) or below (`less`) `null`; NaN for fewer than 2 values.

    Ties and zero variance need no special case: a value equal to `null` flips onto itself, so it
    only makes p larger; n identical values give 1/2^n, never 0. Raises ValueError as `_finite`.
    """
    v = _finite(values)
    if len(v) < 2:  # scipy needs two; one fold could not reach p < 1/2 anyway
        return float("nan")
    # n_resamples=inf: every sign vector, an exact p
    kw = {
        "permutation_type": "samples",
        "vectorized": True,
        "n_resamples": np.inf,
        "batch": 2**16,  # bounds memory (and time) at 20 folds' 2^20 sign vectors
        "alternative": alternative,
    }
    return float(stats.permutation_test((v - null,), _mean, **kw).pvalue)


def _lower_bound(v: np.ndarray, alpha: float) -> float:
    """The smallest null that the test 'mean > null' does not reject at `alpha` (-inf if it rejects none).

    Flipping the signs of a set F of the values v - null reaches the observed mean or more exactly
    when mean(v[F]) ≤ null, so p(null) = (1 + #{F ≠ ∅: mean(v[F]) ≤ null}) / 2^n: the null is kept
    from the K-th smallest subset mean on, K = floor(alpha · 2^n) (tests/test_statistics.py checks this
    against scipy's p). Means equal but for round-off are read from their smallest subset, so a
    bound that is one fold's value is that value exactly.
    """
    k = int(np.floor(alpha * 2 ** len(v)))
    if k == 0:
        return -np.inf
    sums, sizes = np.zeros(1), np.zeros(1, int)
    for x in v:  # every subset's sum and size, by doubling (2^n of each, not a 2^n × n mask)
        sums, sizes = np.concatenate([sums, sums + x]), np.concatenate([sizes, sizes + 1])
    means, sizes = sums[1:] / sizes[1:], sizes[1:]
    keys = np.round(means / (np.abs(v).max() or 1.0), 12)
    order = np.lexsort((sizes, keys))
    first = np.searchsorted(keys[order], keys[order][k - 1])  # the K-th's tie group, smallest subset first
    return float(means[order][first])


def flip_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """(low, high): the nulls neither one-sided sign-flip test rejects at 1 - confidence.

    Each bound is a one-sided `confidence` bound (together a 2·confidence - 1 interval, as in TOST),
    so 'mean > 0' is supported exactly when low > 0. With n folds a bound is finite only when
    1/2^n ≤ 1 - confidence (5 folds at 95 %); with 5 folds it is the smallest (largest) fold value.
    NaN for fewer than 2 values.
    """
    v = _finite(values)
    if len(v) < 2:  # no test, no interval
        return float("nan"), float("nan")
    alpha = 1 - confidence
    return _lower_bound(v, alpha), 0.0 - _lower_bound(-v, alpha)  # 0.0 -: no "-0.000"


def fold_summary(values, confidence: float = CONFIDENCE) -> dict:
    """{mean, low, high, folds, values} of per-fold values (NaNs dropped), the interval `flip_interval`'s."""
    v = _finite(values)
    low, high = flip_interval(v, confidence)
    mean = float(v.mean()) if len(v) else float("nan")
    return {"mean": mean, "low": low, "high": high, "folds": len(v), "values": v.tolist()}


def trend(df: pd.DataFrame, value: str, warmup: int, confidence: float = CONFIDENCE) -> dict:
    """Spearman correlation of `value` with the epoch after `warmup` epochs, per fold, then over folds.

    `df` has columns fold, epoch and `value`. A fold whose series is constant (an ASR saturated at 1,
    say) shows no trend: it enters as rho = 0 and is counted in `saturated` (with its `constant`
    value). When every fold is constant nothing is tested (`folds` 0: the verdict is "saturated").
    The interval is `flip_interval`'s, within [-1, 1].
    """
    late = df[df["epoch"] > warmup]
    rhos, constant = [], []
    for _, fold in late.groupby("fold"):
        fold = fold.dropna(subset=[value])
        if fold["epoch"].nunique() < 2:
            continue
        if fold[value].nunique() == 1:
            constant.append(float(fold[value].iloc[0]))
            rhos.append(0.0)
        else:
            rhos.append(stats.spearmanr(fold["epoch"], fold[value]).statistic)
    if len(constant) == len(rhos):
        rhos = []
    ci = fold_summary(rhos, confidence)
    ci |= {"low": float(np.clip(ci["low"], -1, 1)), "high": float(np.clip(ci["high"], -1, 1))}
    return ci | {"saturated": len(constant), "constant": sorted(set(constant))}


def paired_difference(
    a: pd.DataFrame, b: pd.DataFrame, value: str, warmup: int, confidence=CONFIDENCE
) -> dict:
    """Mean over matched epochs (after warm-up) of a - b, per fold, then over folds (paired by fold).

    a, b: columns fold, epoch and finite `value` (NaN: not measured). Returns `fold_summary`'s dict.
    """
    merged = a.merge(b, on=["fold", "epoch"], suffixes=("_a", "_b"))
    merged = merged[merged["epoch"] > warmup]
    per_fold = (merged[f"{value}_a"] - merged[f"{value}_b"]).groupby(merged["fold"]).mean()
    return fold_summary(per_fold.to_numpy(), confidence)


def random_intercept(images: pd.DataFrame, confidence: float = CONFIDENCE) -> dict:
    """The mean of per-image paired differences with the fold as a random effect, and its interval.

    `images`: one row per image, columns fold and value (NaN: no pair, dropped). The model is
    value = mean + u_fold + e_image, with u ~ N(0, tau²) and e ~ N(0, sigma²); it is fitted in two
    stages: per fold the mean over its images, with variance sigma²/n_fold (sigma² pooled within
    folds, so a fold whose images all agree does not get certainty), then the folds combined by
    `statsmodels.stats.meta_analysis.combine_effects` (Paule-Mandel tau², random-effects weights).
    Its standard error is the larger of the model's and the Knapp-Hartung one (the "modified
    Knapp-Hartung" interval), with a t reference on folds - 1 degrees of freedom: when the folds
    disagree, tau² and so the interval grow with them, and the test tends to the one-sample t test on
    the fold means; when they agree (tau² = 0), the images set its width. `low`/`high` are one-sided
    `confidence` bounds, so `pvalue` ≤ 1 - confidence exactly when a bound excludes the null.

    One fold (0 degrees of freedom) gives no interval and no test. Images without any spread within
    their folds (every difference of a fold the same, as when all differences are 0) carry nothing
    beyond their fold's value: the result is then `fold_summary`'s exact sign-flip test on the fold
    means (`test` "flip"), which handles zero variance without certainty. Raises ValueError for ±inf.
    """
    df = images.dropna(subset=["value"])
    if np.isinf(df["value"]).any():
        raise ValueError("infinite per-image value: censor it to a finite bound before testing")
    groups = df.groupby("fold")["value"]
    n, means = groups.size().to_numpy(), groups.mean().to_numpy()
    k, total = len(n), int(n.sum())
    base = {"images": total, "per_fold": n.tolist(), "folds": k, "values": means.tolist()}
    nan = float("nan")
    # round-off of identical values (a mean of equal numbers) is no spread
    resid = (df["value"] - groups.transform("mean")).to_numpy(copy=True)
    scale = float(np.abs(df["value"]).max()) if total else 0.0
    resid[np.abs(resid) <= 1e-12 * max(scale, 1e-300)] = 0.0
    sigma2 = float(resid @ resid / (total - k)) if total > k else nan
    if k >= 2 and not sigma2 > 0:
        return fold_summary(means, confidence) | base | {"test": "flip", "no_spread": True}
    out = base | {"test": "t", "df": k - 1, "sigma": float(np.sqrt(sigma2)) if sigma2 >= 0 else nan}
    if k < 2:  # no between-fold variance, no degrees of freedom: no test
        mean = float(means[0]) if k else nan
        return out | {"mean": mean, "low": nan, "high": nan, "se": nan, "tau": nan}
    with np.errstate(divide="ignore", invalid="ignore"):
        res = combine_effects(means, sigma2 / n, method_re="pm", use_t=True)
    se = float(np.sqrt(max(res.var_eff_w_re, res.var_hksj_re)))
    mean, q = float(res.mean_effect_re), float(stats.t.ppf(confidence, k - 1))
    return out | {
        "mean": mean,
        "low": mean - q * se,
        "high": mean + q * se,
        "se": se,
        "tau": float(np.sqrt(res.tau2)),
    }


def pvalue(ci: dict, null: float, alternative: str) -> float:
    """One-sided p of the test behind `ci`: the image-level t test of `random_intercept` (ci["test"]
    "t"), else the exact sign-flip test on the per-fold `ci["values"]`. NaN where there is no test."""
    if ci.get("test") != "t":
        return flip_pvalue(ci["values"], null, alternative)
    if not (ci["df"] >= 1 and ci["se"] > 0):
        return float("nan")
    t = (ci["mean"] - null) / ci["se"]
    return float(stats.t.sf(t, ci["df"]) if alternative == "greater" else stats.t.cdf(t, ci["df"]))


def decide(ci: dict, expect: str, confidence: float = CONFIDENCE) -> tuple[str, float]:
    """(verdict, p) of a claim on `ci`: per-fold numbers (`ci["values"]`, from `trend`,
    `paired_difference` or `fold_summary`) or an image-level estimate (`random_intercept`); `pvalue`.

    expect 'positive' (or 'rising'): supported when the sign-flip test finds the mean above 0, not
    supported when it finds it below 0; 'negative' the mirror image; 'level': supported when both
    one-sided tests place the mean inside ±LEVEL (TOST, p the larger of the two), not supported when
    one places it outside the band. Each verdict's p is the test that decides it (inconclusive: the
    supporting test's). 'saturated' (p NaN) when every fold was constant; fewer than 2 folds:
    inconclusive, p NaN. Raises ValueError for another `expect`.
    """
    if ci["folds"] == 0 and ci.get("saturated"):
        return "saturated", float("nan")
    alpha = 1 - confidence
    if expect == "level":
        inside = max(pvalue(ci, -LEVEL, "greater"), pvalue(ci, LEVEL, "less"))
        outside = min(pvalue(ci, LEVEL, "greater"), pvalue(ci, -LEVEL, "less"))
    elif expect in ("positive", "rising", "negative"):
        side, other = ("less", "greater") if expect == "negative" else ("greater", "less")
        inside, outside = pvalue(ci, 0.0, side), pvalue(ci, 0.0, other)
    else:
        raise ValueError(f"unknown expectation {expect!r}")
    if inside <= alpha:
        return "supported", inside
    if outside <= alpha:
        return "not supported", outside
    return "inconclusive", inside


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (statsmodels); NaNs stay NaN and do not count in the family."""
    p = np.asarray(p, float)
    out = np.full(len(p), np.nan)
    tested = np.isfinite(p)
    if tested.any():
        out[tested] = multipletests(p[tested], method="holm")[1]
    return out


def holm_verdicts(table: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Add `p_holm` and `verdict_holm` to a claims table with `verdict` and `p_value` columns.

    A decided verdict (supported / not supported) whose adjusted p exceeds 1 - confidence becomes
    inconclusive; the others keep their raw verdict.
    """
    table = table.copy()
    table["p_holm"] = holm(table["p_value"])
    decided = table["verdict"].isin(["supported", "not supported"]) & (table["p_holm"] > 1 - confidence)
    table["verdict_holm"] = table["verdict"].where(~decided, "inconclusive")
    return table


def _fmt(ci: dict) -> str:
    constant = ", ".join(f"{c:g}" for c in ci.get("constant", []))
    if ci["folds"] == 0 and ci.get("saturated"):
        return f"constant in all {ci['saturated']} folds (≡ {constant})"
    text = f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}], {ci['folds']} folds"
    if ci.get("saturated"):
        text += f" ({ci['saturated']} of them constant, ≡ {constant}: ρ = 0)"
    return text


def _fmt_images(ci: dict) -> str:
    """'+0.040 [+0.027, +0.054], 1000 images in 5 folds (200–200 per fold); random intercept …'."""
    if not ci["images"]:
        return "no image pairs"
    per_fold = f"{min(ci['per_fold'])}–{max(ci['per_fold'])} per fold"
    text = f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}], {ci['images']} images in "
    text += f"{ci['folds']} folds ({per_fold})"
    if ci["test"] == "flip":
        return text + "; no spread among the images within any fold: exact sign-flip test over the fold means"
    if ci["folds"] < 2:
        return text + "; one fold: no between-fold variance, no test"
    return text + (
        f"; random intercept per fold: between-fold SD {ci['tau']:.3f}, image SD {ci['sigma']:.3f}, "
        f"t with {ci['df']} df"
    )


def _image_bounds(confidence: float) -> str:
    return (
        f"image-level paired test with the fold as a random effect, "
        f"estimate [lower, upper: one-sided {confidence:.0%} bounds]"
    )


def _bounds(confidence: float) -> str:
    return f"mean [lower, upper: one-sided {confidence:.0%} bounds, exact sign-flip test over folds]"


def _row(claim: str, verdict: str, evidence: str, p: float = float("nan")) -> dict:
    return {"claim": claim, "verdict": verdict, "p_value": p, "evidence": evidence}


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


def sound(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of snapshots not flagged degenerate (all rows of a frame without the flag)."""
    if "degenerate" not in df:
        return df
    return df[df["degenerate"].fillna("").astype(str) == ""]


def flagged_snapshots(*frames: pd.DataFrame) -> pd.DataFrame:
    """(regime, fold, epoch) of every snapshot some frame flags degenerate (a non-empty reason)."""
    parts = [
        df.loc[df["degenerate"].fillna("").astype(str) != "", SNAPSHOT] for df in frames if "degenerate" in df
    ]
    return pd.concat(parts).drop_duplicates() if parts else pd.DataFrame(columns=SNAPSHOT)


def drop_snapshots(df: pd.DataFrame, flagged: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of `df` (with regime, fold, epoch columns) whose snapshot is not in `flagged`."""
    if flagged is None or flagged.empty or df.empty:
        return df
    return df[~pd.MultiIndex.from_frame(df[SNAPSHOT]).isin(pd.MultiIndex.from_frame(flagged[SNAPSHOT]))]


def describe_snapshots(flagged: pd.DataFrame) -> str:
    """'N degenerate (regime fold k epoch a–b; …)', or 'none'."""
    if flagged.empty:
        return "none"
    parts = [
        f"{regime} fold {fold} epoch {epoch_ranges(sorted(g['epoch']))}"
        for (regime, fold), g in flagged.groupby(["regime", "fold"])
    ]
    return f"{len(flagged)} degenerate ({'; '.join(parts)})"


def excluded_snapshots(*frames: pd.DataFrame) -> str:
    """'N degenerate snapshots (regime fold k epochs a–b; …)' over the frames, or 'none'."""
    return describe_snapshots(flagged_snapshots(*frames))


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
    """Paper: in the normal regime, the CW attack succeeds more as test accuracy rises.

    Both must rise (an intersection-union test: supported when both sign-flip tests are, p the larger
    of their two p's); not supported when the ASR falls.
    """
    if cw is None:
        return []
    after = f"Spearman ρ with the epoch after epoch {warmup}, {_bounds(confidence)}"
    acc = trend(_series(evaluation, normal, "clean", "accuracy"), "accuracy", warmup, confidence)
    acc_verdict, acc_p = decide(acc, "rising", confidence)
    acc_p = acc_p if np.isfinite(acc_p) else 1.0  # an untestable (saturated) accuracy does not rise
    rows = []
    for value, name in (("asr", "ASR"), ("asr_given_correct", "ASR on correctly classified originals")):
        series = _series(evaluation, normal, cw, value)
        if series[value].isna().all():
            continue
        ci = trend(series, value, warmup, confidence)
        verdict, p = decide(ci, "rising", confidence)
        if verdict in ("supported", "inconclusive"):
            p = max(p, acc_p) if np.isfinite(p) else p
            verdict = verdict if acc_verdict == "supported" else "inconclusive"
        rows.append(
            _row(
                f"In the {normal} regime, {cw} {name} rises as test accuracy rises",
                verdict,
                f"{after}: test accuracy {_fmt(acc)}; {cw} {name} {_fmt(ci)}",
                p,
            )
        )
    return rows


def level_claims(evaluation, *, overfit: str, warmup: int, confidence: float) -> list[dict]:
    """Paper: when overfitting, every attack's success rate stays level over the epochs (equivalence:
    the trend lies within ±LEVEL)."""
    after = f"Spearman ρ with the epoch after epoch {warmup}, {_bounds(confidence)}"
    rows = []
    for attack in _attacks(evaluation):
        ci = trend(_series(evaluation, overfit, attack, "asr"), "asr", warmup, confidence)
        verdict, p = decide(ci, "level", confidence)
        rows.append(
            _row(
                f"In the {overfit} regime, {attack} ASR stays level",
                verdict,
                f"{after}: {_fmt(ci)} (level: both bounds within ±{LEVEL}; refuted: both outside)",
                p,
            )
        )
    return rows


def difference_claims(
    evaluation, *, normal: str, overfit: str, warmup: int, confidence: float, images=None, flagged=None
) -> list[dict]:
    """Paper: every attack succeeds less against the overfit regime (plain and conditional ASR).

    With per-image records (`images`: the per-fold evaluation_images.csv tables stacked, see
    `image_differences`): an image-level paired test (`random_intercept`) on the test images attacked in
    both regimes. Without them (older runs, or an attack they lack): per fold the mean over matched
    epochs, then the sign-flip test over folds. Each row carries an `excluded` text on the images when
    they are used (else None).
    """
    rows = []
    for value, name in (("asr", "ASR"), ("asr_given_correct", "ASR on correctly classified originals")):
        given = value == "asr_given_correct"
        per_image = None
        if images is not None and not images.empty:
            per_image = image_differences(
                images, normal=normal, overfit=overfit, warmup=warmup, flagged=flagged, given_correct=given
            )
        for attack in _attacks(evaluation):
            a, b = _series(evaluation, overfit, attack, value), _series(evaluation, normal, attack, value)
            if a[value].isna().all() and b[value].isna().all():
                continue
            claim = f"{attack} {name} is lower when overfitting (more robust)"
            if per_image is None or attack not in set(images["attack"]):
                d = paired_difference(a, b, value, warmup, confidence)
                verdict, p = decide(d, "negative", confidence)
                evidence = (
                    f"{name} {overfit} − {normal} at matched epochs after {warmup}, "
                    f"paired by fold, {_bounds(confidence)}: {_fmt(d)}"
                )
                rows.append(_row(claim, verdict, evidence, p) | {"excluded": None})
                continue
            mine = per_image[per_image["attack"] == attack]
            d = random_intercept(mine, confidence)
            verdict, p = decide(d, "negative", confidence)
            attacked = {r: per_image.attrs["attacked"].get((r, attack), 0) for r in (overfit, normal)}
            condition = (
                ", at the epochs where both snapshots classify the original correctly" if given else ""
            )
            evidence = (
                f"{name} per attacked test image, {overfit} − {normal} (fooled 1, else 0) at matched epochs "
                f"after {warmup}{condition}, averaged over the image's epochs; "
                f"{_image_bounds(confidence)}: {_fmt_images(d)}"
            )
            unpaired = attacked[overfit] + attacked[normal] - 2 * d["images"]
            excluded = (
                f"images: {d['images']} attacked in both regimes pair, of {attacked[overfit]} {overfit} and "
                f"{attacked[normal]} {normal} ({unpaired} attacked in one regime only"
                + (" or never both correct" if given else "")
                + ")"
            )
            rows.append(_row(claim, verdict, evidence, p) | {"excluded": excluded})
    return rows


IMAGE_KEYS = ["fold", "epoch", "attack", "test_index"]


def image_differences(
    images: pd.DataFrame, *, normal: str, overfit: str, warmup: int, flagged=None, given_correct=False
) -> pd.DataFrame:
    """Per attack and test image attacked in both regimes: the mean over matched epochs after `warmup`
    of fooled(overfit) − fooled(normal), each regime's own adversarial of that image replayed on its
    own snapshot of that epoch.

    images: the per-fold evaluation_images.csv tables stacked (regime, fold, epoch, attack, test_index,
    fooled, correct). Snapshots in `flagged` are left out. `given_correct`: only the epochs at which
    both regimes' snapshots classify the clean original correctly. Returns columns attack, fold,
    test_index, value, epochs (how many epochs paired); `attrs["attacked"]` maps (regime, attack) to
    how many (fold, test image) that regime attacked.
    """
    df = drop_snapshots(images[images["epoch"] > warmup], flagged)
    attacked = (
        df.drop_duplicates(["regime", "attack", "fold", "test_index"]).groupby(["regime", "attack"]).size()
    )
    a, b = (df[df["regime"] == r] for r in (overfit, normal))
    pairs = a.merge(b, on=IMAGE_KEYS, suffixes=("_a", "_b"))
    if given_correct:
        pairs = pairs[pairs["correct_a"].astype(bool) & pairs["correct_b"].astype(bool)]
    difference = pairs["fooled_a"].astype(float) - pairs["fooled_b"].astype(float)
    out = (
        pairs.assign(difference=difference)
        .groupby(["attack", "fold", "test_index"])["difference"]
        .agg(value="mean", epochs="size")
        .reset_index()
    )
    out.attrs["attacked"] = {key: int(v) for key, v in attacked.items()}
    return out


def clever_pairs(clever: pd.DataFrame, *, normal: str, overfit: str, warmup: int, flagged=None):
    """Per-image CLEVER scores of both regimes on the same (fold, epoch, image), after warm-up.

    clever: the per-fold clever.csv tables stacked (regime, fold, epoch, image, score; score NaN where
    the fit was rejected). Snapshots in `flagged` are left out. Returns one row per matched (fold,
    epoch, image) with `difference` = overfit − normal, NaN where either regime's fit was rejected.
    """
    df = drop_snapshots(clever[clever["epoch"] > warmup], flagged)
    keys = ["fold", "epoch", "image"]
    a, b = (df[df["regime"] == r][[*keys, "score"]] for r in (overfit, normal))
    pairs = a.merge(b, on=keys, suffixes=("_a", "_b"))
    return pairs.assign(difference=pairs["score_a"] - pairs["score_b"])


def clever_claims(
    robustness, *, normal: str, overfit: str, warmup: int, confidence: float, clever=None, flagged=None
) -> list[dict]:
    """Paper: CLEVER scores are higher when overfitting.

    With per-image scores (`clever`, see `clever_pairs`): per metric image the mean of overfit − normal
    over the epochs where both regimes' fits were accepted, so both regimes are scored on the same
    images; then the image-level test with the fold as a random effect (`random_intercept`). Without
    them (older runs): the per-snapshot means of `robustness`, over images with an accepted fit, which
    differ between snapshots, and the sign-flip test over folds.
    """
    if clever is None or "score" not in clever or clever.empty:
        a, b = (robustness[robustness["regime"] == r][["fold", "epoch", "clever"]] for r in (overfit, normal))
        d = paired_difference(a, b, "clever", warmup, confidence)
        evidence = (
            "CLEVER (mean over images with an accepted fit, not the same images per snapshot) "
            f"{overfit} − {normal} at matched epochs after {warmup}, {_bounds(confidence)}: {_fmt(d)}"
        )
        images = clever_exclusions(robustness, warmup)
    else:
        pairs = clever_pairs(clever, normal=normal, overfit=overfit, warmup=warmup, flagged=flagged)
        kept = pairs.dropna(subset=["difference"])
        per_image = kept.groupby(["fold", "image"])["difference"].mean().rename("value").reset_index()
        d = random_intercept(per_image, confidence)
        evidence = (
            f"CLEVER per metric image, {overfit} − {normal} at matched epochs after {warmup} where both "
            f"regimes' fits were accepted ({len(kept)} image-epoch pairs), averaged over the image's epochs; "
            f"{_image_bounds(confidence)}: {_fmt_images(d)}"
        )
        images = f"CLEVER: {len(pairs) - len(kept)} of {len(pairs)} image-epoch pairs left out (fit rejected)"
    verdict, p = decide(d, "positive", confidence)
    skipped = describe_snapshots(flagged if flagged is not None else flagged_snapshots(robustness))
    excluded = f"snapshots: {skipped}" + (f"; {images}" if images else "")
    return [_row("CLEVER is higher when overfitting", verdict, evidence, p) | {"excluded": excluded}]


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
    confidence: float = CONFIDENCE,
    whitebox: pd.DataFrame | None = None,
    clever: pd.DataFrame | None = None,
    images: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The paper's claims (and ours on the white-box stage, given its frame), each with a raw and a
    Holm-adjusted verdict computed from this run, its p-values, the numbers behind it and what was
    excluded.

    evaluation / robustness: per-fold frames with a regime column; distances: the fold summary
    (regime, attack, quantity, mean, std, folds); linf_attacks: attack name → its eps; whitebox /
    clever / images: the per-fold whitebox.csv / clever.csv / evaluation_images.csv tables stacked
    (optional; with clever and images the regime differences are image-level paired tests).
    Degenerate snapshots (a `degenerate` reason in evaluation or robustness) are left out of every
    claim and named in `excluded`.
    """
    flagged = flagged_snapshots(evaluation, robustness)
    ev, rob = sound(evaluation), sound(robustness)
    common = {"warmup": warmup, "confidence": confidence}
    rows = [
        *rising_claims(ev, normal=normal, cw=cw, **common),
        *level_claims(ev, overfit=overfit, **common),
        *difference_claims(ev, normal=normal, overfit=overfit, images=images, flagged=flagged, **common),
    ]
    skipped = f"snapshots: {describe_snapshots(flagged)}"
    rows = [row | {"excluded": "; ".join(filter(None, (skipped, row.get("excluded"))))} for row in rows]
    rows += clever_claims(rob, normal=normal, overfit=overfit, clever=clever, flagged=flagged, **common)
    rows += [
        row | {"excluded": "none (per-image distances of the crafted sets)"}
        for row in distance_claims(distances, cw=cw, linf_attacks=linf_attacks)
    ]
    if whitebox is not None:
        rows += whitebox_claims(whitebox, normal=normal, overfit=overfit, flagged=flagged, **common)
    table = holm_verdicts(pd.DataFrame(rows), confidence)
    return table[["claim", "verdict", "verdict_holm", "p_value", "p_holm", "evidence", "excluded"]]


def _ceiling(rows: pd.DataFrame, value: str) -> float:
    """Where an `inf` median (more than half the images resisted every try) is censored: the largest
    grid eps for L∞ (the bisection's ceiling: the true median lies above it) or, without a grid (CW),
    the largest finite median measured. 0 when nothing is finite (every median inf: all tie)."""
    finite = rows[value][np.isfinite(rows[value])]
    candidates = [rows["eps"].max() if "eps" in rows else np.nan, finite.max() if len(finite) else np.nan]
    ceiling = np.nanmax(candidates) if np.isfinite(candidates).any() else 0.0
    return float(ceiling)


def whitebox_claims(
    whitebox, *, normal: str, overfit: str, warmup: int, confidence: float, flagged=None
) -> list[dict]:
    """Ours, beyond the paper: is the overfit regime more robust when each snapshot is attacked itself?
    Per APGD loss (and the worst case over the L∞ attacks) by the median minimal L∞ eps, and for CW by
    the median minimal L2, over the images the snapshot classifies correctly (`median_min_eps_correct`,
    `median_min_l2_correct`; tables without them: over all images, misclassified ones at 0): paired
    differences overfit − normal at matched epochs after `warmup`, per fold, then the sign-flip test.

    whitebox: the per-fold whitebox.csv tables stacked, with regime and fold columns. A median of `inf`
    is the most robust outcome: censored at `_ceiling`, not dropped. Snapshots in `flagged` (degenerate,
    from the evaluation) are left out. Each row carries its `excluded` text.
    """
    attacked = whitebox.loc[whitebox["epoch"] > warmup, SNAPSHOT].drop_duplicates()
    flagged = [f for f in (flagged, flagged_snapshots(whitebox)) if f is not None and len(f)]
    skipped = attacked.merge(pd.concat(flagged).astype(attacked.dtypes)) if flagged else attacked.iloc[:0]
    whitebox = drop_snapshots(whitebox, skipped)
    common = {"normal": normal, "overfit": overfit, "warmup": warmup, "confidence": confidence}
    rows = []
    for attack in ("apgd-ce", "apgd-dlr", "worst", "cw"):
        df = whitebox[whitebox["attack"] == attack]
        if not df.empty:
            row = _whitebox_row(df, attack, **common)
            rows.append(row | {"excluded": f"snapshots: {describe_snapshots(skipped)}; {row['excluded']}"})
    return rows


def _whitebox_row(df, attack: str, *, normal: str, overfit: str, warmup: int, confidence: float) -> dict:
    """The claim row of one white-box attack's rows (several per snapshot for the L∞ grid)."""
    value, label = (
        ("median_min_l2", "median minimal L2")
        if attack == "cw"
        else ("median_min_eps", "median minimal L∞ eps")
    )
    correct = f"{value}_correct" in df
    value = f"{value}_correct" if correct else value
    ceiling = _ceiling(df, value)
    df = df.drop_duplicates(SNAPSHOT)
    late = df[df["epoch"] > warmup]
    censored = int(np.isposinf(late[value]).sum())
    df = df.assign(**{value: df[value].replace(np.inf, ceiling)})
    a, b = (df[df["regime"] == r][["fold", "epoch", value]] for r in (overfit, normal))
    d = paired_difference(a, b, value, warmup, confidence)
    verdict, p = decide(d, "positive", confidence)
    scope = "over correctly classified images" if correct else "over all images (misclassified at 0)"
    evidence = (
        f"{label} {scope}, {overfit} − {normal} at matched epochs after {warmup}, each snapshot attacked "
        f"itself, paired by fold, {_bounds(confidence)}: {_fmt(d)}"
    )
    if "clean_accuracy" in late:
        accuracy = late.groupby("regime")["clean_accuracy"].mean()
        evidence += (
            f"; clean accuracy {', '.join(f'{r} {accuracy.get(r, np.nan):.2f}' for r in (overfit, normal))}"
        )
    beyond = "the grid" if "eps" in df and df["eps"].notna().any() else "every success"
    excluded = f"{censored} medians beyond {beyond} counted as {ceiling:g}; masking flags in whitebox.csv"
    claim = f"The {overfit} regime is more robust under white-box {attack} ({label} higher)"
    return _row(claim, verdict, evidence, p) | {"excluded": excluded}
