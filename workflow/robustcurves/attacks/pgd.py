"""PGD (Madry et al. 2018), L∞, untargeted: ART's ProjectedGradientDescent (the paper protocol's), or
our batched version (`implementation: batched`) with one eps per image, as the white-box stage needs.

The batched version takes fixed sign-gradient steps of `eps_step` (a scalar, or per image) from a
random start in the eps ball (`num_random_init` ≥ 1; 0 starts at the image), projecting after each, and
keeps the first misclassified iterate of each image (ART returns the last iterate).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import tensorflow as tf

from .. import art_adapter
from .apgd import per_image_eps, per_sample_loss, random_start, run_batched


@lru_cache(maxsize=16)
def _attack_fn(model, input_shape, *, max_iter, clip):
    lo, hi = float(clip[0]), float(clip[1])
    signature = [
        tf.TensorSpec([None, *input_shape], tf.float32),
        tf.TensorSpec([None], tf.int64),
        tf.TensorSpec([None, 2], tf.float32),  # eps, eps_step per image
        tf.TensorSpec([None, *input_shape], tf.float32),
    ]

    @tf.function(input_signature=signature)
    def attack(x, y, eps_and_step, start):
        shape = [-1] + [1] * len(input_shape)
        e, step = tf.reshape(eps_and_step[:, 0], shape), tf.reshape(eps_and_step[:, 1], shape)
        low, high = tf.maximum(x - e, lo), tf.minimum(x + e, hi)

        def mask(m):
            return tf.reshape(m, shape)

        x_k = tf.clip_by_value(start, low, high)
        found, x_found = tf.zeros(tf.shape(y), tf.bool), x
        for _ in tf.range(max_iter + 1):
            with tf.GradientTape() as tape:
                tape.watch(x_k)
                logits = model(x_k, training=False)
                total = tf.reduce_sum(per_sample_loss(logits, y, "ce"))
            grad = tape.gradient(total, x_k)
            wrong = tf.argmax(logits, axis=1) != y
            x_found = tf.where(mask(wrong & ~found), x_k, x_found)
            found = found | wrong
            if tf.reduce_all(found):
                break
            x_k = tf.clip_by_value(x_k + step * tf.sign(grad), low, high)
        return tf.where(mask(found), x_found, x_k), found

    return attack


def pgd_with_success(
    model,
    x,
    y,
    *,
    seed: int,
    eps,
    eps_step,
    max_iter: int = 100,
    num_random_init: int = 1,
    batch_size: int = 512,
    clip=(0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(x_adv, success) of batched PGD; `eps`, `eps_step` scalars or one per image; restarts attack
    only the images not yet broken."""
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    eps = per_image_eps(eps, len(x))
    steps = per_image_eps(eps_step, len(x))
    adv, success = x.copy(), np.zeros(len(x), bool)
    if len(x) == 0:
        return adv, success
    attack = _attack_fn(model, tuple(x.shape[1:]), max_iter=int(max_iter), clip=tuple(map(float, clip)))
    for r in range(max(1, int(num_random_init))):
        todo = np.flatnonzero(~success)
        if len(todo) == 0:
            break
        start = random_start(x[todo], eps[todo], seed + r) if num_random_init else x[todo]
        both = np.stack([eps[todo], steps[todo]], axis=1)
        a, s = run_batched(attack, x[todo], y[todo], both, start, batch_size)
        adv[todo], success[todo] = a, s
    return adv, success


def pgd(model, x, y, *, seed: int, implementation: str = "art", **settings):
    """PGD by config: ART's `ProjectedGradientDescent` (default, the paper protocol's) or our batched one."""
    if implementation == "batched":
        settings.setdefault("num_random_init", 0)  # ART's default: start at the image
        return pgd_with_success(model, x, y, seed=seed, **settings)[0]
    return art_adapter.generate("pgd", model, x, y, settings, seed)
