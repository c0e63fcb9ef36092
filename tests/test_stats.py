"""Trend and regime-difference statistics on frames with known answers, and the claims' verdicts."""

import numpy as np
import pandas as pd
import pytest

from robustcurves import stats


def curves(values_per_fold):
    return pd.DataFrame(
        [
            {"fold": f, "epoch": e + 1, "v": v}
            for f, vs in enumerate(values_per_fold)
            for e, v in enumerate(vs)
        ]
    )


def test_monotone_rise_has_spearman_one_and_a_degenerate_interval():
    ci = stats.trend(curves([[0.1, 0.2, 0.3, 0.4, 0.5]] * 3), "v", warmup=0)
    assert ci["mean"] == pytest.approx(1.0) and ci["low"] == pytest.approx(1.0) and ci["folds"] == 3
    assert stats.trend_verdict(ci, "rising") == "supported"
    assert stats.trend_verdict(ci, "level") == "not supported"


def test_warmup_epochs_are_left_out():
    # falls in the first two epochs, then rises: only the rise counts after a warm-up of 2
    ci = stats.trend(curves([[0.9, 0.1, 0.2, 0.3, 0.4], [0.8, 0.1, 0.3, 0.35, 0.5]]), "v", warmup=2)
    assert ci["mean"] == pytest.approx(1.0)


def test_level_curves_are_level_constant_ones_saturated_and_noise_is_inconclusive():
    level = stats.trend(curves([[0.1, 0.3, 0.2, 0.2, 0.3, 0.1]] * 4), "v", warmup=0)
    assert level["mean"] == 0 and stats.trend_verdict(level, "level") == "supported"
    # a constant series (an ASR saturated at 1) has no correlation: not "rho = 0, level"
    flat = stats.trend(curves([[1.0] * 6] * 4), "v", warmup=0)
    assert flat["folds"] == 0 and flat["saturated"] == 4 and flat["constant"] == [1.0]
    assert stats.trend_verdict(flat, "level") == "saturated"
    assert stats.trend_verdict(flat, "rising") == "saturated"
    # one constant fold among rising ones is counted, not averaged in as 0
    mixed = stats.trend(curves([[1.0] * 6] + [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]] * 3), "v", warmup=0)
    assert mixed["folds"] == 3 and mixed["saturated"] == 1 and mixed["mean"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    noisy = stats.trend(curves(rng.uniform(size=(2, 6))), "v", warmup=0)
    assert stats.trend_verdict(noisy, "rising") in ("inconclusive", "not supported")


def test_interval_matches_a_t_interval():
    ci = stats.interval([1.0, 2.0, 3.0], confidence=0.95)
    assert ci["mean"] == 2.0
    assert ci["high"] - 2.0 == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)
    assert np.isnan(stats.interval([1.0])["low"])


def test_paired_difference_pairs_by_fold_and_epoch():
    a = curves([[0.2, 0.2, 0.2], [0.5, 0.5, 0.5]])
    b = curves([[0.3, 0.3, 0.3], [0.6, 0.6, 0.6]])
    d = stats.paired_difference(a, b, "v", warmup=0)
    # folds differ a lot, but the paired difference is exactly -0.1 in each
    assert d["mean"] == pytest.approx(-0.1) and d["high"] == pytest.approx(-0.1)
    assert stats.sign_verdict(d, "negative") == "supported"
    assert stats.sign_verdict(d, "positive") == "not supported"


