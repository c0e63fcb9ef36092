"""The study's networks as logits models, a user's own, their per-epoch snapshots, and batched
inference, on any Keras backend.

A model is named by the config's `model`: a built-in architecture (`ARCHITECTURES`), or a user's
function `(input_shape, classes) -> keras.Model` returning logits, as `module:function` (imported
with the project directory on the path) or `path/to/file.py:function`.
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from robustcurves import backend, user_model
from robustcurves.backend import GPUUnavailable, choose_device, configure  # noqa: F401  (the job set-up lives there)
from robustcurves.io import atomic_path, open_h5

log = logging.getLogger(__name__)


class ModelError(ValueError):
    """A configured model cannot be built, or is not a logits model of the dataset's class count."""


def lenet5(input_shape, classes: int) -> keras.Model:
    """LeNet-5 (two 5x5 conv + max-pool blocks, dense 120-84), ReLU, outputs logits."""
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            keras.layers.Conv2D(6, 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(120, activation="relu"),
            keras.layers.Dense(84, activation="relu"),
            keras.layers.Dense(classes),
        ],
        name="lenet5",
    )


class _ShortcutA(keras.layers.Layer):
    """He et al.'s option-A shortcut: subsample by 2 and zero-pad the new channels (no parameters)."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def call(self, x):
        x = x[:, ::2, ::2, :]
        extra = self.filters - x.shape[-1]
        return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def compute_output_shape(self, shape):
        half = [None if d is None else (d + 1) // 2 for d in shape[1:3]]
        return (shape[0], *half, self.filters)


def resnet20(input_shape, classes: int) -> keras.Model:
    """ResNet-20 for CIFAR (He et al. 2016, "Deep Residual Learning for Image Recognition", §4.2):
    a 3x3 convolution, then 3 stages x 3 basic blocks of 16/32/64 filters (stride 2 entering stages 2
    and 3, parameter-free option-A shortcuts), global average pooling, a dense layer; batch
    normalisation after every convolution; 0.27 M parameters at 10 classes. Outputs logits.

    The moving statistics follow the batches with momentum 0.9 (Torch's 0.1, as in the authors'
    fb.resnet.torch), not Keras's 0.99: each snapshot's statistics then belong to its own epoch's
    weights, also on a small dataset with few steps per epoch."""
    layers = keras.layers

    def norm(x):
        return layers.BatchNormalization(momentum=0.9)(x)

    def conv(x, filters, strides=1):
        return layers.Conv2D(
            filters, 3, strides, padding="same", use_bias=False, kernel_initializer="he_normal"
        )(x)

    inputs = keras.Input(shape=tuple(input_shape))
    x = layers.ReLU()(norm(conv(inputs, 16)))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            strides = 2 if stage and not block else 1
            y = layers.ReLU()(norm(conv(x, filters, strides)))
            y = norm(conv(y, filters))
            shortcut = _ShortcutA(filters)(x) if strides > 1 else x
            x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes)(x), name="resnet20")


ARCHITECTURES = {"lenet5": lenet5, "resnet20": resnet20}


def architecture(name: str):
    """The builder `(input_shape, classes) -> keras.Model` that the config's `model` names.

    Raises ModelError when `name` is neither a built-in architecture nor an importable
    `module:function` / `file.py:function` (user_model)."""
    if name in ARCHITECTURES:
        return ARCHITECTURES[name]
    try:
        module, function = user_model.split(name)
    except ValueError as err:
        raise ModelError(f"model {err}, nor one of {sorted(ARCHITECTURES)}") from None
    try:
        loaded = user_model.load(module)
    except (ImportError, OSError, SyntaxError) as err:
        raise ModelError(f"model {name!r}: cannot import {module!r} ({type(err).__name__}: {err})") from err
    builder = getattr(loaded, function, None)
    if not callable(builder):
        raise ModelError(f"model {name!r}: {module!r} has no function {function!r}")
    return builder


def build(name: str, input_shape, classes: int) -> keras.Model:
    """The model `name` for images of `input_shape` (H, W, C) and `classes` classes, checked to be a
    logits model: one output of shape (batch, classes) that is not a probability vector.

    Raises ModelError, before any training, for a model that cannot take the images, has another
    output size, or ends in a softmax/sigmoid (or returns rows summing to one on random images)."""
    shape = tuple(int(d) for d in input_shape)
    try:
        model = architecture(name)(shape, classes)
    except ModelError:
        raise
    except Exception as err:  # a user's builder fails in its own way: say which model and shape
        raise ModelError(
            f"model {name!r} cannot be built for {'x'.join(map(str, shape))} images and {classes} classes "
            f"({type(err).__name__}: {err}); pad or resize the images, or choose another model"
        ) from err
    if not isinstance(model, keras.Model):
        raise ModelError(f"model {name!r}: the builder returned {type(model).__name__}, not a keras.Model")
    out = tuple(model.output_shape) if not isinstance(model.output_shape, list) else None
    if out is None or len(out) != 2 or out[1] != classes:
        raise ModelError(
            f"model {name!r}: output shape {model.output_shape}, expected (None, {classes}) logits"
        )
    last = getattr(model.layers[-1], "activation", None)
    if getattr(last, "__name__", "") in ("softmax", "sigmoid", "log_softmax"):
        raise ModelError(
            f"model {name!r} ends in {last.__name__}: the attacks and CLEVER need logits; "
            "drop the final activation"
        )
    probe = np.random.default_rng(0).uniform(size=(4, *shape)).astype(np.float32)
    y = backend.to_numpy(model(probe, training=False))
    if np.all((y >= 0) & (y <= 1)) and np.allclose(y.sum(axis=1), 1.0, atol=1e-4):
        raise ModelError(
            f"model {name!r} returns probabilities (rows in [0, 1] summing to one): the attacks and "
            "CLEVER need logits; drop the final softmax"
        )
    return model


def macs(model: keras.Model) -> float:
    """Multiply-accumulates of one forward pass of one image, counted from the built model's layers:
    convolutions (incl. depthwise and separable) and dense layers, the layers that hold the cost;
    pooling, normalisation and activations are left out (a few per cent at most).

    Raises ModelError when a convolution or dense layer has no recorded output shape (a subclassed
    model's): its cost cannot be counted."""
    total, uncounted = 0.0, []
    for layer in _leaf_layers(model):
        try:
            total += _layer_macs(layer)
        except (AttributeError, ValueError):
            uncounted.append(layer.name)
    if uncounted:
        raise ModelError(
            f"model {model.name!r}: no output shape recorded for {', '.join(uncounted)}, so its "
            "multiply-accumulates cannot be counted; build it with keras.Sequential or the functional API"
        )
    return float(total)


def _layer_macs(layer) -> float:
    kind = type(layer).__name__
    if kind in ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose"):
        kernel = np.prod(layer.kernel.shape[:-1])  # (k..., in / groups, out): per output value
        return kernel * np.prod(layer.output.shape[1:])
    if kind in ("DepthwiseConv1D", "DepthwiseConv2D"):
        return np.prod(layer.kernel.shape[:-2]) * np.prod(layer.output.shape[1:])
    if kind in ("SeparableConv1D", "SeparableConv2D"):
        out = np.prod(layer.output.shape[1:-1])
        depth = layer.depthwise_kernel.shape
        return out * (np.prod(depth[:-2]) * depth[-2] * depth[-1] + np.prod(layer.pointwise_kernel.shape))
    if kind == "Dense":
        return np.prod(layer.kernel.shape) * np.prod(layer.output.shape[1:-1])
    return 0.0


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


class Snapshots:
    """Read access to `snapshots.h5`: one group per epoch holding every weight array of the model,
    the non-trainable ones (batch-normalisation statistics) included, and the model's name."""

    def __init__(self, path):
        self.path = path
        self._f = open_h5(path, required=("epochs",))
        self.epochs = [int(e) for e in self._f["epochs"][()]]
        self.input_shape = tuple(int(d) for d in self._f.attrs["input_shape"])
        self.classes = int(self._f.attrs["classes"])
        # snapshots written before models were configurable are LeNet-5's
        self.architecture = str(self._f.attrs.get("model", "lenet5"))

    def weights(self, epoch: int) -> list[np.ndarray]:
        group = self._f[f"epoch_{epoch:03d}"]
        return [group[f"w{i}"][()] for i in range(len(group))]

    def model(self, epoch: int | None = None) -> keras.Model:
        model = architecture(self.architecture)(self.input_shape, self.classes)
        if epoch is not None:
            model.set_weights(self.weights(epoch))
        return model

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_snapshots(
    path, weights_per_epoch: dict[int, list[np.ndarray]], input_shape, classes: int, model: str
) -> None:
    """Every epoch's `model.get_weights()` (trainable and not) to `path`, atomically."""
    with atomic_path(path) as tmp:
        import h5py

        with h5py.File(tmp, "w") as f:
            epochs = sorted(weights_per_epoch)
            f.create_dataset("epochs", data=np.array(epochs, dtype=np.int64))
            f.attrs["input_shape"] = np.array(input_shape, dtype=np.int64)
            f.attrs["classes"] = classes
            f.attrs["model"] = model
            for epoch in epochs:
                group = f.create_group(f"epoch_{epoch:03d}")
                for i, w in enumerate(weights_per_epoch[epoch]):
                    group.create_dataset(f"w{i}", data=w)


def logits_fn(model: keras.Model):
    """A compiled forward pass (inference mode); reused across snapshots because set_weights keeps the
    variables."""
    return backend.model_function(model, lambda forward, x: forward(x))


def predict_logits(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    out = [backend.to_numpy(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def predict(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return predict_logits(fn, x, batch_size).argmax(axis=1) if len(x) else np.zeros(0, np.int64)
