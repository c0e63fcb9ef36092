import logging

import keras
import numpy as np
import pytest
from backends import OTHER, needs_other, on_backend, weights_arrays

from conftest import separable
from robustcurves import art_adapter, attacks, backend, models, sampling
from robustcurves.attacks.pgd import pgd_with_success
from robustcurves.measures import distances, empirical_robustness
from robustcurves.stages import evaluate


@pytest.fixture(scope="module")
def trained(trained_snapshots):
    path, split = trained_snapshots
    with models.Snapshots(path) as s:
        return s.model(3), split.x_test, split.y_test


def test_fgsm_moves_every_pixel_by_exactly_eps_or_to_a_bound(trained):
    model, x, y = trained
    adv = attacks.craft(model, x, y, {"method": "fgsm", "eps": 0.3, "batch_size": 64}, seed=0)
    delta = np.abs(adv - x)
    at_eps = np.isclose(delta, 0.3, atol=1e-6)
    at_bound = np.isclose(adv, 0.0) | np.isclose(adv, 1.0)
    # FGSM steps along sign(gradient): a pixel whose loss gradient is exactly 0 (dead ReLU, pooled away)
    # has no direction to move in.
    grad = art_adapter.classifier(model).loss_gradient(x, np.eye(3, dtype=np.float32)[y])
    assert np.all(at_eps | at_bound | (grad == 0))
    assert np.all(delta[grad == 0] == 0)
    assert at_eps.mean() > 0.5
    assert distances.distances(x, adv)["linf"].max() == pytest.approx(0.3, abs=1e-6)


def test_pgd_stays_in_the_eps_ball_and_beats_fgsm(trained):
    model, x, y = trained
    fgsm = attacks.craft(model, x, y, {"method": "fgsm", "eps": 0.3}, seed=0)
    pgd = attacks.craft(model, x, y, {"method": "pgd", "eps": 0.3, "eps_step": 0.1, "max_iter": 20}, seed=0)
    assert np.abs(pgd - x).max() <= 0.3 + 1e-6 and pgd.min() >= 0 and pgd.max() <= 1
    forward = models.logits_fn(model)
    asr = {
        k: evaluate.attack_success_rate(models.predict(forward, v), y) for k, v in (("f", fgsm), ("p", pgd))
    }
    assert asr["p"] >= asr["f"]
    again = attacks.craft(model, x, y, {"method": "pgd", "eps": 0.3, "eps_step": 0.1, "max_iter": 20}, seed=0)
    np.testing.assert_array_equal(pgd, again)


def test_fold_images_are_the_seeded_draw_of_the_fold_and_purpose():
    from robustcurves import seeding

    for test_size, samples in ((50, 7), (5, 7), (6, 6)):
        idx, seed = sampling.fold_images(test_size, samples, 3, "mnist5k", "1", "whitebox")
        assert seed == seeding.derive(3, "mnist5k", "1", "whitebox")
        # the draw the white-box script made before it used fold_images: results must not change
        drawn = np.random.default_rng(seed).choice(test_size, min(samples, test_size), replace=False)
        assert idx.tolist() == sorted(drawn.tolist())
    idx, seed = sampling.fold_images(50, 7, 3, "mnist5k", "1", "robustness")
    assert seed == seeding.derive(3, "mnist5k", "1", "robustness")
    assert np.array_equal(idx, sampling.metric_indices(50, 7, seed))
    assert not np.array_equal(idx, sampling.fold_images(50, 7, 3, "mnist5k", "2", "robustness")[0])


def test_attack_indices_are_correct_ones_capped_and_seeded():
    correct = np.array([True, False, True, True, False, True, True])
    idx = sampling.attack_indices(correct, 3, seed=1)
    assert len(idx) == 3 and correct[idx].all() and np.all(np.diff(idx) > 0)
    assert np.array_equal(idx, sampling.attack_indices(correct, 3, seed=1))
    assert sampling.attack_indices(correct, 10, seed=1).tolist() == [0, 2, 3, 5, 6]
    assert sampling.attack_indices(np.zeros(4, bool), 3, seed=1).size == 0


