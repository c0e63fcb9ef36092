"""CLEVER (Weng et al. 2018), untargeted: ART's estimator, batched over samples, classes and points.

Same sampling and fit as `art.metrics.clever_u`: for each sample, reference class = predicted class;
for each other class j a fresh pool of `pool_factor * batch_size` points uniform in the Lp ball of
`radius` (ART's `random_sphere` construction), clipped to the valid range; the dual norm of
grad(logit_pred - logit_j) at every point; `nb_batches` maxima of `batch_size` norms drawn with
replacement from the pool; a reverse Weibull fit of those maxima (scipy's fit, run for all pairs at
once in `weibull.py`); score_j = margin_j / location, capped at `radius`; CLEVER = min over j.

What differs is the cost: every point gets one forward and one backward pass (ART does two of each),
points are drawn inside compiled code, and only their gradient norms leave it; one compiled call
handles the pools of many (sample, class) pairs, and all the Weibull fits run side by side.

Written once in `keras.ops` (+ `backend` for the compilation, the input gradient and the seeded
draws): it runs on every Keras backend. The points are drawn from the backend's own stateless
generator, so the same seed gives other points, hence other scores within CLEVER's seed-to-seed
spread, on another backend (tests/test_clever.py measures both).

`clever_checked` adds what ART leaves out: every fit is checked (`fit_check`: a Kolmogorov-Smirnov
test as Weng et al. run, and the collapsed location), and an image whose minimising class has a
rejected fit gets no score instead of a false one.
"""

from __future__ import annotations

import inspect
from functools import lru_cache

import numpy as np
from keras import ops

from robustcurves import backend, models
from robustcurves.config import default
from robustcurves.measures import weibull

DUAL = {1: np.inf, 2: 2, np.inf: 1}
CHUNK_POINTS = 4096  # points per compiled call; LeNet activations for these stay within a few caches
# A fitted Lipschitz estimate more than this many observed spreads above the largest maximum is the
# collapse (location ~1e5x the maxima), not an extrapolation
LOCATION_FACTOR = 10.0
# The settings' defaults are the schema's robustness.clever (its ks_pvalue: Weng et al.'s reference code,
# IBM/CLEVER-Robustness-Score, calls a fit whose K-S p-value is below it "ill-conditioned")
SETTINGS = default("robustness", "clever")
# ART's sampling settings, which the config does not expose
POOL_FACTOR, CLIP, C_INIT = 10, (0.0, 1.0), 1.0


def _norm(norm) -> float:
    norm = np.inf if norm in ("inf", np.inf) else int(norm)
    if norm not in DUAL:
        raise ValueError(f"CLEVER norm must be 1, 2 or inf, not {norm!r}")
    return norm


def _ball(seed, points: int, dims: int, radius: float, norm):
    """`points` uniform in the Lp ball of `radius` in R^dims, built as art.utils.random_sphere builds them,
    from the seed pair `seed` (inside compiled code; the stream is the backend's, see `backend.normal`)."""
    shape = (points, dims)
    if norm == 2:
        a = backend.normal(seed, shape)
        s2 = ops.sum(a * a, axis=1, keepdims=True)
        return a * (backend.gammainc(dims / 2.0, s2 / 2.0) ** (1.0 / dims) * radius / ops.sqrt(s2))
    if norm == np.inf:
        return backend.uniform(seed, shape, -radius, radius)
    seed, sign_seed = backend.split(seed, 2)
    v = ops.sort(backend.uniform(seed, shape), axis=1)
    gaps = v - ops.pad(v[:, :-1], [[0, 0], [1, 0]])
    signs = ops.sign(backend.uniform(sign_seed, shape, -1.0, 1.0))
    return radius * gaps * signs


