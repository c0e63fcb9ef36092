"""The craft stage: a fold's adversarial set for one attack, crafted once against its best snapshot."""

from __future__ import annotations

import logging

from robustcurves import attacks, sampling, seeding
from robustcurves.models import logits_fn, predict

log = logging.getLogger(__name__)


def craft(
    model,
    x_test,
    y_test,
    params: dict,
    *,
    samples: int,
    seed: int,
    dataset: str,
    regime: str,
    fold,
    attack: str,
) -> dict:
    """The attack `params` (a config `attacks` entry) run on up to `samples` test images that `model`
    classifies correctly: `adversarial.save`'s arrays, x_adv, indices (into x_test), labels and success
    (`model` misclassifies the adversarial).

    The images depend on the fold, not on the attack: every attack sees the same images; nor on the
    regime: the regimes attack the same images where both classify them correctly.
    """
    forward = logits_fn(model)
    correct = predict(forward, x_test) == y_test
    indices = sampling.attack_indices(correct, samples, seeding.derive(seed, dataset, fold, "attack-set"))
    if len(indices) == 0:
        log.warning("the snapshot classifies no test image correctly: empty attack set")
    x, y = x_test[indices], y_test[indices]
    log.info(
        "%s on %d of %d correctly classified test images: %s", attack, len(indices), correct.sum(), params
    )
    x_adv = attacks.craft(model, x, y, params, seed=seeding.derive(seed, dataset, regime, fold, attack))
    success = predict(forward, x_adv) != y if len(x) else correct[:0]
    log.info("attack success rate: %d/%d", success.sum(), len(success))
    return {"x_adv": x_adv, "indices": indices, "labels": y, "success": success}
