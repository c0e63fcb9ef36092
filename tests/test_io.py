import numpy as np
import pytest

from robustcurves import io


def test_atomic_path_leaves_nothing_when_the_block_fails(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_truncated_or_foreign_h5_names_the_file(tmp_path):
    io.write_h5(tmp_path / "a.h5", {"x": np.arange(1000)})
    raw = (tmp_path / "a.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(io.ArtifactError, match="cut.h5: not a readable HDF5 file"):
        io.read_h5(tmp_path / "cut.h5")
    (tmp_path / "foreign.h5").write_text("not hdf5")
    with pytest.raises(io.ArtifactError, match="foreign.h5"):
        io.read_h5(tmp_path / "foreign.h5")
    with pytest.raises(io.ArtifactError, match="a.h5: missing y"):
        io.read_h5(tmp_path / "a.h5", required=("x", "y"))


def test_h5_attributes_roundtrip(tmp_path):
    io.write_h5(tmp_path / "b.h5", {"x": np.ones(3)}, {"params": {"eps": 0.3}, "name": "fgsm", "n": 3})
    arrays, attrs = io.read_h5(tmp_path / "b.h5")
    assert attrs == {"params": {"eps": 0.3}, "name": "fgsm", "n": 3}
    assert arrays["x"].tolist() == [1, 1, 1]


def test_artifacts_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    io.write_text("x", tmp_path / "a.txt")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~io._UMASK


def test_a_file_another_process_holds_open_is_called_locked_not_corrupt(tmp_path):
    """Issue 21: an intact artifact held open for writing elsewhere must not be called unreadable."""
    import subprocess
    import sys

    import h5py

    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2, 3]
    hold = (
        "import h5py, sys, time; f = h5py.File(sys.argv[1], 'a'); print('open', flush=True)"
        + "; time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "open"
        with pytest.raises(io.ArtifactError) as err:
            io.open_h5(path)
        text = str(err.value)
        assert "locked by another process" in text and "HDF5_USE_FILE_LOCKING=FALSE" in text
        assert "delete it" not in text
    finally:
        proc.kill()
        proc.wait()
    with io.open_h5(path, required=("x",)) as f:  # intact once released
        assert list(f["x"][()]) == [1, 2, 3]
