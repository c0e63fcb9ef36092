"""FGSM (Goodfellow et al. 2015), L∞, untargeted: ART's FastGradientMethod, a single gradient step."""

from __future__ import annotations

from .. import art_adapter


def fgsm(model, x, y, *, seed: int, eps: float, batch_size: int = 32):
    return art_adapter.generate("fgsm", model, x, y, {"eps": eps, "batch_size": batch_size}, seed)
