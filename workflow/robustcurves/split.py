"""The split stage: every training sample's fold, k stratified, shuffled, disjoint folds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number of every training sample: k stratified, shuffled, disjoint folds."""
    from sklearn.model_selection import StratifiedKFold

    fold = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, val) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fold[val] = i
    return fold


def folds(y: np.ndarray, k: int, seed: int) -> pd.DataFrame:
    """The fold table: training-sample index, label and `stratified_folds`' fold."""
    return pd.DataFrame({"index": np.arange(len(y)), "label": y, "fold": stratified_folds(y, k, seed)})
