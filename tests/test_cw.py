import inspect

import keras
import numpy as np
import pytest
from backends import OTHER, needs_other, on_backend, weights_arrays

from conftest import separable
from robustcurves import art_adapter, attacks, models
from robustcurves.attacks.cw import carlini_wagner_l2
from robustcurves.attacks.cw_linesearch import carlini_wagner_l2_linesearch
from robustcurves.config import ConfigError, check, defaults
from robustcurves.measures import distances
from workflow_utils import ROOT


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    x, y = separable(n=300, shape=(12, 12, 1))
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:240], y[:240], epochs=5, batch_size=32, verbose=0)
    x, y = x[240:], y[240:]
    correct = model.predict(x, verbose=0).argmax(axis=1) == y
    assert correct.mean() > 0.9, "the fixture model did not learn"
    return model, x[correct], y[correct]


def predicted(model, x):
    return model(x, training=False).numpy().argmax(axis=1)


def test_cw_succeeds_with_no_more_l2_than_fgsm(trained):
    model, x, y = trained
    cw = carlini_wagner_l2(model, x, y)
    fgsm = attacks.craft(model, x, y, {"method": "fgsm", "eps": 0.3}, seed=0)
    cw_ok, fgsm_ok = predicted(model, cw) != y, predicted(model, fgsm) != y
    assert cw_ok.mean() >= 0.95 and cw_ok.mean() >= fgsm_ok.mean()
    l2_cw, l2_fgsm = distances.distances(x, cw)["l2"], distances.distances(x, fgsm)["l2"]
    both = cw_ok & fgsm_ok
    assert both.sum() >= 10
    assert np.all(l2_cw[both] <= l2_fgsm[both])
    assert cw.dtype == np.float32 and cw.shape == x.shape and cw.min() >= 0.0 and cw.max() <= 1.0


def test_images_without_an_adversarial_come_back_unchanged(trained):
    model, x, y = trained
    # one iteration at the starting point: nothing is adversarial yet
    adv = carlini_wagner_l2(model, x, y, binary_search_steps=1, max_iter=1)
    np.testing.assert_array_equal(adv, x)
    assert carlini_wagner_l2(model, x[:0], y[:0]).shape == (0, 12, 12, 1)


def test_deterministic_chunked_and_dispatched_by_craft(trained):
    model, x, y = trained
    params = {"binary_search_steps": 3, "max_iter": 20, "learning_rate": 0.2, "initial_const": 1.0}
    whole = carlini_wagner_l2(model, x, y, **params)
    np.testing.assert_array_equal(whole, carlini_wagner_l2(model, x, y, **params))
    # chunks are independent attacks: chunking only changes early aborts, never the per-image validity
    chunked = carlini_wagner_l2(model, x, y, batch_size=7, **params)
    assert np.mean(predicted(model, chunked) != y) >= 0.9
    crafted = attacks.craft(
        model, x, y, {"method": "cw", "implementation": "batched", "algorithm": "adam", **params}, seed=0
    )
    np.testing.assert_array_equal(whole, crafted)


# ART's CarliniL2Method, batched (algorithm: line-search). Fewer search steps than ART's defaults keep
# ART's own run to a few seconds; a larger c0 makes the binary search both halve and double.
ART_LIKE = {"binary_search_steps": 4, "max_iter": 6, "initial_const": 0.5}


def test_line_search_agrees_with_art_image_by_image(trained):
    model, x, y = trained
    ours = carlini_wagner_l2_linesearch(model, x, y, **ART_LIKE)
    # one ART batch: ART's only batch-wide test then sees the same images as our one chunk
    art = art_adapter.generate("cw", model, x, y, {**ART_LIKE, "batch_size": len(x)}, seed=0)
    ok_ours, ok_art = predicted(model, ours) != y, predicted(model, art) != y
    np.testing.assert_array_equal(ok_ours, ok_art)
    assert 0.3 <= ok_art.mean(), "too few successes to compare"
    l2_ours, l2_art = distances.distances(x, ours)["l2"], distances.distances(x, art)["l2"]
    np.testing.assert_allclose(l2_ours[ok_art], l2_art[ok_art], rtol=1e-4)
    # float32 round-off only: the same images, pixel by pixel
    np.testing.assert_allclose(ours, art, atol=1e-5)


def test_line_search_unbroken_images_come_back_unchanged(trained):
    model, x, y = trained
    adv = carlini_wagner_l2_linesearch(model, x, y, binary_search_steps=1, max_iter=1, initial_const=1e-6)
    np.testing.assert_array_equal(adv, x)
    assert carlini_wagner_l2_linesearch(model, x[:0], y[:0]).shape == (0, 12, 12, 1)
    with pytest.raises(ValueError, match="max_halving"):
        carlini_wagner_l2_linesearch(model, x, y, max_halving=0)


