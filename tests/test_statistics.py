"""The claims' statistics on inputs with known answers: the exact sign-flip test over folds, its inverted
interval, the equivalence test for "level", Holm, each example of issue 19 with its honest verdict, and
the image-level paired test with the fold as a random effect (ASR per attacked image, CLEVER per image)."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from robustcurves import statistics

FOLDS = 5  # the default run's: the smallest number at which a one-sided 95 % sign-flip test can decide


def curves(values_per_fold):
    return pd.DataFrame(
        [
            {"fold": f, "epoch": e + 1, "v": v}
            for f, vs in enumerate(values_per_fold)
            for e, v in enumerate(vs)
        ]
    )


def decide(values, expect):
    return statistics.decide(statistics.fold_summary(values), expect)


# --- the test, its interval and their agreement


def test_identical_folds_give_one_in_two_to_the_n_never_certainty():
    ci = statistics.fold_summary([0.2] * FOLDS)
    assert (ci["low"], ci["high"]) == (0.2, 0.2)  # zero variance: every fold says the same
    assert decide([0.2] * FOLDS, "positive") == ("supported", 1 / 32)
    # four folds cannot decide at 95 % (1/16 > 0.05): unbounded interval, inconclusive
    assert decide([0.2] * 4, "positive") == ("inconclusive", 1 / 16)
    assert statistics.flip_interval([0.2] * 4) == (-np.inf, np.inf)
    # one fold: no test at all
    verdict, p = decide([0.2], "positive")
    assert verdict == "inconclusive" and np.isnan(p)
    assert np.isnan(statistics.flip_interval([0.2])).all()
    with pytest.raises(ValueError, match="censor"):
        statistics.flip_pvalue([0.1, np.inf, 0.2])


def test_p_value_is_the_exact_sign_flip_distribution():
    v = np.array([0.3, -0.1, 0.2, 0.5, 0.4, -0.2])
    flips = np.array(list(itertools.product([1, -1], repeat=len(v))))
    by_hand = np.mean((flips * v).mean(axis=1) >= v.mean() - 1e-12)
    assert statistics.flip_pvalue(v) == pytest.approx(by_hand)
    assert statistics.flip_pvalue(v, alternative="less") == pytest.approx(
        np.mean((flips * v).mean(axis=1) <= v.mean())
    )
    # a fold tied with the null flips onto itself: p doubles, it does not drop out
    assert statistics.flip_pvalue([0.0, 0.1, 0.2, 0.3, 0.4]) == 2 / 32


def test_interval_is_the_test_inverted():
    rng = np.random.default_rng(0)
    for n in (5, 6, 8):
        v = rng.normal(size=n)
        low, high = statistics.flip_interval(v)
        means = np.unique([np.mean(c) for k in range(1, n + 1) for c in itertools.combinations(v, k)])
        # scipy's test keeps the bound and rejects every null below it, up to the next subset mean
        below = np.max(means[means < low - 1e-12], initial=low - 1)
        assert (
            statistics.flip_pvalue(v, low, "greater")
            > 0.05
            >= statistics.flip_pvalue(v, (below + low) / 2, "greater")
        )
        above = np.min(means[means > high + 1e-12], initial=high + 1)
        assert (
            statistics.flip_pvalue(v, high, "less")
            > 0.05
            >= statistics.flip_pvalue(v, (above + high) / 2, "less")
        )
    # with 5 folds the bounds are the extreme folds
    assert statistics.flip_interval([0.1, 0.3, 0.5, 0.45, 0.35]) == (0.1, 0.5)


def test_verdict_p_and_interval_agree_and_the_mean_lies_inside():
    rng = np.random.default_rng(1)
    tol = 1e-9  # exact ties with a bound (a fold at 0 or at ±LEVEL) leave it inside: inconclusive
    for trial in range(200):
        v = rng.normal(rng.uniform(-1, 1), rng.uniform(0.05, 0.6), size=rng.integers(5, 8))
        if trial % 3 == 0:
            v = np.round(v, 1)  # ties, zeros and values on ±LEVEL
        ci = statistics.fold_summary(v)
        assert ci["low"] - tol <= ci["mean"] <= ci["high"] + tol
        verdict, p = statistics.decide(ci, "positive")
        assert (p <= 0.05) == (verdict != "inconclusive") and p >= 1 / 2 ** len(v)
        if verdict == "supported":
            assert ci["low"] > -tol
        elif verdict == "not supported":
            assert ci["high"] < tol
        else:
            assert ci["low"] <= tol and ci["high"] >= -tol
        verdict, p = statistics.decide(ci, "level")
        inside = -statistics.LEVEL - tol < ci["low"] and ci["high"] < statistics.LEVEL + tol
        outside = ci["low"] > statistics.LEVEL - tol or ci["high"] < -statistics.LEVEL + tol
        assert (p <= 0.05) == (verdict != "inconclusive")
        if verdict == "supported":
            assert inside
        elif verdict == "not supported":
            assert outside
        else:
            assert not (ci["low"] > -statistics.LEVEL + tol and ci["high"] < statistics.LEVEL - tol)
            assert not (ci["low"] > statistics.LEVEL + tol or ci["high"] < -statistics.LEVEL - tol)


# --- issue 19's examples


def test_issue_1_level_is_one_equivalence_claim():
    # mean 0.34 inside the band, one fold on its edge: the interval [0.10, 0.50] is not inside
    # ±0.5 nor outside it (was "not supported", p 0.0097, because the interval excluded 0)
    assert decide([0.10, 0.30, 0.50, 0.45, 0.35], "level") == ("inconclusive", 2 / 32)
    # a weak rise in every fold, [0.20, 0.45]: inside the band, so level by the equivalence
    # definition, and at the same time a significant rise (both are true; was "supported" with
    # a Fisher-z p, now the exact 1/32)
    assert decide([0.20, 0.30, 0.40, 0.45, 0.35], "level") == ("supported", 1 / 32)
    assert decide([0.20, 0.30, 0.40, 0.45, 0.35], "rising") == ("supported", 1 / 32)
    # refuted only when the interval lies wholly outside the band
    assert decide([0.6, 0.7, 0.8, 0.9, 0.55], "level") == ("not supported", 1 / 32)
    assert decide([-0.6, -0.7, -0.8, -0.9, -0.55], "level") == ("not supported", 1 / 32)


def test_issue_2_constant_folds_count_as_no_trend_not_as_missing():
    rising = [0.1, 0.2, 0.3, 0.4, 0.5]
    ci = statistics.trend(curves([rising, rising, [1.0] * 5, [1.0] * 5, [1.0] * 5]), "v", warmup=0)
    assert (
        ci["values"] == pytest.approx([1.0, 1.0, 0.0, 0.0, 0.0]) and ci["saturated"] == 3 and ci["folds"] == 5
    )
    # was "supported", [1, 1], p = 0 from 2 folds; Holm kept it
    assert statistics.decide(ci, "rising") == ("inconclusive", 8 / 32)
    assert (ci["low"], ci["high"]) == (0.0, pytest.approx(1.0))
    assert "3 of them constant, ≡ 1: ρ = 0" in statistics._fmt(ci)
    # the two rising folds alone cannot decide either: 2 folds give p ≥ 1/4
    assert decide([1.0, 1.0], "rising") == ("inconclusive", 1 / 4)
    # every fold constant: nothing to test
    flat = statistics.trend(curves([[1.0] * 6] * FOLDS), "v", warmup=0)
    assert flat["folds"] == 0 and flat["saturated"] == FOLDS and flat["constant"] == [1.0]
    verdict, p = statistics.decide(flat, "level")
    assert verdict == "saturated" and np.isnan(p)


def test_issue_6_the_mean_lies_inside_its_own_interval():
    ci = statistics.fold_summary([1, 1, 1, 1, 0.5])  # was "+0.900 [+0.926, +1.000]" (Fisher-z interval)
    assert ci["mean"] == pytest.approx(0.9) and (ci["low"], ci["high"]) == (0.5, 1.0)


def test_holm_matches_the_step_down_and_never_keeps_certainty():
    p = [0.01, 0.04, np.nan, 0.03, 0.5]
    # sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 = 0.04, 0.09, 0.08 -> 0.09 (monotone), 0.5
    np.testing.assert_allclose(statistics.holm(p), [0.04, 0.09, np.nan, 0.09, 0.5])
    table = pd.DataFrame(
        {
            "verdict": ["supported", "not supported", "supported", "inconclusive"],
            "p_value": [0.001, 0.03, np.nan, 0.2],
        }
    )
    out = statistics.holm_verdicts(table)
    # 0.03 * 2 = 0.06 is no longer significant; the untested row keeps its verdict
    assert list(out["verdict_holm"]) == ["supported", "inconclusive", "supported", "inconclusive"]
    # issue 2's Holm: with 5 folds the best p is 1/32, so two such claims no longer pass
    two = statistics.holm_verdicts(pd.DataFrame({"verdict": ["supported"] * 2, "p_value": [1 / 32] * 2}))
    assert list(two["p_holm"]) == [1 / 16, 1 / 16] and set(two["verdict_holm"]) == {"inconclusive"}


def whitebox_frame(overfit_late=np.inf, grid=(1 / 255, 0.01, 0.1, 0.3)):
    """Issue 19's example 3: normal 0.02 at epochs 15, 30, 35 in 5 folds; overfit 0.019 at 15 and
    `overfit_late` at 30 and 35. The old all-image column says the opposite, to show it is unused."""
    rows = []
    for regime, fold, epoch in itertools.product(("normal", "overfit"), range(FOLDS), (15, 30, 35)):
        value = 0.02 if regime == "normal" else 0.019 if epoch == 15 else overfit_late
        for eps in grid:
            rows.append(
                {"regime": regime, "fold": fold, "epoch": epoch, "attack": "apgd-ce", "eps": eps,
                 "clean_accuracy": 0.9 if regime == "normal" else 1.0, "median_min_eps_correct": value,
                 "median_min_eps": 0.001 if regime == "overfit" else 0.02}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_issue_3_beyond_the_grid_is_the_most_robust_outcome_not_missing():
    claim = "The overfit regime is more robust under white-box apgd-ce (median minimal L∞ eps higher)"
    row = statistics.whitebox_claims(
        whitebox_frame(), normal="normal", overfit="overfit", warmup=0, confidence=0.95
    )[0]
    # was "not supported, −0.001 [−0.001, −0.001], p = 0": the inf epochs were dropped
    assert row["claim"] == claim and (row["verdict"], row["p_value"]) == ("supported", 1 / 32)
    per_fold = (0.019 - 0.02 + 2 * (0.3 - 0.02)) / 3  # inf counted as the grid's largest eps
    assert f"{per_fold:+.3f} [{per_fold:+.3f}, {per_fold:+.3f}], 5 folds" in row["evidence"]
    assert "over correctly classified images" in row["evidence"]
    assert "clean accuracy overfit 1.00, normal 0.90" in row["evidence"]
    assert row["excluded"].startswith("snapshots: none; 10 medians beyond the grid counted as 0.3")
    # tables from before the `_correct` columns still work, on the all-image medians
    old = whitebox_frame().drop(columns="median_min_eps_correct")
    row = statistics.whitebox_claims(old, normal="normal", overfit="overfit", warmup=0, confidence=0.95)[0]
    assert row["verdict"] == "not supported" and "over all images" in row["evidence"]


def test_whitebox_rows_skip_degenerate_snapshots_of_the_evaluation():
    frame = whitebox_frame(overfit_late=0.01)  # overfit less robust late: not supported
    flagged = pd.DataFrame({"regime": ["overfit"], "fold": [0], "epoch": [30]})
    kw = {"normal": "normal", "overfit": "overfit", "warmup": 0, "confidence": 0.95}
    row = statistics.whitebox_claims(frame, flagged=flagged, **kw)[0]
    kept = frame[~((frame["regime"] == "overfit") & (frame["fold"] == 0) & (frame["epoch"] == 30))]
    assert row["evidence"] == statistics.whitebox_claims(kept, **kw)[0]["evidence"]
    assert row["excluded"].startswith("snapshots: 1 degenerate (overfit fold 0 epoch 30); 0 medians")
    # through the claims table: the evaluation's flag reaches the white-box rows
    ev, rob, dist = run_frames([0.5] * 3, [0.5] * 3, [0.1] * 3, [0.1] * 3)
    ev["degenerate"] = np.where(
        (ev["regime"] == "overfit") & (ev["fold"] == 0) & (ev["epoch"] == 2), "nan", ""
    )
    ev["epoch"] *= 15  # epochs 15, 30, 45: 30 is the white-box one
    rob["epoch"] *= 15
    table = statistics.claims(ev, rob, dist, whitebox=frame, **CLAIMS).set_index("claim")
    wb = table.loc[table.index.str.startswith("The overfit regime")]
    assert wb["excluded"].str.startswith("snapshots: 1 degenerate (overfit fold 0 epoch 30)").all()


def clever_frame(noise=0.0):
    """Per-image CLEVER: overfit scores 0.1 above normal's on every image (plus `noise` times a fixed
    zero-mean pattern over the images), but the overfit fits are rejected on its three highest-scoring
    images, so its mean over accepted fits is lower."""
    rows = []
    pattern = np.array([1, -1, 2, -2, 0, 1, -1, 0, 0, 0])  # zero mean over the 7 accepted images
    for regime, fold, epoch, image in itertools.product(
        ("normal", "overfit"), range(FOLDS), (1, 2), range(10)
    ):
        score = 0.1 * image + 0.01 * fold
        if regime == "overfit":
            score += 0.1 + noise * pattern[(image + fold + epoch) % 7 if image < 7 else image]
        rejected = regime == "overfit" and image >= 7
        rows.append({"regime": regime, "fold": fold, "epoch": epoch, "image": image,
                     "score": np.nan if rejected else score, "raw": score,
                     "reason": "ks" if rejected else ""})  # fmt: skip
    return pd.DataFrame(rows)


def test_issue_7_clever_compares_regimes_on_the_same_images():
    clever = clever_frame()
    means = clever.groupby(["regime", "fold", "epoch"])["score"].mean().rename("clever").reset_index()
    kw = {"normal": "normal", "overfit": "overfit", "warmup": 0, "confidence": 0.95}
    # the per-snapshot means over accepted fits (different images) say the opposite
    old = statistics.clever_claims(means, **kw)[0]
    assert old["verdict"] == "not supported" and "not the same images" in old["evidence"]
    # every image 0.1 higher, exactly: no spread among the images, so they add nothing to the five fold
    # values and the exact sign-flip test over the fold means decides (1/32, as before the images)
    row = statistics.clever_claims(means, clever=clever, **kw)[0]
    assert (row["verdict"], row["p_value"]) == ("supported", 1 / 32)
    assert (
        "(70 image-epoch pairs)" in row["evidence"]
        and "+0.100 [+0.100, +0.100], 35 images in 5 folds" in (row["evidence"])
    )
    assert "no spread among the images within any fold: exact sign-flip test" in row["evidence"]
    assert row["excluded"] == "snapshots: none; CLEVER: 30 of 100 image-epoch pairs left out (fit rejected)"
    # with image-level spread the image-level test decides, beyond the 1/32 of five fold values
    row = statistics.clever_claims(means, clever=clever_frame(noise=0.01), **kw)[0]
    assert row["verdict"] == "supported" and row["p_value"] < 1e-6
    assert "35 images in 5 folds (7–7 per fold); random intercept per fold" in row["evidence"]
    # a degenerate snapshot's images are left out of both regimes at that epoch
    flagged = pd.DataFrame({"regime": ["normal"], "fold": [1], "epoch": [2]})
    pairs = statistics.clever_pairs(clever, normal="normal", overfit="overfit", warmup=0, flagged=flagged)
    assert len(pairs) == 90 and not ((pairs["fold"] == 1) & (pairs["epoch"] == 2)).any()


# --- the image-level paired test: the image as the unit, the fold as a random effect


def per_image(fold_values):
    """One row per image: fold f's images take the values fold_values[f]."""
    return pd.DataFrame([{"fold": f, "value": v} for f, values in enumerate(fold_values) for v in values])


