"""FGSM (Goodfellow et al. 2015), L∞, untargeted: a single step of eps along the sign of the input
gradient of the cross-entropy at the true labels, clipped into the valid range.

ART's FastGradientMethod (`implementation: art`, the paper protocol's) or ours (`batched`, written once
in `keras.ops`, the same cross-entropy and step as ART's); unset: ART's on the backends ART runs on,
ours elsewhere (`config.implementation`). A pixel whose gradient is exactly 0 does not move in either.
Ours keeps ART's form of the loss (Keras's categorical cross-entropy on the logits), so that it takes
ART's step image by image on TensorFlow (the batched PGD and APGD use a form without cancellation where
the softmax saturates: see the apgd module).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from keras import ops

from robustcurves import art_adapter, backend
from robustcurves.config import attack_defaults

FGSM = attack_defaults("fgsm")  # the schema's settings


@lru_cache(maxsize=16)
def _attack_fn(model, input_shape, *, clip):
    lo, hi = float(clip[0]), float(clip[1])

    def attack(forward, x, y, eps):
        eps = ops.reshape(eps, [-1] + [1] * len(input_shape))

        def total(z):
            logits = forward(z)
            onehot = ops.one_hot(y, ops.shape(logits)[1], dtype=logits.dtype)
            # ART's loss: Keras's categorical cross-entropy on the logits, per image
            return ops.sum(ops.categorical_crossentropy(onehot, logits, from_logits=True)), ()

        _, _, grad = backend.value_and_grad(total, x)
        return ops.clip(x + eps * ops.sign(grad), lo, hi)

    fn = backend.model_function(model, attack)
    image = np.zeros((1, *input_shape), np.float32)
    return backend.trace_any_batch(fn, image, np.zeros(1, np.int64), np.zeros(1, np.float32))


def fgsm_batched(
    model, x, y, *, eps: float, batch_size: int = FGSM["batch_size"], clip=(0.0, 1.0)
) -> np.ndarray:
    """Our FGSM: x + eps · sign(∇x CE(x, y)), clipped; `batch_size` images per compiled call."""
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    if len(x) == 0:
        return x.copy()
    fn = _attack_fn(model, tuple(x.shape[1:]), clip=tuple(map(float, clip)))
    # the step in float32, as ART multiplies the float32 sign by the Python float
    eps = np.full(len(x), eps, np.float32)
    out = []
    for i in range(0, len(x), batch_size):
        chunk = (backend.tensor(a[i : i + batch_size]) for a in (x, y, eps))
        out.append(backend.to_numpy(fn(*chunk)))
    return np.concatenate(out).astype(np.float32)


def fgsm(
    model,
    x,
    y,
    *,
    seed: int,
    eps: float,
    batch_size: int = FGSM["batch_size"],
    implementation: str | None = None,
):
    """FGSM by config: ART's (`art`) or ours (`batched`); unset: by backend (`config.implementation`)."""
    if art_adapter.use_art("FGSM", implementation):
        return art_adapter.generate("fgsm", model, x, y, {"eps": eps, "batch_size": batch_size}, seed)
    return fgsm_batched(model, x, y, eps=eps, batch_size=batch_size)
