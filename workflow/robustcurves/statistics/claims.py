"""The paper's claims (and ours on the white-box stage) checked against a run: one row per claim of
claims.csv, decided by the test of its kind (`inference`), Holm within its family.

claims.csv lists each claim once: its id, family (primary: the paper's central claim that the overfitting
regime is more robust; secondary: exploratory; check: deterministic), kind (difference, association,
equivalence, check), direction, unit of replication, what it is expanded over (`per`: every attack, the
CW attack, the white-box attacks …), the quantity tested and the claim's text. The config's
`statistics.primary` may name other primary claims; docs/statistics.md says why the paper's are the
default (endpoints fixed before the data, as trials register them).

Every claim is tested on one value per fold (`inference` explains why), from per-image records where
the regimes pair image by image: the transfer ASR per attacked test image (evaluation_images.csv), the
CLEVER score per metric image (clever.csv), the minimal eps or L2 per white-box image
(whitebox_images.csv). Degenerate snapshots are left out of every claim and named in `excluded`.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd

from robustcurves.config import default
from robustcurves.statistics.inference import (
    CONFIDENCE,
    POWER,
    decide,
    detectable,
    fold_test,
    folds_needed,
    holm,
    image_test,
    paired_sign,
    spearman,
    within,
)
from robustcurves.statistics.snapshots import describe_snapshots, drop_snapshots, flagged_snapshots, sound

COLUMNS = [
    "claim", "id", "family", "kind", "verdict", "verdict_holm", "p_value", "p_holm", "estimate", "low",
    "high", "detectable", "evidence", "excluded",
]  # fmt: skip
FAMILIES = ("primary", "secondary")
# the schema's defaults (statistics.level_margin, statistics.primary; tests/test_statistics.py holds
# the primary one to claims.csv's primary family)
LEVEL_MARGIN = default("statistics", "level_margin")
PRIMARY = tuple(default("statistics", "primary"))
IMAGE_KEYS = ["fold", "epoch", "attack", "test_index"]
LABELS = {"asr": "ASR", "asr_given_correct": "ASR on correctly classified originals"}


def table() -> pd.DataFrame:
    """claims.csv: one row per claim (module docstring), in the table's order."""
    with files(__package__).joinpath("claims.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, keep_default_na=False)


def ids() -> list[str]:
    return table()["id"].tolist()


def primary_default() -> list[str]:
    """The paper's primary claims: the rows of claims.csv in the primary family."""
    t = table()
    return t.loc[t["family"] == "primary", "id"].tolist()


# --- each kind's test on its per-fold or per-image values ----------------------------------------------


def _bounds(confidence: float, unit: str) -> str:
    over = "fold means of the per-image values, t test over folds" if unit == "image" else "t test over folds"
    return f"mean [lower, upper: one-sided {confidence:.0%} bounds, {over}]"


def _fmt(ci: dict) -> str:
    text = f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}], "
    if "images" in ci:
        per_fold = f"{min(ci['per_fold'])}–{max(ci['per_fold'])} per fold" if ci["per_fold"] else ""
        return text + f"{ci['images']} images in {ci['folds']} folds ({per_fold})"
    return text + f"{ci['folds']} folds"


def _power(ci: dict, mde: float, null: float, equivalence: bool, confidence: float) -> str:
    """What an undecided row could have found (`mde`: its `detectable` effect): 'cannot tell below X;
    ~N folds would decide this effect'."""
    if ci["folds"] == 0:
        return "nothing to test"
    if not np.isfinite(mde):
        return "no test (fewer than 2 folds)"
    if ci["sd"] == 0:
        return f"every fold exactly at {ci['mean']:g}: no spread, nothing to decide"
    need = folds_needed(ci, null, confidence)
    what = "a mean within" if equivalence else "an effect below"
    text = f"cannot tell {what} {mde:.3g} {'of the margin from it' if equivalence else 'from none'} "
    text += f"at {ci['folds']} folds (power {POWER:.0%})"
    if np.isfinite(need):
        text += f"; about {need:.0f} folds would decide one of the size seen"
    elif need == np.inf:
        text += "; the estimate sits on the null"
    return text


