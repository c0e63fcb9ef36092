"""Per-attack distances, attack success rate, and per-snapshot robustness measures."""

from __future__ import annotations

import numpy as np

# Perturbations below this are float noise from clipping, not changed pixels.
CHANGE_TOL = 1e-6


def distances(x: np.ndarray, x_adv: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample L0 (pixels with any channel changed), L2 and Linf of x_adv - x, in [0, 1] units."""
    pixels = int(np.prod(x.shape[1:-1]))
    delta = (x_adv.astype(np.float64) - x.astype(np.float64)).reshape(len(x), pixels, x.shape[-1])
    changed = np.abs(delta).max(axis=2, initial=0.0) > CHANGE_TOL
    flat = delta.reshape(len(x), pixels * x.shape[-1])
    return {
        "l0": changed.sum(axis=1).astype(np.int64),
        "l2": np.linalg.norm(flat, axis=1),
        "linf": np.abs(flat).max(axis=1, initial=0.0),
    }


def attack_success_rate(pred: np.ndarray, y: np.ndarray) -> float:
    """ASR = 1 - accuracy on the adversarial set; NaN for an empty set."""
    return float(np.mean(pred != y)) if len(y) else float("nan")


def loss_sensitivity(classifier, x: np.ndarray, y: np.ndarray) -> float:
    """Mean L2 norm of the loss gradient w.r.t. the input (ART's definition, per-sample losses)."""
    from art.metrics import loss_sensitivity as art_loss_sensitivity

    if len(x) == 0:
        return float("nan")
    onehot = np.eye(classifier.nb_classes, dtype=np.float32)[y]
    return float(art_loss_sensitivity(classifier, x, onehot))


def empirical_robustness(
    classifier, x: np.ndarray, eps_step: float, eps_max: float, batch_size: int = 512
) -> tuple[float, int]:
    """ART's empirical robustness: minimal FGSM perturbation relative to the input, Linf norm.

    Returns (mean ||delta|| / ||x|| over successful samples, number of successes). ART itself
    returns 0.0 when nothing succeeds, which reads like "no robustness"; we return NaN instead and
    the count, so a figure shows the gap instead of a false zero.
    """
    from art.attacks.evasion import FastGradientMethod

    if len(x) == 0:
        return float("nan"), 0
    fgsm = FastGradientMethod(
        classifier, norm=np.inf, eps=eps_max, eps_step=eps_step, minimal=True, batch_size=batch_size
    )
    x_adv = fgsm.generate(x)
    before = classifier.predict(x).argmax(axis=1)
    success = classifier.predict(x_adv).argmax(axis=1) != before
    if not success.any():
        return float("nan"), 0
    d = np.abs((x_adv - x).reshape(len(x), -1)).max(axis=1)
    scale = np.abs(x.reshape(len(x), -1)).max(axis=1)
    return float(np.mean(d[success] / scale[success])), int(success.sum())
