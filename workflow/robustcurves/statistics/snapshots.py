"""Which snapshots a claim leaves out, and how the tables say so."""

from __future__ import annotations

import pandas as pd

SNAPSHOT = ["regime", "fold", "epoch"]


def sound(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of snapshots not flagged degenerate (all rows of a frame without the flag)."""
    if "degenerate" not in df:
        return df
    return df[df["degenerate"].fillna("").astype(str) == ""]


def flagged_snapshots(*frames: pd.DataFrame) -> pd.DataFrame:
    """(regime, fold, epoch) of every snapshot some frame flags degenerate (a non-empty reason)."""
    parts = [
        df.loc[df["degenerate"].fillna("").astype(str) != "", SNAPSHOT] for df in frames if "degenerate" in df
    ]
    return pd.concat(parts).drop_duplicates() if parts else pd.DataFrame(columns=SNAPSHOT)


def drop_snapshots(df: pd.DataFrame, flagged: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of `df` (with regime, fold, epoch columns) whose snapshot is not in `flagged`."""
    if flagged is None or flagged.empty or df.empty:
        return df
    return df[~pd.MultiIndex.from_frame(df[SNAPSHOT]).isin(pd.MultiIndex.from_frame(flagged[SNAPSHOT]))]


def describe_snapshots(flagged: pd.DataFrame, what: str = "degenerate") -> str:
    """'N degenerate (regime fold k epoch a–b; …)', or 'none'."""
    if flagged.empty:
        return "none"
    parts = [
        f"{regime} fold {fold} epoch {epoch_ranges(sorted(g['epoch']))}"
        for (regime, fold), g in flagged.groupby(["regime", "fold"])
    ]
    return f"{len(flagged)} {what} ({'; '.join(parts)})"


def excluded_snapshots(*frames: pd.DataFrame) -> str:
    """'N degenerate (regime fold k epoch a–b; …)' over the frames, or 'none'."""
    return describe_snapshots(flagged_snapshots(*frames))


def epoch_ranges(epochs: list[int]) -> str:
    """[1, 2, 3, 7] -> '1–3, 7'."""
    runs = []
    for e in epochs:
        if runs and e == runs[-1][1] + 1:
            runs[-1][1] = e
        else:
            runs.append([e, e])
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)
