"""TensorFlow measures of one snapshot: minimal FGSM, empirical robustness, input gradients, degeneracy.

Apart from `metrics` (numpy distances) because importing TensorFlow costs seconds and gigabytes: the
distance and report rules run in the light analysis environment, which has no TensorFlow. TensorFlow
is imported lazily here too, so that `degenerate` (numpy) stays cheap for the report tests.
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
    """Traced: sign of the input gradient of the cross-entropy at the model's own predictions."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def sign(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model(x, training=False)
            labels = tf.stop_gradient(tf.argmax(logits, axis=1))
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        return tf.sign(tape.gradient(loss, x)), labels

    return sign


def minimal_fgsm(model, x: np.ndarray, eps_step: float, eps_max: float, clip=(0.0, 1.0), batch_size=1024):
    """ART's minimal FGSM (Linf, untargeted, the model's predictions as labels), many step sizes at once.

    ART tries eps_step, 2 eps_step, ... (accumulated, <= eps_max) one after another and keeps, per
    sample, the first that changes the prediction, else the last. Here as many steps as fit in
    `batch_size` images go through one forward pass, until every sample has its step. Returns
    (x_adv, success).
    """
    import tensorflow as tf

    from .models import predict

    sign, label = (t.numpy() for t in _loss_gradient_sign(model)(tf.constant(x)))
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


# A snapshot is degenerate when one class takes this share of the test predictions ...
CONSTANT_FRACTION = 0.99
# ... or when the input gradient of its logits is below this norm on every metric image (dead ReLUs)
GRADIENT_TOL = 1e-6


@lru_cache(maxsize=8)
def _logit_jacobian_norm(model):
    """Traced: per image, the Frobenius norm of d logits / d input."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def norm(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model(x, training=False)
        jac = tape.batch_jacobian(logits, x)
        return tf.sqrt(tf.reduce_sum(tf.reshape(jac * jac, [tf.shape(x)[0], -1]), axis=1))

    return norm


def input_gradient_norms(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Per image, the norm of the input gradient of every logit (the Jacobian's Frobenius norm).

    The logits rather than the loss: a confident float32 softmax gives an exactly zero loss gradient
    on a healthy network, while the logits' gradient is zero only where the network is flat (its
    ReLUs dead), which is what makes CLEVER, loss sensitivity and attacks read "robust".
    """
    import tensorflow as tf

    fn = _logit_jacobian_norm(model)
    out = [fn(tf.constant(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
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
