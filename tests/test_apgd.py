"""APGD and the batched PGD: per-image eps, strength against ART's APGD, and the checkpoint schedule."""

import numpy as np
import pytest
from backends import OTHER, needs_other, on_backend, weights_arrays

from conftest import separable
from robustcurves import art_adapter, attacks, models
from robustcurves.attacks.apgd import apgd_with_success, checkpoint_schedule, padded_size
from robustcurves.attacks.pgd import pgd_with_success


@pytest.fixture(scope="module")
def trained(trained_snapshots):
    path, split = trained_snapshots
    with models.Snapshots(path) as s:
        model = s.model(3)
    xt, yt = split.x_test, split.y_test
    correct = models.predict(models.logits_fn(model), xt) == yt
    return model, xt[correct], yt[correct]


def robust_accuracy(model, adv, y):
    return float((models.predict(models.logits_fn(model), adv) == y).mean())


def test_padded_sizes_are_quarter_octaves_holding_the_chunk():
    assert [padded_size(n) for n in (1, 8, 9, 17, 33, 300, 321, 512)] == [8, 8, 10, 20, 40, 320, 384, 512]
    sizes = [padded_size(n) for n in range(1, 2000)]
    assert all(n <= s <= max(8, 1.25 * n) for n, s in zip(range(1, 2000), sizes, strict=True))
    assert len(set(sizes)) == 33  # four per octave from 8 to 2048: few sizes to compile on JAX


def test_checkpoints_follow_the_paper_schedule():
    # p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 of 100 iterations (then the rest)
    assert checkpoint_schedule(100) == [22, 19, 16, 13, 10, 7, 6, 6, 1]
    for n in (1, 5, 20, 37):
        assert sum(checkpoint_schedule(n)) == n


@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_apgd_respects_each_images_eps_and_reports_success_truthfully(trained, loss):
    model, x, y = trained
    eps = np.random.default_rng(0).uniform(0.0, 0.3, len(x)).astype(np.float32)
    eps[:3] = 0.0
    adv, success = apgd_with_success(model, x, y, seed=0, eps=eps, loss=loss, max_iter=10, batch_size=7)
    delta = np.abs(adv - x).reshape(len(x), -1).max(axis=1)
    assert np.all(delta <= eps + 1e-6) and adv.min() >= 0 and adv.max() <= 1
    assert np.all(adv[:3] == x[:3]) and not success[:3].any()
    wrong = models.predict(models.logits_fn(model), adv) != y
    np.testing.assert_array_equal(success, wrong)
    assert 0 < success.mean() < 1  # eps from 0 to 0.3: some images break, some do not
    again = apgd_with_success(model, x, y, seed=0, eps=eps, loss=loss, max_iter=10, batch_size=7)
    np.testing.assert_array_equal(again[0], adv)  # seeded: the same adversarials


def test_batched_pgd_respects_each_images_eps(trained):
    model, x, y = trained
    eps = np.linspace(0.0, 0.3, len(x)).astype(np.float32)
    adv, success = pgd_with_success(
        model, x, y, seed=0, eps=eps, eps_step=eps / 4, max_iter=10, num_random_init=1
    )
    assert np.all(np.abs(adv - x).reshape(len(x), -1).max(axis=1) <= eps + 1e-6)
    np.testing.assert_array_equal(success, models.predict(models.logits_fn(model), adv) != y)
    assert not success[0] and 0 < success.mean()
    config = {"method": "pgd", "eps": 0.3, "eps_step": 0.1, "max_iter": 10}
    art = robust_accuracy(model, attacks.craft(model, x, y, config, seed=0), y)
    batched = attacks.craft(model, x, y, {**config, "implementation": "batched"}, seed=0)
    ours = robust_accuracy(model, batched, y)
    assert ours <= art + 1 / len(x)


def test_apgd_is_at_least_as_strong_as_arts_at_a_mid_eps(trained):
    model, x, y = trained
    # an eps where ART's robust accuracy lies strictly between 0 and 1, so strength can differ
    for eps in (0.05, 0.1, 0.15, 0.2):
        settings = {"eps": eps, "eps_step": 2 * eps, "max_iter": 20, "nb_random_init": 1, "batch_size": 50}
        art = {
            loss: robust_accuracy(
                model, art_adapter.generate("apgd", model, x, y, {**settings, "loss_type": name}, 0), y
            )
            for loss, name in (("ce", "cross_entropy"), ("dlr", "difference_logits_ratio"))
        }
        if 0.2 <= art["ce"] <= 0.8:
            break
    else:
        pytest.fail(f"no eps with ART's robust accuracy in [0.2, 0.8]: last {art}")
    for loss in ("ce", "dlr"):
        config = {"method": "apgd", "loss": loss, "eps": eps, "max_iter": 20}
        ours = robust_accuracy(model, attacks.craft(model, x, y, config, seed=0), y)
        assert ours <= art[loss] + 1 / len(x), (loss, eps, ours, art)


def apgd_on_backend(x, y, eps, classes, **weights) -> dict:
    """Run on each backend (under the other by on_backend): APGD-CE and APGD-DLR with per-image eps."""
    from backends import model_from

    model = model_from(weights, x.shape[1:], classes)
    return {
        loss: apgd_with_success(model, x, y, seed=0, eps=eps, loss=loss, max_iter=20)[0]
        for loss in ("ce", "dlr")
    }


# Issue 23, item 4: APGD's robust accuracy within 1 image in 200 on TensorFlow and JAX, with the same
# snapshot weights and images (fresh draws of the training distribution that the snapshot classifies
# correctly, one eps per image from 0.05 to 0.35); robust accuracy judged by TensorFlow's model for both.
@needs_other
def test_apgd_robust_accuracy_agrees_across_backends(trained, tmp_path):
    model, *_ = trained
    x, y = separable(n=300, shape=(32, 32, 1), seed=11)
    correct = models.predict(models.logits_fn(model), x) == y
    x, y = x[correct], y[correct]
    assert len(x) >= 200
    eps = np.random.default_rng(5).uniform(0.05, 0.35, len(x)).astype(np.float32)
    arrays = {
        "x": x,
        "y": y,
        "eps": eps,
        "classes": np.array(model.output_shape[-1]),
        **weights_arrays(model),
    }
    ours = apgd_on_backend(**arrays)
    theirs = on_backend(OTHER, "test_apgd:apgd_on_backend", tmp_path, **arrays)
    for loss in ("ce", "dlr"):
        robust_ours, robust_theirs = (
            robust_accuracy(model, ours[loss], y),
            robust_accuracy(model, theirs[loss], y),
        )
        assert 0.1 < robust_ours < 0.9, f"{loss}: an eps range where robust accuracy can differ"
        assert abs(robust_ours - robust_theirs) <= 1 / 200, (loss, robust_ours, robust_theirs)
