"""Mean and standard deviation over folds: per epoch for curves, per attack for distance tables."""

from __future__ import annotations

import re

import pandas as pd

# Fold artifacts are named by their paths: results/{dataset}/{regime}/fold{k}/...[distances/{attack}.csv]
FOLD_PATH = re.compile(
    r"results/[^/]+/(?P<regime>[^/]+)/fold(?P<fold>\d+)/(?:distances/(?P<attack>[^/]+)\.csv)?"
)


def read_fold_frames(paths) -> dict[tuple, pd.DataFrame]:
    """Per-fold CSVs keyed by (regime, fold), or (regime, fold, attack) for distances."""
    frames = {}
    for path in paths:
        m = FOLD_PATH.search(str(path))
        frames[(m["regime"], int(m["fold"])) + ((m["attack"],) if m["attack"] else ())] = pd.read_csv(path)
    return frames


CURVE_KEYS = ["regime", "epoch"]


def stack(frames: dict[tuple[str, int], pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-fold frames keyed by (regime, fold) into one frame with those two columns."""
    parts = [df.assign(regime=regime, fold=fold) for (regime, fold), df in frames.items()]
    return pd.concat(parts, ignore_index=True)


def over_folds(df: pd.DataFrame, by: list[str], values: list[str]) -> pd.DataFrame:
    """Long table: by..., quantity, mean, std (ddof 1), folds — one row per group and quantity."""
    long = df.melt(id_vars=[*by, "fold"], value_vars=values, var_name="quantity")
    grouped = long.groupby([*by, "quantity"], sort=True)["value"]
    out = grouped.agg(mean="mean", std="std", folds="count").reset_index()
    return out


def history(frames) -> pd.DataFrame:
    df = stack(frames)
    values = [c for c in df.columns if c not in ("epoch", "regime", "fold")]
    return over_folds(df, CURVE_KEYS, values)


def evaluation(frames) -> pd.DataFrame:
    return over_folds(stack(frames), [*CURVE_KEYS, "attack"], ["accuracy", "asr", "samples"])


def robustness(frames) -> pd.DataFrame:
    df = stack(frames)
    values = [c for c in df.columns if c not in ("epoch", "regime", "fold")]
    return over_folds(df, CURVE_KEYS, values)


def distances(frames: dict[tuple[str, int, str], pd.DataFrame]) -> pd.DataFrame:
    """Per-fold means of per-sample L0/L2/Linf over successful adversarials, then mean and std over folds.

    `samples` is the number of successful adversarials behind each fold's mean (NaN means when none).
    """
    per_fold = pd.DataFrame(
        [
            {
                "regime": regime,
                "fold": fold,
                "attack": attack,
                "samples": int(df["success"].sum()),
                **{m: df.loc[df["success"], m].mean() for m in ("l0", "l2", "linf")},
            }
            for (regime, fold, attack), df in frames.items()
        ]
    )
    return over_folds(per_fold, ["regime", "attack"], ["l0", "l2", "linf", "samples"])


WHITEBOX_VALUES = [
    "clean_accuracy", "robust_accuracy", "success_rate", "median_min_eps", "median_l2", "median_min_l2",
    "masking",
]  # fmt: skip


def whitebox(frames) -> pd.DataFrame:
    """Per regime, epoch, attack and eps (empty for CW): mean and std over folds of the white-box
    measures; `masking` is the fraction of folds whose snapshot was flagged."""
    df = stack(frames)
    df["masking"] = df["masking"].astype(float)
    keys = ["regime", "epoch", "attack", "eps"]
    long = df.melt(id_vars=[*keys, "fold"], value_vars=WHITEBOX_VALUES, var_name="quantity")
    grouped = long.groupby([*keys, "quantity"], sort=True, dropna=False)["value"]
    return grouped.agg(mean="mean", std="std", folds="count").reset_index()