# 80 images attacked in both regimes per fold: the overfit regime's adversarial fools its snapshot on 20
# fewer images and 4 more than the normal one's: per image -1 (20), +1 (4), 0 (56); mean -0.2 in every fold
AGREE = [-1.0] * 20 + [1.0] * 4 + [0.0] * 56


def test_image_level_decides_where_the_fold_level_cannot():
    for folds in (4, 5):
        ci = statistics.random_intercept(per_image([AGREE] * folds))
        assert ci["images"] == 80 * folds and ci["folds"] == folds and ci["tau"] == 0.0
        assert ci["mean"] == pytest.approx(-0.2) and ci["low"] < ci["mean"] < ci["high"] < 0
        verdict, p = statistics.decide(ci, "negative")
        # the fold level: five identical fold values give 1/32, four 1/16 (inconclusive); either way
        # nothing survives Holm over the claims table's ~20 rows
        folds_only = statistics.decide(statistics.fold_summary([-0.2] * folds), "negative")
        assert folds_only == (("supported", 1 / 32) if folds == 5 else ("inconclusive", 1 / 16))
        # the images decide: with 4 folds where the fold level cannot; with 5 beyond Holm over 20 claims
        assert verdict == "supported" and p < (0.05 / 20 if folds == 5 else 0.005)
    # through the claims table: one row per attack from the per-image records
    table = statistics.claims(
        *run_frames([0.5] * 3, [0.3] * 3, [0.1] * 3, [0.1] * 3), images=images_frame(), **CLAIMS
    )
    row = table.set_index("claim").loc["cw ASR is lower when overfitting (more robust)"]
    assert row["verdict"] == row["verdict_holm"] == "supported" and row["p_holm"] < 0.05
    assert "-0.200 [" in row["evidence"] and "400 images in 5 folds (80–80 per fold)" in row["evidence"]
    assert row["excluded"] == (
        "snapshots: none; images: 400 attacked in both regimes pair, of 450 overfit and 450 normal "
        "(100 attacked in one regime only)"
    )
    # the conditional twin: image 0 of each fold is misclassified clean by the normal snapshot at epoch 1
    row = table.set_index("claim").loc[
        "cw ASR on correctly classified originals is lower when overfitting (more robust)"
    ]
    assert row["verdict"] == "supported" and "400 images in 5 folds" in row["evidence"]
    # an attack without per-image records keeps the fold-level test
    fgsm = table.set_index("claim").loc["fgsm ASR is lower when overfitting (more robust)"]
    assert "paired by fold" in fgsm["evidence"] and fgsm["excluded"] == "snapshots: none"


