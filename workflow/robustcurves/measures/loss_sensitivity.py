"""Loss sensitivity (ART's `loss_sensitivity`, Arpit et al. 2017): the mean L2 norm of the loss's input
gradient at the true labels, written once in `keras.ops` and compiled per backend through `backend`."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from keras import ops

from robustcurves import art_adapter, backend


@lru_cache(maxsize=8)
def _loss_gradient(model):
    """Compiled: per image, the input gradient of the cross-entropy at the labels `y`."""

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
    elsewhere (`config.implementation`).
    """
    if art_adapter.use_art("loss sensitivity", implementation):
        return art_adapter.loss_sensitivity(model, x, y)
    if len(x) == 0:
        return float("nan")
    fn, x, y = _loss_gradient(model), np.asarray(x, np.float32), np.asarray(y, np.int64)
    norms = []
    for i in range(0, len(x), batch_size):
        grad = backend.to_numpy(
            fn(backend.tensor(x[i : i + batch_size]), backend.tensor(y[i : i + batch_size]))
        )
        norms.append(np.linalg.norm(grad.reshape(len(grad), -1), ord=2, axis=1))  # as ART, in numpy
    return float(np.mean(np.concatenate(norms)))
