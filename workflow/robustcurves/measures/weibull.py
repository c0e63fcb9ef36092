"""Reverse Weibull fits for CLEVER, many at once: scipy's `weibull_min.fit(data, c_init, optimizer=fmin)`.

CLEVER fits one reverse Weibull per (sample, class): ~90 fits per snapshot, ~15 ms each in scipy, almost
all of it Python overhead of ~300 objective calls on 50 numbers. This runs the same computation for all
fits side by side: the same starting point (scipy's moment guess for loc and scale around `c_init`),
the same penalised negative log-likelihood, and scipy's Nelder-Mead step for step (same simplex,
coefficients, tolerances, call and iteration limits, tie-breaking). Results agree with scipy's to
rounding (the sums run in a different order where points fall outside the support).
"""

from __future__ import annotations

import numpy as np
from scipy import special

LOG_XMAX = np.log(np.finfo(float).max)  # scipy's _LOGXMAX: the penalty per point outside the support
RHO, CHI, PSI, SIGMA = 1, 2, 0.5, 0.5  # fmin's reflection, expansion, contraction, shrink
XATOL = FATOL = 1e-4
N = 3  # parameters: shape c, loc, scale


def _nll(theta: np.ndarray, data: np.ndarray) -> np.ndarray:
    """scipy's `_penalized_nnlf` of weibull_min for each row: theta (m, 3), data (m, n)."""
    c, loc, scale = (theta[:, k : k + 1] for k in range(N))
    valid = (c[:, 0] > 0) & (scale[:, 0] > 0)
    with np.errstate(all="ignore"):
        x = (data - loc) / scale
        logpdf = np.log(c) + special.xlogy(c - 1, x) - x**c
        good = (x >= 0) & np.isfinite(logpdf)  # in the support [0, inf] and finite
        bad = data.shape[1] - np.count_nonzero(good, axis=1)
        nll = -np.where(good, logpdf, 0.0).sum(axis=1) + bad * LOG_XMAX * 100
        nll = nll + data.shape[1] * np.log(scale[:, 0])
    return np.where(valid, nll, np.inf)


def _sort(sim: np.ndarray, fsim: np.ndarray, rows: np.ndarray) -> None:
    order = np.argsort(fsim[rows], axis=1, kind="stable")
    fsim[rows] = np.take_along_axis(fsim[rows], order, axis=1)
    sim[rows] = np.take_along_axis(sim[rows], order[:, :, None], axis=1)


def fit(data: np.ndarray, c_init=1.0) -> np.ndarray:
    """(c, loc, scale) of `weibull_min.fit(row, c_init, optimizer=scipy.optimize.fmin)` for each row;
    `c_init` is one starting shape, or one per row."""
    data = np.asarray(data)
    m, n = data.shape
    c_init = np.broadcast_to(np.asarray(c_init, np.float64), (m,))
    # weibull_min.fit's guess with the shape given: moments of the data (in its own dtype, as scipy)
    g1, g2 = special.gamma(1 + 1 / c_init), special.gamma(1 + 2 / c_init)
    scale = np.sqrt(np.var(data, axis=1) / (g2 - g1**2))
    loc = np.mean(data, axis=1) - scale * g1
    data = data.astype(np.float64)
    x0 = np.stack([c_init, loc, scale], axis=1)

    # fmin's initial simplex: x0 and x0 with one coordinate scaled by 1.05 (or set to 0.00025 if zero)
    sim = np.repeat(x0[:, None, :], N + 1, axis=1)
    for k in range(N):
        sim[:, k + 1, k] = np.where(x0[:, k] != 0, (1 + 0.05) * x0[:, k], 0.00025)
    fsim = np.stack([_nll(sim[:, k], data) for k in range(N + 1)], axis=1)
    calls = np.full(m, N + 1)
    iterations = np.ones(m, int)
    max_calls = max_iterations = 200 * N
    _sort(sim, fsim, np.arange(m))  # scipy sorts twice; a stable sort makes the second a no-op

    while True:
        converged = (np.abs(sim[:, 1:] - sim[:, :1]).max(axis=(1, 2)) <= XATOL) & (
            np.abs(fsim[:, :1] - fsim[:, 1:]).max(axis=1) <= FATOL
        )
        rows = np.flatnonzero((calls < max_calls) & (iterations < max_iterations) & ~converged)
        if len(rows) == 0:
            break
        s, f, d = sim[rows], fsim[rows], data[rows]
        xbar = np.add.reduce(s[:, :-1], 1) / N
        worst = s[:, -1]
        xr = (1 + RHO) * xbar - RHO * worst
        fxr = _nll(xr, d)
        calls[rows] += 1

        expand = fxr < f[:, 0]
        accept_r = ~expand & (fxr < f[:, -2])
        outside = ~expand & ~accept_r & (fxr < f[:, -1])
        inside = ~expand & ~accept_r & ~outside
        # the second trial point of each row, where its branch needs one
        contract = np.where(
            outside[:, None], (1 + PSI * RHO) * xbar - PSI * RHO * worst, (1 - PSI) * xbar + PSI * worst
        )
        trial = np.where(expand[:, None], (1 + RHO * CHI) * xbar - RHO * CHI * worst, contract)
        wants = ~accept_r
        allowed = wants & (calls[rows] < max_calls)  # fmin stops mid-step when out of calls
        aborted = wants & ~allowed
        ftrial = np.full(len(rows), np.nan)
        if allowed.any():
            ftrial[allowed] = _nll(trial[allowed], d[allowed])
            calls[rows[allowed]] += 1

        new_x, new_f = xr.copy(), fxr.copy()
        take_e = allowed & expand & (ftrial < fxr)
        take_c = allowed & ((outside & (ftrial <= fxr)) | (inside & (ftrial < f[:, -1])))
        new_x[take_e | take_c], new_f[take_e | take_c] = trial[take_e | take_c], ftrial[take_e | take_c]
        replace = accept_r | (allowed & expand) | take_c
        s[replace, -1], f[replace, -1] = new_x[replace], new_f[replace]

        shrink = allowed & (outside | inside) & ~take_c
        for j in range(1, N + 1):
            if not shrink.any():
                break
            s[shrink, j] = s[shrink, 0] + SIGMA * (s[shrink, j] - s[shrink, 0])
            ok = shrink & (calls[rows] < max_calls)
            if ok.any():
                f[ok, j] = _nll(s[ok, j], d[ok])
                calls[rows[ok]] += 1
            aborted |= shrink & ~ok
            shrink = ok
        iterations[rows[~aborted]] += 1
        sim[rows], fsim[rows] = s, f
        _sort(sim, fsim, rows)
    return sim[:, 0]


