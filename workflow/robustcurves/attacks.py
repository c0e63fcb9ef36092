"""Untargeted adversarial examples against one snapshot: FGSM and PGD through ART, CW batched or ART."""

from __future__ import annotations

import logging

import keras
import numpy as np

log = logging.getLogger(__name__)

METHODS = ("fgsm", "pgd", "cw")


def art_classifier(model: keras.Model, clip=(0.0, 1.0)):
    """ART's TensorFlowV2Classifier on a logits model, with per-sample losses.

    `reduction="none"` matters: with the default reduction ART's loss_sensitivity is silently divided
    by the batch size (../shared/ART-NOTES.md).
    """
    from art.estimators.classification import TensorFlowV2Classifier

    classes = int(model.output_shape[-1])
    return TensorFlowV2Classifier(
        model=model,
        nb_classes=classes,
        input_shape=tuple(model.input_shape[1:]),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True, reduction="none"),
        clip_values=clip,
    )


def attack_indices(correct: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Test indices to attack: at most `samples` of the correctly classified ones, chosen with the seed."""
    candidates = np.flatnonzero(correct)
    if len(candidates) > samples:
        candidates = np.sort(np.random.default_rng(seed).choice(candidates, samples, replace=False))
    return candidates


def craft(model: keras.Model, x: np.ndarray, y: np.ndarray, params: dict, seed: int) -> np.ndarray:
    """Adversarial examples for images `x` (float32 in [0, 1]) with true labels `y`.

    `params` is one entry of the config's `attacks`: `method` plus that method's settings.
    """
    params = dict(params)
    method = params.pop("method")
    if len(x) == 0:
        return x.copy()
    if method == "cw" and params.pop("implementation", "batched") == "batched":
        from .cw import carlini_wagner_l2

        return carlini_wagner_l2(model, x, y, **params)
    params.pop("implementation", None)
    attack = _art_attack(method, art_classifier(model), params, seed)
    onehot = np.eye(int(model.output_shape[-1]), dtype=np.float32)[y]
    return attack.generate(x=x, y=onehot).astype(np.float32)


def _art_attack(method: str, classifier, params: dict, seed: int):
    from art.attacks.evasion import CarliniL2Method, FastGradientMethod, ProjectedGradientDescent

    if method == "fgsm":
        return FastGradientMethod(classifier, norm=np.inf, targeted=False, **params)
    if method == "pgd":
        # ART draws PGD's random start from numpy's global generator.
        np.random.seed(seed)
        return ProjectedGradientDescent(classifier, norm=np.inf, targeted=False, verbose=False, **params)
    if method == "cw":
        return CarliniL2Method(classifier, targeted=False, verbose=False, **params)
    raise ValueError(f"unknown attack method {method!r}; choose one of {', '.join(METHODS)}")
