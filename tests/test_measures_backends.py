"""The snapshot measures written once in keras.ops (robustcurves.measures: loss_sensitivity,
empirical_robustness, degenerate): our loss sensitivity against ART's, and minimal FGSM, empirical
robustness, loss sensitivity and the logit-Jacobian norms of the degenerate check on TensorFlow
against JAX (issue 23)."""

import numpy as np
import pytest
from backends import OTHER, needs_other, on_backend, weights_arrays

from conftest import separable
from robustcurves import art_adapter, models
from robustcurves.measures import degenerate, empirical_robustness, loss_sensitivity


@pytest.fixture(scope="module")
def trained(trained_snapshots):
    """The tiny snapshot and fresh images of its training distribution (true labels, not all correct)."""
    path, _ = trained_snapshots
    with models.Snapshots(path) as s:
        model = s.model(3)
    x, y = separable(n=200, shape=(32, 32, 1), seed=13)
    return model, x, y


def test_our_loss_sensitivity_is_arts(trained):
    model, x, y = trained
    art = art_adapter.loss_sensitivity(model, x, y)
    assert art > 0
    assert loss_sensitivity.loss_sensitivity(model, x, y) == art  # on TensorFlow the default is ART's own
    for batch_size in (256, 7):  # ART's per-sample losses: the value does not depend on the batch
        ours = loss_sensitivity.loss_sensitivity(model, x, y, implementation="batched", batch_size=batch_size)
        assert ours == pytest.approx(art, rel=1e-6)
    assert np.isnan(loss_sensitivity.loss_sensitivity(model, x[:0], y[:0], implementation="batched"))


def measures_on_backend(x, y, classes, **weights) -> dict:
    """Run on each backend (under the other by on_backend): every measure of robustness.py and
    degenerate.py, at defaults (loss sensitivity: ART's on TensorFlow, ours elsewhere)."""
    from backends import model_from

    model = model_from(weights, x.shape[1:], classes)
    adv, success = empirical_robustness.minimal_fgsm(model, x, 0.01, 0.5)
    er, er_n = empirical_robustness.empirical_robustness(model, x, 0.01, 0.5)
    return {
        "minimal_fgsm": adv,
        "success": success,
        "empirical_robustness": np.array([er, er_n]),
        "loss_sensitivity": np.array(loss_sensitivity.loss_sensitivity(model, x, y)),
        "norms": degenerate.input_gradient_norms(model, x),
    }


# The issue gives no bound for these measures; they are deterministic functions of the same weights,
# so they must agree to float round-off: a gradient sign that round-off flips can change an image's
# minimal FGSM step, so that one (>= 99 % the same); empirical robustness is a mean over images of the
# step over the image's norm, which one image in a hundred moves by about 1 % of its value.
@needs_other
def test_measures_agree_across_backends(trained, tmp_path):
    model, x, y = trained
    arrays = {"x": x, "y": y, "classes": np.array(model.output_shape[-1]), **weights_arrays(model)}
    ours = measures_on_backend(**arrays)
    theirs = on_backend(OTHER, "test_measures_backends:measures_on_backend", tmp_path, **arrays)
    assert 0.1 < ours["success"].mean() < 1, "an eps range where success can differ"
    assert np.mean(ours["success"] == theirs["success"]) >= 0.99
    step = {
        k: np.abs(v["minimal_fgsm"] - x).reshape(len(x), -1).max(axis=1)
        for k, v in (("tf", ours), ("o", theirs))
    }
    assert np.mean(np.isclose(step["tf"], step["o"], rtol=0, atol=1e-6)) >= 0.99
    (er, er_n), (er_o, er_n_o) = ours["empirical_robustness"], theirs["empirical_robustness"]
    assert abs(er_n - er_n_o) <= 0.01 * len(x) and er_o == pytest.approx(er, rel=1e-2)
    assert theirs["loss_sensitivity"] == pytest.approx(ours["loss_sensitivity"], rel=1e-5)
    assert ours["norms"].min() > degenerate.GRADIENT_TOL  # a sound snapshot
    np.testing.assert_allclose(theirs["norms"], ours["norms"], rtol=1e-5)
