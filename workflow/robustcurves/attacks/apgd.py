"""APGD (Croce & Hein 2020, Algorithm 1), L∞, untargeted, with the cross-entropy or the DLR loss.

Batched over images, written once in `keras.ops` and compiled per backend (`backend.model_function`):
every image has its own eps (a per-image vector, so a bisection over eps runs all images at once), its
own step size and its own checkpoint decisions. As in the authors' reference code (auto-attack,
`apgd-ce` / `apgd-dlr`): a random start in the eps ball, initial step 2·eps, momentum 0.75 after the
first step, checkpoints at 22%, then shrinking by 3% of the budget down to 6%, where the step is halved
and the search restarts from the best point so far if the loss rose in fewer than 75% of the steps
since the last checkpoint, or if the step was not halved at the last checkpoint and the best loss has
not improved since. Unlike ART's version, which checks only the last iterate, every iterate that is
misclassified counts (the first one found is returned).

The cross-entropy (here and in the batched PGD) is written as log(1 + exp(log Σ_{i≠y} e^{z_i} - z_y)):
the same value as log Σ e^{z_i} - z_y, but its gradient does not cancel where the float32 softmax
saturates (for a confident image softmax_y - 1 rounds to 0 or one ulp). With the cancelling form the
direction of such images was round-off: on the tests' tiny snapshot (per-image eps 0.05-0.35, 20
iterations, 300 images) TensorFlow's PGD broke 151 images at batch size 512 and 130 at batch size 7 (21
differing), APGD-CE 156 and 138, JAX's 130 and 138 at every batch size; with this form every batch size
and both backends break 130 and 139. On a snapshot whose softmax does not saturate nothing changes.

One compiled call runs the iterations between two checkpoints (a `fori_loop`). Images already broken
leave the batch at each checkpoint where shapes may change (TensorFlow, torch); on JAX, whose compiled
shapes are static, they stay in it (their first adversarial is already kept) until every image is done.
"""

from __future__ import annotations

from functools import lru_cache

import keras
import numpy as np
from keras import ops

from robustcurves import backend
from robustcurves.config import attack_defaults

MOMENTUM, RHO = 0.75, 0.75
LOSSES = ("ce", "dlr")
APGD = attack_defaults("apgd")  # the schema's settings


def checkpoint_schedule(max_iter: int) -> list[int]:
    """Iterations between successive checkpoints (the last segment may end without one)."""
    first, shrink = max(int(0.22 * max_iter), 1), max(int(0.03 * max_iter), 1)
    smallest = max(int(0.06 * max_iter), 1)
    segments, k, done = [], first, 0
    while done + k <= max_iter:
        segments.append(k)
        done += k
        k = max(k - shrink, smallest)
    return segments + ([max_iter - done] if done < max_iter else [])


def per_sample_loss(logits, y, loss: str):
    """Per image: the cross-entropy at the labels `y` (`ce`) or the DLR loss (`dlr`) of the logits."""
    onehot = ops.one_hot(y, ops.shape(logits)[1], dtype=logits.dtype)
    z_y = ops.sum(logits * onehot, axis=1)
    if loss == "ce":
        # log(1 + exp(a)), a = log Σ_{i≠y} exp(z_i) - z_y: the cross-entropy, with a gradient that does
        # not cancel where the softmax saturates (module docstring)
        return ops.softplus(ops.logsumexp(logits - onehot * 1e9, axis=1) - z_y)
    # DLR: -(z_y - max_{i≠y} z_i) / (z_π1 - z_π3), invariant to shifts and scalings of the logits
    other = ops.max(logits - onehot * 1e9, axis=1)
    top = ops.top_k(logits, 3)[0]
    return -(z_y - other) / (top[:, 0] - top[:, 2] + 1e-12)


def loss_gradient(forward, x, y, loss: str):
    """(per-image loss, its input gradient, misclassified) at `x`: one forward and one backward pass."""

    def total(z):
        logits = forward(z)
        f = per_sample_loss(logits, y, loss)
        return ops.sum(f), (f, logits)

    _, (f, logits), grad = backend.value_and_grad(total, x)
    return f, grad, ops.not_equal(ops.cast(ops.argmax(logits, axis=1), y.dtype), y)


def where_rows(mask, a, b):
    """`a` on the rows where `mask` (one bool per image) holds, else `b`."""
    return ops.where(ops.reshape(mask, [-1] + [1] * (len(ops.shape(a)) - 1)), a, b)


# The state of each image's search, carried from segment to segment.
STATE = (
    "x", "y", "low", "high", "x_k", "x_old", "grad", "f_prev", "x_best", "f_best", "grad_best",
    "step", "f_best_last_check", "halved_last_check", "found", "x_found",
)  # fmt: skip


