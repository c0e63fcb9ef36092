import numpy as np
import pytest

from robustcurves import metrics


def test_distances_on_hand_made_pairs():
    x = np.zeros((2, 3, 3, 2), np.float32)
    adv = x.copy()
    adv[0, 0, 0, 0] = 0.3  # one pixel, one channel
    adv[0, 1, 1, :] = [0.4, -0.1]  # one pixel, both channels: still one pixel changed
    d = metrics.distances(x, adv)
    assert d["l0"].tolist() == [2, 0]
    assert d["l2"] == pytest.approx([np.sqrt(0.09 + 0.16 + 0.01), 0.0])
    assert d["linf"] == pytest.approx([0.4, 0.0])


def test_attack_success_rate_is_one_minus_accuracy():
    y = np.array([0, 1, 2, 3])
    assert metrics.attack_success_rate(np.array([0, 1, 0, 0]), y) == 0.5
    assert metrics.attack_success_rate(y, y) == 0.0
    assert np.isnan(metrics.attack_success_rate(y[:0], y[:0]))
