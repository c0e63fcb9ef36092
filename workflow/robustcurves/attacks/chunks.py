"""Attacks run chunk by chunk: one compiled call per `batch_size` images, progress in the job's log."""

from __future__ import annotations

import logging

import numpy as np

from robustcurves import backend
from robustcurves.progress import Progress

log = logging.getLogger(__name__)


def in_chunks(attack, batch_size: int, *arrays: np.ndarray, name: str) -> np.ndarray:
    """`attack` on `batch_size` rows of every array at a time (as tensors), the results concatenated
    as float32; each chunk logs the rate and ETA, so a long attack can be watched in its log."""
    n = len(arrays[0])
    out, progress = [], Progress(n, "images")
    for i in range(0, n, batch_size):
        out.append(backend.to_numpy(attack(*(backend.tensor(a[i : i + batch_size]) for a in arrays))))
        log.info("%s: %s", name, progress.update(len(out[-1])))
    return np.concatenate(out).astype(np.float32)
