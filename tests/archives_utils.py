"""Tiny archives in the official CIFAR-10 / STL-10 binary formats, and a loopback HTTP server."""

import hashlib
import http.server
import io
import tarfile
import threading
from contextlib import contextmanager

import numpy as np

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_tar(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cifar10_archive(path, per_batch=20, seed=0):
    """Returns (sha256, images NHWC of test batch, labels of test batch)."""
    rng = np.random.default_rng(seed)

    def batch():
        x = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        y = (np.arange(per_batch) % 10).astype(np.uint8)
        chw = x.transpose(0, 3, 1, 2).reshape(per_batch, -1)  # R plane, G plane, B plane
        return np.concatenate([y[:, None], chw], axis=1).tobytes(), x, y

    members = {}
    for i in range(1, 6):
        members[f"cifar-10-batches-bin/data_batch_{i}.bin"] = batch()[0]
    blob, x, y = batch()
    members["cifar-10-batches-bin/test_batch.bin"] = blob
    members["cifar-10-batches-bin/batches.meta.txt"] = ("\n".join(CIFAR_CLASSES) + "\n\n").encode()
    return write_tar(path, members), x, y


def stl10_archive(path, n=20, seed=0):
    """Returns (sha256, test images NHWC, test labels 0..9)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)
    y = np.arange(n) % 10
    column_major = x.transpose(0, 3, 2, 1).tobytes()  # how STL-10 stores images
    members = {
        "stl10_binary/train_X.bin": column_major,
        "stl10_binary/train_y.bin": (y + 1).astype(np.uint8).tobytes(),
        "stl10_binary/test_X.bin": column_major,
        "stl10_binary/test_y.bin": (y + 1).astype(np.uint8).tobytes(),
        "stl10_binary/unlabeled_X.bin": b"\0" * (3 * 96 * 96),
        "stl10_binary/class_names.txt": b"airplane\nbird\ncar\ncat\ndeer\ndog\nhorse\nmonkey\nship\ntruck\n",
    }
    return write_tar(path, members), x, y


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support; `cut_at` drops the connection after that many bytes."""

    cut_at = None
    ranges = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.translate_path(self.path)
        try:
            data = open(path, "rb").read()
        except OSError:
            self.send_error(404)
            return
        start = 0
        header = self.headers.get("Range")
        if header and self.ranges:
            start = int(header.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if self.cut_at is not None:
            body = body[: self.cut_at]
        self.wfile.write(body)
        self.wfile.flush()
        if self.cut_at is not None:
            self.close_connection = True


@contextmanager
def serve(directory, **options):
    """An HTTP server on 127.0.0.1 (a free port) serving `directory`; yields its base URL."""
    handler = type("Handler", (RangeHandler,), options)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: handler(*a, directory=str(directory), **k)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
