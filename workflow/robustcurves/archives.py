"""Official CIFAR-10 and STL-10 archives parsed with numpy (the prepare stage reads them).

Nothing from the network is unpickled (CIFAR-10's binary version is plain bytes) and nothing is
extracted to disk: the needed members are streamed out of the tar file, so no member path can escape
anywhere, and STL-10's 100,000 unlabeled images are never read.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from robustcurves.data import DatasetError, validate
from robustcurves.stages.download import ArchiveError, verify


def _members(archive, wanted: dict[str, str]) -> dict[str, bytes]:
    """Read the regular-file members with the wanted base names into memory; nothing touches disk.

    Links are skipped (a member named like a wanted file but linking elsewhere counts as missing), and
    member paths are only compared, never used to write, so `../` or absolute names are harmless.
    """
    by_name = {name: key for key, name in wanted.items()}
    found = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                key = by_name.get(member.name.rsplit("/", 1)[-1])
                if key is None or key in found or not member.isfile():
                    continue
                found[key] = tar.extractfile(member).read()
                if len(found) == len(wanted):
                    break
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise ArchiveError(f"{archive}: corrupt or truncated archive ({err})") from err
    missing = [name for key, name in wanted.items() if key not in found]
    if missing:
        raise ArchiveError(f"{archive}: missing {', '.join(missing)} (not the official archive?)")
    return found


def read_cifar10(archive) -> dict:
    """cifar-10-binary.tar.gz: records of 1 label byte + 3072 bytes (R, G, B planes of 32x32)."""
    names = {f"train{i}": f"data_batch_{i}.bin" for i in range(1, 6)}
    names |= {"test": "test_batch.bin", "meta": "batches.meta.txt"}
    raw = _members(archive, names)

    def records(blob: bytes, name: str):
        if len(blob) % 3073:
            raise ArchiveError(f"{archive}: {name} is {len(blob)} bytes, not a multiple of 3073")
        r = np.frombuffer(blob, np.uint8).reshape(-1, 3073)
        chw = r[:, 1:].reshape(-1, 3, 32, 32)
        return np.ascontiguousarray(chw.transpose(0, 2, 3, 1)), r[:, 0].astype(np.int64)

    train = [records(raw[f"train{i}"], names[f"train{i}"]) for i in range(1, 6)]
    x_test, y_test = records(raw["test"], names["test"])
    classes = _names(raw["meta"])
    return _checked(
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        x_test,
        y_test,
        classes,
        archive,
    )


def read_stl10(archive) -> dict:
    """stl10_binary.tar.gz: 96x96x3 images stored column-major, labels 1..10; unlabeled part skipped."""
    names = {
        "x_train": "train_X.bin",
        "y_train": "train_y.bin",
        "x_test": "test_X.bin",
        "y_test": "test_y.bin",
        "classes": "class_names.txt",
    }
    raw = _members(archive, names)

    def images(blob: bytes, name: str):
        if len(blob) % (3 * 96 * 96):
            raise ArchiveError(f"{archive}: {name} is {len(blob)} bytes, not a multiple of 3x96x96")
        column_major = np.frombuffer(blob, np.uint8).reshape(-1, 3, 96, 96)  # N, C, W, H
        return np.ascontiguousarray(column_major.transpose(0, 3, 2, 1))

    labels = {k: np.frombuffer(raw[k], np.uint8).astype(np.int64) - 1 for k in ("y_train", "y_test")}
    classes = _names(raw["classes"])
    return _checked(
        images(raw["x_train"], names["x_train"]),
        labels["y_train"],
        images(raw["x_test"], names["x_test"]),
        labels["y_test"],
        classes,
        archive,
    )


def _names(blob: bytes) -> list[str]:
    return [line.strip() for line in blob.decode("utf-8", "replace").splitlines() if line.strip()]


def _checked(x_train, y_train, x_test, y_test, classes, archive) -> dict:
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for key in ("x_train", "x_test"):
        if not len(arrays[key]):
            raise ArchiveError(f"{archive}: {key} holds no images")
    for key in ("y_train", "y_test"):
        if arrays[key].size and (arrays[key].min() < 0 or arrays[key].max() >= len(classes)):
            raise ArchiveError(f"{archive}: {key} has labels outside 0..{len(classes) - 1}")
    try:
        return validate({**arrays, "class_names": classes}, str(archive))
    except DatasetError as err:
        raise ArchiveError(str(err)) from err


READERS = {"cifar10": read_cifar10, "stl10": read_stl10}


def load(kind: str, archive, sha256_expected: str | None = None) -> dict:
    """Verify (when a checksum is given) and parse an official archive into a dataset dict."""
    if not Path(archive).exists():
        raise ArchiveError(f"{archive}: archive not found (datasets.<name>.archive in the config?)")
    if kind not in READERS:
        raise ArchiveError(f"{archive}: unknown archive kind {kind!r}; expected one of {', '.join(READERS)}")
    if sha256_expected:
        verify(archive, sha256_expected)
    return READERS[kind](archive)
