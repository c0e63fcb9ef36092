"""Mean and standard deviation over folds: per epoch for curves, per attack for distance tables."""

from __future__ import annotations

import pandas as pd


def read_fold_frames(paths, keys) -> dict[tuple, pd.DataFrame]:
    """Per-fold CSVs keyed by their keys: (regime, fold), or (regime, fold, attack) for distances.

    The keys come with the paths, in the same order (the rule's params), rather than parsed out of them.
    """
    return {tuple(key): pd.read_csv(path) for path, key in zip(paths, keys, strict=True)}


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


def _flag_degenerate(df: pd.DataFrame) -> pd.DataFrame:
    """The `degenerate` reason as 0/1, so its fold mean x folds counts the flagged snapshots."""
    if "degenerate" not in df:
        return df
    return df.assign(degenerate=(df["degenerate"].fillna("").astype(str) != "").astype(int))


EVALUATION_VALUES = (
    "accuracy", "asr", "asr_given_correct", "transfer_rate", "crafted_success", "samples", "degenerate",
)  # fmt: skip


def evaluation(frames) -> pd.DataFrame:
    """Per regime, epoch and attack: mean and std over folds of accuracy, ASR, conditional ASR, the
    transfer rate of the crafting-successful adversarials and the crafting success (NaN for clean)."""
    df = _flag_degenerate(stack(frames))
    values = [c for c in EVALUATION_VALUES if c in df]
    return over_folds(df, [*CURVE_KEYS, "attack"], values)


def robustness(frames) -> pd.DataFrame:
    df = _flag_degenerate(stack(frames))
    values = [
        c for c in df.columns if c not in ("epoch", "regime", "fold") and pd.api.types.is_numeric_dtype(df[c])
    ]
    return over_folds(df, CURVE_KEYS, values)


DISTANCES = ("l0", "l2", "l2_pixel", "linf")


def distances(frames: dict[tuple[str, int, str], pd.DataFrame]) -> pd.DataFrame:
    """Distances of the successful adversarials per regime and attack, with two spreads, each labelled.

    `mean`, `std`, `folds`: over the per-fold means (std of fold means, ddof 1; `folds` counts the
    folds with at least one success, so `std` is NaN with one such fold). `pooled_mean`,
    `pooled_std`, `images`: over the successful adversarials of all folds pooled (std over images,
    ddof 1: the paper's ±, docs/paper.md). Quantity `samples` is the number of successes per fold.
    A distance column missing from any fold file (older runs lack `l2_pixel`) is left out.
    """
    present = [q for q in DISTANCES if all(q in df.columns for df in frames.values())]
    per_fold = pd.DataFrame(
        [
            {
                "regime": regime,
                "fold": fold,
                "attack": attack,
                "samples": int(df["success"].sum()),
                **{q: df.loc[df["success"], q].mean() for q in present},
            }
            for (regime, fold, attack), df in frames.items()
        ]
    )
    summary = over_folds(per_fold, ["regime", "attack"], [*present, "samples"])
    pooled = (
        pd.concat(
            [df.loc[df["success"], present].assign(regime=r, attack=a) for (r, _, a), df in frames.items()]
        )
        .melt(id_vars=["regime", "attack"], value_vars=present, var_name="quantity")
        .groupby(["regime", "attack", "quantity"])["value"]
        .agg(pooled_mean="mean", pooled_std="std", images="count")
        .reset_index()
    )
    summary = summary.merge(pooled, on=["regime", "attack", "quantity"], how="left")
    summary["images"] = summary["images"].fillna(0).astype(int)
    return summary


WHITEBOX_VALUES = [
    "clean_accuracy", "robust_accuracy", "success_rate", "median_min_eps", "median_min_eps_correct",
    "median_l2", "median_min_l2", "median_min_l2_correct", "masking",
]  # fmt: skip


def whitebox(frames) -> pd.DataFrame:
    """Per regime, epoch, attack and eps (empty for CW): mean and std over folds of the white-box
    measures; `masking` is the fraction of folds whose snapshot was flagged. A fold whose median is
    `inf` (beyond the eps grid) makes the mean `inf` and the std NaN: censored, not left out. Measures
    missing from the fold files (older runs) are left out."""
    df = stack(frames)
    df["masking"] = df["masking"].astype(float)
    keys = ["regime", "epoch", "attack", "eps"]
    values = [c for c in WHITEBOX_VALUES if c in df]
    long = df.melt(id_vars=[*keys, "fold"], value_vars=values, var_name="quantity")
    grouped = long.groupby([*keys, "quantity"], sort=True, dropna=False)["value"]
    return grouped.agg(mean="mean", std="std", folds="count").reset_index()