def images_frame(overfit_fooled=None, folds=FOLDS, epochs=(1, 2, 3)):
    """Per-image records of attack cw: test images 0–79 attacked in both regimes, 100–109 only by the
    normal regime, 200–209 only by the overfit one. Normal's adversarials fool images 0–23 at every
    epoch, overfit's images 20–27 (per image: -1 on 0–19, +1 on 24–27, 0 elsewhere), unless
    `overfit_fooled(fold, image)` says otherwise."""
    rows = []
    for regime, fold, epoch in itertools.product(("normal", "overfit"), range(folds), epochs):
        own = range(100, 110) if regime == "normal" else range(200, 210)
        for image in [*range(80), *own]:
            if regime == "normal":
                fooled = image < 24
            elif overfit_fooled is not None:
                fooled = overfit_fooled(fold, image)
            else:
                fooled = 20 <= image < 28
            correct = not (regime == "normal" and epoch == 1 and image == 0)
            rows.append({"regime": regime, "fold": fold, "epoch": epoch, "attack": "cw", "test_index": image,
                         "fooled": fooled, "correct": correct, "crafted_success": True})  # fmt: skip
    return pd.DataFrame(rows)


def test_all_differences_zero_give_no_certainty():
    # both regimes fooled on exactly the same images: every paired difference is 0
    same = images_frame(overfit_fooled=lambda fold, image: image < 24)
    table = statistics.claims(*run_frames([0.5] * 3, [0.5] * 3, [0.1] * 3, [0.1] * 3), images=same, **CLAIMS)
    row = table.set_index("claim").loc["cw ASR is lower when overfitting (more robust)"]
    assert (row["verdict"], row["verdict_holm"], row["p_value"], row["p_holm"]) == (
        "inconclusive", "inconclusive", 1.0, 1.0
    )  # fmt: skip
    assert "no spread among the images" in row["evidence"]
    ci = statistics.random_intercept(per_image([[0.0] * 80] * FOLDS))
    assert statistics.decide(ci, "negative") == statistics.decide(ci, "positive") == ("inconclusive", 1.0)
    # ties: one image of 400 differs; the rest tie at 0. A t on 399 zeros does not make that certain
    ci = statistics.random_intercept(per_image([[-1.0] + [0.0] * 79] + [[0.0] * 80] * 4))
    verdict, p = statistics.decide(ci, "negative")
    assert verdict == "inconclusive" and p > 0.1 and ci["low"] < 0 < ci["high"]
    # one fold: no between-fold variance, no degrees of freedom, no test
    ci = statistics.random_intercept(per_image([AGREE]))
    verdict, p = statistics.decide(ci, "negative")
    assert verdict == "inconclusive" and np.isnan(p) and np.isnan([ci["low"], ci["high"]]).all()
    # no image pairs at all: nothing to test
    ci = statistics.random_intercept(per_image([]).reindex(columns=["fold", "value"]))
    assert ci["images"] == 0 and statistics.decide(ci, "negative")[0] == "inconclusive"
    with pytest.raises(ValueError, match="censor"):
        statistics.random_intercept(per_image([[0.1, np.inf], [0.2, 0.3]]))


