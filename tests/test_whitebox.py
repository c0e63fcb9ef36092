"""The white-box stage: bisection over per-image eps, masking flags, the fold table, its claims."""

import numpy as np
import pandas as pd
import pytest

from robustcurves import aggregate, models, stats, whitebox


def threshold_oracle(thresholds):
    """A fake attack: image i succeeds exactly when its eps reaches thresholds[i]."""
    calls = []

    def succeeds(x, y, eps, seed):
        calls.append(len(x))
        return eps >= thresholds[x[:, 0].astype(int)]

    return succeeds, calls


def test_bisection_brackets_each_images_threshold_all_images_at_once():
    t = np.array([0.0005, 0.003, 0.01, 0.02, 0.05, 0.2, 0.5])
    x, y = np.arange(len(t), dtype=np.float32)[:, None], np.zeros(len(t), np.int64)
    grid = [1 / 255, 2 / 255, 4 / 255, 8 / 255, 0.3]
    succeeds, calls = threshold_oracle(t)
    raw, found = whitebox.minimal_eps(succeeds, x, y, grid, steps=0, seed=0)
    # no bisection: the smallest successful grid point, inf beyond the grid
    expected = [min([g for g in grid if g >= ti], default=np.inf) for ti in t]
    np.testing.assert_allclose(found, expected, rtol=1e-6)
    np.testing.assert_array_equal(raw, np.asarray(grid, np.float32)[:, None] >= t[None])
    assert calls == [len(t) * len(grid)]  # every grid eps in one call
    succeeds, calls = threshold_oracle(t)
    _, found = whitebox.minimal_eps(succeeds, x, y, grid, steps=4, seed=0)
    hit = np.isfinite(found)
    assert hit.tolist() == [True] * 6 + [False]
    assert np.all(found[hit] >= t[hit] - 1e-7)
    # within 1/16 of the bracket between neighbouring grid points
    upper = np.array(expected)[hit]
    lower = np.array([max([0.0] + [g for g in grid if g < ti]) for ti in t[hit]])
    # 4 geometric halvings of [lower, upper] (arithmetic from 0): within upper/lower ** (1/16)
    ratio = np.where(lower > 0, (upper / np.where(lower > 0, lower, 1)) ** (1 / 16), np.nan)
    geometric = lower > 0
    assert np.all(found[hit][geometric] <= t[hit][geometric] * ratio[geometric] * (1 + 1e-5))
    assert np.all(found[hit][~geometric] - t[hit][~geometric] <= upper[~geometric] / 16 + 1e-6)
    assert calls[1:] == [6, 6, 6, 6]  # bisection steps: the breakable images, all at once


def test_masking_flags():
    robust = {"pgd": np.array([0.9, 0.5, 0.1]), "apgd-ce": np.array([0.9, 0.46, 0.1])}
    growing = {"pgd": np.array([1, 5, 9]), "apgd-ce": np.array([1, 5, 9])}
    assert not whitebox.masking_flags(robust, growing, 0.05)["masking"]
    robust["apgd-dlr"] = np.array([0.8, 0.3, 0.1])  # DLR stronger than CE: the loss, not masking
    assert not whitebox.masking_flags(robust, growing, 0.05)["masking"]
    robust["apgd-ce"] = np.array([0.8, 0.3, 0.1])  # PGD 20 points above APGD-CE at the middle eps
    flags = whitebox.masking_flags(robust, growing, 0.05)
    assert flags["masking_apgd_below_pgd"] and not flags["masking_not_growing"] and flags["masking"]
    flags = whitebox.masking_flags({"pgd": robust["pgd"]}, {"pgd": np.array([3, 2, 9])}, 0.05)
    assert flags["masking_not_growing"] and not flags["masking_apgd_below_pgd"]


@pytest.fixture(scope="module")
def snapshots(trained_snapshots):
    path, split = trained_snapshots
    with models.Snapshots(path) as s:
        yield s, split.x_test[:12], split.y_test[:12]


