"""Replaying adversarial sets on every snapshot, and per-snapshot robustness measures."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import metrics
from .models import Snapshots, logits_fn, predict
from .progress import Progress

log = logging.getLogger(__name__)


def evaluate_snapshots(snapshots: Snapshots, x_test, y_test, adversarial: dict) -> pd.DataFrame:
    """Accuracy and ASR of every snapshot on the clean test set and on every adversarial set.

    `adversarial` maps attack name → (x_adv, y_true). One model is reused across epochs by setting
    its weights, so the traced forward pass is built once.
    """
    model = snapshots.model()
    forward = logits_fn(model)
    sets = {"clean": (x_test, y_test), **adversarial}
    rows = []
    for epoch in snapshots.epochs:
        model.set_weights(snapshots.weights(epoch))
        for attack, (x, y) in sets.items():
            pred = predict(forward, x)
            asr = metrics.attack_success_rate(pred, y)
            rows.append(
                {"epoch": epoch, "attack": attack, "samples": len(y), "accuracy": 1.0 - asr, "asr": asr}
            )
    return pd.DataFrame(rows)


def robustness(
    snapshots: Snapshots, x, y, *, epochs: list[int], clever: dict, empirical_robustness: dict, seed: int
) -> pd.DataFrame:
    """CLEVER, loss sensitivity and empirical robustness of each chosen snapshot on images x."""
    from . import art_adapter
    from .clever import clever_scores

    model = snapshots.model()
    clever = dict(clever)
    if clever.get("norm") == "inf":
        clever["norm"] = np.inf
    score = art_adapter.clever if clever.pop("implementation") == "art" else clever_scores
    rows = []
    progress = Progress(len(epochs), "snapshots")
    for epoch in epochs:
        model.set_weights(snapshots.weights(epoch))
        scores = score(model, x, seed=seed + epoch, **clever) if len(x) else np.zeros(0)
        er, er_n = metrics.empirical_robustness(model, x, **empirical_robustness)
        rows.append(
            {
                "epoch": epoch,
                "samples": len(x),
                # The median resists the occasional collapsed Weibull fit (score ~1e-6, ART-NOTES.md)
                # that drags the mean down; both are kept.
                "clever": float(np.median(scores)) if len(x) else float("nan"),
                "clever_mean": float(np.mean(scores)) if len(x) else float("nan"),
                "loss_sensitivity": art_adapter.loss_sensitivity(model, x, y),
                "empirical_robustness": er,
                "empirical_robustness_successes": er_n,
            }
        )
        values = {k: round(v, 4) for k, v in rows[-1].items() if k != "epoch"}
        log.info("epoch %d: %s | %s", epoch, values, progress.update())
    return pd.DataFrame(rows)