def _decided(claim: dict, ci: dict, direction: str, confidence: float, margin: float = 0.0) -> dict:
    """The claim row of `ci` (a `fold_test` or `image_test` result)."""
    verdict, p = decide(ci, direction, confidence, margin)
    mde = detectable(ci, confidence)
    estimate = {"estimate": ci["mean"], "low": ci["low"], "high": ci["high"]}
    row = claim | estimate | {"verdict": verdict, "p_value": p, "detectable": mde}
    if verdict == "inconclusive":
        equivalence = direction == "below"
        null = margin if equivalence else 0.0
        row["evidence"] += f"; {_power(ci, mde, null, equivalence, confidence)}"
    return row


def _claim(spec, evidence: str, **names) -> dict:
    """The fixed part of a row: the claim's text, id, family and kind, and its evidence so far."""
    return {
        "claim": spec["claim"].format(**names),
        "id": spec["id"],
        "family": spec["family"],
        "kind": spec["kind"],
        "evidence": evidence,
    }


# --- differences between regimes, per image --------------------------------------------------------------


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


def asr_claims(spec, images, attacks, *, normal, overfit, warmup, confidence, flagged) -> list[dict]:
    """`asr_lower` and `asr_given_correct_lower`: per attack, the image-level paired difference."""
    given = spec["id"] == "asr_given_correct_lower"
    if images is None or images.empty:
        return []
    per_image = image_differences(
        images, normal=normal, overfit=overfit, warmup=warmup, flagged=flagged, given_correct=given
    )
    rows = []
    for attack in attacks:
        if attack not in set(images["attack"]):
            continue
        ci = image_test(per_image[per_image["attack"] == attack], confidence)
        condition = ", at the epochs where both snapshots classify the original correctly" if given else ""
        evidence = (
            f"ASR per attacked test image, {overfit} − {normal} (fooled 1, else 0) at matched epochs after "
            f"{warmup}{condition}, averaged over the image's epochs; {_bounds(confidence, 'image')}: "
            f"{_fmt(ci)}"
        )
        attacked = {r: per_image.attrs["attacked"].get((r, attack), 0) for r in (overfit, normal)}
        unpaired = attacked[overfit] + attacked[normal] - 2 * ci["images"]
        excluded = (
            f"images: {ci['images']} attacked in both regimes pair, of {attacked[overfit]} {overfit} and "
            f"{attacked[normal]} {normal} ({unpaired} attacked in one regime only"
            + (" or never both correct" if given else "")
            + ")"
        )
        row = _claim(spec, evidence, attack=attack)
        rows.append(_decided(row, ci, spec["direction"], confidence) | {"excluded": excluded})
    return rows


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


def clever_claims(spec, clever, *, normal, overfit, warmup, confidence, flagged) -> list[dict]:
    """`clever_higher`: per metric image the mean of overfit − normal over the epochs where both
    regimes' fits were accepted, so both regimes are scored on the same images."""
    if clever is None or clever.empty or "score" not in clever:
        return []
    pairs = clever_pairs(clever, normal=normal, overfit=overfit, warmup=warmup, flagged=flagged)
    kept = pairs.dropna(subset=["difference"])
    per_image = kept.groupby(["fold", "image"])["difference"].mean().rename("value").reset_index()
    ci = image_test(per_image, confidence)
    evidence = (
        f"CLEVER per metric image, {overfit} − {normal} at matched epochs after {warmup} where both "
        f"regimes' fits were accepted ({len(kept)} image-epoch pairs), averaged over the image's epochs; "
        f"{_bounds(confidence, 'image')}: {_fmt(ci)}"
    )
    excluded = f"CLEVER: {len(pairs) - len(kept)} of {len(pairs)} image-epoch pairs left out (fit rejected)"
    row = _decided(_claim(spec, evidence), ci, spec["direction"], confidence)
    return [row | {"excluded": excluded}]


# --- white-box: per image, censored -------------------------------------------------------------------


def whitebox_attacks(whitebox_images: pd.DataFrame | None) -> dict[str, list[str]]:
    """The white-box attacks each `per` names: `whitebox_linf` the worst case over the L∞ attacks (the one
    L∞ attack when there is one), `whitebox_apgd` each APGD loss, `whitebox_l2` CW."""
    if whitebox_images is None or whitebox_images.empty:
        return {"whitebox_linf": [], "whitebox_apgd": [], "whitebox_l2": []}
    present = set(whitebox_images["attack"])
    linf = ["worst"] if "worst" in present else sorted(present - {"cw"})[:1]
    apgd = [a for a in ("apgd-ce", "apgd-dlr") if a in present and a not in linf]
    return {"whitebox_linf": linf, "whitebox_apgd": apgd, "whitebox_l2": ["cw"] if "cw" in present else []}