# Cached per (model, settings): attacking every snapshot (one model, new weights) compiles once.
@lru_cache(maxsize=16)
def _attack_fns(model, input_shape, *, loss, clip):
    """(start, segment): the compiled first evaluation, and a run of iterations ending at a checkpoint.

    Both take and return the state as a tuple in STATE's order; `segment`'s last argument is
    [first iteration, number of iterations, 1 if a checkpoint ends it else 0].
    """
    lo, hi = float(clip[0]), float(clip[1])
    shape = [-1] + [1] * len(input_shape)

    def start(forward, x, y, eps, x0):
        e = ops.reshape(eps, shape)
        low, high = ops.maximum(x - e, lo), ops.minimum(x + e, hi)
        x_k = ops.clip(x0, low, high)
        f, grad, wrong = loss_gradient(forward, x_k, y, loss)
        s = dict(
            x=x, y=y, low=low, high=high, x_k=x_k, x_old=x_k, grad=grad, f_prev=f, x_best=x_k, f_best=f,
            grad_best=grad, step=2.0 * e, f_best_last_check=f, halved_last_check=ops.ones_like(wrong),
            found=wrong, x_found=where_rows(wrong, x_k, x),
        )  # fmt: skip
        return tuple(s[k] for k in STATE)

    def segment(forward, *args):
        """Iterations first … first + n - 1, then the checkpoint if asked for."""
        s, (first, n, checkpoint) = dict(zip(STATE, args[:-1], strict=True)), ops.unstack(args[-1], 3)
        y, low, high = s["y"], s["low"], s["high"]

        def iteration(i, v):
            x_k, x_old, grad, f_prev, increases, found, x_found, x_best, f_best, grad_best = v
            step = s["step"]
            alpha = ops.cast(ops.where(i > 0, MOMENTUM, 1.0), "float32")
            z = ops.clip(x_k + step * ops.sign(grad), low, high)
            x_new = ops.clip(x_k + alpha * (z - x_k) + (1.0 - alpha) * (x_k - x_old), low, high)
            x_old, x_k = x_k, x_new
            f, grad, wrong = loss_gradient(forward, x_k, y, loss)
            x_found = where_rows(wrong & ~found, x_k, x_found)
            found = found | wrong
            increases = increases + ops.cast(f > f_prev, "float32")
            better = f > f_best
            x_best, grad_best = where_rows(better, x_k, x_best), where_rows(better, grad, grad_best)
            f_best = ops.where(better, f, f_best)
            return x_k, x_old, grad, f, increases, found, x_found, x_best, f_best, grad_best

        names = ("x_k", "x_old", "grad", "f_prev", "found", "x_found", "x_best", "f_best", "grad_best")
        v = [s[k] for k in names]
        v.insert(4, ops.zeros_like(s["f_prev"]))  # increases of the loss since the last checkpoint
        v = keras.ops.fori_loop(first, first + n, iteration, tuple(v))
        x_k, x_old, grad, f_prev, increases, found, x_found, x_best, f_best, grad_best = v
        # the checkpoint: halve the step and restart from the best point where progress stopped
        oscillating = increases <= ops.cast(n, "float32") * RHO
        stalled = ~s["halved_last_check"] & (s["f_best_last_check"] >= f_best)
        halve = (oscillating | stalled) & (checkpoint > 0)
        step = where_rows(halve, s["step"] / 2.0, s["step"])
        x_k, grad = where_rows(halve, x_best, x_k), where_rows(halve, grad_best, grad)
        halved_last_check = ops.where(checkpoint > 0, halve, s["halved_last_check"])
        f_best_last_check = ops.where(checkpoint > 0, f_best, s["f_best_last_check"])
        s.update(x_k=x_k, x_old=x_old, grad=grad, step=step, f_prev=f_prev, found=found, x_found=x_found)
        s.update(x_best=x_best, f_best=f_best, grad_best=grad_best)
        s.update(halved_last_check=halved_last_check, f_best_last_check=f_best_last_check)
        return tuple(s[k] for k in STATE)

    # one graph for every chunk size on TensorFlow (traced on examples of one image each)
    image, vector = np.zeros((1, *input_shape), np.float32), np.zeros(1, np.float32)
    example = dict.fromkeys(STATE, image)
    example.update(y=np.zeros(1, np.int64), f_prev=vector, f_best=vector, f_best_last_check=vector)
    example.update(halved_last_check=np.zeros(1, bool), found=np.zeros(1, bool))
    example["step"] = np.zeros((1, *[1] * len(input_shape)), np.float32)
    start_fn, segment_fn = backend.model_function(model, start), backend.model_function(model, segment)
    backend.trace_any_batch(start_fn, image, example["y"], vector, image)
    backend.trace_any_batch(segment_fn, *(example[k] for k in STATE), np.zeros(3, np.int32))
    return start_fn, segment_fn