def reverse_weibull_location(maxima: np.ndarray, c_init: float = 1.0) -> np.ndarray:
    """Location of the reverse Weibull fitted to each row of maxima, as ART's CLEVER fits it (negative)."""
    return fit(-np.asarray(maxima), c_init)[:, 1]


def ks_pvalue(data: np.ndarray, params: np.ndarray) -> np.ndarray:
    """One-sample Kolmogorov-Smirnov p-value of each row of `data` against weibull_min(c, loc, scale).

    The same statistic and exact p-value as `scipy.stats.kstest(row, "weibull_min", args=params)`,
    for all rows at once. As Weng et al. (2018, Sec. 4) do, the parameters are the ones fitted to the
    same data, which makes the test lenient (a fit that fails it is bad indeed).
    """
    from scipy import stats

    data = np.sort(np.asarray(data, np.float64), axis=1)
    m, n = data.shape
    c, loc, scale = (np.asarray(params, np.float64)[:, k : k + 1] for k in range(N))
    with np.errstate(all="ignore"):
        z = np.clip((data - loc) / scale, 0.0, None)
        cdf = -np.expm1(-(z**c))
    i = np.arange(1, n + 1)
    d = np.maximum((i / n - cdf).max(axis=1), (cdf - (i - 1) / n).max(axis=1))
    return np.where(np.isfinite(d), stats.kstwo.sf(d, n), 0.0)


# Weng et al.'s reference code (IBM/CLEVER-Robustness-Score, get_best_weibull_fit) fits from each of
# these shapes, on maxima shifted by their largest value and scaled by their range, and keeps the
# fit with the best K-S p-value: scipy's MLE "sometimes converges to a bad value if the initial
# shape is too far from the true one"
C_INITS = (0.1, 1.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def best_ks_pvalue(maxima: np.ndarray, c_inits=C_INITS) -> np.ndarray:
    """Per row of batch maxima, the best K-S p-value of a reverse Weibull fitted from Weng et al.'s
    starts: how well *any* such fit describes the maxima. Every start runs for all rows at once."""
    maxima = np.asarray(maxima, np.float64)
    top = maxima.max(axis=1, keepdims=True)
    spread = np.ptp(maxima, axis=1, keepdims=True)
    spread = np.where(spread < 1e-9, 1.0, spread)
    rescaled = (top - maxima) / spread  # the negated maxima, shifted and scaled into [0, 1]
    # every start of every row in one batched fit: Nelder-Mead's iterations, not its rows, cost time
    starts = len(c_inits)
    c, loc, scale = fit(np.tile(rescaled, (starts, 1)), np.repeat(np.asarray(c_inits, float), len(maxima))).T
    spread, top = np.tile(spread[:, 0], starts), np.tile(top[:, 0], starts)
    params = np.stack([c, loc * spread - top, scale * spread], axis=1)
    return ks_pvalue(np.tile(-maxima, (starts, 1)), params).reshape(starts, len(maxima)).max(axis=0)