def test_algorithm_dispatch(trained):
    model, x, y = trained
    x, y = x[:12], y[:12]
    craft = attacks.craft
    line = carlini_wagner_l2_linesearch(model, x, y, **ART_LIKE)
    for params in ({"algorithm": "line-search"}, {}, {"implementation": "batched", "max_halving": 5}):
        adv = craft(model, x, y, {"method": "cw", **params, **ART_LIKE}, seed=0)
        np.testing.assert_array_equal(adv, line)
    adam = {"binary_search_steps": 2, "max_iter": 10}
    # max_halving/max_doubling at line-search's defaults: what a schema-filled config carries
    filled = {"max_halving": 5, "max_doubling": 5}
    np.testing.assert_array_equal(
        craft(model, x, y, {"method": "cw", "algorithm": "adam", **adam, **filled}, seed=0),
        carlini_wagner_l2(model, x, y, **adam),
    )
    for params, message in (
        ({"algorithm": "adam", "max_halving": 3}, "line-search only"),
        ({"algorithm": "adam", "implementation": "art"}, "ART's CarliniL2Method is the line-search"),
        ({"algorithm": "lbfgs"}, "unknown algorithm"),
        ({"implementation": "torch"}, "unknown implementation"),
    ):
        with pytest.raises(ValueError, match=message):
            craft(model, x, y, {"method": "cw", **params}, seed=0)


def test_config_schema_knows_the_algorithm():
    schema = ROOT / "workflow/schemas/config.schema.yaml"
    config = defaults(schema, datasets={"d": {"kind": "mnist5k"}})
    cw_config = config["attacks"]["cw"]
    cw_config.update(algorithm="line-search", max_halving=3, max_doubling=2)
    check(config, schema)
    cw_config["algorithm"] = "newton"
    with pytest.raises(ConfigError, match="attacks.cw.algorithm"):
        check(config, schema)


@pytest.mark.parametrize("algorithm", [None, "line-search", "adam"])
def test_config_fills_each_algorithms_own_defaults(algorithm):
    """A config that names only the algorithm gets that algorithm's defaults, the ones its function takes
    when called without them, and nothing else."""
    attack = {"method": "cw"} if algorithm is None else {"method": "cw", "algorithm": algorithm}
    schema = ROOT / "workflow/schemas/config.schema.yaml"
    filled = defaults(schema, datasets={"d": {"kind": "mnist5k"}}, attacks={"a": attack})["attacks"]["a"]
    function = carlini_wagner_l2 if algorithm == "adam" else carlini_wagner_l2_linesearch
    expected = {
        k: p.default
        for k, p in inspect.signature(function).parameters.items()
        if p.default is not p.empty and k != "clip"
    }
    assert {k: filled[k] for k in expected} == expected
    assert filled["algorithm"] == (algorithm or "line-search")


# Cross-backend agreement (issue 23, item 4): the same snapshot weights and images under TensorFlow (this
# process) and JAX (a subprocess), each algorithm at its defaults. The bounds for the line-search:
# the same success on >= 99 % of images, median relative L2 difference <= 1e-4 on images both broke.
# Adam has no bound in the issue: its chunk-wide early abort and Adam's normalised steps amplify round-off
# (a one-ulp change of the input moves its L2 by a median 5e-4 on TensorFlow alone, 300 CIFAR-10 images,
# where the line-search moves 8e-8), so its L2 bound is 1e-3. Measured here: every image the same,
# medians ~1e-8 (line-search) and ~1e-7 (Adam); on 300 CIFAR-10 images, 8e-8 and 6e-4.
def cw_on_backend(x, y, classes, **weights) -> dict:
    """Run under another backend by on_backend: both algorithms' adversarials of the snapshot."""
    from backends import model_from

    model = model_from(weights, x.shape[1:], classes)
    return {
        "line_search": carlini_wagner_l2_linesearch(model, x, y),
        "adam": carlini_wagner_l2(model, x, y),
    }


@needs_other
def test_tensorflow_and_jax_agree_image_by_image(trained_snapshots, tmp_path):
    path, split = trained_snapshots
    with models.Snapshots(path) as snapshots:
        model, classes = snapshots.model(snapshots.epochs[-1]), snapshots.classes
    logits = models.logits_fn(model)
    correct = models.predict(logits, split.x_test) == split.y_test
    x, y = split.x_test[correct], split.y_test[correct]
    assert len(x) >= 30, "the snapshot classifies too few test images"
    weights = weights_arrays(model)
    theirs = on_backend(
        OTHER, "test_cw:cw_on_backend", tmp_path, x=x, y=y, classes=np.array(classes), **weights
    )
    ours = cw_on_backend(x, y, classes, **weights)
    for name, l2_bound in (("line_search", 1e-4), ("adam", 1e-3)):
        # success judged by one model (TensorFlow's) for both backends' images
        ok_ours = models.predict(logits, ours[name]) != y
        ok_theirs = models.predict(logits, theirs[name]) != y
        assert ok_ours.mean() >= 0.9, f"{name}: too few successes to compare"
        differ = np.sum(ok_ours != ok_theirs)
        assert np.mean(ok_ours == ok_theirs) >= 0.99, f"{name}: success differs on {differ} images"
        both = ok_ours & ok_theirs
        l2_ours = distances.distances(x, ours[name])["l2"]
        l2_theirs = distances.distances(x, theirs[name])["l2"]
        relative = np.abs(l2_theirs[both] - l2_ours[both]) / l2_ours[both]
        median = np.median(relative)
        assert median <= l2_bound, f"{name}: median relative L2 difference {median:.2e} > {l2_bound}"
