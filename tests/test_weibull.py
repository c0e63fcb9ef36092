import numpy as np
import pytest
from scipy.optimize import fmin
from scipy.stats import weibull_min

from robustcurves.measures import weibull


def maxima_rows(rng, rows: int, batches: int) -> np.ndarray:
    """CLEVER-like data: per row, `batches` maxima of 16 draws from a pool of gradient norms."""
    out = []
    for _ in range(rows):
        pool = rng.gamma(2 + 5 * rng.random(), 0.01 + 0.5 * rng.random(), size=160)
        out.append(pool[rng.integers(0, 160, (batches, 16))].max(axis=1))
    return np.array(out, np.float32)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's moment start on constant rows
@pytest.mark.parametrize("batches", [50, 10, 3])
def test_batched_fit_is_scipys_fit_row_by_row(rng, batches):
    data = maxima_rows(rng, 40, batches)
    # rows that run fmin out of calls (heavy tails, a lone outlier) or start at scale 0 (constant)
    data[0] = np.abs(rng.standard_cauchy((batches, 16))).max(axis=1)
    data[1] = 1.0
    data[1, -1] = 2.0
    data[2] = 1.5
    expected = np.array([weibull_min.fit(-row, 1.0, optimizer=fmin) for row in data])
    got = weibull.fit(-data, 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)


def test_recovers_the_location_of_known_reverse_weibull_maxima(rng):
    # maxima drawn from a reverse Weibull with its end point (the Lipschitz estimate) at 3.0
    true_end, shape, scale = 3.0, 4.0, 0.5
    maxima = true_end - weibull_min.rvs(shape, scale=scale, size=(6, 2000), random_state=rng)
    location = weibull.reverse_weibull_location(maxima.astype(np.float32), c_init=shape)
    np.testing.assert_allclose(-location, true_end, rtol=0.01)


def test_ks_pvalue_is_scipys_kstest_for_every_row():
    from scipy.stats import kstest, weibull_min

    data = weibull_min.rvs(2.0, loc=-5.0, scale=1.0, size=(5, 50), random_state=3)
    data[4] = np.concatenate([data[4, :25], data[4, :25] + 3.0])  # two clumps: a bad fit
    params = weibull.fit(data)
    ours = weibull.ks_pvalue(data, params)
    ref = [kstest(row, "weibull_min", args=tuple(p)).pvalue for row, p in zip(data, params, strict=True)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    # the true distribution passes at 5 %, the clumped data do not
    truth = weibull.ks_pvalue(data[:1], np.array([[2.0, -5.0, 1.0]]))
    assert truth[0] > 0.05 and ours[4] < 0.05


def test_weng_multi_start_fits_what_the_single_start_at_shape_one_misses():
    from robustcurves.measures import clever

    # exact reverse Weibull maxima of shape 3: fmin started at shape 1 often stops at a poor fit
    maxima = -weibull_min.rvs(3.0, loc=-3.0, scale=0.5, size=(20, 50), random_state=0)
    single = weibull.fit(-maxima)
    art_p = weibull.ks_pvalue(-maxima, single)
    best_p = weibull.best_ks_pvalue(maxima)
    assert (art_p < 0.001).mean() > 0.5 and (best_p >= 0.001).all()
    assert (clever.fit_check(maxima, single) == "").all()  # the data are reverse Weibull: kept
