"""Thin data: one fold with successes (std NaN), folds with none, attacks with none at all."""

import numpy as np
import pandas as pd
import pytest

from robustcurves import io, registry
from robustcurves.report import figure, table
from robustcurves.stages import aggregate


def fold(success, l2):
    """A per-image distances frame (as distances/{attack}.csv) with these successes and L2s."""
    success, l2 = np.asarray(success, bool), np.asarray(l2, float)
    return pd.DataFrame(
        {
            "index": np.arange(len(success)),
            "label": 0,
            "success": success,
            "l0": np.where(success, 1024, 0),
            "l2": l2,
            "l2_pixel": l2 / np.sqrt(3),
            "linf": np.where(success, 0.3, 0.0),
        }
    )


def write_table(summary, regime, tmp_path):
    rows = table.distance_table(summary, regime)
    paths = [tmp_path / f"t.{ext}" for ext in ("csv", "md", "tex")]
    rendered = {paths[1]: table.markdown(rows, "caption"), paths[2]: table.latex(rows, "caption")}
    io.write_table(rows, paths[0], rendered)
    return rows.set_index("attack"), paths[1].read_text(), paths[2].read_text()


def test_successes_from_a_single_fold_render_marked_not_keyerror(tmp_path):
    # regression: `KeyError: ('std', 'l0')` when every std is NaN (issue 13)
    summary = aggregate.distances(
        {
            ("normal", 0, "cw"): fold([False, False], [0, 0]),
            ("normal", 1, "cw"): fold([True, True], [0.4, 0.6]),
        }
    )
    rows, md, tex = write_table(summary, "normal", tmp_path)
    cw = rows.loc["cw"]
    assert np.isnan(cw["l2_std"]) and cw["l2_mean"] == pytest.approx(0.5)
    assert cw["l2_std_images"] == pytest.approx(np.std([0.4, 0.6], ddof=1))
    assert (cw["folds"], cw["folds_attacked"]) == (1, 2)
    row = next(line for line in md.splitlines() if line.startswith("| cw"))
    assert "0.5000 ± n/a (1 fold) [0.1414]" in row and "1 / 2" in row
    assert r"n/a (1 fold)" in tex and r"\begin{tabular}" in tex


def test_an_attack_that_breaks_nothing_renders_marked(tmp_path):
    summary = aggregate.distances(
        {
            ("normal", 0, "cw"): fold([False], [0]),
            ("normal", 1, "cw"): fold([False], [0]),
            ("normal", 0, "fgsm"): fold([True, True], [8.0, 9.0]),
            ("normal", 1, "fgsm"): fold([True, False], [10.0, 0]),
            ("overfit", 0, "fgsm"): fold([False], [0]),
            ("overfit", 1, "fgsm"): fold([False], [0]),
        }
    )
    rows, md, tex = write_table(summary, "normal", tmp_path)
    assert rows.loc["cw", ["l0_mean", "l2_mean", "l2_pixel_mean", "linf_mean"]].isna().all()
    assert rows.loc["cw", "folds"] == 0 and rows.loc["cw", "samples_mean"] == 0
    cw = next(line for line in md.splitlines() if line.startswith("| cw"))
    assert cw.count(table.NO_SUCCESS) == 4 and "0 / 2" in cw
    fgsm = rows.loc["fgsm"]
    assert fgsm["l2_mean"] == pytest.approx((8.5 + 10.0) / 2)  # mean of the fold means
    assert fgsm["l2_std"] == pytest.approx(np.std([8.5, 10.0], ddof=1))
    assert fgsm["l2_std_images"] == pytest.approx(np.std([8.0, 9.0, 10.0], ddof=1))  # pooled
    pooled = summary.set_index(["regime", "attack", "quantity"]).loc[("normal", "fgsm", "l2")]
    assert pooled["pooled_mean"] == pytest.approx(9.0) and pooled["images"] == 3
    # a regime whose only attack broke nothing still writes its table
    rows, md, _ = write_table(summary, "overfit", tmp_path)
    assert rows.loc["fgsm", "l2_mean"] != rows.loc["fgsm", "l2_mean"]  # NaN
    assert table.NO_SUCCESS in md


def test_older_fold_files_without_l2_pixel_still_aggregate(tmp_path):
    old = fold([True, False], [1.0, 0]).drop(columns="l2_pixel")
    summary = aggregate.distances({("normal", 0, "cw"): old, ("normal", 1, "cw"): old})
    assert "l2_pixel" not in set(summary["quantity"])
    rows, md, _ = write_table(summary, "normal", tmp_path)
    assert "l2_pixel_mean" not in rows and "L2 per pixel" not in md


def test_figures_render_from_one_fold_and_from_attacks_with_nothing_to_show(tmp_path):
    epochs = [1, 2, 3]
    history = pd.DataFrame(
        {
            "epoch": epochs,
            **{f"{s}_{q}": [0.3, 0.5, 0.6] for s in ("train", "val", "test") for q in ("accuracy", "loss")},
        }
    )
    evaluation = pd.concat(
        [
            pd.DataFrame({"epoch": epochs, "attack": "clean", "accuracy": 0.5, "asr": np.nan, "samples": 4}),
            pd.DataFrame({"epoch": epochs, "attack": "cw", "accuracy": 0.5, "asr": 0.0, "samples": 4}),
            pd.DataFrame(
                {"epoch": epochs, "attack": "fgsm", "accuracy": np.nan, "asr": np.nan, "samples": 0}
            ),
        ]
    )
    robustness = pd.DataFrame(
        {
            "epoch": epochs,
            "clever": [np.nan, np.nan, 0.2],
            "loss_sensitivity": [np.nan, 1.0, 2.0],
            "empirical_robustness": np.nan,
            "samples": [0, 3, 3],
        }
    )
    one_fold = {"history": history, "evaluation": evaluation, "robustness": robustness}
    summaries = {name: getattr(aggregate, name)({("normal", 0): df}) for name, df in one_fold.items()}
    assert summaries["history"]["std"].isna().all()  # one fold: no spread anywhere
    drawn = [name for name, needs in registry.FIGURES.items() if set(needs) <= set(summaries)]
    assert len(drawn) == len(registry.FIGURES) - 1  # all but the white-box figure, which has no data here
    for name in drawn:
        fig = figure.draw(
            name, {s: summaries[s] for s in registry.FIGURES[name]}, dataset="d", regimes=["normal"]
        )
        figure.save(fig, [tmp_path / f"{name}.png"])
        assert (tmp_path / f"{name}.png").stat().st_size > 5000


def test_fold_frames_take_their_keys_from_the_rule_not_the_path(tmp_path):
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"anything{i}.csv")
        pd.DataFrame({"epoch": [1], "accuracy": [0.5 + i / 10]}).to_csv(paths[-1], index=False)
    frames = aggregate.read_fold_frames(paths, [["overfit", 1, "cw"], ["normal", 0, "cw"]])
    assert list(frames) == [("overfit", 1, "cw"), ("normal", 0, "cw")]
    assert frames[("normal", 0, "cw")]["accuracy"].item() == pytest.approx(0.6)
    with pytest.raises(ValueError):  # a key list out of step with the inputs
        aggregate.read_fold_frames(paths, [["normal", 0]])