def test_folds_that_disagree_widen_the_interval():
    # three folds as AGREE (mean -0.2), two the other way (per image +1 on 12, -1 on 4: mean +0.1)
    opposite = [1.0] * 12 + [-1.0] * 4 + [0.0] * 64
    agree = statistics.random_intercept(per_image([AGREE] * FOLDS))
    disagree = statistics.random_intercept(per_image([AGREE] * 3 + [opposite] * 2))
    assert agree["tau"] == 0.0 and disagree["tau"] > 0.1
    width = {k: ci["high"] - ci["low"] for k, ci in (("agree", agree), ("disagree", disagree))}
    assert width["disagree"] > 2.5 * width["agree"]
    # balanced folds: the standard error is that of the one-sample t test on the fold means
    means = [-0.2] * 3 + [0.1] * 2
    assert disagree["se"] == pytest.approx(np.std(means, ddof=1) / np.sqrt(FOLDS), rel=1e-3)
    assert disagree["mean"] == pytest.approx(-0.08) and disagree["low"] < -0.08 < disagree["high"]
    # the 400 images as independent replicates (the fold ignored, or a fixed stratum) would decide
    images = np.concatenate([AGREE] * 3 + [opposite] * 2)
    assert scipy_stats.ttest_1samp(images, 0.0, alternative="less").pvalue < 0.01
    # with the fold as a random effect they do not: the folds disagree, the claim is undecided both ways
    assert (
        statistics.decide(disagree, "negative")[0]
        == statistics.decide(disagree, "positive")[0]
        == "inconclusive"
    )


