"""Carlini-Wagner L2 as ART 1.20.1's `CarliniL2Method` computes it, untargeted, batched.

ART does not follow the authors' Adam: it takes plain gradient steps in tanh space with a line search
per image (halve the learning rate until the loss drops, up to `max_halving` times; if the first try
already dropped it, double while it keeps dropping, up to `max_doubling` times) and binary-searches
the constant c per image (doubled until a step succeeds, then bisected). This module performs, per
image, the same operations in the same order, with every image carrying its own learning rate and
constant, all inside one compiled call per chunk (`keras.ops` loops under `backend.model_function`:
tf.function, jax.jit). Each probe runs only the images still searching (a gather on TensorFlow; every
image, the others' results discarded, on JAX, whose shapes are static). It copies ART's quirks on
purpose, because the point is to agree with the attack the paper ran:

- the gradient is that of c * (Z_y - Z_other) + ||x_adv - x||^2 even where the hinge is flat, and
  its tanh factor is divided by 2 * 0.999999 although the image is mapped back without that factor;
- the learning rate, constant and losses are float64, the line-search images are built in float64
  from float32 tanh-space points (the model sees them rounded to float32), the accepted step is
  rounded to float32 in tanh space;
- where no step lowered the loss, the loss, L2 and success test keep the last rejected trial's
  values; the success test is recomputed only when some image of the chunk took a step, and a
  success so recorded keeps the current (not the trial's) image as the best one;
- the lower bound of c is set to the new c after a failure (ART aliases the two arrays), so after
  the first failure followed by a success c stops moving.

Float32 round-off (other kernels, other summation order) is the only intended difference; the
benchmark measures the agreement image by image (benchmarks/README.md).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from keras import ops

from robustcurves import backend
from robustcurves.attacks.chunks import in_chunks
from robustcurves.config import attack_defaults

TANH_SMOOTHER = 0.999999  # ART's _tanh_smoother
C_UPPER_BOUND = 10e10  # ART's _c_upper_bound: an image whose c reaches it stops

# The schema's line-search settings: ART 1.20.1's CarliniL2Method defaults (tests/test_presets.py)
DEFAULTS = attack_defaults("cw", algorithm="line-search")


def to_tanh(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """ART's `original_to_tanh` in numpy float32, so that the starting points match it bit for bit."""
    lo32, hi32 = np.float32(lo), np.float32(hi)
    t = (np.clip(x, lo32, hi32) - lo32) / (hi32 - lo32)
    return np.arctanh((t * 2 - 1) * TANH_SMOOTHER).astype(np.float32)