def whitebox_pairs(images: pd.DataFrame, attack: str, *, normal, overfit, warmup, flagged=None) -> dict:
    """The per-image comparison of one white-box attack, and what it leaves out.

    images: the per-fold whitebox_images.csv tables stacked (regime, fold, epoch, attack, test_index,
    correct, minimal: the minimal eps or L2, `inf` where every try failed, NaN where not attacked).
    Pairs are (fold, epoch, test image) at matched epochs after `warmup` that both regimes' snapshots
    classify correctly; per pair `paired_sign` of overfit's minimal value against normal's (`inf` above
    every finite value), then per image the mean over its epochs. Returns {per_image (fold, test_index,
    value), pairs, misclassified (pairs left out because a snapshot misclassifies the image), empty
    (snapshots without a correctly classified image), medians (per regime over the pairs)}.
    """
    df = drop_snapshots(images[(images["attack"] == attack) & (images["epoch"] > warmup)], flagged)
    snapshots = df.groupby(["regime", "fold", "epoch"])["correct"].apply(lambda c: c.astype(bool).any())
    empty = snapshots[~snapshots].reset_index()[["regime", "fold", "epoch"]]
    a, b = (df[df["regime"] == r] for r in (overfit, normal))
    keys = ["fold", "epoch", "test_index"]
    pairs = a.merge(b, on=keys, suffixes=("_a", "_b"))
    both = pairs["correct_a"].astype(bool) & pairs["correct_b"].astype(bool)
    kept = pairs[both]
    sign = paired_sign(kept["minimal_a"], kept["minimal_b"])
    per_image = kept.assign(value=sign).groupby(["fold", "test_index"])["value"].mean().reset_index()
    return {
        "per_image": per_image,
        "pairs": len(kept),
        "misclassified": int((~both).sum()),
        "empty": empty,
        "medians": {
            r: float(np.median(kept[f"minimal_{s}"])) if len(kept) else np.nan
            for r, s in ((overfit, "a"), (normal, "b"))
        },  # fmt: skip
    }


def whitebox_claims(spec, images, attacks, *, normal, overfit, warmup, confidence, flagged) -> list[dict]:
    """`whitebox_*_higher`: is the overfit regime more robust when each snapshot is attacked itself?"""
    rows = []
    label = "L2" if spec["id"] == "whitebox_l2_higher" else "L∞ eps"
    for attack in attacks:
        found = whitebox_pairs(images, attack, normal=normal, overfit=overfit, warmup=warmup, flagged=flagged)
        ci = image_test(found["per_image"], confidence)
        medians = ", ".join(f"{r} {v:.3g}" for r, v in found["medians"].items())
        evidence = (
            f"sign({overfit} − {normal}) of the minimal {label} per white-box test image both snapshots "
            f"classify correctly, at matched epochs after {warmup}, each snapshot attacked itself (inf, "
            f"resisted every try, above every finite value; +1: {overfit} needs more), averaged over the "
            f"image's epochs; {_bounds(confidence, 'image')}: {_fmt(ci)}; median minimal {label} over the "
            f"{found['pairs']} pairs: {medians}"
        )
        excluded = (
            f"white-box: {found['misclassified']} image-epoch pairs misclassified clean by a snapshot "
            f"(not compared); snapshots without a correctly classified image: "
            f"{describe_snapshots(found['empty'], 'empty')}"
        )
        row = _claim(spec, evidence, attack=attack, overfit=overfit)
        rows.append(_decided(row, ci, spec["direction"], confidence) | {"excluded": excluded})
    return rows


# --- association and equivalence, per fold -------------------------------------------------------------


def _series(evaluation, regime: str, attack: str, value: str, warmup: int) -> pd.DataFrame:
    df = evaluation[(evaluation["regime"] == regime) & (evaluation["attack"] == attack)]
    df = df[df["epoch"] > warmup]
    if value not in df:
        return df[["fold", "epoch"]].assign(**{value: np.nan})
    return df[["fold", "epoch", value]].dropna(subset=[value])


