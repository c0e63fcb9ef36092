"""The few things that differ between Keras 3's backends (TensorFlow, JAX, PyTorch), in one place.

Every attack and measure is written once in `keras.ops`; what `keras.ops` does not cover lives here:

- compilation (`model_function`, `compile`, `trace_any_batch`): `tf.function`; `jax.jit` over
  `model.stateless_call` with the weights passed as arguments (so that loading another snapshot's
  weights needs no recompilation); plain eager calls on torch;
- input gradients (`value_and_grad`, `batch_jacobian`): `tf.GradientTape`, `jax.value_and_grad` /
  `jax.jacrev`, `torch.autograd`;
- seeded draws inside compiled code (`normal`, `uniform`, `split`, and `gammainc` for CLEVER's L2
  ball): stateless on every backend, from a seed pair;
- row subsets of a batch (`active_rows`, `take_rows`, `put_rows`): a real gather where shapes may
  change inside compiled code (TensorFlow, torch), every row behind a mask where they may not (JAX);
- the training step (`train_step`): a tape, a stateless `jax.jit` step, or autograd;
- set-up of one job (`configure`): threads, determinism, GPU memory, the device, and a loud stop when
  a GPU was asked for and the backend sees none.

The backend is Keras's, chosen by `KERAS_BACKEND` before Keras is first imported (scripts/common.py
sets it from `compute.backend`). Sources: Keras 3's guides "Writing a training loop from scratch in
JAX / TensorFlow / PyTorch" (`stateless_call`, `stateless_apply`).
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np

log = logging.getLogger(__name__)

NAME = keras.backend.backend()
DISPLAY = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
# JAX has no dynamic shapes inside jit: row subsets become masks over the whole batch
DYNAMIC_SHAPES = NAME != "jax"

if NAME == "jax":
    import jax

    # CW's line search keeps ART's float64 learning rates, constants and losses
    jax.config.update("jax_enable_x64", True)
elif NAME == "tensorflow":
    import tensorflow as tf
elif NAME == "torch":
    import torch


class GPUUnavailable(RuntimeError):
    """The job asked for a GPU (`compute.gpu > 0`) and the backend sees none."""


def to_numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


def tensor(x, dtype=None):
    """A numpy array as this backend's tensor (on its default device)."""
    return keras.ops.convert_to_tensor(x, dtype=dtype)


def compile(fn):
    """`fn` (pure, tensors in and out, no model) compiled: tf.function, jax.jit, as is on torch."""
    if NAME == "tensorflow":
        return tf.function(fn, reduce_retracing=True)
    if NAME == "jax":
        return jax.jit(fn)
    return fn


def model_function(model: keras.Model, fn):
    """`fn(forward, *args)` compiled against `model`, where `forward(x)` gives its outputs in inference
    mode (batch-normalisation statistics frozen, dropout off).

    The returned callable takes `*args` (tensors or numpy) and reads the model's current weights at
    each call: setting another snapshot's weights reuses the compiled code.
    """
    if NAME == "jax":

        def pure(trainable, non_trainable, *args):
            def forward(x):
                return model.stateless_call(trainable, non_trainable, x, training=False)[0]

            return fn(forward, *args)

        jitted = jax.jit(pure)

        def call(*args):
            trainable = [v.value for v in model.trainable_variables]
            non_trainable = [v.value for v in model.non_trainable_variables]
            return jitted(trainable, non_trainable, *args)

        return call

    def forward(x):
        return model(x, training=False)

    if NAME == "tensorflow":
        return tf.function(lambda *args: fn(forward, *args), reduce_retracing=True)

    def eager(*args):
        with torch.no_grad():
            return fn(forward, *[tensor(a) if isinstance(a, np.ndarray) else a for a in args])

    return eager


