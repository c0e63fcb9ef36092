"""Download → verify → parse the official archive formats, served from 127.0.0.1; and the bad cases."""

import numpy as np
import pytest

from archives_utils import CIFAR_CLASSES, cifar10_archive, serve, stl10_archive, write_tar
from robustcurves import archives, data
from robustcurves.stages import download, prepare


def test_cifar10_download_verify_and_parse(tmp_path):
    sha, x_test, y_test = cifar10_archive(tmp_path / "srv.tar.gz")
    with serve(tmp_path) as url:
        path = download.download(f"{url}/srv.tar.gz", tmp_path / "dl/cifar10.tar.gz", sha)
    d = archives.load("cifar10", path, sha)
    assert d["x_train"].shape == (100, 32, 32, 3) and d["x_test"].shape == (20, 32, 32, 3)
    np.testing.assert_array_equal(d["x_test"], x_test)  # a pixel survives the CHW → HWC transform
    assert d["x_test"][3, 4, 5, 2] == x_test[3, 4, 5, 2]
    np.testing.assert_array_equal(d["y_test"], y_test)
    assert d["class_names"][0] == "airplane" and len(d["class_names"]) == 10
    assert not (tmp_path / "dl/cifar10.tar.gz.part").exists()


def test_stl10_column_major_images_and_labels_one_to_ten(tmp_path):
    sha, x, y = stl10_archive(tmp_path / "stl.tar.gz")
    d = archives.load("stl10", tmp_path / "stl.tar.gz", sha)
    assert d["x_test"].shape == (20, 96, 96, 3)
    np.testing.assert_array_equal(d["x_test"], x)
    assert d["x_test"][1, 10, 70, 2] == x[1, 10, 70, 2]
    np.testing.assert_array_equal(d["y_test"], y)  # 1..10 on disk → 0..9
    assert d["class_names"][2] == "car"


def test_checksum_mismatch_names_file_expected_and_actual_and_leaves_nothing(tmp_path):
    sha, *_ = cifar10_archive(tmp_path / "srv.tar.gz")
    wrong = "0" * 64
    dest = tmp_path / "dl/cifar10.tar.gz"
    with serve(tmp_path) as url, pytest.raises(download.ArchiveError) as err:
        download.download(f"{url}/srv.tar.gz", dest, wrong)
    message = str(err.value)
    assert "cifar10.tar.gz" in message and f"expected sha256 {wrong}" in message and f"got {sha}" in message
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()
    with pytest.raises(
        archives.ArchiveError, match=f"srv.tar.gz: checksum mismatch: expected sha256 {wrong}"
    ):
        archives.load("cifar10", tmp_path / "srv.tar.gz", wrong)


