"""Is a snapshot sound? The degeneracy measures that training, evaluate and robustness share: constant
predictions, and input gradients that vanish (dead ReLUs) and make every attack and measure read
"robust". Keras is imported lazily, so that `degenerate` (numpy) stays cheap for the report tests.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# A snapshot is degenerate when one class takes this share of the test predictions ...
CONSTANT_FRACTION = 0.99
# ... or when the input gradient of its logits is below this norm on every metric image (dead ReLUs)
GRADIENT_TOL = 1e-6


@lru_cache(maxsize=8)
def _logit_jacobian_norm(model):
    """Compiled: per image, the Frobenius norm of d logits / d input."""
    from keras import ops

    from robustcurves import backend

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
    from robustcurves import backend

    fn = _logit_jacobian_norm(model)
    out = [backend.to_numpy(fn(backend.tensor(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def degenerate(pred_test: np.ndarray, gradient_norms: np.ndarray, y_test: np.ndarray | None = None) -> dict:
    """The two degeneracy flags of a snapshot and the reason ("" when sound).

    pred_test: its predictions on the test set; gradient_norms: `input_gradient_norms` on the metric
    images; y_test: the test labels, if known. Predictions that are one class because the labels are
    (a network right on a test set that is itself one class, or nearly) are not constant predictions:
    the flag needs the labels to vary where the predictions do not.
    """
    counts = np.bincount(pred_test) if len(pred_test) else np.zeros(1, int)
    share = counts.max() / max(len(pred_test), 1)
    labels_share = (
        np.mean(np.asarray(y_test) == counts.argmax()) if y_test is not None and len(y_test) else 0.0
    )
    constant = bool(len(pred_test) and share >= CONSTANT_FRACTION and labels_share < CONSTANT_FRACTION)
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


def snapshot_flags(model, pred_test: np.ndarray, x_metric: np.ndarray | None, y_test=None) -> dict:
    """`degenerate` of one snapshot: its test predictions (and the test labels `y_test`) and its
    gradients on the metric images."""
    norms = input_gradient_norms(model, x_metric) if x_metric is not None and len(x_metric) else []
    return degenerate(pred_test, np.asarray(norms), y_test)