def run_frames(cw_normal, cw_overfit, clever_normal, clever_overfit, linf=0.3):
    rows, rob = [], []
    for regime, cw, cl in (("normal", cw_normal, clever_normal), ("overfit", cw_overfit, clever_overfit)):
        for fold in range(3):
            for e, (asr, c) in enumerate(zip(cw, cl, strict=True)):
                jitter = 0.01 * fold
                rows.append(
                    {
                        "regime": regime,
                        "fold": fold,
                        "epoch": e + 1,
                        "attack": "cw",
                        "asr": asr + jitter,
                        "asr_given_correct": asr / 2 + jitter,
                        "accuracy": 1 - asr,
                    }
                )
                rows.append(
                    {
                        "regime": regime,
                        "fold": fold,
                        "epoch": e + 1,
                        "attack": "clean",
                        "asr": 0.5 - 0.05 * e,
                        "accuracy": 0.5 + 0.05 * e + jitter,
                    }
                )
                rows.append(
                    {
                        "regime": regime,
                        "fold": fold,
                        "epoch": e + 1,
                        "attack": "fgsm",
                        "asr": 0.9,
                        "accuracy": 0.1,
                    }
                )
                rob.append({"regime": regime, "fold": fold, "epoch": e + 1, "clever": c + jitter})
    dist = pd.DataFrame(
        [
            {"regime": r, "attack": a, "quantity": q, "mean": v, "std": 0, "folds": 3}
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


def verdicts(*args, **kw):
    ev, rob, dist = run_frames(*args, **kw)
    table = stats.claims(
        ev, rob, dist, normal="normal", overfit="overfit", cw="cw", linf_attacks={"fgsm": 0.3}, warmup=0
    )
    return dict(zip(table["claim"], table["verdict"], strict=True))


def test_claims_follow_the_data():
    rising, level = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.2, 0.21, 0.19, 0.2, 0.21, 0.2]
    v = verdicts(rising, level, clever_normal=[0.1] * 6, clever_overfit=[0.5] * 6)
    assert v["In the normal regime, cw ASR rises as test accuracy rises"] == "supported"
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


def test_fisher_interval_stays_inside_minus_one_one_where_a_t_interval_leaves_it():
    rhos = [1.0, 0.9, 0.95]
    assert stats.interval(rhos)["high"] > 1  # the old interval: +1.07
    ci = stats.fisher_interval(rhos)
    assert -1 <= ci["low"] < ci["mean"] < ci["high"] <= 1
    z = np.arctanh(np.clip(rhos, -stats.RHO_CLIP, stats.RHO_CLIP))
    half = 4.302653 * z.std(ddof=1) / np.sqrt(3)
    assert ci["low"] == pytest.approx(np.tanh(z.mean() - half)) and ci["mean"] == pytest.approx(0.95)
    ci = stats.fisher_interval([-0.9, -0.95, -0.99, -1.0])
    assert -1 <= ci["low"] < ci["high"] < 0


def test_holm_adjustment_matches_the_step_down_by_hand():
    p = [0.01, 0.04, np.nan, 0.03, 0.5]
    # sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 = 0.04, 0.09, 0.08 -> 0.09 (monotone), 0.5
    np.testing.assert_allclose(stats.holm(p), [0.04, 0.09, np.nan, 0.09, 0.5])
    table = pd.DataFrame(
        {
            "verdict": ["supported", "not supported", "supported", "inconclusive"],
            "p_value": [0.001, 0.03, np.nan, 0.2],
        }
    )
    out = stats.holm_verdicts(table)
    # 0.03 * 2 = 0.06 is no longer significant; the untested row keeps its verdict
    assert list(out["verdict_holm"]) == ["supported", "inconclusive", "supported", "inconclusive"]


def test_p_values_agree_with_the_interval_verdicts():
    rng = np.random.default_rng(1)
    for _ in range(50):
        values = rng.normal(rng.uniform(-1, 1), rng.uniform(0.1, 1), size=4)
        ci = stats.interval(values) | {"values": list(values), "scale": "raw"}
        verdict = stats.sign_verdict(ci, "positive")
        p = stats.pvalue(ci, "positive", verdict)
        assert (p < 0.05) == (verdict != "inconclusive")
        rhos = np.tanh(rng.normal(rng.uniform(-1, 1), 0.3, size=5))
        ci = stats.fisher_interval(rhos)
        for expect in ("rising", "level"):
            verdict = stats.trend_verdict(ci, expect)
            p = stats.pvalue(ci, expect, verdict)
            assert (p < 0.05) == (verdict != "inconclusive"), (rhos, expect, verdict, p)


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
    table = stats.claims(
        ev, rob, dist, normal="normal", overfit="overfit", cw="cw", linf_attacks={"fgsm": 0.3}, warmup=0
    ).set_index("claim")
    # the same table as with those snapshots' rows removed: excluded, not averaged in
    others = {
        "normal": "normal",
        "overfit": "overfit",
        "cw": "cw",
        "linf_attacks": {"fgsm": 0.3},
        "warmup": 0,
    }
    kept = stats.claims(ev[~dead], rob[~dead_rob], dist, **others).set_index("claim")
    pd.testing.assert_frame_equal(table.drop(columns="excluded"), kept.drop(columns="excluded"))
    undetected = (ev.drop(columns="degenerate"), rob.drop(columns="degenerate"), dist)
    with_dead = stats.claims(*undetected, **others).set_index("claim")
    level = "In the overfit regime, cw ASR stays level"
    assert with_dead.loc[level, "evidence"] != table.loc[level, "evidence"]
    assert "3 degenerate (overfit fold 2 epoch 4–6)" in table.loc[level, "excluded"]
    assert kept.loc[level, "excluded"] == "snapshots: none"
    assert (
        "CLEVER: 33 of 330 image scores rejected"
        in table.loc["CLEVER is higher when overfitting", "excluded"]
    )
    # every ASR claim has its conditional twin, fgsm is saturated (ASR 0.9 throughout)
    assert table.loc["In the overfit regime, fgsm ASR stays level", "verdict"] == "saturated"
    assert np.isnan(table.loc["In the overfit regime, fgsm ASR stays level", "p_value"])
    assert {"verdict", "verdict_holm", "p_value", "p_holm"} <= set(table.columns)
    assert (table["p_holm"].dropna() >= table["p_value"].dropna()).all()
