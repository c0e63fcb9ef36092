"""The robustness stage: per snapshot of a fold, CLEVER (clever.py), loss sensitivity and empirical
robustness on the fold's metric images, with degenerate snapshots (`measures.degenerate`) given NaN
instead of a number. The two measures besides CLEVER are ART's definitions, written once in `keras.ops`
(compiled per backend through `backend`).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import pandas as pd
from keras import ops

from . import art_adapter, backend, measures, selection
from .clever import clever_checked
from .config import default
from .models import Snapshots, logits_fn, predict
from .progress import Progress

log = logging.getLogger(__name__)


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


def _gradient_measures(model, x, y, empirical: dict) -> dict:
    """Loss sensitivity and empirical robustness (with its successes) of one sound snapshot."""
    er, er_n = empirical_robustness(model, x, **empirical)
    return {
        "loss_sensitivity": loss_sensitivity(model, x, y),
        "empirical_robustness": er,
        "empirical_robustness_successes": er_n,
    }


CLEVER_COLUMNS = ["epoch", "image", "score", "raw", "reason"]


def robustness(snapshots: Snapshots, x, y, **settings) -> pd.DataFrame:
    """The per-snapshot table of `robustness_tables` alone."""
    return robustness_tables(snapshots, x, y, **settings)[0]


def robustness_tables(
    snapshots: Snapshots,
    x,
    y,
    *,
    epochs: list[int],
    clever: dict,
    empirical_robustness: dict,
    seed: int,
    x_test=None,
    y_test=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CLEVER, loss sensitivity and empirical robustness of each chosen snapshot on images x (float32
    NHWC in [0, 1], labels y): (one row per snapshot, one row per snapshot and image).

    Every epoch uses the same `seed` for CLEVER's sampling (common random numbers: neighbouring epochs
    differ by their weights, not by Monte-Carlo noise). A degenerate snapshot (`measures.degenerate`:
    constant predictions on `x_test` where its labels `y_test` vary, or no input gradient on any of x)
    gets NaN metrics and the reason in `degenerate`. CLEVER: every Weibull fit is checked
    (`clever.fit_check`); `clever` is the mean over images with an accepted fit (the paper's average),
    `clever_median` their median, `clever_rejected` the fraction of images without a score and
    `clever_reasons` why.

    The second table (CLEVER_COLUMNS) holds every image's CLEVER score, so that snapshots can be
    compared on the same images: `image` indexes x, `score` is NaN where the fit was rejected,
    `raw` is ART's score without the check (both capped at the radius, as ART caps them), `reason`
    is "" or why the fit was rejected ("degenerate" for every image of a degenerate snapshot, whose
    scores are NaN). With `implementation: art` there is no check: score = raw, reason "".
    """
    model = snapshots.model()
    forward = logits_fn(model)
    # settings not given (by callers outside the workflow: the config gives all) take the schema's
    clever = {**default("robustness", "clever"), **clever}
    if clever["norm"] == "inf":
        clever["norm"] = np.inf
    ks_pvalue = clever.pop("ks_pvalue")
    use_art = art_adapter.use_art("CLEVER", clever.pop("implementation"))
    nan = float("nan")
    rows, per_image = [], []
    images = np.arange(len(x))
    progress = Progress(len(epochs), "snapshots")
    for epoch in epochs:
        model.set_weights(snapshots.weights(epoch))
        pred_test = predict(forward, x_test) if x_test is not None else np.zeros(0, int)
        row = {"epoch": epoch, "samples": len(x), **measures.snapshot_flags(model, pred_test, x, y_test)}
        if row["degenerate"] or not len(x):
            if row["degenerate"]:
                log.warning("epoch %d: no robustness measured, %s", epoch, row["degenerate"])
            row |= {"clever": nan, "clever_median": nan, "clever_rejected": nan, "clever_reasons": ""}
            row |= {"loss_sensitivity": nan, "empirical_robustness": nan, "empirical_robustness_successes": 0}
            rows.append(row)
            per_image.append(
                pd.DataFrame(
                    {"epoch": epoch, "image": images, "score": nan, "raw": nan, "reason": "degenerate"}
                )
            )
            log.info("epoch %d: %s", epoch, progress.update())
            continue
        if use_art:  # ART's scores come without their fits: nothing to check
            scores = art_adapter.clever(model, x, seed=seed, **clever)
            raw, reasons = scores, np.full(len(x), "")
        else:
            checked = clever_checked(model, x, seed=seed, ks_pvalue=ks_pvalue, **clever)
            scores, raw, reasons = checked["score"], checked["raw"], checked["reason"]
        per_image.append(
            pd.DataFrame({"epoch": epoch, "image": images, "score": scores, "raw": raw, "reason": reasons})
        )
        kept = scores[np.isfinite(scores)]
        kinds, counts = np.unique(reasons[reasons != ""], return_counts=True)
        row |= {
            "clever": float(np.mean(kept)) if len(kept) else nan,
            "clever_median": float(np.median(kept)) if len(kept) else nan,
            "clever_rejected": float(np.mean(reasons != "")) if not use_art else nan,
            "clever_reasons": "; ".join(f"{k} {c}" for k, c in zip(kinds, counts, strict=True)),
        } | _gradient_measures(model, x, y, empirical_robustness)
        rows.append(row)
        values = {k: round(v, 4) for k, v in row.items() if isinstance(v, float) and k != "epoch"}
        log.info("epoch %d: %s | %s", epoch, values, progress.update())
    scores = pd.concat(per_image, ignore_index=True) if per_image else pd.DataFrame(columns=CLEVER_COLUMNS)
    return pd.DataFrame(rows), scores.reindex(columns=CLEVER_COLUMNS)


def fold_tables(
    snapshots: Snapshots,
    x_test,
    y_test,
    *,
    samples: int,
    every: int,
    seed: int,
    dataset: str,
    fold,
    **settings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`robustness_tables` of a fold: every `every`-th snapshot (and the last) on `samples` test images
    drawn for the fold (`selection.metric_images`), the same images and CLEVER samples for every regime
    and epoch (common random numbers); `settings`: `clever` and `empirical_robustness`."""
    idx, image_seed = selection.metric_images(len(y_test), samples, seed, dataset, fold)
    epochs = selection.metric_epochs(snapshots.epochs, every)
    log.info("robustness of %d snapshots on %d test images", len(epochs), len(idx))
    return robustness_tables(
        snapshots,
        x_test[idx],
        y_test[idx],
        epochs=epochs,
        seed=image_seed,
        x_test=x_test,
        y_test=y_test,
        **settings,
    )
