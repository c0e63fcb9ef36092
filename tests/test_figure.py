"""What a figure's title says must follow from the numbers it shows."""

import pandas as pd
import pytest

from robustcurves.report import figure


def summary(rows, **fixed):
    return pd.DataFrame([{**fixed, **r} for r in rows])


def headline_title(asr_normal, asr_overfit):
    history = summary(
        [{"regime": r, "epoch": e, "mean": 0.9, "std": 0.0} for r in ("normal", "overfit") for e in (1, 2)],
        quantity="test_accuracy",
        folds=5,
    )
    rows = []
    for regime, asr in (("normal", asr_normal), ("overfit", asr_overfit)):
        for e in (1, 2):
            rows.append(
                {"regime": regime, "epoch": e, "attack": "cw", "quantity": "asr", "mean": asr, "folds": 5}
            )
            # a quantity undefined for clean images has no folds: not "over 0-5 folds"
            rows.append({"regime": regime, "epoch": e, "attack": "clean", "quantity": "asr_given_correct",
                         "mean": float("nan"), "folds": 0})  # fmt: skip
    evaluation = pd.DataFrame(rows).assign(std=0.0)
    fig = figure.headline(history, evaluation, "d", ["normal", "overfit"], attack="cw")
    title = fig._suptitle.get_text()
    figure.plt.close(fig)
    return title


def test_headline_names_the_lower_regime_only_where_the_shown_means_differ():
    assert "succeeds least against the overfit regime" in headline_title(0.44, 0.30)
    tied = headline_title(0.441, 0.439)
    assert "about as often against both regimes" in tied and "least" not in tied
    assert "normal 0.44, overfit 0.44" in tied
    assert "over 5 folds" in tied


@pytest.mark.parametrize("width", [4.0, 10.0])
def test_titles_wrap_to_the_figure_width(width):
    fig = figure.plt.figure(figsize=(width, 3))
    figure._finish(fig, "a " * 80 + "\nsecond line")
    lines = fig._suptitle.get_text().split("\n")
    assert len(lines) > 2 and max(map(len, lines)) <= max(30, int(width * 13))
    figure.plt.close(fig)


def test_a_figure_saved_twice_is_the_same_bytes_in_every_format(tmp_path):
    import matplotlib.pyplot as plt

    written = []
    for run in range(2):  # matplotlib salts SVG ids at random and dates SVG and PDF unless told not to
        fig, ax = plt.subplots()
        ax.fill_between([0, 1, 2], [0, 1, 0], [1, 2, 1], alpha=0.2)
        ax.set_title("epoch")
        paths = [tmp_path / f"{run}.{kind}" for kind in ("png", "svg", "pdf")]
        figure.save(fig, paths)
        written.append([p.read_bytes() for p in paths])
    assert written[0] == written[1]