def value_and_grad(f, x):
    """(value, aux, d value / d x) of `f(x) -> (scalar value, aux)`, inside or outside compiled code."""
    if NAME == "tensorflow":
        with tf.GradientTape() as tape:
            tape.watch(x)
            value, aux = f(x)
        return value, aux, tape.gradient(value, x)
    if NAME == "jax":
        (value, aux), grad = jax.value_and_grad(f, has_aux=True)(x)
        return value, aux, grad
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        value, aux = f(x)
        (grad,) = torch.autograd.grad(value, x)
    detach = keras.tree.map_structure(lambda t: t.detach() if hasattr(t, "detach") else t, aux)
    return value.detach(), detach, grad


def normal(seed, shape, dtype="float32"):
    """Standard normal draws from a seed pair (a 2-vector of integers), inside compiled code."""
    if NAME == "tensorflow":
        return tf.random.stateless_normal(shape, seed, dtype=dtype)
    if NAME == "jax":
        return jax.random.normal(_key(seed), tuple(shape), dtype=dtype)
    return torch.randn(*shape, generator=_generator(seed), dtype=getattr(torch, dtype))


def uniform(seed, shape, low=0.0, high=1.0, dtype="float32"):
    """Uniform draws in [low, high) from a seed pair, inside compiled code."""
    if NAME == "tensorflow":
        return tf.random.stateless_uniform(shape, seed, low, high, dtype=dtype)
    if NAME == "jax":
        return jax.random.uniform(_key(seed), tuple(shape), dtype=dtype, minval=low, maxval=high)
    u = torch.rand(*shape, generator=_generator(seed), dtype=getattr(torch, dtype))
    return low + (high - low) * u


def split(seed, n: int = 2) -> list:
    """`n` independent seed pairs derived from one."""
    if NAME == "tensorflow":
        return list(tf.unstack(tf.random.experimental.stateless_split(seed, n)))
    seed = keras.ops.convert_to_tensor(seed, "int64")
    return [keras.ops.stack([seed[0], seed[1] * n + i + 1]) for i in range(n)]


def _key(seed):
    seed = keras.ops.convert_to_tensor(seed, "int64")
    return jax.random.fold_in(jax.random.PRNGKey(seed[0]), seed[1])


def _generator(seed):
    s = [int(v) for v in to_numpy(seed)]
    return torch.Generator().manual_seed(s[0] * 1_000_003 + s[1])


def gammainc(a, x):
    """The regularised lower incomplete gamma function P(a, x) (scipy's `gammainc`), elementwise."""
    if NAME == "tensorflow":
        return tf.math.igamma(a, x)
    if NAME == "jax":
        return jax.scipy.special.gammainc(a, x)
    return torch.special.gammainc(torch.as_tensor(a, dtype=x.dtype), x)


def active_rows(mask):
    """Indices of the rows to compute: those where `mask` holds, or every row where shapes are static
    (the caller then keeps the masked rows' results only)."""
    if DYNAMIC_SHAPES:
        return keras.ops.reshape(keras.ops.nonzero(mask)[0], [-1])
    return keras.ops.arange(keras.ops.shape(mask)[0])


def gpus() -> list[str]:
    """The GPUs this backend sees."""
    if NAME == "tensorflow":
        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if NAME == "jax":
        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def built_with_cuda() -> bool:
    if NAME == "tensorflow":
        return tf.test.is_built_with_cuda()
    if NAME == "jax":
        try:
            return bool(jax.devices("gpu"))
        except RuntimeError:  # jaxlib without its CUDA plugin
            return False
    return torch.version.cuda is not None


