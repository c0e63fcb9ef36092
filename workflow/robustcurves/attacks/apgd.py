"""APGD (Croce & Hein 2020, Algorithm 1), L∞, untargeted, with the cross-entropy or the DLR loss.

Batched over images inside one `tf.function`: every image has its own eps (a per-image vector, so a
bisection over eps runs all images at once), its own step size and its own checkpoint decisions. As in
the authors' reference code (auto-attack, `apgd-ce` / `apgd-dlr`): a random start in the eps ball,
initial step 2·eps, momentum 0.75 after the first step, checkpoints at 22%, then shrinking by 3% of the
budget down to 6%, where the step is halved and the search restarts from the best point so far if the
loss rose in fewer than 75% of the steps since the last checkpoint, or if the step was not halved at
the last checkpoint and the best loss has not improved since. Unlike ART's version, which checks only
the last iterate, every iterate that is misclassified counts (the first one found is returned).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import tensorflow as tf

MOMENTUM, RHO = 0.75, 0.75
LOSSES = ("ce", "dlr")


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
    onehot = tf.one_hot(y, tf.shape(logits)[1], dtype=logits.dtype)
    z_y = tf.reduce_sum(logits * onehot, axis=1)
    if loss == "ce":
        return tf.reduce_logsumexp(logits, axis=1) - z_y
    # DLR: -(z_y - max_{i≠y} z_i) / (z_π1 - z_π3), invariant to shifts and scalings of the logits
    other = tf.reduce_max(logits - onehot * 1e9, axis=1)
    top = tf.math.top_k(logits, k=3).values
    return -(z_y - other) / (top[:, 0] - top[:, 2] + 1e-12)


# The state of each image's search, carried from segment to segment.
STATE = (
    "x", "y", "low", "high", "x_k", "x_old", "grad", "f_prev", "x_best", "f_best", "grad_best",
    "step", "f_best_last_check", "halved_last_check", "found", "x_found",
)  # fmt: skip


# Cached per (model, settings): attacking every snapshot (one model, new weights) traces once.
@lru_cache(maxsize=16)
def _attack_fns(model, input_shape, *, loss, clip):
    """(start, segment): the traced first evaluation, and a run of iterations ending at a checkpoint."""
    lo, hi = float(clip[0]), float(clip[1])
    shape = [-1] + [1] * len(input_shape)
    image = tf.TensorSpec([None, *input_shape], tf.float32)
    vector = tf.TensorSpec([None], tf.float32)
    specs = dict.fromkeys(STATE, image)
    specs.update(y=tf.TensorSpec([None], tf.int64), f_prev=vector, f_best=vector, f_best_last_check=vector)
    specs.update(halved_last_check=tf.TensorSpec([None], tf.bool), found=tf.TensorSpec([None], tf.bool))
    specs["step"] = tf.TensorSpec([None, *[1] * len(input_shape)], tf.float32)

    def evaluate(z, y):
        with tf.GradientTape() as tape:
            tape.watch(z)
            logits = model(z, training=False)
            f = per_sample_loss(logits, y, loss)
            total = tf.reduce_sum(f)
        return f, tape.gradient(total, z), tf.argmax(logits, axis=1) != y

    def pick(mask, a, b):
        return tf.where(tf.reshape(mask, shape), a, b)

    @tf.function(input_signature=[image, specs["y"], vector, image])
    def start(x, y, eps, x0):
        e = tf.reshape(eps, shape)
        low, high = tf.maximum(x - e, lo), tf.minimum(x + e, hi)
        x_k = tf.clip_by_value(x0, low, high)
        f, grad, wrong = evaluate(x_k, y)
        return dict(
            x=x, y=y, low=low, high=high, x_k=x_k, x_old=x_k, grad=grad, f_prev=f, x_best=x_k, f_best=f,
            grad_best=grad, step=2.0 * e, f_best_last_check=f, halved_last_check=tf.ones_like(wrong),
            found=wrong, x_found=pick(wrong, x_k, x),
        )  # fmt: skip

    @tf.function(input_signature=[specs, tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32),
                                  tf.TensorSpec([], tf.bool)])  # fmt: skip
    def segment(s, first, n, checkpoint):
        """Iterations first … first + n - 1, then the checkpoint if `checkpoint`."""
        s = dict(s)
        y, low, high = s["y"], s["low"], s["high"]
        x_k, x_old, grad, step = s["x_k"], s["x_old"], s["grad"], s["step"]
        f_prev, found, x_found = s["f_prev"], s["found"], s["x_found"]
        x_best, f_best, grad_best = s["x_best"], s["f_best"], s["grad_best"]
        halved_last_check, f_best_last_check = s["halved_last_check"], s["f_best_last_check"]
        increases = tf.zeros_like(f_prev)
        for i in tf.range(first, first + n):
            alpha = tf.where(i > 0, MOMENTUM, 1.0)
            z = tf.clip_by_value(x_k + step * tf.sign(grad), low, high)
            x_new = tf.clip_by_value(x_k + alpha * (z - x_k) + (1.0 - alpha) * (x_k - x_old), low, high)
            x_old, x_k = x_k, x_new
            f, grad, wrong = evaluate(x_k, y)
            x_found = pick(wrong & ~found, x_k, x_found)
            found = found | wrong
            increases += tf.cast(f > f_prev, tf.float32)
            f_prev = f
            better = f > f_best
            x_best, grad_best = pick(better, x_k, x_best), pick(better, grad, grad_best)
            f_best = tf.where(better, f, f_best)
        if checkpoint:
            oscillating = increases <= tf.cast(n, tf.float32) * RHO
            stalled = ~halved_last_check & (f_best_last_check >= f_best)
            halve = oscillating | stalled
            step = pick(halve, step / 2.0, step)
            x_k, grad = pick(halve, x_best, x_k), pick(halve, grad_best, grad)
            halved_last_check, f_best_last_check = halve, f_best
        s.update(x_k=x_k, x_old=x_old, grad=grad, step=step, f_prev=f_prev, found=found, x_found=x_found)
        s.update(x_best=x_best, f_best=f_best, grad_best=grad_best)
        s.update(halved_last_check=halved_last_check, f_best_last_check=f_best_last_check)
        return s

    return start, segment


def _search(start, segment, x, y, eps, x0, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """All segments on one chunk; images already broken leave the batch at each checkpoint."""
    s = start(tf.constant(x), tf.constant(y), tf.constant(eps), tf.constant(x0))
    adv, success = x.copy(), np.zeros(len(x), bool)
    alive = np.arange(len(x))
    first = 0
    for n in checkpoint_schedule(max_iter):
        last = first + n >= max_iter
        s = segment(s, tf.constant(first, tf.int32), tf.constant(n, tf.int32), tf.constant(not last))
        first += n
        found = s["found"].numpy()
        done = np.ones_like(found) if last else found
        if done.any():
            mask = found[done].reshape((-1,) + (1,) * (x.ndim - 1))
            adv[alive[done]] = np.where(mask, s["x_found"].numpy()[done], s["x_best"].numpy()[done])
            success[alive[done]] = found[done]
            keep = np.flatnonzero(~done)
            if len(keep) == 0:
                break
            alive = alive[keep]
            s = {k: tf.gather(v, keep) for k, v in s.items()}
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


def run_batched(attack, x, y, eps, start, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Call `attack(x, y, eps, start) -> (x_adv, success)` (numpy in and out) chunk by chunk."""
    advs, hits = [], []
    for i in range(0, len(x), batch_size):
        s = slice(i, i + batch_size)
        adv, hit = attack(x[s], y[s], eps[s], start[s])
        advs.append(np.asarray(adv))
        hits.append(np.asarray(hit))
    return np.concatenate(advs).astype(np.float32), np.concatenate(hits)


def apgd_with_success(
    model,
    x,
    y,
    *,
    seed: int,
    eps,
    loss: str = "ce",
    max_iter: int = 100,
    restarts: int = 1,
    batch_size: int = 512,
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


def apgd(model, x, y, *, seed: int, eps, loss: str = "ce", max_iter: int = 100, **settings):
    """APGD-CE (`loss: ce`) or APGD-DLR (`loss: dlr`) adversarials; `eps` a scalar or one per image."""
    return apgd_with_success(model, x, y, seed=seed, eps=eps, loss=loss, max_iter=max_iter, **settings)[0]
