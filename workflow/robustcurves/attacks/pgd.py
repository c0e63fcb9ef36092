"""PGD (Madry et al. 2018), L∞, untargeted: ART's ProjectedGradientDescent (the paper protocol's), or
our batched version (`implementation: batched`) with one eps per image, as the white-box stage needs.

The batched version, written once in `keras.ops` and compiled per backend, takes fixed sign-gradient
steps of `eps_step` (a scalar, or per image) from a random start in the eps ball (`num_random_init`
≥ 1; 0 starts at the image), projecting after each, and keeps the first misclassified iterate of each
image; an image never misclassified comes back as the last iterate, after `max_iter` steps. ART
returns the last iterate of every image, even one that an earlier iterate misclassified, so ours
succeeds on the images ART breaks and on a few more whose iterates left the adversarial region again.
Its cross-entropy is `apgd.per_sample_loss`'s, whose gradient does not cancel where the softmax
saturates (ART's does: see the apgd module).
On the backends ART does not run on (`config.implementation`), ours runs in its place as ART runs: from the
image, every image through all `max_iter` steps, the last iterate returned (`last=True`), so that the
distance tables (L∞ = eps, L2) mean the same on every backend.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from keras import ops

from robustcurves import art_adapter, backend
from robustcurves.attacks.apgd import loss_gradient, per_image_eps, random_start, run_batched, where_rows
from robustcurves.config import attack_defaults

PGD = attack_defaults("pgd")  # the schema's settings


@lru_cache(maxsize=16)
def _attack_fn(model, input_shape, *, max_iter, clip, last=False):
    lo, hi = float(clip[0]), float(clip[1])
    shape = [-1] + [1] * len(input_shape)

    def attack(forward, x, y, eps_and_step, start):
        """Iterates 0 … max_iter (evaluated: is it misclassified?) until every image is, or, with
        `last`, all of them, returning the last iterate and its success (ART's PGD)."""
        e, step = ops.reshape(eps_and_step[:, 0], shape), ops.reshape(eps_and_step[:, 1], shape)
        low, high = ops.maximum(x - e, lo), ops.minimum(x + e, hi)

        def more(i, x_k, found, x_found, wrong):
            return (i <= max_iter) & (last | ~ops.all(found))

        def iteration(i, x_k, found, x_found, wrong):
            _, grad, wrong = loss_gradient(forward, x_k, y, "ce")
            x_found = where_rows(wrong & ~found, x_k, x_found)
            found = found | wrong
            # no step after the last evaluated iterate (it stays in the ball: clipping leaves it)
            moving = step * ops.cast(i < max_iter, "float32")
            return i + 1, ops.clip(x_k + moving * ops.sign(grad), low, high), found, x_found, wrong

        x_k = ops.clip(start, low, high)
        found = ops.zeros(ops.shape(y), "bool")
        state = (ops.convert_to_tensor(0), x_k, found, x, found)
        _, x_k, found, x_found, wrong = ops.while_loop(more, iteration, state)
        if last:
            return x_k, wrong
        return where_rows(found, x_found, x_k), found

    fn = backend.model_function(model, attack)
    image = np.zeros((1, *input_shape), np.float32)
    return backend.trace_any_batch(fn, image, np.zeros(1, np.int64), np.zeros((1, 2), np.float32), image)


def pgd_with_success(
    model,
    x,
    y,
    *,
    seed: int,
    eps,
    eps_step,
    max_iter: int = PGD["max_iter"],
    num_random_init: int = PGD["num_random_init"],
    batch_size: int = PGD["batch_size"],
    clip=(0.0, 1.0),
    last: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(x_adv, success) of batched PGD; `eps`, `eps_step` scalars or one per image; restarts attack
    only the images not yet broken. `last`: every image takes all `max_iter` steps and comes back as
    its last iterate, success judged there (ART's PGD), instead of its first misclassified iterate."""
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    eps = per_image_eps(eps, len(x))
    steps = per_image_eps(eps_step, len(x))
    adv, success = x.copy(), np.zeros(len(x), bool)
    if len(x) == 0:
        return adv, success
    fn = _attack_fn(
        model, tuple(x.shape[1:]), max_iter=int(max_iter), clip=tuple(map(float, clip)), last=bool(last)
    )

    def attack(*args):
        return tuple(backend.to_numpy(t) for t in fn(*(backend.tensor(a) for a in args)))

    for r in range(max(1, int(num_random_init))):
        todo = np.flatnonzero(~success)
        if len(todo) == 0:
            break
        start = random_start(x[todo], eps[todo], seed + r) if num_random_init else x[todo]
        both = np.stack([eps[todo], steps[todo]], axis=1)
        a, s = run_batched(attack, x[todo], y[todo], both, start, batch_size)
        adv[todo], success[todo] = a, s
    return adv, success


def pgd(model, x, y, *, seed: int, implementation: str | None = None, **settings):
    """PGD by config: ART's `ProjectedGradientDescent` (`art`, the paper protocol's) or our batched one
    (`batched`); unset: ART's on the backends ART runs on, ours elsewhere (`config.implementation`)."""
    if art_adapter.use_art("PGD", implementation):
        return art_adapter.generate("pgd", model, x, y, settings, seed)
    # the paper protocol's PGD is ART's: the last iterate (its L∞ is eps, its L2 that of 100 steps)
    return pgd_with_success(model, x, y, seed=seed, last=True, **settings)[0]