def test_regimes_of_a_fold_attack_the_same_images_where_both_are_right():
    """One order per fold: two snapshots that both classify most images correctly share most of their
    attack sets (draws of their own per regime would share about 40 of 200 here)."""
    rng = np.random.default_rng(0)
    normal, overfit = rng.random(1000) < 0.6, rng.random(1000) < 0.9
    a, b = (sampling.attack_indices(c, 200, seed=5) for c in (normal, overfit))
    both = normal & overfit
    assert len(a) == len(b) == 200 and normal[a].all() and overfit[b].all()
    shared = len(np.intersect1d(a, b))
    # every image among the first 200 of the shared order that both get right is attacked by both
    order = np.random.default_rng(5).permutation(1000)
    first = set(order[normal[order]][:200]) & set(order[overfit[order]][:200])
    independent = 200 * 200 * both.sum() / (normal.sum() * overfit.sum())
    assert shared == len(first) and shared > 2.5 * independent  # measured: 125 against 40


def test_unknown_method_is_a_clear_error(trained):
    model, x, y = trained
    with pytest.raises(ValueError, match="unknown attack method 'deepfool'"):
        attacks.craft(model, x[:2], y[:2], {"method": "deepfool"}, seed=0)


# batch_size: all steps in one pass; two steps per pass; one step per pass, images split across calls
@pytest.mark.parametrize(
    "eps_step, eps_max, batch_size",
    [(0.01, 1.0, 1024), (0.05, 0.3, 1024), (0.5, 0.4, 1024), (0.01, 1.0, 100), (0.01, 1.0, 7)],
)
def test_minimal_fgsm_is_arts_minimal_fgsm(trained, eps_step, eps_max, batch_size):
    from art.attacks.evasion import FastGradientMethod

    model, x, _ = trained
    art = FastGradientMethod(
        art_adapter.classifier(model), norm=np.inf, eps=eps_max, eps_step=eps_step, minimal=True
    ).generate(x)
    ours, success = empirical_robustness.minimal_fgsm(model, x, eps_step, eps_max, batch_size=batch_size)
    np.testing.assert_array_equal(ours, art if eps_step <= eps_max else x)
    assert success.sum() == (models.predict(models.logits_fn(model), art) != model(x).numpy().argmax(1)).sum()
    if eps_step <= eps_max:
        assert 0 < success.sum()


# Ours against ART's and TensorFlow against JAX, on fresh images of the training distribution that the
# tiny snapshot classifies correctly, at an eps where some but not all of them break (FGSM: 24 %, PGD
# with ART's settings: 20 %, on TensorFlow); per-image eps from 0.05 to 0.35 for the batched PGD.
FGSM_EPS = 0.1
PGD_ART = {"eps": 0.08, "eps_step": 0.02, "max_iter": 10}


def agreement_images(model, n: int = 300, seed: int = 11):
    x, y = separable(n=n, shape=(32, 32, 1), seed=seed)
    correct = models.predict(models.logits_fn(model), x) == y
    return x[correct], y[correct]


def broken(model, adv, y):
    return models.predict(models.logits_fn(model), adv) != y


def test_our_fgsm_breaks_the_images_arts_breaks(trained):
    model, *_ = trained
    x, y = agreement_images(model)
    config = {"method": "fgsm", "eps": FGSM_EPS}
    art = attacks.craft(model, x, y, {**config, "implementation": "art"}, seed=0)
    ours = attacks.craft(model, x, y, {**config, "implementation": "batched"}, seed=0)
    ok_art, ok_ours = broken(model, art, y), broken(model, ours, y)
    assert 0.1 < ok_art.mean() < 0.9, "an eps where success can differ"
    assert np.mean(ok_art == ok_ours) >= 0.99, f"success differs on {np.sum(ok_art != ok_ours)} images"
    same = np.all(np.isclose(art, ours, atol=1e-6).reshape(len(x), -1), axis=1)
    assert same.mean() >= 0.95, f"{np.sum(~same)} of {len(x)} adversarials differ"
    linf = np.abs(ours - x).reshape(len(x), -1).max(axis=1)
    np.testing.assert_allclose(linf, np.abs(art - x).reshape(len(x), -1).max(axis=1), atol=1e-6)
    # the same loss and step: a pixel differs only where round-off flips the sign of a ~0 gradient
    assert np.mean(art == ours) >= 0.999


