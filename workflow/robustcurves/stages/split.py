"""The split stage: every training sample's fold, k stratified, shuffled, disjoint folds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from robustcurves.data import DatasetError


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number of every training sample: k stratified, shuffled, disjoint folds."""
    from sklearn.model_selection import StratifiedKFold

    fold = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, val) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fold[val] = i
    return fold


def folds(y: np.ndarray, k: int, seed: int, class_names=None) -> pd.DataFrame:
    """The fold table: training-sample index, label and `stratified_folds`' fold.

    Raises DatasetError, naming the class (by `class_names`, else its number) and the fold, when a fold
    would train without a class: all of the class's images fall in that fold's validation part, as a
    class with a single image always does. Stratification cannot help it; the training would run and
    silently never see the class."""
    fold = stratified_folds(y, k, seed)
    names = (
        class_names if class_names is not None and len(class_names) else [str(c) for c in range(y.max() + 1)]
    )
    for f in range(k):
        missing = np.setdiff1d(np.unique(y), np.unique(y[fold != f]))
        if len(missing):
            counts = ", ".join(f"{names[c]} ({np.sum(y == c)} image(s))" for c in missing[:5])
            raise DatasetError(
                f"fold {f} would train without class {counts}: every image of it is in that fold's "
                f"validation part; give each class at least 2 training images or drop it"
            )
    return pd.DataFrame({"index": np.arange(len(y)), "label": y, "fold": fold})
