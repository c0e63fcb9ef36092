"""Atomic artifact writing and checked reading: a killed job never leaves a file that looks complete."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)


class ArtifactError(RuntimeError):
    """An input artifact is missing, truncated or not what this pipeline wrote."""


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp creates the file 0600; artifacts get the usual umask-based mode (shared storage)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(df: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_text(text: str, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_table(df: pd.DataFrame, csv, renderings: dict) -> None:
    """A table as CSV beside its renderings (path → text: markdown, LaTeX), each file written atomically."""
    write_csv(df, csv)
    for path, text in renderings.items():
        write_text(text, path)


def write_json(obj, path) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def read_json(path):
    return json.loads(Path(path).read_text())


def write_h5(path, arrays: dict, attrs: dict | None = None) -> None:
    """Write named arrays (and scalar/string attributes) to one HDF5 file atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=value)
        for key, value in (attrs or {}).items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value


def open_h5(path, required=()):
    """Open an HDF5 artifact for reading; a truncated or foreign file raises ArtifactError naming it, a
    file that another process holds open (HDF5's file lock) one that says so instead."""
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as err:
        if "unable to lock file" in str(err):
            raise ArtifactError(
                f"{path}: locked by another process that has it open for writing (an h5py.File(..., 'a')"
                " in a notebook, a running job); the file itself may be intact: close it there. On a file"
                f" system without locks (NFS), set HDF5_USE_FILE_LOCKING=FALSE ({err})"
            ) from err
        raise ArtifactError(
            f"{path}: not a readable HDF5 file ({err}); delete it and rerun its rule"
        ) from err
    missing = [k for k in required if k not in f]
    if missing:
        f.close()
        raise ArtifactError(f"{path}: missing {', '.join(missing)}; was it written by this pipeline?")
    return f


def read_h5(path, required=()) -> tuple[dict, dict]:
    """Read every top-level dataset and attribute of an HDF5 artifact into memory."""
    with open_h5(path, required) as f:
        arrays = {k: np.asarray(v) for k, v in f.items() if isinstance(v, h5py.Dataset)}
        attrs = {k: _decode(v) for k, v in f.attrs.items()}
    return arrays, attrs


def _decode(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        with contextlib.suppress(json.JSONDecodeError):
            return json.loads(value)
    return value.item() if isinstance(value, np.generic) else value
