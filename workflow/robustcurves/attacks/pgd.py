"""PGD (Madry et al. 2018), L∞, untargeted: ART's ProjectedGradientDescent (random start from `seed`)."""

from __future__ import annotations

from .. import art_adapter


def pgd(model, x, y, *, seed: int, **settings):
    return art_adapter.generate("pgd", model, x, y, settings, seed)
