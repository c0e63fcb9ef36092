"""The adversarial-set artifact: images, which test images they came from, and how the attack went."""

from __future__ import annotations

import numpy as np

from robustcurves.io import read_h5, write_h5

REQUIRED = ("x_adv", "indices", "labels", "success")


def save(path, x_adv, indices, labels, success, *, attack: str, params: dict, epoch: int) -> None:
    write_h5(
        path,
        {
            "x_adv": x_adv.astype(np.float32),
            "indices": indices.astype(np.int64),
            "labels": labels.astype(np.int64),
            "success": success.astype(bool),
        },
        {
            "attack": attack,
            "params": params,
            "epoch": epoch,
            "samples": len(indices),
            "successes": int(success.sum()),
        },
    )


def load(path) -> tuple[dict, dict]:
    return read_h5(path, required=REQUIRED)
