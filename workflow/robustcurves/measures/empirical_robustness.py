"""Empirical robustness (ART's `empirical_robustness`, Moosavi-Dezfooli et al. 2016's measure with
FGSM): the minimal FGSM perturbation that changes a prediction, relative to the input, written once in
`keras.ops` and compiled per backend through `backend`."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from keras import ops

from robustcurves import backend
from robustcurves.models import logits_fn, predict


@lru_cache(maxsize=8)
def _logits(model):
    return logits_fn(model)  # one trace per model, reused for every snapshot's weights


@lru_cache(maxsize=8)
def _loss_gradient_sign(model):
    """Compiled: sign of the input gradient of the cross-entropy at the model's own predictions."""

    def sign(forward, x):
        def total(z):
            logits = forward(z)
            labels = ops.argmax(logits, axis=1)
            loss = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            return ops.sum(loss), labels

        _, labels, grad = backend.value_and_grad(total, x)
        return ops.sign(grad), labels

    return backend.model_function(model, sign)


def minimal_fgsm(model, x: np.ndarray, eps_step: float, eps_max: float, clip=(0.0, 1.0), batch_size=1024):
    """ART's minimal FGSM (Linf, untargeted, the model's predictions as labels), many step sizes at once.

    ART tries eps_step, 2 eps_step, ... (accumulated, <= eps_max) one after another and keeps, per
    sample, the first that changes the prediction, else the last. Here as many steps as fit in
    `batch_size` images go through one forward pass, until every sample has its step. Returns
    (x_adv, success).
    """
    sign, label = (backend.to_numpy(t) for t in _loss_gradient_sign(model)(backend.tensor(x)))
    steps, eps = [], eps_step
    while eps <= eps_max:
        steps.append(eps)
        eps = eps + eps_step
    if not steps:
        return x.copy(), np.zeros(len(x), bool)
    steps = np.array(steps, np.float32)  # ART multiplies the float32 sign by the Python float: float32 math
    per_call, first = max(1, batch_size // len(x)), np.full(len(x), -1)
    for start in range(0, len(steps), per_call):
        chunk = steps[start : start + per_call]
        candidates = np.clip(x[None] + chunk.reshape(-1, *[1] * x.ndim) * sign[None], *clip)
        pred = predict(_logits(model), candidates.reshape(-1, *x.shape[1:]), batch_size)
        fooled = pred.reshape(len(chunk), len(x)) != label
        new = fooled.any(axis=0) & (first < 0)
        first[new] = start + fooled[:, new].argmax(axis=0)
        if (first >= 0).all():
            break
    success = first >= 0
    eps_used = steps[np.where(success, first, len(steps) - 1)].reshape(-1, *[1] * (x.ndim - 1))
    return np.clip(x + eps_used * sign, *clip), success


def empirical_robustness(model, x: np.ndarray, eps_step: float, eps_max: float) -> tuple[float, int]:
    """ART's empirical robustness: minimal FGSM perturbation relative to the input, Linf norm.

    Returns (mean ||delta|| / ||x|| over successful samples, number of successes). ART itself
    returns 0.0 when nothing succeeds, which reads like "no robustness"; we return NaN instead and
    the count, so a figure shows the gap instead of a false zero.
    """
    if len(x) == 0:
        return float("nan"), 0
    x_adv, success = minimal_fgsm(model, x, eps_step, eps_max)
    if not success.any():
        return float("nan"), 0
    d = np.abs((x_adv - x).reshape(len(x), -1)).max(axis=1)
    scale = np.abs(x.reshape(len(x), -1)).max(axis=1)
    return float(np.mean(d[success] / scale[success])), int(success.sum())
