"""Degenerate but legal cases: an empty attack set, an attack that succeeds on nothing."""

import numpy as np
import pandas as pd
import pytest

from conftest import separable
from robustcurves import aggregate, attacks, evaluation, metrics, models, plots, tables, training


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    x, y = separable(n=120, shape=(32, 32, 1))
    path = tmp_path_factory.mktemp("s") / "s.h5"
    training.train(
        x[:80],
        y[:80],
        x[80:100],
        y[80:100],
        x[100:],
        y[100:],
        classes=3,
        epochs=2,
        batch_size=16,
        learning_rate=1e-3,
        seed=0,
        snapshots_path=path,
    )
    with models.Snapshots(path) as s:
        yield s, x[100:], y[100:]


def test_empty_attack_set_is_recorded_not_a_crash(snapshots):
    s, x, y = snapshots
    empty_x, empty_y = x[:0], y[:0]
    adv = attacks.craft(s.model(2), empty_x, empty_y, {"method": "fgsm", "eps": 0.3}, seed=0)
    assert adv.shape == (0, 32, 32, 1)
    d = metrics.distances(empty_x, adv)
    assert all(len(v) == 0 for v in d.values())
    ev = evaluation.evaluate_snapshots(s, x, y, {"fgsm": (adv, empty_y)})
    fgsm = ev[ev["attack"] == "fgsm"]
    assert (fgsm["samples"] == 0).all() and fgsm["asr"].isna().all()
    assert ev[ev["attack"] == "clean"]["asr"].notna().all()


def test_attack_that_succeeds_on_nothing_gives_nan_distances_and_figures_still_render(tmp_path):
    none = pd.DataFrame(
        {
            "index": [1, 2],
            "label": [0, 1],
            "success": [False, False],
            "l0": [0, 0],
            "l2": [0.0, 0.0],
            "linf": [0.0, 0.0],
        }
    )
    some = none.assign(success=[True, False], l0=[5, 0], l2=[0.5, 0.0], linf=[0.2, 0.0])
    summary = aggregate.distances(
        {
            ("normal", 0, "cw"): none,
            ("normal", 1, "cw"): some,
            ("normal", 0, "fgsm"): some,
            ("normal", 1, "fgsm"): some,
        }
    )
    table = tables.distance_table(summary, "normal").set_index("attack")
    assert table.loc["cw", "l2_mean"] == pytest.approx(0.5)  # only the fold with a success counts
    assert table.loc["cw", "samples_mean"] == pytest.approx(0.5)
    tables.write(table.reset_index(), tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.tex", "caption")
    cw_row = next(line for line in (tmp_path / "t.md").read_text().splitlines() if line.startswith("| cw"))
    assert "0.5000" in cw_row

    rob = pd.DataFrame(
        {
            "epoch": [1, 2],
            "clever": [np.nan, 0.4],
            "loss_sensitivity": [np.nan, 1.0],
            "empirical_robustness": [np.nan, np.nan],
            "samples": [0, 3],
        }
    )
    frames = {("normal", 0): rob, ("normal", 1): rob}
    fig = plots.sensitivity_robustness(aggregate.robustness(frames), "d", ["normal"])
    plots.save(fig, [tmp_path / "f.png"])
    assert (tmp_path / "f.png").stat().st_size > 1000