def association_claims(spec, evaluation, attacks, *, normal, warmup, confidence, **_) -> list[dict]:
    """`asr_rises_with_accuracy` (and its conditional twin): per fold Spearman's ρ between the normal
    regime's clean test accuracy and the attack's ASR over the epochs after `warmup`; supported when ρ
    is positive over folds (they co-move, whichever way), not supported when negative. A fold where
    either series is constant has nothing to correlate: named in `excluded`."""
    value = "asr_given_correct" if "given_correct" in spec["id"] else "asr"
    accuracy = _series(evaluation, normal, "clean", "accuracy", warmup)
    rows = []
    for attack in attacks:
        asr = _series(evaluation, normal, attack, value, warmup)
        if asr.empty:
            continue
        both = accuracy.merge(asr, on=["fold", "epoch"])
        rho = {fold: spearman(g["accuracy"], g[value]) for fold, g in both.groupby("fold")}
        constant = sorted(f for f, r in rho.items() if np.isnan(r))
        ci = within(fold_test([r for r in rho.values() if np.isfinite(r)], confidence), -1, 1)
        evidence = (
            f"Spearman ρ between test accuracy and {attack} {LABELS[value]} over the epochs after "
            f"{warmup}, per fold, {_bounds(confidence, 'fold')}: {_fmt(ci)}"
        )
        excluded = (
            f"folds with a constant series (no ranks to correlate): {', '.join(map(str, constant))}"
            if constant
            else "folds: none"
        )
        row = _claim(spec, evidence, attack=attack, normal=normal)
        rows.append(_decided(row, ci, spec["direction"], confidence) | {"excluded": excluded})
    return rows


def departure(series: pd.Series) -> float:
    """The largest distance of a series from its own mean: 0 for a constant one."""
    v = series.to_numpy(float)
    return float(np.max(np.abs(v - v.mean()))) if len(v) else float("nan")


def level_claims(spec, evaluation, attacks, *, overfit, warmup, confidence, margin, **_) -> list[dict]:
    """`asr_level`: per fold the largest departure of the overfit regime's ASR from its mean over the
    epochs after `warmup`, tested below `margin` (in ASR units): a curve that leaves its level by more
    than the margin anywhere (an inverted U) fails, a constant one passes."""
    rows = []
    for attack in attacks:
        asr = _series(evaluation, overfit, attack, "asr", warmup)
        if asr.empty:
            continue
        ci = fold_test(asr.groupby("fold")["asr"].agg(departure).to_numpy(), confidence)
        evidence = (
            f"largest departure of {attack} ASR from its own mean over the epochs after {warmup}, per fold, "
            f"against the margin {margin:g} (level: the upper bound below it; refuted: the lower bound "
            f"above it), {_bounds(confidence, 'fold')}: {_fmt(ci)}"
        )
        row = _claim(spec, evidence, attack=attack, overfit=overfit)
        rows.append(_decided(row, ci, spec["direction"], confidence, margin) | {"excluded": "folds: none"})
    return rows


# --- deterministic checks ------------------------------------------------------------------------------


def check_claims(spec, distances, *, cw, linf_attacks, **_) -> list[dict]:
    """`linf_exact` (FGSM/PGD use exactly their eps in L∞) and `cw_l2_smaller` (CW's L2 is far smaller
    than the L∞ attacks'): deterministic checks of the crafted sets, no test."""

    def dist(attack, quantity):
        hit = distances[(distances["attack"] == attack) & (distances["quantity"] == quantity)]
        return hit["mean"].to_numpy()

    def row(text, ok, evidence):
        return {"claim": text, "id": spec["id"], "family": "check", "kind": "check",
                "verdict": "supported" if ok else "not supported", "p_value": np.nan, "evidence": evidence,
                "excluded": "none (per-image distances of the crafted sets)"}  # fmt: skip

    if spec["id"] == "linf_exact":
        rows = []
        for attack, eps in linf_attacks.items():
            linf = dist(attack, "linf")
            exact = len(linf) > 0 and np.allclose(linf, eps, atol=1e-4)
            text = spec["claim"].format(attack=attack, eps=eps)
            rows.append(row(text, exact, f"mean Linf per regime: {', '.join(f'{v:.5f}' for v in linf)}"))
        return rows
    if cw is None or not linf_attacks:
        return []
    cw_l2 = dist(cw, "l2")
    other = np.concatenate([dist(a, "l2") for a in linf_attacks])
    far = len(cw_l2) > 0 and len(other) > 0 and np.nanmax(cw_l2) < 0.5 * np.nanmin(other)
    evidence = (
        f"mean L2: {cw} {', '.join(f'{v:.3f}' for v in cw_l2)}; "
        f"{'/'.join(linf_attacks)} {', '.join(f'{v:.3f}' for v in other)}"
    )
    return [row(spec["claim"].format(attack=cw), far, evidence)]


