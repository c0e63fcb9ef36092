"""The distances stage: per adversarial image, L0, L2 and Linf from its clean original. numpy only, so
that the rule runs in the light analysis environment without Keras."""

from __future__ import annotations

import numpy as np
import pandas as pd

from robustcurves.measures.distances import distances


def table(x: np.ndarray, adversarial: dict) -> pd.DataFrame:
    """One row per image of an adversarial set (`adversarial.load`'s arrays): its test index, label,
    whether the attack succeeded, and its `distances` from its clean original, `x` (float32 in [0, 1],
    the set's order)."""
    return pd.DataFrame(
        {"index": adversarial["indices"], "label": adversarial["labels"], "success": adversarial["success"]}
        | distances(x, adversarial["x_adv"])
    )