def test_image_level_p_and_interval_agree_and_the_mean_lies_inside():
    rng = np.random.default_rng(2)
    for _ in range(200):
        folds, n = rng.integers(2, 7), rng.integers(2, 40)
        shifts = rng.normal(rng.uniform(-0.3, 0.3), rng.uniform(0, 0.2), size=folds)
        values = [np.round(s + rng.normal(0, rng.uniform(0.01, 0.5), size=n), 1) for s in shifts]
        ci = statistics.random_intercept(per_image(values))
        if ci["test"] != "t":
            continue
        assert ci["low"] <= ci["mean"] <= ci["high"]
        # the bounds are where the one-sided p is exactly 1 - confidence: the test inverted
        assert statistics.pvalue(ci, ci["low"], "greater") == pytest.approx(0.05)
        assert statistics.pvalue(ci, ci["high"], "less") == pytest.approx(0.05)
        verdict, p = statistics.decide(ci, "positive")
        assert (verdict == "supported") == (ci["low"] > 0) and (verdict == "not supported") == (
            ci["high"] < 0
        )
        assert (p <= 0.05) == (verdict != "inconclusive")


# --- the claims table


def test_monotone_rise_has_spearman_one():
    ci = statistics.trend(curves([[0.1, 0.2, 0.3, 0.4, 0.5]] * FOLDS), "v", warmup=0)
    assert ci["mean"] == pytest.approx(1.0) and ci["low"] == pytest.approx(1.0) and ci["folds"] == FOLDS
    assert statistics.decide(ci, "rising") == ("supported", 1 / 32)
    assert statistics.decide(ci, "level") == ("not supported", 1 / 32)