# Cached per (model, settings): scoring every snapshot (one model, new weights) reuses the compiled
# code. The last chunk of pairs is smaller: TensorFlow traces once more, for any number of pairs; JAX
# compiles once per chunk size. The compiled function holds its model, so the cache is small rather
# than weak.
@lru_cache(maxsize=8)
def _pool_norms(model, input_shape: tuple, pool: int, radius: float, norm, clip: tuple):
    """Compiled: for P (centre, ref, other) triples, the dual gradient norms of a fresh pool each: (P, pool).

    Called as `fn(seed, centres, ref, other)`: a seed pair (int64 [2]), centres (P, *input_shape)
    float32, ref and other (P,) int64 class indices.
    """
    dims, q = int(np.prod(input_shape)), DUAL[norm]
    classes = model.output_shape[-1]

    def norms(forward, seed, centres, ref, other):
        pairs = ops.shape(centres)[0]
        centres = ops.reshape(centres, [pairs, 1, dims])
        noise = ops.reshape(_ball(seed, pairs * pool, dims, radius, norm), [pairs, pool, dims])
        points = ops.reshape(ops.clip(centres + noise, *clip), [pairs * pool, *input_shape])
        # d(logit_ref - logit_other) for every point through one backward pass of the summed margins:
        # the points are independent, so each point's gradient is its own margin's gradient
        weight = ops.repeat(ops.one_hot(ref, classes) - ops.one_hot(other, classes), pool, axis=0)

        def margin(p):
            return ops.sum(forward(p) * weight), ()

        _, _, grad = backend.value_and_grad(margin, points)
        grad = ops.reshape(grad, [pairs, pool, dims])
        if q == 2:
            return ops.sqrt(ops.sum(grad * grad, axis=2))
        return ops.max(ops.abs(grad), axis=2) if q == np.inf else ops.sum(ops.abs(grad), axis=2)

    return backend.model_function(model, norms)


# one compiled forward pass per model, reused across snapshots and calls
_logits_fn = lru_cache(maxsize=8)(models.logits_fn)


def _fits(model, x, *, norm, radius, nb_batches, batch_size, pool_factor, seed, clip, c_init) -> dict:
    """Every (sample, other class) pair's batch maxima, reverse Weibull fit and score, sample-major."""
    norm = _norm(norm)
    x = np.asarray(x, np.float32)
    logits = models.predict_logits(_logits_fn(model), x)
    n, classes = logits.shape
    pred = logits.argmax(axis=1)
    # every (sample, other class) pair, sample-major: the k-th other class of sample i is row i*(K-1)+k
    other = np.argsort(np.arange(classes)[None, :] == pred[:, None], axis=1, kind="stable")[:, : classes - 1]
    sample, other = np.repeat(np.arange(n), classes - 1), other.ravel()
    pool = pool_factor * batch_size
    norms_fn = _pool_norms(model, tuple(x.shape[1:]), pool, float(radius), norm, tuple(map(float, clip)))
    per_call = max(1, CHUNK_POINTS // pool)
    norms = np.concatenate(
        [
            backend.to_numpy(
                norms_fn(
                    backend.tensor(np.array([seed, start], np.int64)),
                    backend.tensor(x[sample[start : start + per_call]]),
                    backend.tensor(pred[sample[start : start + per_call]].astype(np.int64)),
                    backend.tensor(other[start : start + per_call].astype(np.int64)),
                )
            )
            for start in range(0, len(sample), per_call)
        ]
    )
    # nb_batches maxima of batch_size norms drawn with replacement from each pool, as ART draws them
    draws = np.random.default_rng(seed).integers(0, pool, size=(len(sample), nb_batches, batch_size))
    maxima = np.take_along_axis(norms[:, None, :], draws, axis=2).max(axis=2)  # float32, as ART fits them
    params = weibull.fit(-maxima, c_init)  # all pairs at once, as scipy fits each
    margin = logits[sample, pred[sample]].astype(np.float64) - logits[sample, other]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.minimum(-margin / params[:, 1], radius)
    return {"shape": (n, classes - 1), "maxima": maxima, "params": params, "score": score}


def clever_scores(
    model,
    x: np.ndarray,
    *,
    norm=SETTINGS["norm"],
    radius: float = SETTINGS["radius"],
    nb_batches: int = SETTINGS["nb_batches"],
    batch_size: int = SETTINGS["batch_size"],
    pool_factor: int = POOL_FACTOR,
    seed: int = 0,
    clip=CLIP,
    c_init: float = C_INIT,
) -> np.ndarray:
    """Untargeted CLEVER score of every sample of `x` (float32 NHWC in `clip`) for a logits `model`,
    exactly as ART computes it (no fit check: see `clever_checked`).

    Same `seed` and same `x` give the same scores.
    """
    _norm(norm)
    if len(x) == 0:
        return np.zeros(0)
    settings = dict(norm=norm, radius=radius, nb_batches=nb_batches, batch_size=batch_size)
    fits = _fits(model, x, **settings, pool_factor=pool_factor, seed=seed, clip=clip, c_init=c_init)
    return fits["score"].reshape(fits["shape"]).min(axis=1)


def settings(**given) -> dict:
    """CLEVER's keywords: `given`, and `clever_scores`'s defaults for the rest (its signature is their
    one list, which `clever_checked` and ART's `art_adapter.clever` take too). An unknown keyword
    raises TypeError."""
    bound = inspect.signature(clever_scores).bind(None, None, **given)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k not in ("model", "x")}