def choose_device(
    gpus: list[str],
    gpu_requested: int = 0,
    allow_cpu_fallback: bool = False,
    *,
    built_with_cuda: bool = False,
    cuda_visible_devices: str | None = None,
    backend: str = NAME,
) -> tuple[str, str | None]:
    """The device a job runs on, and a warning to log if any; raises GPUUnavailable when a GPU was
    requested, none is visible, and falling back to the CPU was not allowed."""
    name = DISPLAY.get(backend, backend)
    if gpus:
        if gpu_requested and len(gpus) < gpu_requested:
            return "/GPU:0", f"compute.gpu is {gpu_requested} but {name} sees {len(gpus)}; using /GPU:0"
        return "/GPU:0", None
    if not gpu_requested:
        return "/CPU:0", None
    if not built_with_cuda:
        why = {
            "tensorflow": "this TensorFlow is a CPU-only build (tensorflow-cpu); install the GPU build:"
            " `make install-gpu`",
            "jax": "this jaxlib has no CUDA plugin; install `jax[cuda13]` "
            "(requirements-jax.txt, docs/gpu.md)",
            "torch": "this PyTorch is a CPU-only build",
        }.get(backend, "no CUDA build")
    elif cuda_visible_devices is not None and not cuda_visible_devices.strip(" ,"):
        why = "CUDA_VISIBLE_DEVICES is empty, which hides every GPU"
    else:
        why = (
            f"this {name} is built with CUDA but finds no usable GPU"
            f" (CUDA_VISIBLE_DEVICES={cuda_visible_devices!r}); check `nvidia-smi` and the NVIDIA driver"
        )
    message = f"compute.gpu is {gpu_requested} but {name} sees no GPU: {why}"
    if not allow_cpu_fallback:
        raise GPUUnavailable(
            f"{message}. Set compute.allow_cpu_fallback: true to run on the CPU instead (much slower)."
        )
    return "/CPU:0", f"{message}. Running on the CPU because compute.allow_cpu_fallback is true."


# TF_XLA_FLAGS is read when XLA first runs, not at import: setting it in configure is early enough.
# --tf_xla_cpu_global_jit extends auto-clustering to the CPU, where TensorFlow leaves it off by default.
XLA_FLAGS = "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit"


