"""The download stage: an official CIFAR-10 or STL-10 archive fetched, resumably, and kept only once its
SHA-256 is the published one."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path

_log = logging.getLogger(__name__)

# Published SHA-256 and sizes of the official archives, as tensorflow-datasets 4.9.10 records them
# (tensorflow_datasets/url_checksums/cifar10.txt and datasets/stl10/checksums.tsv); the same values
# appear in other, independent dataset loaders in public code (a Go CIFAR-10 and a Julia STL-10 one).
DEFAULTS = {
    "cifar10": {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        "sha256": "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    },
    "stl10": {
        "url": "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
        "sha256": "f31fd99273a1acb8609c8db427cebb1de3f71de77758cdc0e22956e1289b9866",
    },
}


class ArchiveError(RuntimeError):
    """A download or archive is incomplete, corrupt or not the one expected."""


class ChecksumError(ArchiveError):
    """The bytes are complete but not the expected ones: retrying cannot help."""


def sha256(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path, expected: str) -> None:
    """Raise ArchiveError naming `path` unless its SHA-256 is `expected`."""
    actual = sha256(path)
    if actual != expected.lower():
        raise ChecksumError(f"{path}: checksum mismatch: expected sha256 {expected}, got {actual}")


def download(
    url: str,
    dest,
    expected_sha256: str,
    log: Callable[[str], None] | None = None,
    chunk: int = 1 << 20,
    timeout: float = 60,
    attempts: int = 1,
) -> Path:
    """Fetch `url` to `dest`, resuming a previous `dest.part`; `dest` appears only once verified.

    A short transfer or a network error keeps the bytes in `dest.part` and resumes from them, up to
    `attempts` times in all, then raises ArchiveError (the next call resumes too). A checksum mismatch
    raises ChecksumError at once and deletes the bytes: restarting from them could never succeed.
    `log` receives progress lines (default: this module's logger at INFO).
    """
    say = log or _log.info
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            _fetch(url, part, say, chunk, timeout)
            break
        except urllib.error.HTTPError as err:  # the server refused: retrying will not help
            raise ArchiveError(f"{url}: HTTP {err.code} {err.reason} (downloading to {dest})") from err
        except (OSError, HTTPException, ArchiveError) as err:  # dropped, reset, timed out, short: resume
            message = f"{url}: download to {part} interrupted ({err}); rerun to resume"
            if attempt == attempts:
                raise ArchiveError(message) from err
            say(f"{message}; attempt {attempt + 1} of {attempts}")
    actual = sha256(part)
    if actual != expected_sha256.lower():
        part.unlink()
        raise ChecksumError(
            f"{url} -> {dest}: checksum mismatch: expected sha256 {expected_sha256}, got {actual}; "
            "the downloaded file was removed"
        )
    os.replace(part, dest)
    say(f"{dest}: sha256 {actual} verified")
    return dest


def _fetch(url: str, part: Path, say, chunk: int, timeout: float) -> None:
    """Append the rest of `url` to `part` (all of it when the server cannot resume)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if have and err.code == 416:  # nothing left to fetch: `part` is complete (or too long)
            say(f"{part}: already complete ({have / 1e6:.1f} MB); verifying")
            return
        raise
    with response:
        if have and not _resumes(response, have):
            say(f"{url}: server does not resume; restarting")
            have = 0
        elif have:
            say(f"{url}: resuming after {have / 1e6:.1f} MB")
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        received = _stream(response, part, have, total, say, chunk)
    if total is not None and received < total:
        raise ArchiveError(f"transfer ended after {received} of {total} bytes")


def _resumes(response, have: int) -> bool:
    """A 206 whose Content-Range starts where `part` ends; anything else is the whole file again."""
    content_range = response.headers.get("Content-Range", "")
    return response.status == 206 and content_range.startswith(f"bytes {have}-")


def _stream(response, part: Path, have: int, total: int | None, say, chunk: int) -> int:
    """Write the body to `part` (appending after `have` bytes); log every ~5 s; return bytes held."""
    received, last = have, time.monotonic()
    with open(part, "r+b" if have else "wb") as f:
        f.seek(have)
        f.truncate()
        while block := response.read(chunk):
            f.write(block)
            received += len(block)
            if time.monotonic() - last > 5:
                last = time.monotonic()
                say(_progress(part.name, received, total))
    say(_progress(part.name, received, total))
    return received


def _progress(name: str, received: int, total: int | None) -> str:
    pct = f" of {total / 1e6:.1f} MB ({100 * received / total:.0f}%)" if total else ""
    return f"{name}: {received / 1e6:.1f} MB{pct}"
