import numpy as np
import pytest

from robustcurves import art_adapter, attacks, measures, metrics, models, selection


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
    assert metrics.distances(x, adv)["linf"].max() == pytest.approx(0.3, abs=1e-6)


def test_pgd_stays_in_the_eps_ball_and_beats_fgsm(trained):
    model, x, y = trained
    fgsm = attacks.craft(model, x, y, {"method": "fgsm", "eps": 0.3}, seed=0)
    pgd = attacks.craft(model, x, y, {"method": "pgd", "eps": 0.3, "eps_step": 0.1, "max_iter": 20}, seed=0)
    assert np.abs(pgd - x).max() <= 0.3 + 1e-6 and pgd.min() >= 0 and pgd.max() <= 1
    forward = models.logits_fn(model)
    asr = {
        k: metrics.attack_success_rate(models.predict(forward, v), y) for k, v in (("f", fgsm), ("p", pgd))
    }
    assert asr["p"] >= asr["f"]
    again = attacks.craft(model, x, y, {"method": "pgd", "eps": 0.3, "eps_step": 0.1, "max_iter": 20}, seed=0)
    np.testing.assert_array_equal(pgd, again)


def test_fold_images_are_the_seeded_draw_of_the_fold_and_purpose():
    from robustcurves import seeding

    for test_size, samples in ((50, 7), (5, 7), (6, 6)):
        idx, seed = selection.fold_images(test_size, samples, 3, "mnist5k", "1", "whitebox")
        assert seed == seeding.derive(3, "mnist5k", "1", "whitebox")
        # the draw the white-box script made before it used fold_images: results must not change
        drawn = np.random.default_rng(seed).choice(test_size, min(samples, test_size), replace=False)
        assert idx.tolist() == sorted(drawn.tolist())
    idx, seed = selection.fold_images(50, 7, 3, "mnist5k", "1", "robustness")
    assert seed == seeding.derive(3, "mnist5k", "1", "robustness")
    assert np.array_equal(idx, selection.metric_indices(50, 7, seed))
    assert not np.array_equal(idx, selection.fold_images(50, 7, 3, "mnist5k", "2", "robustness")[0])


def test_attack_indices_are_correct_ones_capped_and_seeded():
    correct = np.array([True, False, True, True, False, True, True])
    idx = selection.attack_indices(correct, 3, seed=1)
    assert len(idx) == 3 and correct[idx].all() and np.all(np.diff(idx) > 0)
    assert np.array_equal(idx, selection.attack_indices(correct, 3, seed=1))
    assert selection.attack_indices(correct, 10, seed=1).tolist() == [0, 2, 3, 5, 6]
    assert selection.attack_indices(np.zeros(4, bool), 3, seed=1).size == 0


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
    ours, success = measures.minimal_fgsm(model, x, eps_step, eps_max, batch_size=batch_size)
    np.testing.assert_array_equal(ours, art if eps_step <= eps_max else x)
    assert success.sum() == (models.predict(models.logits_fn(model), art) != model(x).numpy().argmax(1)).sum()
    if eps_step <= eps_max:
        assert 0 < success.sum()