def configure(
    threads: int | None = None,
    seed: int | None = None,
    *,
    gpu_requested: int = 0,
    allow_cpu_fallback: bool = False,
    xla: bool = False,
) -> str:
    """Set up the backend for one job; call before any tensor work. Returns the device it will use.

    Thread pools sized to the job's cores; deterministic kernels; logs the backend, its version and
    the devices it sees; fails at once (GPUUnavailable) when `gpu_requested` GPUs were asked for and
    there are none, unless `allow_cpu_fallback`. `xla` (TensorFlow only) turns on XLA auto-clustering
    of every tf.function; XLA has no deterministic max-pool gradient, so op determinism is then off.
    """
    if NAME == "tensorflow":
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        for gpu in tf.config.list_physical_devices("GPU"):
            # several jobs may share a GPU: take memory as needed instead of all of it up front
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # the runtime already started (a second call in one process)
                pass
        version, devices = tf.__version__, [d.name for d in tf.config.list_physical_devices()]
    elif NAME == "jax":
        version, devices = jax.__version__, [str(d) for d in jax.devices()]
    else:
        if threads:
            torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        version = torch.__version__
        devices = ["cpu"] + [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    found, cuda = gpus(), built_with_cuda()
    log.info(
        "%s %s (%s build) sees %s; Keras %s",
        DISPLAY[NAME],
        version,
        "CUDA" if cuda else "CPU-only",
        ", ".join(devices),
        keras.__version__,
    )
    device, warning = choose_device(
        found,
        gpu_requested,
        allow_cpu_fallback,
        built_with_cuda=cuda,
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    log.info("backend %s, using %s%s", NAME, device, " with XLA" if xla and NAME == "tensorflow" else "")
    if warning:
        log.warning(warning)
    if NAME == "tensorflow":
        if xla:
            flags = os.environ.get("TF_XLA_FLAGS", "")
            os.environ["TF_XLA_FLAGS"] = f"{flags} {XLA_FLAGS}".strip()
            tf.config.optimizer.set_jit("autoclustering")
        else:
            tf.config.experimental.enable_op_determinism()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return device


def correct_count(logits, y):
    """How many rows of `logits` put their largest value on the label `y` (float32 scalar)."""
    right = keras.ops.argmax(logits, axis=1) == keras.ops.cast(y, "int32")
    return keras.ops.sum(keras.ops.cast(right, "float32"))


def train_step(model: keras.Model, optimizer, loss_fn):
    """A compiled training step `step(x, y) -> (summed loss, correct predictions)` that updates the
    model's and the optimizer's variables in place (the mean loss's gradient, as Keras's fit takes it).

    JAX computes it statelessly (`stateless_call`, `optimizer.stateless_apply`) and writes the new
    values back, as Keras's own JAX trainer does.
    """

    def summary(loss, logits, y):
        return loss * keras.ops.cast(keras.ops.shape(y)[0], "float32"), correct_count(logits, y)

    if NAME == "tensorflow":

        @tf.function(reduce_retracing=True)
        def step(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss = loss_fn(y, logits)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return summary(loss, logits, y)

        return step
    if NAME == "jax":

        def loss_of(trainable, non_trainable, x, y):
            logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
            return loss_fn(y, logits), (logits, non_trainable)

        @jax.jit
        def pure(trainable, non_trainable, opt, x, y):
            (loss, (logits, non_trainable)), grads = jax.value_and_grad(loss_of, has_aux=True)(
                trainable, non_trainable, x, y
            )
            trainable, opt = optimizer.stateless_apply(opt, grads, trainable)
            return summary(loss, logits, y), trainable, non_trainable, opt

        def jax_step(x, y):
            groups = (model.trainable_variables, model.non_trainable_variables, optimizer.variables)
            out, *new = pure(*([v.value for v in g] for g in groups), x, y)
            for variables, values in zip(groups, new, strict=True):
                for v, value in zip(variables, values, strict=True):
                    v.assign(value)
            return out

        return jax_step

    def torch_step(x, y):
        x, y = tensor(x), tensor(y)
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
        model.zero_grad()
        loss.backward()
        grads = [v.value.grad for v in model.trainable_variables]
        with torch.no_grad():
            optimizer.apply(grads, model.trainable_variables)
        return tuple(t.detach() for t in summary(loss, logits, y))

    return torch_step


def trace_any_batch(fn, *args):
    """TensorFlow: trace `fn` (from `compile` or `model_function`) once with the first dimension of
    every argument unknown, as an `input_signature` would, so that every chunk size runs that one graph
    (no retrace per size, and the same kernels for every size). `args`: example arrays or tensors.
    Nothing on the other backends (JAX compiles per shape, torch runs eagerly)."""
    if NAME == "tensorflow":
        specs = [tf.TensorSpec([None, *a.shape[1:]], tf.as_dtype(a.dtype)) for a in args]
        fn.get_concrete_function(*specs)
    return fn


def batch_jacobian(f, x):
    """d f(x)[b, i] / d x[b] for every row b, shape [batch, outputs, *x.shape[1:]], where `f` maps a
    batch to [batch, outputs] row by row (a model in inference mode): TensorFlow's `batch_jacobian`,
    JAX's `jacrev` of the batch sum (one forward pass, a backward pass per output), torch's per output."""
    if NAME == "tensorflow":
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        return tape.batch_jacobian(y, x)
    if NAME == "jax":
        return jax.numpy.moveaxis(jax.jacrev(lambda z: jax.numpy.sum(f(z), axis=0))(x), 0, 1)
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        y = f(x)
        rows = [torch.autograd.grad(y[:, i].sum(), x, retain_graph=True)[0] for i in range(y.shape[1])]
    return torch.stack(rows, 1)


def take_rows(values, rows):
    """The rows of `values` that `active_rows` chose: a plain gather where shapes may change (no index
    fix-up ops: inside a loop each op costs), `values` itself where every row was chosen (JAX)."""
    if NAME == "tensorflow":
        return tf.gather(values, rows)
    if DYNAMIC_SHAPES:
        return keras.ops.take(values, rows, axis=0)
    return values


def put_rows(values, rows, updates, mask):
    """`values` with its `rows` (from `active_rows(mask)`) replaced by `updates` (computed on those
    rows): one scatter-update where shapes may change (TensorFlow: 8x cheaper than a scatter into zeros
    and a where over a CW gradient batch), a where over `mask` on JAX."""
    if DYNAMIC_SHAPES:
        return keras.ops.scatter_update(values, keras.ops.expand_dims(rows, 1), updates)
    mask = keras.ops.reshape(mask, [-1] + [1] * (len(keras.ops.shape(values)) - 1))
    return keras.ops.where(mask, updates, values)
