"""The evaluate stage: every snapshot of a fold on the clean test set and on the fold's adversarial sets
(crafted once, against its best snapshot), with degenerate snapshots (constant predictions, vanishing
input gradients) flagged instead of averaged in."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from robustcurves import sampling
from robustcurves.measures import degenerate
from robustcurves.models import Snapshots, logits_fn, predict

log = logging.getLogger(__name__)


def attack_success_rate(pred: np.ndarray, y: np.ndarray) -> float:
    """ASR = 1 - accuracy on the adversarial set; NaN for an empty set."""
    return float(np.mean(pred != y)) if len(y) else float("nan")


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
    also carries the snapshot's degeneracy flags (`degenerate.degenerate`; gradients on `x_metric`, the
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
        flags = degenerate.snapshot_flags(model, pred_test, x_metric, y_test)
        if flags["degenerate"]:
            log.warning("epoch %d is degenerate: %s", epoch, flags["degenerate"])
        asr = attack_success_rate(pred_test, y_test)
        nan = float("nan")
        rows.append(
            {"epoch": epoch, "attack": "clean", "samples": len(y_test), "accuracy": 1.0 - asr, "asr": asr}
            | {"asr_given_correct": nan, "correct_originals": int(np.sum(pred_test == y_test))}
            | {"transfer_rate": nan, "crafted_success": nan, "crafted_successes": -1}
            | flags
        )
        for attack, (x, y, *extra) in adversarial.items():
            pred = predict(forward, x)
            asr = attack_success_rate(pred, y)
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
                given = attack_success_rate(pred[correct], y[correct])
                n_correct = int(correct.sum())
            else:
                given, n_correct = nan, -1
            transfer = {"transfer_rate": nan, "crafted_success": nan, "crafted_successes": -1}
            if len(extra) > 1:
                crafted = np.asarray(extra[1], bool)
                transfer = {
                    # attack_success_rate is NaN on an empty set: no real adversarial to replay
                    "transfer_rate": attack_success_rate(pred[crafted], y[crafted]),
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


def fold_tables(
    snapshots: Snapshots,
    x_test,
    y_test,
    adversarial: dict,
    *,
    metric_samples: int,
    seed: int,
    dataset: str,
    fold,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`evaluation_tables` of a fold, its gradients checked on the fold's metric images (the robustness
    stage's: `sampling.metric_images`) for the vanishing-gradient flag."""
    idx, _ = sampling.metric_images(len(y_test), metric_samples, seed, dataset, fold)
    return evaluation_tables(snapshots, x_test, y_test, adversarial, x_metric=x_test[idx])
