"""Degenerate but legal cases: an empty attack set, an attack that succeeds on nothing."""

import numpy as np
import pandas as pd
import pytest

from conftest import separable_split, train_tiny
from robustcurves import attacks, models
from robustcurves.measures import degenerate, distances
from robustcurves.report import figure, table
from robustcurves.stages import aggregate, evaluate, robustness


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    split, path = separable_split(n=120, train=80, val=20), tmp_path_factory.mktemp("s") / "s.h5"
    train_tiny(path, split, epochs=2, learning_rate=1e-3, seed=0)
    with models.Snapshots(path) as s:
        yield s, split.x_test, split.y_test


def test_empty_attack_set_is_recorded_not_a_crash(snapshots):
    s, x, y = snapshots
    empty_x, empty_y = x[:0], y[:0]
    adv = attacks.craft(s.model(2), empty_x, empty_y, {"method": "fgsm", "eps": 0.3}, seed=0)
    assert adv.shape == (0, 32, 32, 1)
    d = distances.distances(empty_x, adv)
    assert all(len(v) == 0 for v in d.values())
    ev = evaluate.evaluate_snapshots(s, x, y, {"fgsm": (adv, empty_y)})
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
    rows = table.distance_table(summary, "normal").set_index("attack")
    assert rows.loc["cw", "l2_mean"] == pytest.approx(0.5)  # only the fold with a success counts
    assert rows.loc["cw", "samples_mean"] == pytest.approx(0.5)
    md = table.markdown(rows.reset_index(), "caption")
    cw_row = next(line for line in md.splitlines() if line.startswith("| cw"))
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
    fig = figure.sensitivity_robustness(aggregate.robustness(frames), "d", ["normal"])
    figure.save(fig, [tmp_path / "f.png"])
    assert (tmp_path / "f.png").stat().st_size > 1000


@pytest.fixture(scope="module")
def collapsed(tmp_path_factory):
    """Adam at learning rate 1.0 kills every ReLU of the LeNet on these images within one epoch."""
    split, path = separable_split(n=120, train=80, val=20), tmp_path_factory.mktemp("c") / "s.h5"
    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("robustcurves.stages.train").addHandler(handler)
    try:
        train_tiny(path, split, epochs=2, learning_rate=1.0, seed=0, label="toy/overfit/fold3")
    finally:
        logging.getLogger("robustcurves.stages.train").removeHandler(handler)
    with models.Snapshots(path) as s:
        yield s, split.x_test, split.y_test, [r.getMessage() for r in records if r.levelno == logging.WARNING]


def test_collapsed_network_is_flagged_warned_and_excluded(collapsed, snapshots):
    s, x, y, warnings = collapsed
    assert any("toy/overfit/fold3 epoch 1 is degenerate" in w for w in warnings)
    settings = {
        "clever": {"norm": 2, "radius": 2.0, "nb_batches": 20, "batch_size": 8},
        "empirical_robustness": {"eps_step": 0.1, "eps_max": 1.0},
    }
    rob, per_image = robustness.robustness_tables(
        s, x[:4], y[:4], epochs=s.epochs, seed=0, x_test=x, **settings
    )
    assert rob["constant_predictions"].all() and rob["vanishing_gradients"].all()
    assert rob["degenerate"].str.contains("constant predictions").all()
    # excluded, not "maximally robust": no CLEVER at the radius cap, no zero loss sensitivity
    for column in ("clever", "clever_median", "loss_sensitivity", "empirical_robustness"):
        assert rob[column].isna().all(), column
    assert list(per_image.columns) == robustness.CLEVER_COLUMNS and len(per_image) == 4 * len(s.epochs)
    assert per_image[["score", "raw"]].isna().all().all() and (per_image["reason"] == "degenerate").all()
    ev = evaluate.evaluate_snapshots(s, x, y, {}, x_metric=x[:4])
    assert ev["constant_predictions"].all() and ev["vanishing_gradients"].all()

    # a trained network on the same images is not flagged and gets numbers
    healthy, xh, yh = snapshots
    rob = robustness.robustness(healthy, xh[:4], yh[:4], epochs=[2], seed=0, x_test=xh, **settings)
    assert not rob["constant_predictions"].any() and not rob["vanishing_gradients"].any()
    assert (rob["degenerate"].fillna("") == "").all()
    assert rob["loss_sensitivity"].gt(0).all()


def test_degenerate_flags_follow_their_thresholds():
    ok = degenerate.degenerate(np.array([0] * 98 + [1, 2]), np.array([1e-3, 0.0]))
    assert not ok["constant_predictions"] and not ok["vanishing_gradients"] and ok["degenerate"] == ""
    bad = degenerate.degenerate(np.array([2] * 99 + [1]), np.array([0.0, 1e-9]))
    assert bad["constant_predictions"] and bad["vanishing_gradients"]
    assert "class 2 on 99.0%" in bad["degenerate"]


def test_a_network_right_on_a_test_set_of_nearly_one_class_is_not_constant_predictions():
    labels = np.array([0] * 199 + [1])  # a class-poor test set: 99.5 % one class
    right = degenerate.degenerate(labels.copy(), np.array([1e-3]), labels)
    assert not right["constant_predictions"] and right["degenerate"] == ""
    collapsed = degenerate.degenerate(np.zeros(200, int), np.array([1e-3]), np.arange(200) % 2)
    assert collapsed["constant_predictions"] and "class 0 on 100.0%" in collapsed["degenerate"]