# --- the table ------------------------------------------------------------------------------------------


def holm_verdicts(rows: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Add `p_holm` and `verdict_holm`: Holm's adjustment within each family (checks have no p). A decided
    verdict whose adjusted p exceeds 1 − confidence becomes inconclusive."""
    rows = rows.copy()
    rows["p_holm"] = np.nan
    for family in FAMILIES:
        members = rows["family"] == family
        rows.loc[members, "p_holm"] = holm(rows.loc[members, "p_value"])
    decided = rows["verdict"].isin(["supported", "not supported"]) & (rows["p_holm"] > 1 - confidence)
    rows["verdict_holm"] = rows["verdict"].where(~decided, "inconclusive")
    return rows


def _attacks(evaluation) -> list[str]:
    return sorted(evaluation.loc[evaluation["attack"] != "clean", "attack"].unique())


def claims(
    evaluation,
    distances,
    *,
    normal: str,
    overfit: str,
    cw: str | None,
    linf_attacks: dict[str, float],
    warmup: int,
    confidence: float = CONFIDENCE,
    level_margin: float = LEVEL_MARGIN,
    primary: tuple[str, ...] = PRIMARY,
    robustness: pd.DataFrame | None = None,
    images: pd.DataFrame | None = None,
    clever: pd.DataFrame | None = None,
    whitebox_images: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The claims table: one row per claim of claims.csv and what it is expanded over, each with its
    family, raw and Holm-adjusted verdicts and p-values, estimate and one-sided bounds, the smallest
    effect it could have detected, the numbers behind it and what was excluded.

    evaluation / robustness: per-fold frames with regime and fold columns (robustness only for its
    degenerate flags); distances: the fold summary (regime, attack, quantity, mean, std, folds);
    linf_attacks: attack name → its eps; images / clever / whitebox_images: the per-fold
    evaluation_images.csv / clever.csv / whitebox_images.csv tables stacked (a claim without its records
    has no row). `primary`: the ids of the primary family (default: the paper's, claims.csv's primary
    family). `level_margin`: the equivalence margin of "stays level", in ASR units. Degenerate
    snapshots (a `degenerate` reason in evaluation or robustness) are left out of every claim and named
    in `excluded`.
    """
    frames = [f for f in (evaluation, robustness) if f is not None]
    flagged = flagged_snapshots(*frames)
    ev = sound(evaluation)
    spec = table()
    primary = list(primary)
    unknown = sorted(set(primary) - set(spec["id"]))
    if unknown:
        raise ValueError(f"statistics.primary names unknown claims {unknown}; the claims are {ids()}")
    tested = spec["family"] != "check"
    spec.loc[tested, "family"] = np.where(spec.loc[tested, "id"].isin(primary), "primary", "secondary")
    per = {"attack": _attacks(ev), "cw": [cw] if cw else [], **whitebox_attacks(whitebox_images)}
    common = {"normal": normal, "overfit": overfit, "warmup": warmup, "confidence": confidence,
              "flagged": flagged}  # fmt: skip
    skipped = f"snapshots: {describe_snapshots(flagged)}"
    rows = []
    for _, s in spec.iterrows():
        attacks = per.get(s["per"], [])
        if s["kind"] == "check":
            found = check_claims(s, distances, cw=cw, linf_attacks=linf_attacks)
        elif s["kind"] == "association":
            found = association_claims(s, ev, attacks, **common)
        elif s["kind"] == "equivalence":
            found = level_claims(s, ev, attacks, margin=level_margin, **common)
        elif s["id"] in ("asr_lower", "asr_given_correct_lower"):
            found = asr_claims(s, images, attacks, **common)
        elif s["id"] == "clever_higher":
            found = clever_claims(s, clever, **common)
        else:
            found = whitebox_claims(s, whitebox_images, attacks, **common)
        if s["kind"] != "check":
            found = [r | {"excluded": f"{skipped}; {r['excluded']}"} for r in found]
        rows += found
    out = holm_verdicts(pd.DataFrame(rows), confidence)
    order = {family: i for i, family in enumerate((*FAMILIES, "check"))}
    out = out.sort_values("family", key=lambda f: f.map(order), kind="stable")
    return out.reindex(columns=COLUMNS).reset_index(drop=True)


def markdown(claims_table: pd.DataFrame) -> str:
    """The claims table as Markdown (claims.md), every column of claims.csv."""
    return claims_table.to_markdown(index=False) + "\n"