def test_fold_table_counts_misclassified_images_as_broken_at_eps_zero(snapshots):
    s, x, y = snapshots
    y = y.copy()
    y[:2] = (y[:2] + 1) % 3  # two images every snapshot gets wrong
    settings = {"eps_grid": [0.05, 0.3], "bisection_steps": 2, "max_iter": 5, "cw": {"max_iter": 10}}
    table = whitebox.whitebox(s, x, y, epochs=[1, 3], seed=0, **settings)
    assert set(whitebox.COLUMNS) <= set(table.columns)
    assert sorted(table["epoch"].unique()) == [1, 3]
    assert set(table["attack"]) == {"pgd", "apgd-ce", "apgd-dlr", "worst", "cw"}
    assert (table["images"] == 12).all() and (table["attacked"] <= 10).all()
    linf = table[table["attack"] != "cw"]
    assert linf["robust_accuracy"].between(0, 10 / 12).all()  # the 2 wrong ones are never robust
    assert (linf["median_min_eps"] >= 0).all() and linf["median_l2"].isna().all()
    for _, df in linf.groupby(["epoch", "attack"]):
        assert df["robust_accuracy"].is_monotonic_decreasing  # broken at eps stays broken above it
    # the worst case is at least as strong as each attack, at every eps
    for _, df in linf.groupby("epoch"):
        ra = df.pivot(index="eps", columns="attack", values="robust_accuracy")
        assert (ra["worst"] <= ra[["pgd", "apgd-ce", "apgd-dlr"]].min(axis=1) + 1e-9).all()
    cw = table[table["attack"] == "cw"]
    assert cw["eps"].isna().all() and cw["success_rate"].between(0, 1).all()
    assert (cw["median_l2"].dropna() > 0).all()
    assert table.groupby("epoch")["masking"].nunique().eq(1).all()  # one flag per snapshot
    with pytest.raises(ValueError, match="epoch"):
        whitebox.whitebox(s, x, y, epochs=[9], seed=0, **settings)


def test_aggregate_and_claims_pair_regimes_by_fold():
    rows = []
    for regime, shift in (("normal", 0.0), ("overfit", 0.01)):
        for fold in range(3):
            for epoch in (1, 2, 3):
                for attack in ("apgd-ce", "cw"):
                    eps = [0.1, 0.3] if attack != "cw" else [np.nan]
                    for e in eps:
                        rows.append(
                            {
                                "regime": regime, "fold": fold, "epoch": epoch, "attack": attack, "eps": e,
                                "clean_accuracy": 0.9, "robust_accuracy": 0.5, "success_rate": 0.5,
                                "median_min_eps": 0.05 + shift + 0.001 * fold, "median_l2": 1.0,
                                "median_min_l2": 1.0 - 10 * shift + 0.01 * epoch, "masking": fold == 0,
                            }
                        )  # fmt: skip
    frame = pd.DataFrame(rows)
    claims = pd.DataFrame(
        stats.whitebox_claims(frame, normal="normal", overfit="overfit", warmup=0, confidence=0.95)
    )
    assert claims["p_value"].between(0, 1).all()
    verdicts = dict(zip(claims["claim"].str.extract(r"white-box (\S+)")[0], claims["verdict"], strict=True))
    assert verdicts == {"apgd-ce": "supported", "cw": "not supported"}
    frames = {(r, f): df.drop(columns=["regime", "fold"]) for (r, f), df in frame.groupby(["regime", "fold"])}
    summary = aggregate.whitebox(frames)
    cw = summary[(summary["attack"] == "cw") & (summary["quantity"] == "median_min_l2")]
    assert len(cw) == 6 and cw["eps"].isna().all() and (cw["folds"] == 3).all()  # CW rows kept
    masking = summary[summary["quantity"] == "masking"]["mean"]
    assert np.allclose(masking, 1 / 3)
