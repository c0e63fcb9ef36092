import numpy as np

from robustcurves.stages import evaluate


def test_attack_success_rate_is_one_minus_accuracy():
    y = np.array([0, 1, 2, 3])
    assert evaluate.attack_success_rate(np.array([0, 1, 0, 0]), y) == 0.5
    assert evaluate.attack_success_rate(y, y) == 0.0
    assert np.isnan(evaluate.attack_success_rate(y[:0], y[:0]))
