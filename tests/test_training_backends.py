"""Training on JAX follows TensorFlow's learning curve: the same initial weights, batches and Adam steps
give the same first epoch within float round-off (backend.train_step on each backend)."""

import numpy as np
from backends import OTHER, model_from, needs_other, on_backend, weights_arrays

from conftest import separable

SHAPE, CLASSES, BATCH = (32, 32, 1), 3, 16


def first_epoch(x, y, **weights):
    """One epoch of Adam (lr 1e-3) over x, y in order at batch 16: per-step loss sums and final weights."""
    import keras

    from robustcurves import backend

    model = model_from(weights, SHAPE, CLASSES)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    optimizer.build(model.trainable_variables)
    step = backend.train_step(model, optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = [
        float(step(backend.tensor(x[i : i + BATCH]), backend.tensor(y[i : i + BATCH]))[0])
        for i in range(0, len(x), BATCH)
    ]
    return {"losses": np.array(losses), **{k: np.asarray(v) for k, v in weights_arrays(model).items()}}


@needs_other
def test_the_first_epoch_agrees_across_backends(tmp_path):
    import keras

    from robustcurves.models import lenet5

    keras.utils.set_random_seed(3)
    weights = weights_arrays(lenet5(SHAPE, CLASSES))
    x, y = separable(n=320, shape=SHAPE)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    tf_run = first_epoch(x, y, **weights)
    other = on_backend(OTHER, "test_training_backends:first_epoch", tmp_path, x=x, y=y, **weights)
    # a real learning curve, not a flat one
    assert tf_run["losses"][-1] < 0.5 * tf_run["losses"][0]
    np.testing.assert_allclose(other["losses"], tf_run["losses"], rtol=1e-5)  # measured: 5e-7
    for k in weights:
        np.testing.assert_allclose(other[k], tf_run[k], rtol=1e-3, atol=1e-5)
    # the same backend, inputs and machine: the same numbers, bit for bit
    again = on_backend(OTHER, "test_training_backends:first_epoch", tmp_path, x=x, y=y, **weights)
    assert all(np.array_equal(again[k], other[k]) for k in other)
