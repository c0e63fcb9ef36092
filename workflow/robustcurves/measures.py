"""Measures of one snapshot: minimal FGSM, empirical robustness, loss sensitivity, input gradients,
degeneracy. Written once in `keras.ops` (compiled per backend through `backend`).

Apart from `metrics` (numpy distances) because importing Keras and its backend costs seconds and
gigabytes: the distance and report rules run in the light analysis environment, which has neither.
Keras is imported lazily here too, so that `degenerate` (numpy) stays cheap for the report tests.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def _logits(model):
    from .models import logits_fn

    return logits_fn(model)  # one trace per model, reused for every snapshot's weights


@lru_cache(maxsize=8)
def _loss_gradient_sign(model):
    """Compiled: sign of the input gradient of the cross-entropy at the model's own predictions."""
    from keras import ops

    from . import backend

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
    from . import backend
    from .models import predict

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


@lru_cache(maxsize=8)
def _loss_gradient(model):
    """Compiled: per image, the input gradient of the cross-entropy at the labels `y`."""
    from keras import ops

    from . import backend

    def gradient(forward, x, y):
        def total(z):
            logits = forward(z)
            onehot = ops.one_hot(y, ops.shape(logits)[1], dtype=logits.dtype)
            # ART's loss object: Keras's categorical cross-entropy on the logits, per image
            return ops.sum(ops.categorical_crossentropy(onehot, logits, from_logits=True)), ()

        return backend.value_and_grad(total, x)[2]

    return backend.model_function(model, gradient)


def loss_sensitivity(
    model, x: np.ndarray, y: np.ndarray, *, implementation: str | None = None, batch_size: int = 256
) -> float:
    """Loss sensitivity (ART's definition, with per-sample losses): the mean over images of the L2 norm
    of the input gradient of the cross-entropy at the true labels `y`; NaN without images.

    `implementation`: `art` (ART's `loss_sensitivity`), `batched` (ours: the same loss, gradient and
    norm, `batch_size` images per compiled call), unset: ART's on the backends ART runs on, ours
    elsewhere (`attacks.use_art`).
    """
    from .attacks import use_art

    if use_art("loss sensitivity", implementation):
        from . import art_adapter

        return art_adapter.loss_sensitivity(model, x, y)
    if len(x) == 0:
        return float("nan")
    from . import backend

    fn, x, y = _loss_gradient(model), np.asarray(x, np.float32), np.asarray(y, np.int64)
    norms = []
    for i in range(0, len(x), batch_size):
        grad = backend.to_numpy(
            fn(backend.tensor(x[i : i + batch_size]), backend.tensor(y[i : i + batch_size]))
        )
        norms.append(np.linalg.norm(grad.reshape(len(grad), -1), ord=2, axis=1))  # as ART, in numpy
    return float(np.mean(np.concatenate(norms)))


# A snapshot is degenerate when one class takes this share of the test predictions ...
CONSTANT_FRACTION = 0.99
# ... or when the input gradient of its logits is below this norm on every metric image (dead ReLUs)
GRADIENT_TOL = 1e-6


@lru_cache(maxsize=8)
def _logit_jacobian_norm(model):
    """Compiled: per image, the Frobenius norm of d logits / d input."""
    from keras import ops

    from . import backend

    def norm(forward, x):
        jac = backend.batch_jacobian(forward, x)
        width = int(np.prod(jac.shape[1:]))
        return ops.sqrt(ops.sum(ops.reshape(jac * jac, [-1, width]), axis=1))

    return backend.model_function(model, norm)


def input_gradient_norms(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Per image, the norm of the input gradient of every logit (the Jacobian's Frobenius norm).

    The logits rather than the loss: a confident float32 softmax gives an exactly zero loss gradient
    on a healthy network, while the logits' gradient is zero only where the network is flat (its
    ReLUs dead), which is what makes CLEVER, loss sensitivity and attacks read "robust".
    """
    from . import backend

    fn = _logit_jacobian_norm(model)
    out = [backend.to_numpy(fn(backend.tensor(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def degenerate(pred_test: np.ndarray, gradient_norms: np.ndarray) -> dict:
    """The two degeneracy flags of a snapshot and the reason ("" when sound).

    pred_test: its predictions on the test set; gradient_norms: `input_gradient_norms` on the metric
    images.
    """
    counts = np.bincount(pred_test) if len(pred_test) else np.zeros(1, int)
    share = counts.max() / max(len(pred_test), 1)
    constant = bool(len(pred_test) and share >= CONSTANT_FRACTION)
    vanishing = bool(len(gradient_norms) and np.all(gradient_norms < GRADIENT_TOL))
    reasons = []
    if constant:
        reasons.append(f"constant predictions (class {counts.argmax()} on {share:.1%} of test images)")
    if vanishing:
        top = np.max(gradient_norms)
        reasons.append(f"vanishing input gradients (max norm {top:.2g} < {GRADIENT_TOL:g})")
    return {
        "constant_predictions": constant,
        "vanishing_gradients": vanishing,
        "degenerate": "; ".join(reasons),
    }