@lru_cache(maxsize=8)
def _attack_fn(
    model,
    input_shape,
    *,
    confidence,
    learning_rate,
    binary_search_steps,
    max_iter,
    initial_const,
    max_halving,
    max_doubling,
    clip,
):
    lo, hi = float(clip[0]), float(clip[1])
    rank = len(input_shape) + 1
    axes = tuple(range(1, rank))
    classes = model.output_shape[-1]
    f32, f64 = "float32", "float64"

    def per_image(v):
        return ops.reshape(v, [-1] + [1] * (rank - 1))

    def hinge(logits, onehot):
        """ART's max(Z_y - max_{i != y} Z_i + confidence, 0): float32 margin, float64 result."""
        real = ops.sum(logits * onehot, axis=1)
        other = ops.max(ops.where(onehot > 0, -np.inf, logits), axis=1)
        return ops.maximum(ops.cast(real - other + confidence, f64), 0.0)

    def evaluate(forward, img, onehot):
        """Logits at `img` and the gradient of Z_y - Z_other (other = runner-up there)."""

        def margin(img):
            logits = forward(img)
            other = ops.argmax(ops.where(onehot > 0, -np.inf, ops.stop_gradient(logits)), axis=1)
            # Z_other picked by a one-hot product (exact): its gradient is 1 at `other` even on ties
            diff = ops.sum(logits * onehot) - ops.sum(logits * ops.one_hot(other, classes))
            return diff, logits

        _, logits, grad = backend.value_and_grad(margin, img)
        return logits, grad

    def attack(forward, x, x_tanh, y):
        n = ops.shape(x)[0]
        onehot = ops.one_hot(y, classes)
        x64 = ops.cast(x, f64)

        def trial(xt, pert, lr, const, probe, l2, loss):
            """ART's line-search probe: l2 and loss with those of the `probe` images replaced by their
            trial's, a float64 image from a float32 tanh point, float32 logits. Only the probing images
            are run, as ART runs only its active ones (every image where shapes are static: JAX)."""
            idx = backend.active_rows(probe)

            def rows(v):
                return backend.take_rows(v, idx)

            img64 = ops.tanh(ops.cast(rows(xt), f64) + per_image(rows(lr)) * ops.cast(rows(pert), f64))
            img64 = (img64 + 1.0) / 2.0 * (hi - lo) + lo
            l2_t = ops.sum(ops.square(rows(x64) - img64), axis=axes)
            logits = forward(ops.cast(img64, f32))
            loss_t = rows(const) * hinge(logits, rows(onehot)) + l2_t
            l2 = backend.put_rows(l2, idx, ops.cast(l2_t, f32), probe)
            return l2, backend.put_rows(loss, idx, loss_t, probe)

        def line_search(active, xt, pert, const, lr, l2, loss):
            """ART's halving, then doubling, of each active image's learning rate; each loop stops when
            no image probes any more. Returns lr, the last trial's l2 and loss, and the best lr (0: none
            lowered the loss)."""
            prev_loss = loss

            def probe_and_record(probe, lr, l2, loss, best_lr, best_loss):
                l2, loss = trial(xt, pert, lr, const, probe, l2, loss)
                dropped = loss < best_loss
                best_lr = ops.where(dropped, lr, best_lr)
                best_loss = ops.where(dropped, loss, best_loss)
                return l2, loss, best_lr, best_loss

            def halving_probe(loss):
                return active & (loss >= prev_loss)

            def halve(i, lr, l2, loss, best_lr, best_loss, halving):
                probe = halving_probe(loss)
                l2, loss, best_lr, best_loss = probe_and_record(probe, lr, l2, loss, best_lr, best_loss)
                lr = ops.where(probe, lr / 2.0, lr)
                return i + 1, lr, l2, loss, best_lr, best_loss, halving + ops.cast(probe, "int32")

            _, lr, l2, loss, best_lr, best_loss, halving = ops.while_loop(
                lambda i, lr, l2, loss, *_: (i < max_halving) & ops.any(halving_probe(loss)),
                halve,
                (0, lr, l2, loss, ops.zeros([n], f64), loss, ops.zeros([n], "int32")),
            )
            lr = ops.where(active, lr * 2.0, lr)

            def doubling_probe(loss, best_loss):
                return active & (halving == 1) & (loss <= best_loss)

            def double(i, lr, l2, loss, best_lr, best_loss):
                probe = doubling_probe(loss, best_loss)
                lr = ops.where(probe, lr * 2.0, lr)
                l2, loss, best_lr, best_loss = probe_and_record(probe, lr, l2, loss, best_lr, best_loss)
                return i + 1, lr, l2, loss, best_lr, best_loss

            _, lr, l2, loss, best_lr, _ = ops.while_loop(
                lambda i, lr, l2, loss, best_lr, best_loss: (
                    (i < max_doubling) & ops.any(doubling_probe(loss, best_loss))
                ),
                double,
                (0, lr, l2, loss, best_lr, best_loss),
            )
            lr = ops.where(halving == 1, lr / 2.0, lr)
            return lr, l2, loss, best_lr

        def take_step(step, best_lr, pert, const, xt, img, logits, gdiff, l2, loss):
            """The accepted steps, then the logits, gradient, l2 and loss at the new points, run for the
            moved images only (every image where shapes are static: JAX)."""
            moved = ops.cast(ops.cast(xt, f64) + per_image(best_lr) * ops.cast(pert, f64), f32)
            xt = ops.where(per_image(step), moved, xt)
            img = ops.where(per_image(step), (ops.tanh(xt) + 1.0) / 2.0 * (hi - lo) + lo, img)
            idx = backend.active_rows(step)
            logits_m, gdiff_m = evaluate(forward, backend.take_rows(img, idx), backend.take_rows(onehot, idx))
            logits = backend.put_rows(logits, idx, logits_m, step)
            gdiff = backend.put_rows(gdiff, idx, gdiff_m, step)
            l2_new = ops.sum(ops.square(x - img), axis=axes)
            loss_new = const * hinge(logits, onehot) + ops.cast(l2_new, f64)
            l2 = ops.where(step, l2_new, l2)
            loss = ops.where(step, loss_new, loss)
            return xt, img, logits, gdiff, l2, loss, loss - ops.cast(l2, f64) <= 0.0

        def iteration(_, state):
            const, lr, xt, img, logits, gdiff, l2, loss, success, overall, best_l2, best_adv = state
            better = success & (ops.cast(l2, f64) < best_l2)
            best_l2 = ops.where(better, ops.cast(l2, f64), best_l2)
            best_adv = ops.where(per_image(better), img, best_adv)
            active = (const < C_UPPER_BOUND) & (lr > 0.0)

            # ART's _loss_gradient, operation by operation (c multiplies in float64)
            grad = ops.cast(ops.cast(gdiff, f64) * per_image(const), f32)
            grad = grad + 2.0 * (img - x)
            grad = grad * (hi - lo)
            grad = grad * ((1.0 - ops.square(ops.tanh(xt))) / np.float32(2.0 * TANH_SMOOTHER))
            pert = -grad

            lr, l2, loss, best_lr = line_search(active, xt, pert, const, lr, l2, loss)

            step = active & (best_lr > 0.0)
            # ART recomputes the success test only when some image of the chunk moved (a quirk kept)
            xt, img, logits, gdiff, l2, loss, success = ops.cond(
                ops.any(step),
                lambda: take_step(step, best_lr, pert, const, xt, img, logits, gdiff, l2, loss),
                lambda: (xt, img, logits, gdiff, l2, loss, success),
            )
            overall = overall | success
            return const, lr, xt, img, logits, gdiff, l2, loss, success, overall, best_l2, best_adv

        def search_step(_, state):
            const, lower, double, best_l2, best_adv = state
            lr = ops.full([n], learning_rate, f64)
            logits, gdiff = evaluate(forward, x, onehot)
            l2 = ops.zeros([n], f32)
            loss = const * hinge(logits, onehot)
            success = loss - ops.cast(l2, f64) <= 0.0
            state = (const, lr, x_tanh, x, logits, gdiff, l2, loss, success, success, best_l2, best_adv)
            *_, img, _, _, l2, _, success, overall, best_l2, best_adv = ops.fori_loop(
                0, max_iter, iteration, state
            )
            better = success & (ops.cast(l2, f64) < best_l2)
            best_l2 = ops.where(better, ops.cast(l2, f64), best_l2)
            best_adv = ops.where(per_image(better), img, best_adv)

            # ART's binary search on c; its lower bound aliases the new c after a failure
            double = double & ~overall
            const = ops.where(overall, (lower + const) / 2.0, const)
            const = ops.where(~overall & double, const * 2.0, const)
            const = ops.where(~overall & ~double, const + (const - lower) / 2.0, const)
            lower = ops.where(overall, lower, const)
            return const, lower, double, best_l2, best_adv

        state = (
            ops.full([n], initial_const, f64),
            ops.zeros([n], f64),
            ops.ones([n], "bool"),
            ops.full([n], np.inf, f64),
            x,
        )
        return ops.fori_loop(0, binary_search_steps, search_step, state)[-1]

    # one graph for every chunk size on TensorFlow (an input_signature, as before the port)
    example = np.zeros((0, *input_shape), np.float32)
    labels = np.zeros(0, np.int64)
    return backend.trace_any_batch(backend.model_function(model, attack), example, example, labels)


