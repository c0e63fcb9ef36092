"""APGD and the batched PGD: per-image eps, strength against ART's APGD, and the checkpoint schedule."""

import numpy as np
import pytest

from robustcurves import art_adapter, attacks, models
from robustcurves.attacks.apgd import apgd_with_success, checkpoint_schedule
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
    adv, success = pgd_with_success(model, x, y, seed=0, eps=eps, eps_step=eps / 4, max_iter=10)
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