def test_our_pgd_with_arts_settings_is_arts_pgd(trained):
    """In the paper protocol ours runs as ART's does (every step, the last iterate): the same success
    and the same adversarials but where round-off flips the sign of a ~0 gradient, so the distance
    tables mean the same on every backend."""
    model, *_ = trained
    x, y = agreement_images(model)
    config = {"method": "pgd", **PGD_ART}
    art = attacks.craft(model, x, y, {**config, "implementation": "art"}, seed=0)
    ours = attacks.craft(model, x, y, {**config, "implementation": "batched"}, seed=0)
    assert np.abs(ours - x).max() <= PGD_ART["eps"] + 1e-6
    ok_art, ok_ours = broken(model, art, y), broken(model, ours, y)
    assert 0.1 < ok_art.mean() < 0.9, "an eps where success can differ"
    assert np.mean(ok_art == ok_ours) >= 0.99, f"success differs on {np.sum(ok_art != ok_ours)} images"


def test_art_runs_on_tensorflow_only_and_ours_replaces_it_elsewhere(trained, monkeypatch, caplog):
    model, x, y = trained
    assert backend.NAME == "tensorflow" and art_adapter.use_art("PGD", None)
    assert art_adapter.use_art("PGD", "art") and not art_adapter.use_art("FGSM", "batched")
    with pytest.raises(ValueError, match="FGSM: unknown implementation 'foo'"):
        art_adapter.use_art("FGSM", "foo")
    monkeypatch.setattr(backend, "NAME", "jax")
    with caplog.at_level(logging.INFO, logger="robustcurves.art_adapter"):
        assert not art_adapter.use_art("FGSM", None)
        # as the validated config gives it on jax: the job's log still says ours ran in ART's place
        assert not art_adapter.use_art("PGD", "batched")
    assert "ART is not available on jax: using our FGSM" in caplog.text
    assert "ART is not available on jax: using our PGD" in caplog.text
    assert art_adapter.use_art("PGD", "art")  # asked for by name: ART's, which refuses the backend
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(art_adapter.ARTUnavailable, match="pgd attack runs on the tensorflow backend only"):
        art_adapter.generate("pgd", model, x[:2], y[:2], {"eps": 0.1}, seed=0)


def attacks_on_backend(x, y, eps, classes, **weights) -> dict:
    """Run on each backend (under the other by on_backend): FGSM and PGD as the paper protocol's config
    gives them (ART's on TensorFlow, ours elsewhere), our FGSM, our PGD with per-image eps and random
    starts, and what ART's adapter says when asked for ART."""
    from backends import model_from

    model = model_from(weights, x.shape[1:], classes)
    out = {
        "fgsm": attacks.craft(model, x, y, {"method": "fgsm", "eps": FGSM_EPS}, seed=0),
        "fgsm_batched": attacks.craft(
            model, x, y, {"method": "fgsm", "eps": FGSM_EPS, "implementation": "batched"}, seed=0
        ),
        "pgd": attacks.craft(model, x, y, {"method": "pgd", **PGD_ART}, seed=0),
        "pgd_batched": pgd_with_success(
            model, x, y, seed=3, eps=eps, eps_step=eps / 4, max_iter=10, num_random_init=2
        )[0],
        "art_error": np.array(""),
    }
    try:
        art_adapter.generate("fgsm", model, x[:2], y[:2], {"eps": FGSM_EPS}, seed=0)
    except art_adapter.ARTUnavailable as error:
        out["art_error"] = np.array(str(error))
    return out


# Issue 23, item 4: FGSM and PGD succeed on the same images (>= 99 %) on TensorFlow and JAX, with the
# same snapshot weights and images; success judged by one model (TensorFlow's) for both backends' images.
@needs_other
def test_fgsm_and_pgd_agree_across_backends(trained, tmp_path):
    model, *_ = trained
    x, y = agreement_images(model)
    eps = np.random.default_rng(5).uniform(0.05, 0.35, len(x)).astype(np.float32)
    classes = np.array(model.output_shape[-1])
    weights = weights_arrays(model)
    ours = attacks_on_backend(x, y, eps, classes, **weights)
    arrays = {"x": x, "y": y, "eps": eps, "classes": classes, **weights}
    theirs = on_backend(OTHER, "test_attacks:attacks_on_backend", tmp_path, **arrays)
    assert str(ours["art_error"]) == "" and f"not on Keras's {OTHER} backend" in str(theirs["art_error"])
    for name in ("fgsm", "fgsm_batched", "pgd", "pgd_batched"):
        ok_ours, ok_theirs = broken(model, ours[name], y), broken(model, theirs[name], y)
        assert 0.1 < ok_ours.mean() < 0.9, f"{name}: an eps where success can differ"
        differ = np.sum(ok_ours != ok_theirs)
        assert np.mean(ok_ours == ok_theirs) >= 0.99, f"{name}: success differs on {differ} images"
