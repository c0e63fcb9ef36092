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


def test_level_curves_are_level_and_noise_is_inconclusive():
    flat = stats.trend(curves([[0.5] * 6] * 4), "v", warmup=0)
    assert flat["mean"] == 0 and stats.trend_verdict(flat, "level") == "supported"
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