def test_warmup_epochs_are_left_out():
    # falls in the first two epochs, then rises: only the rise counts after a warm-up of 2
    ci = statistics.trend(curves([[0.9, 0.1, 0.2, 0.3, 0.4], [0.8, 0.1, 0.3, 0.35, 0.5]]), "v", warmup=2)
    assert ci["mean"] == pytest.approx(1.0)
    assert (ci["low"], ci["high"]) == (-1.0, 1.0)  # two folds: no bound, clipped to ρ's range


def test_paired_difference_pairs_by_fold_and_epoch():
    a = curves([[0.2 + 0.1 * f] * 3 for f in range(FOLDS)])
    b = curves([[0.3 + 0.1 * f] * 3 for f in range(FOLDS)])
    d = statistics.paired_difference(a, b, "v", warmup=0)
    # folds differ a lot, but the paired difference is exactly -0.1 in each
    assert d["mean"] == pytest.approx(-0.1) and d["high"] == pytest.approx(-0.1)
    assert statistics.decide(d, "negative") == ("supported", 1 / 32)
    assert statistics.decide(d, "positive") == ("not supported", 1 / 32)


def run_frames(cw_normal, cw_overfit, clever_normal, clever_overfit, linf=0.3):
    rows, rob = [], []
    for regime, cw, cl in (("normal", cw_normal, clever_normal), ("overfit", cw_overfit, clever_overfit)):
        for fold in range(FOLDS):
            for e, (asr, c) in enumerate(zip(cw, cl, strict=True)):
                jitter = 0.01 * fold
                common = {"regime": regime, "fold": fold, "epoch": e + 1}
                cw_row = {"attack": "cw", "asr": asr + jitter, "asr_given_correct": asr / 2 + jitter}
                rows.append(common | cw_row | {"accuracy": 1 - asr})
                rows.append(
                    common | {"attack": "clean", "asr": 0.5 - 0.05 * e, "accuracy": 0.5 + 0.05 * e + jitter}
                )
                rows.append(common | {"attack": "fgsm", "asr": 0.9, "accuracy": 0.1})
                rob.append(common | {"clever": c + jitter})
    dist = pd.DataFrame(
        [
            {"regime": r, "attack": a, "quantity": q, "mean": v, "std": 0, "folds": FOLDS}
            for r in ("normal", "overfit")
            for a, q, v in (
                ("fgsm", "linf", linf),
                ("fgsm", "l2", 9.0),
                ("cw", "l2", 1.0),
                ("cw", "linf", 0.2),
            )
        ]
    )
    return pd.DataFrame(rows), pd.DataFrame(rob), dist


