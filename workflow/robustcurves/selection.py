"""Which epochs matter: the best snapshot of a fold, and the epochs that get expensive metrics."""

import numpy as np
import pandas as pd


def best_epoch(history: pd.DataFrame) -> dict:
    """The epoch with the highest validation accuracy (the earliest on ties)."""
    row = history.loc[history["val_accuracy"].idxmax()]
    return {
        "epoch": int(row["epoch"]),
        "criterion": "max val_accuracy",
        "val_accuracy": float(row["val_accuracy"]),
        "test_accuracy": float(row["test_accuracy"]),
    }


def metric_epochs(epochs: list[int], every: int) -> list[int]:
    """Every k-th epoch, always including the last one."""
    chosen = [e for e in epochs if e % every == 0]
    return chosen if chosen and chosen[-1] == epochs[-1] else [*chosen, epochs[-1]]


def attack_indices(correct: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Test indices to attack: at most `samples` of the correctly classified ones, chosen with the seed."""
    candidates = np.flatnonzero(correct)
    if len(candidates) > samples:
        candidates = np.sort(np.random.default_rng(seed).choice(candidates, samples, replace=False))
    return candidates


def metric_indices(test_size: int, samples: int, seed: int) -> np.ndarray:
    """The metric images of a fold: `samples` test indices drawn with the seed, sorted.

    Not conditioned on any snapshot's correctness, so every regime and epoch of a fold measures the
    same images (a paired design).
    """
    if test_size <= samples:
        return np.arange(test_size)
    return np.sort(np.random.default_rng(seed).choice(test_size, samples, replace=False))