def fit_check(maxima: np.ndarray, params: np.ndarray, ks_pvalue: float = SETTINGS["ks_pvalue"]) -> np.ndarray:
    """Why each reverse Weibull fit of batch maxima is rejected: "" (accepted), "location" or "ks".

    `maxima` (fits, batches) are the positive batch maxima, `params` the weibull_min (c, loc, scale)
    that ART's procedure fitted to their negatives (it gives the score). "location": the fitted
    Lipschitz estimate -loc lies more than LOCATION_FACTOR observed spreads above the largest maximum
    (the collapse to a score of ~1e-6, its location ~1e5x the maxima). "ks": no reverse Weibull
    describes the maxima: the one-sample Kolmogorov-Smirnov test rejects, at `ks_pvalue`, both this
    fit and the best of Weng et al.'s multi-start fits (`weibull.best_ks_pvalue`; Weng et al. 2018,
    Sec. 4, test their fits so, and their code calls a best p below 0.001 ill-conditioned). ART's
    single start at shape 1 often ends at a poor shape and scale with a sound location, which the
    test alone would reject. Maxima that are all equal (a linear model: one gradient everywhere)
    have nothing to test and pass when the location sits on them.
    """
    maxima = np.asarray(maxima, np.float64)
    top, spread = maxima.max(axis=1), np.ptp(maxima, axis=1)
    lipschitz = -params[:, 1]
    constant = spread <= 1e-6 * np.abs(top)
    room = LOCATION_FACTOR * np.maximum(spread, 1e-6 * np.abs(top))
    far = ~np.isfinite(lipschitz) | (lipschitz - top > room)
    ks = (weibull.ks_pvalue(-maxima, params) < ks_pvalue) & ~constant
    if ks.any():  # refit only what ART's fit leaves in doubt
        ks[ks] = weibull.best_ks_pvalue(maxima[ks]) < ks_pvalue
    return np.where(far, "location", np.where(ks, "ks", ""))


def clever_checked(model, x: np.ndarray, *, ks_pvalue: float = SETTINGS["ks_pvalue"], **given) -> dict:
    """CLEVER scores of `x` as `clever_scores` computes them (`given`: its keywords, `settings`), with
    every fit checked (`fit_check`).

    Returns per sample: `raw` (ART's score), `score` (NaN where the class that gives the minimum has
    a rejected fit) and `reason` ("" or why the minimising class's fit was rejected); and `fits` and
    `rejected_fits`, the minimising classes' fits checked and rejected.
    """
    if len(x) == 0:
        return {
            "raw": np.zeros(0),
            "score": np.zeros(0),
            "reason": np.zeros(0, str),
            "fits": 0,
            "rejected_fits": 0,
        }
    fits = _fits(model, x, **settings(**given))
    score = fits["score"].reshape(fits["shape"])
    argmin = score.argmin(axis=1)
    # only the minimising class's fit gives the score, so only it is checked: the multi-start refit
    # of a doubtful fit is the expensive part, and the other classes' fits change nothing
    rows = np.arange(len(score)) * fits["shape"][1] + argmin
    why = fit_check(fits["maxima"][rows], fits["params"][rows], ks_pvalue)
    raw = score[np.arange(len(score)), argmin]
    reason = why
    return {
        "raw": raw,
        "score": np.where(reason == "", raw, np.nan),
        "reason": reason,
        "fits": why.size,
        "rejected_fits": int(np.count_nonzero(why != "")),
    }