CLAIMS = {"normal": "normal", "overfit": "overfit", "cw": "cw", "linf_attacks": {"fgsm": 0.3}, "warmup": 0}


def verdicts(*args, **kw):
    table = statistics.claims(*run_frames(*args, **kw), **CLAIMS)
    return dict(zip(table["claim"], table["verdict"], strict=True))


def test_claims_follow_the_data():
    rising, level = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.2, 0.21, 0.19, 0.2, 0.21, 0.2]
    v = verdicts(rising, level, clever_normal=[0.1] * 6, clever_overfit=[0.5] * 6)
    assert v["In the normal regime, cw ASR rises as test accuracy rises"] == "supported"
    assert v["In the overfit regime, cw ASR stays level"] == "supported"
    assert v["cw ASR is lower when overfitting (more robust)"] == "supported"
    assert v["CLEVER is higher when overfitting"] == "supported"
    assert v["fgsm Linf is exactly 0.3"] == "supported"
    assert v["cw's L2 is far smaller (< half) than that of the Linf attacks"] == "supported"
    # the same claims flip when the data say otherwise
    v = verdicts(rising[::-1], rising, clever_normal=[0.5] * 6, clever_overfit=[0.1] * 6, linf=0.25)
    assert v["In the normal regime, cw ASR rises as test accuracy rises"] == "not supported"
    assert v["In the overfit regime, cw ASR stays level"] == "not supported"
    assert v["CLEVER is higher when overfitting"] == "not supported"
    assert v["fgsm Linf is exactly 0.3"] == "not supported"


