"""The robustness stage: per snapshot of a fold, CLEVER, loss sensitivity and empirical robustness
(`robustcurves.measures`) on the fold's metric images, with degenerate snapshots
(`degenerate.degenerate`) given NaN instead of a number.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from robustcurves import art_adapter, sampling
from robustcurves.config import default
from robustcurves.measures import degenerate
from robustcurves.measures.clever import clever_checked
from robustcurves.measures.empirical_robustness import empirical_robustness
from robustcurves.measures.loss_sensitivity import loss_sensitivity
from robustcurves.models import Snapshots, logits_fn, predict
from robustcurves.progress import Progress

log = logging.getLogger(__name__)


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
    differ by their weights, not by Monte-Carlo noise). A degenerate snapshot (`degenerate.degenerate`:
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
        row = {"epoch": epoch, "samples": len(x), **degenerate.snapshot_flags(model, pred_test, x, y_test)}
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
    drawn for the fold (`sampling.metric_images`), the same images and CLEVER samples for every regime
    and epoch (common random numbers); `settings`: `clever` and `empirical_robustness`."""
    idx, image_seed = sampling.metric_images(len(y_test), samples, seed, dataset, fold)
    epochs = sampling.metric_epochs(snapshots.epochs, every)
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