def _search(start, segment, x, y, eps, x0, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """All segments on one chunk; images already broken are done at each checkpoint (and leave the
    batch where shapes may change)."""
    s = start(*(backend.tensor(a) for a in (x, y, eps, x0)))
    adv, success = x.copy(), np.zeros(len(x), bool)
    alive = np.arange(len(x))  # the chunk's rows that the state holds, in order
    pending = np.ones(len(x), bool)  # rows of the state whose result is not recorded yet
    first, i_found, i_best = 0, STATE.index("found"), STATE.index("x_best")
    for n in checkpoint_schedule(max_iter):
        last = first + n >= max_iter
        s = segment(*s, backend.tensor(np.array([first, n, not last], np.int32)))
        first += n
        found = backend.to_numpy(s[i_found])
        done = pending & (np.ones_like(found) if last else found)
        if done.any():
            mask = found[done].reshape((-1,) + (1,) * (x.ndim - 1))
            x_found, x_best = (backend.to_numpy(s[i])[done] for i in (STATE.index("x_found"), i_best))
            adv[alive[done]] = np.where(mask, x_found, x_best)
            success[alive[done]] = found[done]
            pending &= ~done
            if not pending.any():
                break
            if backend.DYNAMIC_SHAPES:
                keep = np.flatnonzero(pending)
                alive, pending = alive[keep], pending[keep]
                rows = backend.tensor(keep)
                s = tuple(ops.take(v, rows, axis=0) for v in s)
    return adv, success


def random_start(x: np.ndarray, eps: np.ndarray, seed: int) -> np.ndarray:
    """Uniform in the L∞ ball of each image's eps (clipped into the valid range by the attack)."""
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, x.shape).astype(np.float32)
    return x + u * eps.reshape((-1,) + (1,) * (x.ndim - 1)).astype(np.float32)


def per_image_eps(eps, n: int) -> np.ndarray:
    eps = np.broadcast_to(np.asarray(eps, np.float32), (n,)).copy()
    if np.any(eps < 0) or not np.all(np.isfinite(eps)):
        raise ValueError("eps must be finite and >= 0 (a scalar or one value per image)")
    return eps


def padded_size(n: int) -> int:
    """The smallest of 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, … (quarter octaves) that holds `n`."""
    octave = 8
    while 2 * octave < n:
        octave *= 2
    return next(size for size in (octave * q // 4 for q in (4, 5, 6, 7, 8)) if size >= n)


def run_batched(attack, x, y, eps, start, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Call `attack(x, y, eps, start) -> (x_adv, success)` (numpy in and out) chunk by chunk.

    Where compiled shapes are static (JAX), a short chunk is padded (with copies of its first image,
    eps 0) to the next of 8, 10, 12, 14, 16, 20, 24, 28, 32, … (at most 25 % more rows), or to
    `batch_size`, so that a run compiles for a few sizes only.
    """
    advs, hits = [], []
    for i in range(0, len(x), batch_size):
        s = slice(i, i + batch_size)
        chunk = [x[s], y[s], eps[s], start[s]]
        n = len(chunk[0])
        size = n if backend.DYNAMIC_SHAPES else min(batch_size, padded_size(n))
        if size > n:
            fill = size - n
            chunk = [np.concatenate([a, np.repeat(a[:1], fill, axis=0)]) for a in chunk]
            chunk[2][n:] = 0.0
        adv, hit = attack(*chunk)
        advs.append(np.asarray(adv)[:n])
        hits.append(np.asarray(hit)[:n])
    return np.concatenate(advs).astype(np.float32), np.concatenate(hits)


def apgd_with_success(
    model,
    x,
    y,
    *,
    seed: int,
    eps,
    loss: str = APGD["loss"],
    max_iter: int = APGD["max_iter"],
    restarts: int = APGD["restarts"],
    batch_size: int = APGD["batch_size"],
    clip=(0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(x_adv, success): APGD adversarials and whether each image was misclassified at some iterate.

    Restarts (new random starts) attack only the images not yet broken.
    """
    if loss not in LOSSES:
        raise ValueError(f"APGD loss must be one of {', '.join(LOSSES)}, not {loss!r}")
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    eps = per_image_eps(eps, len(x))
    adv, success = x.copy(), np.zeros(len(x), bool)
    if len(x) == 0:
        return adv, success
    fns = _attack_fns(model, tuple(x.shape[1:]), loss=loss, clip=tuple(map(float, clip)))

    def attack(*args):
        return _search(*fns, *args, max_iter=int(max_iter))

    for r in range(max(1, int(restarts))):
        todo = np.flatnonzero(~success)
        if len(todo) == 0:
            break
        start = random_start(x[todo], eps[todo], seed + r)
        a, s = run_batched(attack, x[todo], y[todo], eps[todo], start, batch_size)
        adv[todo], success[todo] = a, s
    return adv, success


def apgd(
    model, x, y, *, seed: int, eps, loss: str = APGD["loss"], max_iter: int = APGD["max_iter"], **settings
):
    """APGD-CE (`loss: ce`) or APGD-DLR (`loss: dlr`) adversarials; `eps` a scalar or one per image."""
    return apgd_with_success(model, x, y, seed=seed, eps=eps, loss=loss, max_iter=max_iter, **settings)[0]
