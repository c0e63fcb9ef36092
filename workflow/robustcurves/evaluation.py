"""Replaying adversarial sets on every snapshot, and per-snapshot robustness measures, with degenerate
snapshots (constant predictions, vanishing input gradients) flagged instead of averaged in."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import measures, metrics
from .models import Snapshots, logits_fn, predict
from .progress import Progress

log = logging.getLogger(__name__)

FLAGS = ("constant_predictions", "vanishing_gradients", "degenerate")


def snapshot_flags(model, pred_test: np.ndarray, x_metric: np.ndarray | None) -> dict:
    """`measures.degenerate` of one snapshot: its test predictions and its gradients on the metric images."""
    norms = measures.input_gradient_norms(model, x_metric) if x_metric is not None and len(x_metric) else []
    return measures.degenerate(pred_test, np.asarray(norms))


IMAGE_COLUMNS = ["epoch", "attack", "test_index", "fooled", "correct", "crafted_success"]


def evaluate_snapshots(
    snapshots: Snapshots, x_test, y_test, adversarial: dict, x_metric=None
) -> pd.DataFrame:
    """The per-snapshot table of `evaluation_tables` alone."""
    return evaluation_tables(snapshots, x_test, y_test, adversarial, x_metric)[0]


def evaluation_tables(
    snapshots: Snapshots, x_test, y_test, adversarial: dict, x_metric=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per snapshot and set, one row per snapshot, set and attacked image).

    First table: accuracy, ASR and conditional ASR of every snapshot on the clean test set and every
    adversarial set.

    `adversarial` maps attack name → (x_adv, y_true, test_indices, success): x_adv float32 NHWC, y_true
    and test_indices int [n], success bool [n] (the attack broke the image at its crafting snapshot);
    the last one or two may be left out. `asr_given_correct` is the success rate among the adversarials
    whose clean originals (x_test[test_indices]) this snapshot classifies correctly (NaN without
    indices or when it gets none right). `transfer_rate` is the share of the crafting-successful
    adversarials that this snapshot misclassifies (real adversarials only: an image the attack failed
    on comes back unchanged, and replaying it measures clean error); `crafted_success` is the crafting
    success rate, the same on every epoch (both NaN without `success` or with no success). Each row
    also carries the snapshot's degeneracy flags (`measures.degenerate`; gradients on `x_metric`, the
    fold's metric images). One model is reused across epochs by setting its weights, so the traced
    forward pass is built once.

    Second table (IMAGE_COLUMNS), for image-level paired tests between regimes: per epoch, attack and
    attacked test image (`test_index` into x_test), `fooled` (this snapshot misclassifies the
    adversarial), `correct` (it classifies the clean original correctly) and `crafted_success` (the
    attack broke the image at its crafting snapshot; empty without `success`). Sets without test
    indices have no rows here: there is nothing to pair them by.
    """
    model = snapshots.model()
    forward = logits_fn(model)
    rows, per_image = [], []
    for epoch in snapshots.epochs:
        model.set_weights(snapshots.weights(epoch))
        pred_test = predict(forward, x_test)
        flags = snapshot_flags(model, pred_test, x_metric)
        if flags["degenerate"]:
            log.warning("epoch %d is degenerate: %s", epoch, flags["degenerate"])
        asr = metrics.attack_success_rate(pred_test, y_test)
        nan = float("nan")
        rows.append(
            {"epoch": epoch, "attack": "clean", "samples": len(y_test), "accuracy": 1.0 - asr, "asr": asr}
            | {"asr_given_correct": nan, "correct_originals": int(np.sum(pred_test == y_test))}
            | {"transfer_rate": nan, "crafted_success": nan, "crafted_successes": -1}
            | flags
        )
        for attack, (x, y, *extra) in adversarial.items():
            pred = predict(forward, x)
            asr = metrics.attack_success_rate(pred, y)
            if extra:
                index = np.asarray(extra[0], int)
                correct = pred_test[index] == y
                crafted = extra[1] if len(extra) > 1 else [None] * len(y)
                per_image.append(
                    pd.DataFrame(
                        {"epoch": epoch, "attack": attack, "test_index": index, "fooled": pred != y}
                        | {"correct": correct, "crafted_success": pd.array(crafted, "boolean")}
                    )
                )
                given = metrics.attack_success_rate(pred[correct], y[correct])
                n_correct = int(correct.sum())
            else:
                given, n_correct = nan, -1
            transfer = {"transfer_rate": nan, "crafted_success": nan, "crafted_successes": -1}
            if len(extra) > 1:
                crafted = np.asarray(extra[1], bool)
                transfer = {
                    # attack_success_rate is NaN on an empty set: no real adversarial to replay
                    "transfer_rate": metrics.attack_success_rate(pred[crafted], y[crafted]),
                    "crafted_success": float(crafted.mean()) if len(crafted) else nan,
                    "crafted_successes": int(crafted.sum()),
                }
            rows.append(
                {"epoch": epoch, "attack": attack, "samples": len(y), "accuracy": 1.0 - asr, "asr": asr}
                | {"asr_given_correct": given, "correct_originals": n_correct}
                | transfer
                | flags
            )
    images = pd.concat(per_image, ignore_index=True) if per_image else pd.DataFrame(columns=IMAGE_COLUMNS)
    return pd.DataFrame(rows), images.reindex(columns=IMAGE_COLUMNS)


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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CLEVER, loss sensitivity and empirical robustness of each chosen snapshot on images x (float32
    NHWC in [0, 1], labels y): (one row per snapshot, one row per snapshot and image).

    Every epoch uses the same `seed` for CLEVER's sampling (common random numbers: neighbouring epochs
    differ by their weights, not by Monte-Carlo noise). A degenerate snapshot (`measures.degenerate`:
    constant predictions on `x_test`, or no input gradient on any of x) gets NaN metrics and the
    reason in `degenerate`. CLEVER: every Weibull fit is checked (`clever.fit_check`); `clever` is the
    mean over images with an accepted fit (the paper's average), `clever_median` their median,
    `clever_rejected` the fraction of images without a score and `clever_reasons` why.

    The second table (CLEVER_COLUMNS) holds every image's CLEVER score, so that snapshots can be
    compared on the same images: `image` indexes x, `score` is NaN where the fit was rejected,
    `raw` is ART's score without the check (both capped at the radius, as ART caps them), `reason`
    is "" or why the fit was rejected ("degenerate" for every image of a degenerate snapshot, whose
    scores are NaN). With `implementation: art` there is no check: score = raw, reason "".
    """
    from . import art_adapter
    from .clever import KS_PVALUE, clever_checked

    model = snapshots.model()
    forward = logits_fn(model)
    clever = dict(clever)
    if clever.get("norm") == "inf":
        clever["norm"] = np.inf
    # the library's own defaults, for callers outside the workflow (the config always gives both)
    ks_pvalue = clever.pop("ks_pvalue", KS_PVALUE)
    use_art = clever.pop("implementation", "batched") == "art"
    nan = float("nan")
    rows, per_image = [], []
    images = np.arange(len(x))
    progress = Progress(len(epochs), "snapshots")
    for epoch in epochs:
        model.set_weights(snapshots.weights(epoch))
        pred_test = predict(forward, x_test) if x_test is not None else np.zeros(0, int)
        row = {"epoch": epoch, "samples": len(x), **snapshot_flags(model, pred_test, x)}
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
        er, er_n = measures.empirical_robustness(model, x, **empirical_robustness)
        row |= {
            "clever": float(np.mean(kept)) if len(kept) else nan,
            "clever_median": float(np.median(kept)) if len(kept) else nan,
            "clever_rejected": float(np.mean(reasons != "")) if not use_art else nan,
            "clever_reasons": "; ".join(f"{k} {c}" for k, c in zip(kinds, counts, strict=True)),
            "loss_sensitivity": measures.loss_sensitivity(model, x, y),
            "empirical_robustness": er,
            "empirical_robustness_successes": er_n,
        }
        rows.append(row)
        values = {k: round(v, 4) for k, v in row.items() if isinstance(v, float) and k != "epoch"}
        log.info("epoch %d: %s | %s", epoch, values, progress.update())
    scores = pd.concat(per_image, ignore_index=True) if per_image else pd.DataFrame(columns=CLEVER_COLUMNS)
    return pd.DataFrame(rows), scores.reindex(columns=CLEVER_COLUMNS)
