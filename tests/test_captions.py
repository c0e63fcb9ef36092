"""Figure captions (workflow/report/figure.rst) are filled from the run's own config: no number or
regime count of the default run leaks into another run's report (issue 21)."""

from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from robustcurves import config as configuration
from robustcurves import registry

ROOT = Path(__file__).resolve().parents[1]


# as Snakemake renders captions (snakemake/report: trim_blocks and lstrip_blocks), and strict: a key the
# config does not have is an error here, not an empty word in the report
RENDER = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def caption(figure: str, datasets=None, **given) -> str:
    datasets = datasets or {"d": {"kind": "mnist5k"}}
    cfg = configuration.defaults(ROOT / "workflow/schemas/config.schema.yaml", datasets=datasets, **given)
    snakemake = SimpleNamespace(config=cfg, wildcards=SimpleNamespace(figure=figure, dataset="d"))
    text = (ROOT / "workflow/report/figure.rst").read_text()
    return " ".join(RENDER.from_string(text).render(snakemake=snakemake).split())


@pytest.mark.parametrize("figure", registry.FIGURES)
def test_every_caption_renders_from_the_validated_config(figure):
    assert "Dataset ``d``" in caption(figure)


def test_the_training_caption_gives_the_dataset_s_own_regime_settings():
    sgd = {"optimizer": "sgd", "learning_rate": 0.05, "weight_decay": 1e-4, "augment": True}
    text = caption("training_curves", datasets={"d": {"kind": "mnist5k", "regimes": {"overfit": sgd}}})
    assert "normal: Adam, learning rate 1e-05;" in text
    assert "overfit: SGD, learning rate 0.05, momentum 0.9, weight decay 0.0001, flips and crops)" in text


def test_the_masking_threshold_and_image_count_come_from_the_config():
    text = caption("transfer_whitebox", whitebox={"masking_images": 5, "samples": 40})
    assert "at least 5 fewer of the 40 images" in text and "by at least 5 images" in text
    assert "5 points" not in text


@pytest.mark.parametrize(
    ("regimes", "words"),
    [
        ({"only": {"learning_rate": 1e-3}}, "of the only regime side by side"),
        ({"a": {"learning_rate": 1e-3}, "b": {"learning_rate": 1e-4}}, "of both regimes side by side"),
        ({r: {"learning_rate": 1e-3} for r in "abc"}, "of the 3 regimes side by side"),
    ],
)
def test_the_headline_caption_counts_the_run_s_regimes(regimes, words):
    assert words in caption("headline", regimes=regimes)
    shared = caption("transfer_whitebox", regimes=regimes)
    assert ("shared by the regimes" in shared) == (len(regimes) > 1) and "both regimes" not in shared
