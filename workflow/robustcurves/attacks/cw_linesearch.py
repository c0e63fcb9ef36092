"""Carlini-Wagner L2 as ART 1.20.1's `CarliniL2Method` computes it, untargeted, batched.

ART does not follow the authors' Adam: it takes plain gradient steps in tanh space with a line search
per image (halve the learning rate until the loss drops, up to `max_halving` times; if the first try
already dropped it, double while it keeps dropping, up to `max_doubling` times) and binary-searches
the constant c per image (doubled until a step succeeds, then bisected). This module performs, per
image, the same operations in the same order, with every image carrying its own learning rate and
constant, all inside one `tf.function` per chunk. It copies ART's quirks on purpose, because the
point is to agree with the attack the paper ran:

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
import tensorflow as tf

from .chunks import in_chunks

TANH_SMOOTHER = 0.999999  # ART's _tanh_smoother
C_UPPER_BOUND = 10e10  # ART's _c_upper_bound: an image whose c reaches it stops

DEFAULTS = {  # ART 1.20.1's CarliniL2Method defaults
    "confidence": 0.0,
    "learning_rate": 0.01,
    "binary_search_steps": 10,
    "max_iter": 10,
    "initial_const": 0.01,
    "max_halving": 5,
    "max_doubling": 5,
}


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
    axes = list(range(1, rank))
    f32, f64 = tf.float32, tf.float64

    def per_image(v):
        return tf.reshape(v, [-1] + [1] * (rank - 1))

    def hinge(logits, onehot):
        """ART's max(Z_y - max_{i != y} Z_i + confidence, 0): float32 margin, float64 result."""
        real = tf.reduce_sum(logits * onehot, axis=1)
        other = tf.reduce_max(tf.where(onehot > 0, -np.inf, logits), axis=1)
        return tf.maximum(tf.cast(real - other + confidence, f64), 0.0)

    def evaluate(img, onehot):
        """Logits at `img` and the gradient of Z_y - Z_other (other = runner-up there)."""
        with tf.GradientTape() as tape:
            tape.watch(img)
            logits = model(img, training=False)
            other = tf.argmax(tf.where(onehot > 0, -np.inf, tf.stop_gradient(logits)), axis=1)
            diff = tf.reduce_sum(logits * onehot) - tf.reduce_sum(tf.gather(logits, other, batch_dims=1))
        return logits, tape.gradient(diff, img)

    signature = [
        tf.TensorSpec([None, *input_shape], f32),
        tf.TensorSpec([None, *input_shape], f32),
        tf.TensorSpec([None], tf.int64),
    ]

    @tf.function(input_signature=signature)
    def attack(x, x_tanh, y):
        n = tf.shape(x)[0]
        onehot = tf.one_hot(y, model.output_shape[-1])
        x64 = tf.cast(x, f64)

        def trial(xt, pert, lr, const, probe):
            """ART's line-search probe for the `probe` images (the others come back as 0): a float64
            image from a float32 tanh point; float32 logits. Only the probing images are run, as ART
            runs only its active ones."""
            idx = tf.where(probe)[:, 0]
            img64 = tf.tanh(
                tf.cast(tf.gather(xt, idx), f64)
                + per_image(tf.gather(lr, idx)) * tf.cast(tf.gather(pert, idx), f64)
            )
            img64 = (img64 + 1.0) / 2.0 * (hi - lo) + lo
            l2 = tf.reduce_sum(tf.square(tf.gather(x64, idx) - img64), axis=axes)
            logits = model(tf.cast(img64, f32), training=False)
            loss = tf.gather(const, idx) * hinge(logits, tf.gather(onehot, idx)) + l2
            rows = idx[:, None]
            return tf.scatter_nd(rows, tf.cast(l2, f32), [n]), tf.scatter_nd(rows, loss, [n])

        const = tf.fill([n], tf.constant(initial_const, f64))
        lower = tf.zeros([n], f64)
        double = tf.ones([n], tf.bool)
        best_l2 = tf.fill([n], tf.constant(np.inf, f64))
        best_adv = x
        for _ in tf.range(binary_search_steps):
            lr = tf.fill([n], tf.constant(learning_rate, f64))
            xt, img = x_tanh, x
            logits, gdiff = evaluate(img, onehot)
            l2 = tf.zeros([n], f32)
            loss = const * hinge(logits, onehot)
            success = loss - tf.cast(l2, f64) <= 0.0
            overall = success
            for _ in tf.range(max_iter):
                better = success & (tf.cast(l2, f64) < best_l2)
                best_l2 = tf.where(better, tf.cast(l2, f64), best_l2)
                best_adv = tf.where(per_image(better), img, best_adv)
                active = (const < C_UPPER_BOUND) & (lr > 0.0)

                # ART's _loss_gradient, operation by operation (c multiplies in float64)
                grad = tf.cast(tf.cast(gdiff, f64) * per_image(const), f32)
                grad = grad + 2.0 * (img - x)
                grad = grad * (hi - lo)
                grad = grad * ((1.0 - tf.square(tf.tanh(xt))) / np.float32(2.0 * TANH_SMOOTHER))
                pert = -grad

                prev_loss, best_loss = loss, loss
                best_lr = tf.zeros([n], f64)
                halving = tf.zeros([n], tf.int32)
                for _ in tf.range(max_halving):
                    probe = active & (loss >= prev_loss)
                    if not tf.reduce_any(probe):
                        break
                    l2_t, loss_t = trial(xt, pert, lr, const, probe)
                    l2 = tf.where(probe, l2_t, l2)
                    loss = tf.where(probe, loss_t, loss)
                    dropped = loss < best_loss
                    best_lr = tf.where(dropped, lr, best_lr)
                    best_loss = tf.where(dropped, loss, best_loss)
                    lr = tf.where(probe, lr / 2.0, lr)
                    halving += tf.cast(probe, tf.int32)
                lr = tf.where(active, lr * 2.0, lr)
                for _ in tf.range(max_doubling):
                    probe = active & (halving == 1) & (loss <= best_loss)
                    if not tf.reduce_any(probe):
                        break
                    lr = tf.where(probe, lr * 2.0, lr)
                    l2_t, loss_t = trial(xt, pert, lr, const, probe)
                    l2 = tf.where(probe, l2_t, l2)
                    loss = tf.where(probe, loss_t, loss)
                    dropped = loss < best_loss
                    best_lr = tf.where(dropped, lr, best_lr)
                    best_loss = tf.where(dropped, loss, best_loss)
                lr = tf.where(halving == 1, lr / 2.0, lr)

                step = active & (best_lr > 0.0)
                if tf.reduce_any(step):
                    moved = tf.cast(tf.cast(xt, f64) + per_image(best_lr) * tf.cast(pert, f64), f32)
                    xt = tf.where(per_image(step), moved, xt)
                    img = tf.where(per_image(step), (tf.tanh(xt) + 1.0) / 2.0 * (hi - lo) + lo, img)
                    # the logits and gradient at the new points, run for the moved images only
                    moved_idx = tf.where(step)[:, 0]
                    logits_m, gdiff_m = evaluate(tf.gather(img, moved_idx), tf.gather(onehot, moved_idx))
                    logits = tf.tensor_scatter_nd_update(logits, moved_idx[:, None], logits_m)
                    gdiff = tf.tensor_scatter_nd_update(gdiff, moved_idx[:, None], gdiff_m)
                    l2_new = tf.reduce_sum(tf.square(x - img), axis=axes)
                    loss_new = const * hinge(logits, onehot) + tf.cast(l2_new, f64)
                    l2 = tf.where(step, l2_new, l2)
                    loss = tf.where(step, loss_new, loss)
                    success = loss - tf.cast(l2, f64) <= 0.0
                    overall = overall | success
            better = success & (tf.cast(l2, f64) < best_l2)
            best_l2 = tf.where(better, tf.cast(l2, f64), best_l2)
            best_adv = tf.where(per_image(better), img, best_adv)

            # ART's binary search on c; its lower bound aliases the new c after a failure
            double = double & ~overall
            const = tf.where(overall, (lower + const) / 2.0, const)
            const = tf.where(~overall & double, const * 2.0, const)
            const = tf.where(~overall & ~double, const + (const - lower) / 2.0, const)
            lower = tf.where(overall, lower, const)
        return best_adv

    return attack


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
    batch_size: int = 512,
    clip=(0.0, 1.0),
) -> np.ndarray:
    """Untargeted CW-L2 adversarials, ART's algorithm, for images `x` (float32 NHWC in `clip`), labels `y`.

    Images for which no adversarial was found come back unchanged. As in ART, the chunk (`batch_size`)
    matters only through one batch-wide test (see the module docstring); ART's own `batch_size`
    plays the same role there.
    """
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        return x.copy()
    if max_halving < 1 or max_doubling < 1:
        raise ValueError(f"max_halving and max_doubling must be >= 1, got {max_halving}, {max_doubling}")
    attack = _attack_fn(
        model,
        tuple(x.shape[1:]),
        confidence=float(confidence),
        learning_rate=float(learning_rate),
        binary_search_steps=int(binary_search_steps),
        max_iter=int(max_iter),
        initial_const=float(initial_const),
        max_halving=int(max_halving),
        max_doubling=int(max_doubling),
        clip=tuple(map(float, clip)),
    )
    y = np.asarray(y, np.int64)
    return in_chunks(attack, batch_size, x, to_tanh(x, *clip), y, name="CW-L2")
