"""LeNet-5 as a logits model, its per-epoch snapshots, and batched inference."""

from __future__ import annotations

import logging
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import tensorflow as tf

from .io import atomic_path, open_h5

log = logging.getLogger(__name__)


class GPUUnavailable(RuntimeError):
    """The job asked for a GPU (`compute.gpu > 0`) and TensorFlow sees none."""


# TF_XLA_FLAGS is read when XLA first runs, not at import: setting it in configure is early enough.
# --tf_xla_cpu_global_jit extends auto-clustering to the CPU, where TensorFlow leaves it off by default.
XLA_FLAGS = "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit"


def choose_device(
    gpus: list[str],
    gpu_requested: int = 0,
    allow_cpu_fallback: bool = False,
    *,
    built_with_cuda: bool = False,
    cuda_visible_devices: str | None = None,
) -> tuple[str, str | None]:
    """The device a job runs on, and a warning to log if any; raises GPUUnavailable when a GPU was
    requested, none is visible, and falling back to the CPU was not allowed."""
    if gpus:
        if not gpu_requested:
            return "/GPU:0", None
        if len(gpus) < gpu_requested:
            return "/GPU:0", f"compute.gpu is {gpu_requested} but TensorFlow sees {len(gpus)}; using /GPU:0"
        return "/GPU:0", None
    if not gpu_requested:
        return "/CPU:0", None
    if not built_with_cuda:
        why = (
            "this TensorFlow is a CPU-only build (tensorflow-cpu); install the GPU build: `make install-gpu`"
        )
    elif cuda_visible_devices is not None and not cuda_visible_devices.strip(" ,"):
        why = "CUDA_VISIBLE_DEVICES is empty, which hides every GPU"
    else:
        why = (
            "this TensorFlow is built with CUDA but finds no usable GPU"
            f" (CUDA_VISIBLE_DEVICES={cuda_visible_devices!r}); check `nvidia-smi` and the NVIDIA driver"
        )
    message = f"compute.gpu is {gpu_requested} but TensorFlow sees no GPU: {why}"
    if not allow_cpu_fallback:
        raise GPUUnavailable(
            f"{message}. Set compute.allow_cpu_fallback: true to run on the CPU instead (much slower)."
        )
    return "/CPU:0", f"{message}. Running on the CPU because compute.allow_cpu_fallback is true."


def configure(
    threads: int | None = None,
    seed: int | None = None,
    *,
    gpu_requested: int = 0,
    allow_cpu_fallback: bool = False,
    xla: bool = False,
) -> str:
    """Set up TensorFlow for one job; call before any TF work. Returns the device it will use.

    Thread pools sized to the job's cores; deterministic ops; logs the devices TensorFlow sees and the
    one it uses; fails at once (GPUUnavailable) when `gpu_requested` GPUs were asked for and there are
    none, unless `allow_cpu_fallback`. `xla` turns on XLA auto-clustering of every tf.function (training,
    evaluation, attacks, metrics); XLA has no deterministic max-pool gradient, so op determinism is
    then left off (docs: benchmarks/README.md, "XLA").
    """
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # several jobs may share a GPU: take memory as needed instead of all of it up front
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the runtime already started (a second call in one process)
            pass
    cuda = tf.test.is_built_with_cuda()
    log.info(
        "TensorFlow %s (%s build) sees %s",
        tf.__version__,
        "CUDA" if cuda else "CPU-only",
        ", ".join(d.name for d in tf.config.list_physical_devices()),
    )
    device, warning = choose_device(
        [g.name for g in gpus],
        gpu_requested,
        allow_cpu_fallback,
        built_with_cuda=cuda,
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    log.info("using %s%s", device, " with XLA" if xla else "")
    if warning:
        log.warning(warning)
    if xla:
        flags = os.environ.get("TF_XLA_FLAGS", "")
        os.environ["TF_XLA_FLAGS"] = f"{flags} {XLA_FLAGS}".strip()
        tf.config.optimizer.set_jit("autoclustering")
    else:
        tf.config.experimental.enable_op_determinism()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return device


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


class Snapshots:
    """Read access to `snapshots.h5`: one group per epoch holding every weight array of the model."""

    def __init__(self, path):
        self.path = path
        self._f = open_h5(path, required=("epochs",))
        self.epochs = [int(e) for e in self._f["epochs"][()]]
        self.input_shape = tuple(int(d) for d in self._f.attrs["input_shape"])
        self.classes = int(self._f.attrs["classes"])

    def weights(self, epoch: int) -> list[np.ndarray]:
        group = self._f[f"epoch_{epoch:03d}"]
        return [group[f"w{i}"][()] for i in range(len(group))]

    def model(self, epoch: int | None = None) -> keras.Model:
        model = lenet5(self.input_shape, self.classes)
        if epoch is not None:
            model.set_weights(self.weights(epoch))
        return model

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_snapshots(path, weights_per_epoch: dict[int, list[np.ndarray]], input_shape, classes: int) -> None:
    with atomic_path(path) as tmp:
        import h5py

        with h5py.File(tmp, "w") as f:
            epochs = sorted(weights_per_epoch)
            f.create_dataset("epochs", data=np.array(epochs, dtype=np.int64))
            f.attrs["input_shape"] = np.array(input_shape, dtype=np.int64)
            f.attrs["classes"] = classes
            for epoch in epochs:
                group = f.create_group(f"epoch_{epoch:03d}")
                for i, w in enumerate(weights_per_epoch[epoch]):
                    group.create_dataset(f"w{i}", data=w)


def logits_fn(model: keras.Model):
    """A traced forward pass; reused across snapshots because set_weights keeps the variables."""
    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)


def predict_logits(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    out = [fn(tf.constant(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def predict(fn, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return predict_logits(fn, x, batch_size).argmax(axis=1) if len(x) else np.zeros(0, np.int64)
