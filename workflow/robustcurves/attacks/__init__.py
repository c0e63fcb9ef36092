"""Untargeted adversarial examples against one model: one module per attack, one signature for all.

Every attack is `attack(model, x, y, *, seed, **settings) -> x_adv`, for images `x` (float32 NHWC in
[0, 1]) with true labels `y`; an image the attack could not break comes back as the attack left it.
`craft` picks the attack from a config entry's `method`; `use_art` decides, in this one place, whether
ART's implementation of an attack or measure runs: ART runs on TensorFlow only.
"""

from __future__ import annotations

import logging

import numpy as np

from .. import art_adapter, backend
from . import apgd, cw, fgsm, pgd

log = logging.getLogger(__name__)

ATTACKS = {"fgsm": fgsm.fgsm, "pgd": pgd.pgd, "cw": cw.cw, "apgd": apgd.apgd}
METHODS = tuple(ATTACKS)
IMPLEMENTATIONS = ("art", "batched")


def use_art(what: str, implementation: str | None) -> bool:
    """Whether `what` (an attack or measure that ART also implements) runs ART's implementation.

    `art`: ART's (`art_adapter` refuses a backend ART does not run on); `batched`: ours; unset (None):
    ART's on the backends ART runs on (the paper protocol's), ours elsewhere. Ours in ART's place is
    logged.
    """
    if implementation not in (None, *IMPLEMENTATIONS):
        raise ValueError(
            f"{what}: unknown implementation {implementation!r}; choose {' or '.join(IMPLEMENTATIONS)}"
        )
    if implementation == "art" or (implementation is None and backend.NAME in art_adapter.BACKENDS):
        return True
    if backend.NAME not in art_adapter.BACKENDS:
        log.info("ART is not available on %s: using our %s", backend.NAME, what)
    return False


def craft(model, x: np.ndarray, y: np.ndarray, params: dict, seed: int) -> np.ndarray:
    """Adversarial examples for `x`, `y` with one entry of the config's `attacks` (`method` + settings)."""
    params = dict(params)
    method = params.pop("method")
    if method not in ATTACKS:
        raise ValueError(f"unknown attack method {method!r}; choose one of {', '.join(METHODS)}")
    if len(x) == 0:
        return np.asarray(x, np.float32).copy()
    return ATTACKS[method](model, np.asarray(x, np.float32), np.asarray(y, np.int64), seed=seed, **params)
