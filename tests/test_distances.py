import numpy as np
import pytest

from robustcurves.measures import distances
from robustcurves.stages import distances as distances_stage


def test_distances_on_hand_made_pairs():
    x = np.zeros((2, 3, 3, 2), np.float32)
    adv = x.copy()
    adv[0, 0, 0, 0] = 0.3  # one pixel, one channel
    adv[0, 1, 1, :] = [0.4, -0.1]  # one pixel, both channels: still one pixel changed
    d = distances.distances(x, adv)
    assert d["l0"].tolist() == [2, 0]
    assert d["l2"] == pytest.approx([np.sqrt(0.09 + 0.16 + 0.01), 0.0])
    assert d["linf"] == pytest.approx([0.4, 0.0])


def test_table_has_a_row_per_adversarial_with_its_test_index():
    x = np.zeros((2, 3, 3, 1), np.float32)
    adv = {
        "x_adv": x + 0.1,
        "indices": np.array([7, 2]),
        "labels": np.array([1, 0]),
        "success": np.array([True, False]),
    }
    table = distances_stage.table(x, adv)
    assert list(table.columns) == ["index", "label", "success", "l0", "l2", "l2_pixel", "linf"]
    assert table["index"].tolist() == [7, 2] and table["l0"].tolist() == [9, 9]
