"""Everything that touches ART (Adversarial Robustness Toolbox 1.20.1): the classifier wrapper and ART's
own attacks and metrics, kept as references for our batched implementations.

ART's traps with Keras 3 (measured; docs/art-notes.md): it needs `TensorFlowV2Classifier` on a logits
model, per-sample losses, one-hot labels, numpy ints cast to int for CLEVER, and an explicit seed of
numpy's global generator, from which it draws its random starts.
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from robustcurves import backend

# the Keras backends ART runs on here (TensorFlowV2Classifier); elsewhere our implementations run.
# One home: the config validation refuses `implementation: art` on the others with the same list.
from robustcurves.config import ART_BACKENDS as BACKENDS
from robustcurves.config import implementation
from robustcurves.measures.clever import settings as clever_settings

log = logging.getLogger(__name__)


class ARTUnavailable(RuntimeError):
    """ART was asked for on a Keras backend it does not run on."""


def use_art(what: str, given: str | None) -> bool:
    """Whether `what` (an attack or measure that ART implements too) runs ART's implementation, by
    `config.implementation` on Keras's current backend (`given` None: ART's where ART runs). Ours on a
    backend ART does not run on is logged, so that the job's log says which ran; an unknown `given`
    raises ValueError naming `what`."""
    try:
        chosen = implementation(given, backend.NAME)
    except ValueError as err:
        raise ValueError(f"{what}: {err}") from err
    if chosen != "art" and backend.NAME not in BACKENDS:
        log.info("ART is not available on %s: using our %s", backend.NAME, what)
    return chosen == "art"


def require_backend(what: str) -> None:
    """Raise ARTUnavailable, naming the backend, unless ART runs on Keras's current backend."""
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise ARTUnavailable(
            f"ART's {what} runs on the {' or '.join(BACKENDS)} backend only, not on Keras's {backend}"
            " backend: use our implementation (`implementation: batched`, or leave it unset)"
        )


def classifier(model: keras.Model, clip=(0.0, 1.0)):
    """ART's TensorFlowV2Classifier on a logits model, with per-sample losses.

    `reduction="none"` matters: with the default reduction ART's loss_sensitivity is silently divided
    by the batch size.
    """
    require_backend("TensorFlowV2Classifier")
    from art.estimators.classification import TensorFlowV2Classifier

    classes = int(model.output_shape[-1])
    return TensorFlowV2Classifier(
        model=model,
        nb_classes=classes,
        input_shape=tuple(model.input_shape[1:]),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True, reduction="none"),
        clip_values=clip,
    )


def onehot(y: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[y]


def generate(attack: str, model: keras.Model, x: np.ndarray, y: np.ndarray, params: dict, seed: int):
    """Untargeted adversarials from ART's own `attack` ('fgsm', 'pgd', 'cw', 'apgd') at `params`; on
    TensorFlow only (ARTUnavailable elsewhere)."""
    require_backend(f"{attack} attack")
    from art.attacks.evasion import (
        AutoProjectedGradientDescent,
        CarliniL2Method,
        FastGradientMethod,
        ProjectedGradientDescent,
    )

    estimator = classifier(model)
    np.random.seed(seed)  # ART draws its random starts from numpy's global generator
    if attack == "fgsm":
        art_attack = FastGradientMethod(estimator, norm=np.inf, targeted=False, **params)
    elif attack == "pgd":
        art_attack = ProjectedGradientDescent(estimator, norm=np.inf, targeted=False, verbose=False, **params)
    elif attack == "cw":
        art_attack = CarliniL2Method(estimator, targeted=False, verbose=False, **params)
    elif attack == "apgd":
        art_attack = AutoProjectedGradientDescent(
            estimator, norm=np.inf, targeted=False, verbose=False, **params
        )
    else:
        raise ValueError(f"ART has no attack {attack!r} here")
    return art_attack.generate(x=x, y=onehot(y, estimator.nb_classes)).astype(np.float32)


def clever(model, x: np.ndarray, **given):
    """ART's own `clever_u`, one sample at a time: the slow reference implementation; `given`: the
    keywords of our `clever.clever_scores`, whose defaults it takes (`clever.settings`)."""
    from art.metrics import clever_u

    s = clever_settings(**given)
    norm = np.inf if s["norm"] == "inf" else s["norm"]
    estimator = classifier(model, s["clip"])
    original = estimator.class_gradient

    def class_gradient(x, label=None, **kwargs):
        # ART passes np.argmax's numpy integer, which TensorFlowV2Classifier rejects
        return original(x, label=int(label) if isinstance(label, np.integer) else label, **kwargs)

    estimator.class_gradient = class_gradient
    np.random.seed(s["seed"])  # ART samples from numpy's global generator
    kwargs = {"c_init": s["c_init"], "pool_factor": s["pool_factor"], "verbose": False}
    return np.array(
        [
            clever_u(estimator, xi, s["nb_batches"], s["batch_size"], s["radius"], norm, **kwargs)
            for xi in np.asarray(x, np.float32)
        ]
    )


def loss_sensitivity(model, x: np.ndarray, y: np.ndarray) -> float:
    """Mean L2 norm of the loss gradient w.r.t. the input (ART's definition, per-sample losses)."""
    from art.metrics import loss_sensitivity as art_loss_sensitivity

    if len(x) == 0:
        return float("nan")
    estimator = classifier(model)
    return float(art_loss_sensitivity(estimator, x, onehot(y, estimator.nb_classes)))