def toy_adversarials(s, x, y):
    """The originals themselves, except the first half of the ones the epoch-2 snapshot classifies
    correctly, replaced by an image it puts in another class: (predictions, x_adv, indices, replaced)."""
    pred = models.predict(models.logits_fn(s.model(2)), x)
    idx = np.arange(len(x))
    x_adv = x.copy()
    flip = (pred == y) & (idx < len(x) // 2)
    for i in np.flatnonzero(flip):
        x_adv[i] = x[np.flatnonzero(pred != y[i])[0]]
    return pred, x_adv, idx, flip


def test_conditional_asr_counts_only_originals_the_snapshot_gets_right(snapshots):
    s, x, y = snapshots
    # conditional ASR is exactly the replaced half's share of the correctly classified originals
    pred, x_adv, idx, flip = toy_adversarials(s, x, y)
    ev = evaluate.evaluate_snapshots(s, x, y, {"toy": (x_adv, y, idx)})
    row = ev[(ev["epoch"] == 2) & (ev["attack"] == "toy")].iloc[0]
    correct = pred == y
    assert row["correct_originals"] == correct.sum()
    assert row["asr_given_correct"] == pytest.approx(flip.sum() / correct.sum())
    assert 0 < flip.sum() < correct.sum() and row["asr"] == pytest.approx(np.mean((pred != y) | flip))
    # without the originals' indices there is no conditional ASR
    ev = evaluate.evaluate_snapshots(s, x, y, {"toy": (x_adv, y)})
    assert ev.loc[ev["attack"] == "toy", "asr_given_correct"].isna().all()


def test_transfer_rate_replays_only_the_adversarials_that_succeeded_when_crafted(snapshots):
    s, x, y = snapshots
    # issue 19, item 8: an attack that failed on an image returns it unchanged. Here it "succeeded" on
    # the replaced half and failed on the rest, which come back as the clean originals
    pred, x_adv, idx, crafted = toy_adversarials(s, x, y)
    ev = evaluate.evaluate_snapshots(s, x, y, {"toy": (x_adv, y, idx, crafted)})
    row = ev[(ev["epoch"] == 2) & (ev["attack"] == "toy")].iloc[0]
    assert 0 < crafted.sum() < len(x)
    assert row["transfer_rate"] == 1.0  # every real adversarial still fools this snapshot
    assert row["crafted_success"] == pytest.approx(crafted.mean())
    assert row["crafted_successes"] == crafted.sum()
    # the plain ASR mixes in the failed (clean) images: the snapshot's clean error on them
    assert row["asr"] == pytest.approx(np.mean((pred != y) | crafted))
    # crafting success is one number per set, the same on every epoch; clean rows have none
    sets = ev[ev["attack"] == "toy"]
    assert sets["crafted_success"].nunique() == 1 and len(sets) == len(s.epochs)
    assert ev.loc[ev["attack"] == "clean", ["transfer_rate", "crafted_success"]].isna().all().all()
    # no success at all: no transfer rate (NaN, not 0), and a crafting success of 0
    ev = evaluate.evaluate_snapshots(s, x, y, {"toy": (x, y, idx, np.zeros(len(x), bool))})
    toy = ev[ev["attack"] == "toy"]
    assert toy["transfer_rate"].isna().all() and (toy["crafted_success"] == 0).all()
    # without the crafting success (older sets) neither is reported
    ev = evaluate.evaluate_snapshots(s, x, y, {"toy": (x_adv, y, idx)})
    assert ev.loc[ev["attack"] == "toy", ["transfer_rate", "crafted_success"]].isna().all().all()
    summary = aggregate.evaluation({("normal", 0): ev})
    assert {"transfer_rate", "crafted_success"} <= set(summary["quantity"])


def test_bands_stay_in_range_and_titles_count_degenerate_snapshots(tmp_path):
    ev = {
        ("normal", fold): pd.DataFrame(
            {
                "epoch": [1, 1, 2, 2],
                "attack": ["clean", "pgd", "clean", "pgd"],
                "samples": [10, 5, 10, 5],
                "accuracy": [0.5, 0.0, 0.1, 0.0],
                "asr": [0.5, 1.0, 0.9, 0.6 + 0.4 * fold],
                "asr_given_correct": [np.nan, 1.0, np.nan, 0.2 + 0.8 * fold],
                "degenerate": [
                    "",
                    "",
                    "constant predictions" if fold else "",
                    "constant predictions" if fold else "",
                ],
            }
        )
        for fold in (0, 1)
    }
    history = pd.DataFrame(
        {
            "regime": "normal",
            "epoch": [1, 2],
            "quantity": "test_accuracy",
            "mean": [0.5, 0.1],
            "std": 0.3,
            "folds": 2,
        }
    )
    summary = aggregate.evaluation(ev)
    fig = figure.accuracy_asr(history, summary, "d", ["normal"])
    assert len(fig.axes) == 2  # ASR above, conditional ASR below
    for ax in fig.axes:
        for band in ax.collections:
            y = band.get_paths()[0].vertices[:, 1]
            assert y.min() >= 0 and y.max() <= 1  # mean ± std would reach 1.28 and -0.2
    title = " ".join(fig._suptitle.get_text().split())  # titles wrap to the figure's width
    assert (
        "bands clipped to the range" in title and "excluded: 1 degenerate snapshots (normal epoch 2)" in title
    )
    figure.save(fig, [tmp_path / "a.png"])
