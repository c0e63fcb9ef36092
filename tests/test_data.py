import numpy as np
import pytest

from robustcurves import data


def test_mnist5k_is_padded_stratified_and_seeded():
    a = data.mnist5k(seed=3, test_fraction=0.2)
    assert a["x_train"].shape == (4000, 32, 32, 1) and a["x_test"].shape == (1000, 32, 32, 1)
    assert a["x_train"].dtype == np.uint8
    # zero padding of 2 pixels around the 28x28 digits
    assert a["x_train"][:, :2].max() == 0 and a["x_train"][:, :, -2:].max() == 0
    assert np.bincount(a["y_test"]).tolist() == [100] * 10
    b = data.mnist5k(seed=3, test_fraction=0.2)
    assert np.array_equal(a["y_test"], b["y_test"]) and np.array_equal(a["x_test"], b["x_test"])
    assert not np.array_equal(a["y_test"], data.mnist5k(seed=4, test_fraction=0.2)["y_test"])


def test_folds_are_stratified_disjoint_and_cover_everything():
    y = np.repeat(np.arange(4), 50)
    fold = data.stratified_folds(y, k=5, seed=1)
    assert sorted(np.unique(fold)) == [0, 1, 2, 3, 4]
    for k in range(5):
        assert np.bincount(y[fold == k], minlength=4).tolist() == [10, 10, 10, 10]
    # each sample in exactly one fold: the folds partition the training set
    assert len(fold) == len(y)
    assert np.array_equal(fold, data.stratified_folds(y, k=5, seed=1))


def test_validate_accepts_float_and_grayscale_and_rejects_bad_layouts():
    x = np.random.default_rng(0).uniform(0, 1, (6, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    ok = data.validate({"x_train": x, "y_train": y, "x_test": x, "y_test": y}, "mem")
    assert ok["x_train"].shape == (6, 8, 8, 1) and ok["x_train"].dtype == np.uint8
    assert ok["class_names"] == ["0", "1", "2"]
    with pytest.raises(data.DatasetError, match="mem: missing y_test"):
        data.validate({"x_train": x, "y_train": y, "x_test": x}, "mem")
    with pytest.raises(data.DatasetError, match="x_train has 6 images but y_train has 5 labels"):
        data.validate({"x_train": x, "y_train": y[:5], "x_test": x, "y_test": y}, "mem")
    with pytest.raises(data.DatasetError, match="mem: x_test holds no images"):
        data.validate({"x_train": x, "y_train": y, "x_test": x[:0], "y_test": y[:0]}, "mem")
    with pytest.raises(data.DatasetError, match=r"in \[0, 1\]"):
        data.validate({"x_train": x * 2, "y_train": y, "x_test": x, "y_test": y}, "mem")


def test_save_and_load_roundtrip(tmp_path):
    d = data.mnist5k(seed=0, test_fraction=0.1)
    data.save(d, tmp_path / "d.h5", source="test")
    back = data.load(tmp_path / "d.h5")
    assert np.array_equal(back["x_test"], d["x_test"]) and back["class_names"] == d["class_names"]
