"""Carlini-Wagner L2 (Carlini & Wagner 2017), untargeted, batched: one traced graph per chunk of images.

Two algorithms (config `algorithm`): `line-search`, ART 1.20.1's CarliniL2Method batched (cw_linesearch.py,
the one the paper ran), and `adam` (this module), the authors' reference algorithm. Each has its own
defaults (the schema's, `config.attack_defaults`); a config key overrides only that setting of the chosen
algorithm.

`adam`, as in the authors' reference code: x_adv = (tanh(w + delta) + 1) / 2 scaled to the valid
range, Adam on delta, loss ||x_adv - x||^2 + c * max(Z_y - max_{i != y} Z_i + confidence, 0), a
binary search on c per image, early abort of a search step when the chunk's loss stops improving,
and the smallest successful L2 kept per image. Every iteration of every search step runs inside
one compiled call (`backend.model_function`: tf.function, jax.jit).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from keras import ops

from robustcurves import art_adapter, backend
from robustcurves.attacks import cw_linesearch
from robustcurves.config import attack_defaults

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # Adam's usual constants
TANH_SHRINK = 0.999999  # keeps arctanh finite at the range's ends
NO_BOUND = 1e10

# The schema's CW settings for the algorithm the config names; its default algorithm is line-search:
# near-minimal on real CIFAR-10 (ART's L2, measured: benchmarks/README.md), Adam at its defaults is not.
CW = attack_defaults("cw")
ADAM = attack_defaults("cw", algorithm="adam")


# Cached per (model, settings): attacking every snapshot (one model, new weights) compiles once. The
# compiled function holds its model, so the cache is small rather than weak.
@lru_cache(maxsize=8)
def _attack_fn(
    model, input_shape, *, confidence, learning_rate, binary_search_steps, max_iter, initial_const, clip
):
    lo, hi = float(clip[0]), float(clip[1])
    abort_every = max(1, max_iter // 10)
    axes = tuple(range(1, len(input_shape) + 1))
    classes = model.output_shape[-1]

    def to_image(w):
        return (ops.tanh(w) + 1.0) / 2.0 * (hi - lo) + lo

    def per_image(v):
        return ops.reshape(v, [-1] + [1] * len(axes))

    def attack(forward, x, y):
        n = ops.shape(x)[0]
        w0 = ops.arctanh(((x - lo) / (hi - lo) * 2.0 - 1.0) * TANH_SHRINK)
        onehot = ops.one_hot(y, classes)

        def objective(delta, const):
            def total(delta):
                x_adv = to_image(w0 + delta)
                logits = forward(x_adv)
                real = ops.sum(logits * onehot, axis=1)
                other = ops.max(logits - onehot * 1e9, axis=1)
                l2 = ops.sum(ops.square(x_adv - x), axis=axes)
                loss = l2 + const * ops.maximum(real - other + confidence, 0.0)
                return ops.sum(loss), (x_adv, l2, other > real + confidence)

            loss, (x_adv, l2, success), grad = backend.value_and_grad(total, delta)
            return x_adv, l2, success, loss, grad

        def iteration(it, delta, m, v, found, prev, stop, const, best_l2, best_adv):
            x_adv, l2, success, loss, grad = objective(delta, const)
            # the iterate just evaluated, before this step's update
            better = success & (l2 < best_l2)
            best_l2 = ops.where(better, l2, best_l2)
            best_adv = ops.where(per_image(better), x_adv, best_adv)
            found = found | success
            t = ops.cast(it + 1, "float32")
            m = BETA1 * m + (1.0 - BETA1) * grad
            v = BETA2 * v + (1.0 - BETA2) * ops.square(grad)
            step = learning_rate * ops.sqrt(1.0 - BETA2**t) / (1.0 - BETA1**t)
            delta = delta - step * m / (ops.sqrt(v) + EPS)
            # early abort: every abort_every iterations, stop when the chunk's loss no longer drops
            check = it % abort_every == 0
            stop = check & (loss > prev * 0.9999)
            prev = ops.where(check, loss, prev)
            return it + 1, delta, m, v, found, prev, stop, const, best_l2, best_adv

        def search_step(_, state):
            const, lower, upper, best_l2, best_adv = state
            zeros = ops.zeros_like(x)
            found = ops.zeros([n], "bool")  # success at this step's constant
            prev = ops.cast(np.inf, "float32")
            *_, found, _, _, _, best_l2, best_adv = ops.while_loop(
                lambda it, delta, m, v, found, prev, stop, *_: (it < max_iter) & ~stop,
                iteration,
                (0, zeros, zeros, zeros, found, prev, False, const, best_l2, best_adv),
            )
            # success: c was enough, search below it; failure: raise it (x10 until an upper bound exists)
            upper = ops.where(found, ops.minimum(upper, const), upper)
            lower = ops.where(found, lower, ops.maximum(lower, const))
            const = ops.where(upper < NO_BOUND, (lower + upper) / 2.0, const * 10.0)
            return const, lower, upper, best_l2, best_adv

        state = (
            ops.full([n], initial_const, "float32"),
            ops.zeros([n]),
            ops.full([n], NO_BOUND, "float32"),
            ops.full([n], np.inf, "float32"),
            x,
        )
        return ops.fori_loop(0, binary_search_steps, search_step, state)[-1]

    # one graph for every chunk size on TensorFlow (an input_signature, as before the port)
    example = np.zeros((0, *input_shape), np.float32)
    return backend.trace_any_batch(backend.model_function(model, attack), example, np.zeros(0, np.int64))


def carlini_wagner_l2(
    model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    confidence: float = ADAM["confidence"],
    learning_rate: float = ADAM["learning_rate"],
    binary_search_steps: int = ADAM["binary_search_steps"],
    max_iter: int = ADAM["max_iter"],
    initial_const: float = ADAM["initial_const"],
    batch_size: int = ADAM["batch_size"],
    clip=(0.0, 1.0),
) -> np.ndarray:
    """Untargeted CW-L2 adversarials for images `x` (float32 NHWC in `clip`) with true labels `y`.

    Images for which no adversarial was found come back unchanged.
    """
    return cw_linesearch.run(
        _attack_fn,
        model,
        x,
        y,
        batch_size=batch_size,
        clip=clip,
        tanh_start=False,
        confidence=float(confidence),
        learning_rate=float(learning_rate),
        binary_search_steps=int(binary_search_steps),
        max_iter=int(max_iter),
        initial_const=float(initial_const),
    )


def cw(
    model,
    x,
    y,
    *,
    seed: int,
    implementation: str = CW["implementation"],
    algorithm: str = CW["algorithm"],
    **settings,
):
    """CW-L2 by config: ours (`implementation: batched`) with `algorithm` line-search or adam, or ART's own
    `CarliniL2Method` (`implementation: art`, which is the line-search algorithm).

    Settings not given take the chosen algorithm's defaults (the schema's; ART's own for `art`).
    """
    if art_adapter.use_art("attacks.cw", implementation):
        if algorithm != "line-search":
            raise ValueError(
                f"attacks.cw: ART's CarliniL2Method is the line-search algorithm, not {algorithm!r}"
            )
        return art_adapter.generate("cw", model, x, y, settings, seed)
    if algorithm == "line-search":
        return cw_linesearch.carlini_wagner_l2_linesearch(model, x, y, **settings)
    if algorithm != "adam":
        raise ValueError(f"attacks.cw: unknown algorithm {algorithm!r}; choose line-search or adam")
    # the schema fills its defaults for these whatever the algorithm; any other value is a misconfiguration
    extra = sorted(k for k in ("max_halving", "max_doubling") if settings.pop(k, ADAM[k]) != ADAM[k])
    if extra:
        raise ValueError(f"attacks.cw: {', '.join(extra)} apply to algorithm line-search only, not adam")
    return carlini_wagner_l2(model, x, y, **settings)
