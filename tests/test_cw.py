import keras
import numpy as np
import pytest

from conftest import separable
from robustcurves import attacks, metrics
from robustcurves.attacks.cw import carlini_wagner_l2


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
    l2_cw, l2_fgsm = metrics.distances(x, cw)["l2"], metrics.distances(x, fgsm)["l2"]
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
    crafted = attacks.craft(model, x, y, {"method": "cw", "implementation": "batched", **params}, seed=0)
    np.testing.assert_array_equal(whole, crafted)
