"""Untargeted adversarial examples against one model: one module per attack, one signature for all.

Every attack is `attack(model, x, y, *, seed, **settings) -> x_adv`, for images `x` (float32 NHWC in
[0, 1]) with true labels `y`; an image the attack could not break comes back as the attack left it.
`craft` picks the attack from a config entry's `method`; whether ART's implementation of an attack or
measure runs is `config.implementation`'s to decide (ART runs on TensorFlow only), applied by
`art_adapter.use_art`.
"""

from __future__ import annotations

import numpy as np

from robustcurves.attacks import apgd, cw, fgsm, pgd

ATTACKS = {"fgsm": fgsm.fgsm, "pgd": pgd.pgd, "cw": cw.cw, "apgd": apgd.apgd}
METHODS = tuple(ATTACKS)


def craft(model, x: np.ndarray, y: np.ndarray, params: dict, seed: int) -> np.ndarray:
    """Adversarial examples for `x`, `y` with one entry of the config's `attacks` (`method` + settings)."""
    params = dict(params)
    method = params.pop("method")
    if method not in ATTACKS:
        raise ValueError(f"unknown attack method {method!r}; choose one of {', '.join(METHODS)}")
    if len(x) == 0:
        return np.asarray(x, np.float32).copy()
    return ATTACKS[method](model, np.asarray(x, np.float32), np.asarray(y, np.int64), seed=seed, **params)