def test_p_values_are_never_below_one_in_two_to_the_folds():
    table = statistics.claims(
        *run_frames([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.2] * 6, [0.1] * 6, [0.5] * 6), **CLAIMS
    )
    tested = table["p_value"].dropna()
    assert len(tested) >= 6 and (tested >= 1 / 32).all() and (table["p_holm"].dropna() >= tested).all()
    # Holm over several 1/32 claims: no decided verdict survives with 5 folds
    assert set(table.loc[table["p_value"].notna(), "verdict_holm"]) == {"inconclusive"}


def test_claims_table_excludes_degenerate_snapshots_and_names_them():
    rising, level = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.2, 0.21, 0.19, 0.2, 0.21, 0.2]
    ev, rob, dist = run_frames(rising, level, [0.1] * 6, [0.5] * 6)
    # fold 2 of the overfit regime collapses from epoch 4 on: its ASR drops to 0 and CLEVER is NaN
    dead = (ev["regime"] == "overfit") & (ev["fold"] == 2) & (ev["epoch"] >= 4)
    ev["degenerate"] = np.where(dead, "constant predictions", "")
    ev.loc[dead & (ev["attack"] == "cw"), "asr"] = 0.0
    rob["degenerate"] = ""
    dead_rob = (rob["regime"] == "overfit") & (rob["fold"] == 2) & (rob["epoch"] >= 4)
    rob.loc[dead_rob, ["degenerate", "clever"]] = ["constant predictions", np.nan]
    rob["samples"], rob["clever_rejected"] = 10, 0.1
    table = statistics.claims(ev, rob, dist, **CLAIMS).set_index("claim")
    # the same table as with those snapshots' rows removed: excluded, not averaged in
    kept = statistics.claims(ev[~dead], rob[~dead_rob], dist, **CLAIMS).set_index("claim")
    pd.testing.assert_frame_equal(table.drop(columns="excluded"), kept.drop(columns="excluded"))
    undetected = (ev.drop(columns="degenerate"), rob.drop(columns="degenerate"), dist)
    with_dead = statistics.claims(*undetected, **CLAIMS).set_index("claim")
    level = "In the overfit regime, cw ASR stays level"
    assert with_dead.loc[level, "evidence"] != table.loc[level, "evidence"]
    assert "3 degenerate (overfit fold 2 epoch 4–6)" in table.loc[level, "excluded"]
    assert kept.loc[level, "excluded"] == "snapshots: none"
    assert (
        "CLEVER: 57 of 570 image scores rejected"
        in table.loc["CLEVER is higher when overfitting", "excluded"]
    )
    # every ASR claim has its conditional twin, fgsm is saturated (ASR 0.9 throughout)
    assert table.loc["In the overfit regime, fgsm ASR stays level", "verdict"] == "saturated"
    assert np.isnan(table.loc["In the overfit regime, fgsm ASR stays level", "p_value"])
    assert {"verdict", "verdict_holm", "p_value", "p_holm"} <= set(table.columns)
