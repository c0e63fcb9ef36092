"""The select_best stage: the snapshot of a fold that the adversarial sets are crafted against."""

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