def carlini_wagner_l2_linesearch(
    model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    confidence: float = DEFAULTS["confidence"],
    learning_rate: float = DEFAULTS["learning_rate"],
    binary_search_steps: int = DEFAULTS["binary_search_steps"],
    max_iter: int = DEFAULTS["max_iter"],
    initial_const: float = DEFAULTS["initial_const"],
    max_halving: int = DEFAULTS["max_halving"],
    max_doubling: int = DEFAULTS["max_doubling"],
    batch_size: int = DEFAULTS["batch_size"],
    clip=(0.0, 1.0),
) -> np.ndarray:
    """Untargeted CW-L2 adversarials, ART's algorithm, for images `x` (float32 NHWC in `clip`), labels `y`.

    Images for which no adversarial was found come back unchanged. As in ART, the chunk (`batch_size`)
    matters only through one batch-wide test (see the module docstring); ART's own `batch_size`
    plays the same role there.
    """
    if max_halving < 1 or max_doubling < 1:
        raise ValueError(f"max_halving and max_doubling must be >= 1, got {max_halving}, {max_doubling}")
    return run(
        _attack_fn,
        model,
        x,
        y,
        batch_size=batch_size,
        clip=clip,
        tanh_start=True,
        confidence=float(confidence),
        learning_rate=float(learning_rate),
        binary_search_steps=int(binary_search_steps),
        max_iter=int(max_iter),
        initial_const=float(initial_const),
        max_halving=int(max_halving),
        max_doubling=int(max_doubling),
    )


def run(attack_fn, model, x, y, *, batch_size: int, clip, tanh_start: bool, **settings) -> np.ndarray:
    """One CW-L2 search of either algorithm (`attack_fn`: its compiled attack, built for the images' shape
    and `settings`) over images `x` (float32 NHWC in `clip`) with labels `y`, `batch_size` at a time;
    `tanh_start`: the attack also takes the images in tanh space. Images with no adversarial come back
    unchanged."""
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        return x.copy()
    attack = attack_fn(model, tuple(x.shape[1:]), clip=tuple(map(float, clip)), **settings)
    start = (to_tanh(x, *clip),) if tanh_start else ()
    return in_chunks(attack, batch_size, x, *start, np.asarray(y, np.int64), name="CW-L2")
