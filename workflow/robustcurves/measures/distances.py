"""L0, L2 and Linf of a perturbation, per image. numpy only, so that the distances rule runs in the light
analysis environment without Keras."""

from __future__ import annotations

import numpy as np

# Perturbations below this are float noise from clipping, not changed pixels.
CHANGE_TOL = 1e-6


def distances(x: np.ndarray, x_adv: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample L0 (pixels with any channel changed), L2 and Linf of x_adv - x, in [0, 1] units.

    `l2_pixel` is the L2 over one value per pixel, the RMS of its channels (= l2 / sqrt(channels)):
    the definition that reproduces the paper's L2 values (docs/paper.md). It equals `l2` for one channel.
    """
    pixels = int(np.prod(x.shape[1:-1]))
    delta = (x_adv.astype(np.float64) - x.astype(np.float64)).reshape(len(x), pixels, x.shape[-1])
    changed = np.abs(delta).max(axis=2, initial=0.0) > CHANGE_TOL
    flat = delta.reshape(len(x), pixels * x.shape[-1])
    return {
        "l0": changed.sum(axis=1).astype(np.int64),
        "l2": np.linalg.norm(flat, axis=1),
        "l2_pixel": np.linalg.norm(flat, axis=1) / np.sqrt(x.shape[-1]),
        "linf": np.abs(flat).max(axis=1, initial=0.0),
    }