def test_truncated_transfer_is_an_error_then_resumes_with_a_range_request(tmp_path):
    sha, *_ = stl10_archive(tmp_path / "stl.tar.gz")
    size = (tmp_path / "stl.tar.gz").stat().st_size
    dest = tmp_path / "dl/stl10.tar.gz"
    with (
        serve(tmp_path, cut_at=size // 3) as url,
        pytest.raises(download.ArchiveError, match="transfer ended"),
    ):
        download.download(f"{url}/stl.tar.gz", dest, sha)
    part = dest.with_name(dest.name + ".part")
    assert not dest.exists() and part.stat().st_size == size // 3
    with serve(tmp_path) as url:
        download.download(f"{url}/stl.tar.gz", dest, sha)
    assert dest.stat().st_size == size and not part.exists()


def test_restarts_when_the_server_ignores_ranges(tmp_path):
    sha, *_ = cifar10_archive(tmp_path / "srv.tar.gz")
    dest = tmp_path / "dl/c.tar.gz"
    dest.parent.mkdir()
    dest.with_name("c.tar.gz.part").write_bytes(b"stale bytes from elsewhere")
    with serve(tmp_path, ranges=False) as url:
        download.download(f"{url}/srv.tar.gz", dest, sha)
    assert download.sha256(dest) == sha


def test_corrupt_and_incomplete_archives_name_the_file(tmp_path):
    cifar10_archive(tmp_path / "good.tar.gz")
    raw = (tmp_path / "good.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(archives.ArchiveError, match="cut.tar.gz: corrupt or truncated archive"):
        archives.read_cifar10(tmp_path / "cut.tar.gz")
    stl10_archive(tmp_path / "stl.tar.gz")
    with pytest.raises(archives.ArchiveError, match="stl.tar.gz: missing .*data_batch_1.bin"):
        archives.read_cifar10(tmp_path / "stl.tar.gz")
    with pytest.raises(archives.ArchiveError, match="nope.tar.gz: archive not found"):
        archives.load("stl10", tmp_path / "nope.tar.gz")


def _cifar_members(test_batch: bytes) -> dict:
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": bytes(3073) for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = test_batch
    members["cifar-10-batches-bin/batches.meta.txt"] = "\n".join(CIFAR_CLASSES).encode()
    return members


def test_cifar10_byte_layout_written_by_hand(tmp_path):
    """One record built from the format's description: label, then R, G, B planes, each row-major."""
    record = bytearray(3073)
    record[0] = 7
    record[1 + 1 * 1024 + 4 * 32 + 5] = 200  # G plane, row 4, column 5
    write_tar(tmp_path / "c.tar.gz", _cifar_members(bytes(record)))
    d = archives.read_cifar10(tmp_path / "c.tar.gz")
    assert d["y_test"].tolist() == [7] and d["x_test"].shape == (1, 32, 32, 3)
    assert d["x_test"][0, 4, 5, 1] == 200 and d["x_test"].sum() == 200


def test_stl10_byte_layout_written_by_hand(tmp_path):
    """Column-major: within a channel plane, pixels go down each column, then to the next column."""
    image = bytearray(3 * 96 * 96)
    image[2 * 96 * 96 + 70 * 96 + 10] = 99  # blue, row 10, column 70
    names = "\n".join(f"c{i}" for i in range(10)).encode()
    members = {
        "stl10_binary/train_X.bin": bytes(image),
        "stl10_binary/train_y.bin": bytes([10]),
        "stl10_binary/test_X.bin": bytes(image),
        "stl10_binary/test_y.bin": bytes([1]),
        "stl10_binary/class_names.txt": names,
    }
    write_tar(tmp_path / "s.tar.gz", members)
    d = archives.read_stl10(tmp_path / "s.tar.gz")
    assert d["x_train"][0, 10, 70, 2] == 99 and d["x_train"].sum() == 99
    assert d["y_train"].tolist() == [9] and d["y_test"].tolist() == [0]
    members["stl10_binary/test_y.bin"] = bytes([0])  # labels start at 1 on disk
    write_tar(tmp_path / "s.tar.gz", members)
    with pytest.raises(archives.ArchiveError, match="s.tar.gz: y_test has labels outside 0..9"):
        archives.read_stl10(tmp_path / "s.tar.gz")


def test_members_of_the_wrong_size_name_archive_and_member(tmp_path):
    write_tar(tmp_path / "c.tar.gz", _cifar_members(bytes(3000)))
    with pytest.raises(archives.ArchiveError, match="c.tar.gz: test_batch.bin is 3000 bytes"):
        archives.read_cifar10(tmp_path / "c.tar.gz")
    write_tar(tmp_path / "c.tar.gz", _cifar_members(b""))
    with pytest.raises(archives.ArchiveError, match="c.tar.gz: x_test holds no images"):
        archives.read_cifar10(tmp_path / "c.tar.gz")
    with pytest.raises(archives.ArchiveError, match="unknown archive kind 'mnist'"):
        archives.load("mnist", tmp_path / "c.tar.gz")


def test_links_and_escaping_member_names_are_never_followed_or_written(tmp_path):
    """Members are read into memory by base name: a `../` name writes nothing, a link is not a file."""
    import io
    import tarfile

    record = bytes(3073)
    members = {f"../../{k.split('/')[-1]}": v for k, v in _cifar_members(record).items()}
    write_tar(tmp_path / "escape.tar.gz", members)
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    assert archives.read_cifar10(tmp_path / "escape.tar.gz")["x_test"].shape == (1, 32, 32, 3)
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before

    with tarfile.open(tmp_path / "link.tar.gz", "w:gz") as tar:
        for name, blob in _cifar_members(record).items():
            if name.endswith("test_batch.bin"):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(archives.ArchiveError, match="link.tar.gz: missing test_batch.bin"):
        archives.read_cifar10(tmp_path / "link.tar.gz")


def test_dropped_connections_resume_within_one_call_and_log_progress(tmp_path):
    sha, *_ = stl10_archive(tmp_path / "stl.tar.gz")
    size = (tmp_path / "stl.tar.gz").stat().st_size
    dest, lines = tmp_path / "dl/stl10.tar.gz", []
    with serve(tmp_path, cut_at=size // 3 + 1) as url:
        download.download(f"{url}/stl.tar.gz", dest, sha, log=lines.append, attempts=3)
    assert download.sha256(dest) == sha
    assert sum("resuming after" in line for line in lines) == 2
    assert any("interrupted (transfer ended after" in line for line in lines)
    assert any("MB (100%)" in line for line in lines) and "verified" in lines[-1]


def test_a_complete_part_file_is_verified_without_refetching(tmp_path):
    """A job killed between the last byte and the rename: the server answers 416 to the range."""
    sha, *_ = cifar10_archive(tmp_path / "srv.tar.gz")
    dest = tmp_path / "dl/c.tar.gz"
    dest.parent.mkdir()
    dest.with_name("c.tar.gz.part").write_bytes((tmp_path / "srv.tar.gz").read_bytes())
    lines = []
    with serve(tmp_path) as url:
        download.download(f"{url}/srv.tar.gz", dest, sha, log=lines.append)
    assert download.sha256(dest) == sha and any("already complete" in line for line in lines)


def test_http_errors_name_the_url_and_leave_nothing(tmp_path):
    dest = tmp_path / "dl/c.tar.gz"
    with serve(tmp_path) as url, pytest.raises(download.ArchiveError, match=r"missing.tar.gz: HTTP 404"):
        download.download(f"{url}/missing.tar.gz", dest, "0" * 64, attempts=3)
    assert not dest.exists()


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x_train": np.zeros((4, 8, 8, 3), np.uint8), "y_train": np.zeros(4)}, "missing x_test, y_test"),
        ({"x_train": np.zeros((4, 8), np.uint8)}, "x_train has shape (4, 8); expected N x H x W x C"),
        ({"y_train": np.array([0, 1, -1, 2])}, "labels must be 0..C-1"),
        ({"y_train": np.array([0.5, 1, 1, 2])}, "labels must be integers"),
        ({"y_test": np.zeros(3, np.int64)}, "x_test has 4 images but y_test has 3 labels"),
        ({"x_test": np.full((4, 8, 8, 3), 1.5, np.float32)}, "float images must be finite and in [0, 1]"),
        ({"x_test": np.zeros((4, 9, 9, 3), np.uint8)}, "differ in shape"),
        ({"class_names": np.array(["a", "b", "c"])}, "3 class names for 4 classes"),
        ({"x_train": np.zeros((4, 8, 8, 3), np.int16)}, "dtype int16; expected uint8 or float in [0, 1]"),
    ],
)
def test_own_npz_is_validated_with_clear_errors(tmp_path, arrays, message):
    good = {
        "x_train": np.zeros((4, 8, 8, 3), np.uint8),
        "y_train": np.arange(4),
        "x_test": np.zeros((4, 8, 8, 3)),
        "y_test": np.arange(4),
    }
    bad = {**good, **arrays}
    if "missing" in message:
        bad = arrays
    np.savez(tmp_path / "mine.npz", **bad)
    with pytest.raises(data.DatasetError) as err:
        prepare.load_arrays(tmp_path / "mine.npz")
    assert str(err.value).startswith(str(tmp_path / "mine.npz")) and message in str(err.value)


def test_workflow_downloads_and_prepares_both_datasets(tmp_path):
    """The download and prepare rules for real, from a loopback server, then a bad checksum."""
    import yaml

    from workflow_utils import snakemake, workflow_copy

    srv = tmp_path / "srv"
    srv.mkdir()
    sha_c, x_c, _ = cifar10_archive(srv / "cifar-10-binary.tar.gz")
    sha_s, x_s, _ = stl10_archive(srv / "stl10_binary.tar.gz")
    work = workflow_copy(tmp_path / "work")
    config = yaml.safe_load((work / "tests/config/tiny.yaml").read_text())
    with serve(srv) as url:
        config["datasets"] = {
            "cifar": {"kind": "cifar10", "url": f"{url}/cifar-10-binary.tar.gz", "sha256": sha_c},
            "stl": {"kind": "stl10", "url": f"{url}/stl10_binary.tar.gz", "sha256": sha_s},
        }
        (work / "c.yaml").write_text(yaml.safe_dump(config))
        snakemake(work, "resources/cifar.h5", "resources/stl.h5", "--configfile", "c.yaml")
        assert "verified resources/archives/stl.tar.gz" in (work / "logs/download/stl.log").read_text()
        np.testing.assert_array_equal(data.load(work / "resources/cifar.h5")["x_test"], x_c)
        np.testing.assert_array_equal(data.load(work / "resources/stl.h5")["x_test"], x_s)

        config["datasets"]["bad"] = {
            "kind": "cifar10",
            "url": f"{url}/cifar-10-binary.tar.gz",
            "sha256": "1" * 64,
        }
        (work / "c.yaml").write_text(yaml.safe_dump(config))
        proc = snakemake(work, "resources/bad.h5", "--configfile", "c.yaml", check=False)
    assert proc.returncode != 0
    log = (work / "logs/download/bad.log").read_text()
    assert f"expected sha256 {'1' * 64}, got {sha_c}" in log
    assert not (work / "resources/archives/bad.tar.gz").exists()
    assert not (work / "resources/bad.h5").exists()


def test_workflow_reads_a_local_archive_without_downloading(tmp_path):
    """`archive:` skips the download rule; a copy that is not the configured one fails in prepare."""
    import yaml

    from workflow_utils import snakemake, workflow_copy

    work = workflow_copy(tmp_path / "work")
    sha, x, _ = cifar10_archive(tmp_path / "mine.tar.gz")
    config = yaml.safe_load((work / "tests/config/tiny.yaml").read_text())
    local = {"kind": "cifar10", "archive": str(tmp_path / "mine.tar.gz"), "sha256": sha}
    config["datasets"] = {"local": local, "wrong": {**local, "sha256": "2" * 64}}
    (work / "c.yaml").write_text(yaml.safe_dump(config))
    snakemake(work, "resources/local.h5", "--configfile", "c.yaml")
    np.testing.assert_array_equal(data.load(work / "resources/local.h5")["x_test"], x)
    assert not (work / "logs/download").exists()
    proc = snakemake(work, "resources/wrong.h5", "--configfile", "c.yaml", check=False)
    assert proc.returncode != 0
    assert (
        f"mine.tar.gz: checksum mismatch: expected sha256 {'2' * 64}, got {sha}"
        in (work / "logs/prepare/wrong.log").read_text()
    )
    assert not (work / "resources/wrong.h5").exists()
