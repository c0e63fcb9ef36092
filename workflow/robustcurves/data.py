"""Datasets as uint8 NHWC arrays: their validation, the checks before a network trains on a user's arrays,
and the prepared dataset file."""

from __future__ import annotations

import hashlib
import logging

import numpy as np

from robustcurves.io import read_h5, write_h5

KEYS = ("x_train", "y_train", "x_test", "y_test")

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset file or array does not have the layout the pipeline needs."""


def validate(arrays: dict, source: str) -> dict:
    """Check keys, shapes, ranges and lengths; return uint8 NHWC images and int64 labels.

    One-hot labels become class numbers; channels-first images are refused, naming the transpose.
    """
    missing = [k for k in KEYS if k not in arrays]
    if missing:
        raise DatasetError(f"{source}: missing {', '.join(missing)} (needs {', '.join(KEYS)})")
    out = {}
    for split in ("train", "test"):
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        if x.ndim == 4 and x.shape[1] in (1, 3, 4) and x.shape[-1] > 4:
            raise DatasetError(
                f"{source}: x_{split} has shape {x.shape}, channels first (N x C x H x W); the pipeline "
                f"needs channels last (N x H x W x C): save x.transpose(0, 2, 3, 1) instead"
            )
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise DatasetError(f"{source}: x_{split} has shape {x.shape}; expected N x H x W x C")
        # labels by shape against the image count N: (N,), (N, 1) or one-hot (N, C), never guessed
        # from a 1 anywhere in the shape (one image with a one-hot label is (1, C))
        if y.ndim == 2 and y.shape == (len(x), 1):
            y = y.reshape(-1)
        if y.ndim == 2 and y.shape[0] == len(x) and _is_onehot(y):
            log.info("%s: y_%s is one-hot (%d columns): taking the argmax", source, split, y.shape[1])
            y = y.argmax(axis=1)
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


def trainable(dataset: dict, source: str) -> dict:
    """What a user's validated arrays need before a network trains on them (official archives have it).

    Labels that are not 0..C-1 with every class present in training (1..10, or with gaps) are
    renumbered 0..C-1 in sorted order, named by `class_names[value]` (the value itself unless the
    file names it); a test label no training image has, or a single class in training or test, is refused
    (docs/datasets.md). Whether the images are large enough is the model's to say (models.build).
    """
    out = dict(dataset)
    values = np.unique(out["y_train"])
    unseen = np.setdiff1d(np.unique(out["y_test"]), values)
    if len(values) < 2:
        raise DatasetError(f"{source}: y_train holds a single class ({values.tolist()}); need at least 2")
    if len(np.unique(out["y_test"])) < 2:
        raise DatasetError(
            f"{source}: y_test holds a single class ({np.unique(out['y_test']).tolist()}); need at least 2: "
            "on one class, accuracy and attack success cannot tell a network from a constant answer"
        )
    if len(unseen):
        raise DatasetError(
            f"{source}: y_test has labels {unseen.tolist()[:10]} that no training image has; "
            "every class must be present in training"
        )
    if not np.array_equal(values, np.arange(len(values))) or len(out["class_names"]) != len(values):
        names = [out["class_names"][v] for v in values]
        for split in ("train", "test"):
            out[f"y_{split}"] = np.searchsorted(values, out[f"y_{split}"]).astype(np.int64)
        if not np.array_equal(values, np.arange(len(values))):
            log.warning(
                "%s: labels %s are not 0..%d: renumbered 0..%d in sorted order, named %s",
                source,
                _span(values),
                len(values) - 1,
                len(values) - 1,
                _span(names),
            )
        else:
            log.warning("%s: classes 0..%d only: keeping their names", source, len(values) - 1)
        out["class_names"] = names
    return out


def _is_onehot(y: np.ndarray) -> bool:
    return y.shape[1] > 1 and bool(np.isin(y, (0, 1)).all()) and bool((y.sum(axis=1) == 1).all())


def _span(values) -> str:
    values = [str(v) for v in values]
    return ", ".join(values) if len(values) <= 12 else f"{', '.join(values[:5])}, ..., {values[-1]}"


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


def load_test(path) -> tuple[np.ndarray, np.ndarray]:
    """A prepared dataset's test images, float32 NHWC in [0, 1], and labels, int64: what the stages after
    training attack and measure."""
    dataset = load(path)
    return to_float(dataset["x_test"]), dataset["y_test"]


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 images on disk → float32 in [0, 1] inside the library."""
    return x.astype(np.float32) / 255.0
