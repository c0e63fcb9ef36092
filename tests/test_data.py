import logging

import numpy as np
import pytest

from robustcurves import data
from robustcurves.stages import prepare, split


def test_mnist5k_is_padded_stratified_and_seeded():
    a = prepare.mnist5k(seed=3, test_fraction=0.2)
    assert a["x_train"].shape == (4000, 32, 32, 1) and a["x_test"].shape == (1000, 32, 32, 1)
    assert a["x_train"].dtype == np.uint8
    # zero padding of 2 pixels around the 28x28 digits
    assert a["x_train"][:, :2].max() == 0 and a["x_train"][:, :, -2:].max() == 0
    assert np.bincount(a["y_test"]).tolist() == [100] * 10
    b = prepare.mnist5k(seed=3, test_fraction=0.2)
    assert np.array_equal(a["y_test"], b["y_test"]) and np.array_equal(a["x_test"], b["x_test"])
    assert not np.array_equal(a["y_test"], prepare.mnist5k(seed=4, test_fraction=0.2)["y_test"])


def test_folds_are_stratified_disjoint_and_cover_everything():
    y = np.repeat(np.arange(4), 50)
    fold = split.stratified_folds(y, k=5, seed=1)
    assert sorted(np.unique(fold)) == [0, 1, 2, 3, 4]
    for k in range(5):
        assert np.bincount(y[fold == k], minlength=4).tolist() == [10, 10, 10, 10]
    # uneven classes: every sample gets a fold in range, and each class spreads over the folds by at
    # most one sample apart (an unassigned sample would keep np.empty's garbage)
    uneven = np.repeat(np.arange(3), [23, 17, 11])
    fold_u = split.stratified_folds(uneven, k=5, seed=2)
    assert fold_u.min() >= 0 and fold_u.max() <= 4
    for c, size in enumerate((23, 17, 11)):
        per_fold = np.bincount(fold_u[uneven == c], minlength=5)
        assert per_fold.sum() == size and per_fold.max() - per_fold.min() <= 1
    assert np.array_equal(fold, split.stratified_folds(y, k=5, seed=1))


def test_validate_accepts_float_and_grayscale_and_rejects_bad_layouts():
    x = np.random.default_rng(0).uniform(0, 1, (6, 16, 16)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    ok = data.validate({"x_train": x, "y_train": y, "x_test": x, "y_test": y}, "mem")
    assert ok["x_train"].shape == (6, 16, 16, 1) and ok["x_train"].dtype == np.uint8
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
    d = prepare.mnist5k(seed=0, test_fraction=0.1)
    data.save(d, tmp_path / "d.h5", source="test")
    back = data.load(tmp_path / "d.h5")
    assert np.array_equal(back["x_test"], d["x_test"]) and back["class_names"] == d["class_names"]


def arrays(y_train=(0, 1, 2, 0, 1, 2), y_test=(0, 1, 2), shape=(16, 16, 3), **extra):
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    return {
        "x_train": np.zeros((len(y_train), *shape), np.uint8),
        "y_train": y_train,
        "x_test": np.zeros((len(y_test), *shape), np.uint8),
        "y_test": y_test,
        **extra,
    }


def checked(arrays, source):
    """What `prepare` does to a user's arrays."""
    return data.trainable(data.validate(arrays, source), source)


def test_labels_one_to_ten_are_renumbered_and_named_by_their_values(caplog):
    with caplog.at_level(logging.INFO, logger="robustcurves.data"):
        ok = checked(arrays(y_train=np.arange(20) % 10 + 1, y_test=[10, 1, 5]), "mine.npz")
    assert ok["y_train"].tolist() == (np.arange(20) % 10).tolist()
    assert ok["y_test"].tolist() == [9, 0, 4]
    assert ok["class_names"] == [str(v) for v in range(1, 11)]
    assert "mine.npz: labels 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 are not 0..9: renumbered 0..9" in caplog.text


def test_labels_with_gaps_keep_their_names_from_class_names():
    names = np.array(["a", "b", "c", "d", "e", "f"])
    ok = checked(arrays(y_train=[5, 0, 3, 3], y_test=[3, 5], class_names=names), "m")
    assert ok["y_train"].tolist() == [2, 0, 1, 1] and ok["y_test"].tolist() == [1, 2]
    assert ok["class_names"] == ["a", "d", "f"]
    with pytest.raises(data.DatasetError, match="m: 3 class names for 6 classes"):
        checked(arrays(y_train=[5, 0, 3, 3], y_test=[3], class_names=names[:3]), "m")


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"y_test": [0, 3]}, "m: y_test has labels [3] that no training image has"),
        ({"y_train": [1, 1, 1], "y_test": [1]}, "m: y_train holds a single class ([1]); need at least 2"),
        ({"y_test": [2, 2, 2]}, "m: y_test holds a single class ([2]); need at least 2"),
        ({"y_train": [0, 1, -1, 2]}, "y_train: labels must be 0..C-1 (found -1)"),
        ({"y_train": [[0.5, 0.5], [1, 0]], "y_test": [0]}, "m: y_train has shape (2, 2); expected N labels"),
    ],
)
def test_labels_that_cannot_be_used_are_refused(bad, message):
    with pytest.raises(data.DatasetError) as err:
        checked(arrays(**bad), "m")
    assert message in str(err.value)


def test_one_hot_labels_are_accepted():
    # one test image with a one-hot label: (1, C), read as one label, not as C labels (issue 21)
    # (validate alone: a one-image test set is one class, which `trainable` refuses)
    one = data.validate(arrays(y_train=np.eye(3)[[2, 0, 1, 1]], y_test=[[0, 0, 1]]), "m")
    assert one["y_test"].tolist() == [2]
    onehot = np.eye(3, dtype=np.float32)[[2, 0, 1, 1]]
    ok = checked(arrays(y_train=onehot, y_test=np.eye(3)[[0, 1, 2]]), "m")
    assert ok["y_train"].tolist() == [2, 0, 1, 1] and ok["y_test"].tolist() == [0, 1, 2]
    assert ok["class_names"] == ["0", "1", "2"]


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_channels_first_images_are_refused_naming_the_transpose(channels):
    x = np.zeros((6, channels, 32, 32), np.uint8)
    with pytest.raises(data.DatasetError) as err:
        checked({**arrays(), "x_train": x}, "m")
    assert f"m: x_train has shape (6, {channels}, 32, 32), channels first" in str(err.value)
    assert "x.transpose(0, 2, 3, 1)" in str(err.value)
    # channels last of the same size passes
    checked(arrays(shape=(32, 32, channels)), "m")


def test_small_images_are_the_models_to_refuse():
    # 8x8 suits ResNet-20, not LeNet-5: models.build refuses them for LeNet-5 at the start of training
    # (tests/test_models.py), the data checks let them through
    checked(arrays(shape=(8, 8, 1)), "m")


def test_prepare_dispatches_on_the_kind(tmp_path):
    np.savez(tmp_path / "mine.npz", **arrays(y_train=[1, 2, 1, 2], y_test=[2, 1]))
    dataset, source, checksum = prepare.prepare(
        "arrays", {"kind": "arrays", "seed": 0}, tmp_path / "mine.npz"
    )
    assert dataset["class_names"] == ["1", "2"] and source == str(tmp_path / "mine.npz") and checksum == ""
    with pytest.raises(data.DatasetError, match="unknown dataset kind 'mnist'"):
        prepare.prepare("mnist", {}, None)


def test_more_class_names_than_classes_keeps_the_names_of_the_classes_present():
    ok = checked(arrays(y_train=[0, 1, 1], y_test=[1, 0], class_names=np.array(["a", "b", "c"])), "m")
    assert ok["class_names"] == ["a", "b"] and ok["y_train"].tolist() == [0, 1, 1]


def test_a_subset_is_stratified_seeded_in_the_sources_order_and_refused_when_it_cannot_be():
    full = prepare.mnist5k(seed=0, test_fraction=0.2)
    settings = {"kind": "mnist5k", "seed": 5, "test_fraction": 0.2, "subset": {"train": 500}}
    small, _, _ = prepare.prepare("mnist5k", settings, None)
    assert len(small["y_train"]) == 500 and np.bincount(small["y_train"]).tolist() == [50] * 10
    assert np.array_equal(small["x_test"], prepare.mnist5k(5, 0.2)["x_test"])  # test split kept whole
    again = prepare.subset(prepare.mnist5k(5, 0.2), {"train": 500}, 5, "m")
    assert all(np.array_equal(small[k], again[k]) for k in data.KEYS)
    other = prepare.subset(prepare.mnist5k(5, 0.2), {"train": 500}, 6, "m")
    assert not np.array_equal(small["y_train"], other["y_train"])
    # the kept images keep their order in the source: rows of x_train, in increasing position
    rows = {full["x_train"][i].tobytes(): i for i in range(len(full["y_train"]))}
    kept = [rows[x.tobytes()] for x in prepare.subset(full, {"train": 300}, 1, "m")["x_train"]]
    assert kept == sorted(kept)
    with pytest.raises(data.DatasetError, match=r"m: subset.test is 1001, but the test split has 1000"):
        prepare.subset(full, {"test": 1001}, 0, "m")
    with pytest.raises(data.DatasetError, match="subset.train is 9, .* between 10 and 4000"):
        prepare.subset(full, {"train": 9}, 0, "m")


def test_a_fold_that_would_train_without_a_class_is_refused_naming_class_and_fold():
    y = np.array([0] * 6 + [1] * 6 + [2])  # class "bird" has one training image: one fold never sees it
    with pytest.raises(data.DatasetError, match=r"fold \d would train without class bird \(1 image\(s\)\)"):
        split.folds(y, 2, seed=0, class_names=["cat", "dog", "bird"])
    with pytest.raises(data.DatasetError, match=r"without class 2 \(1 image"):
        split.folds(y, 3, seed=0)  # numbered when the dataset names no classes
    table = split.folds(np.array([0] * 6 + [1] * 6 + [2] * 2), 2, seed=0)  # two images: one per fold
    assert all(set(table.loc[table["fold"] != f, "label"]) == {0, 1, 2} for f in (0, 1))


@pytest.mark.parametrize(
    "y_train, y_test, message",
    [
        ([0, 1] * 10 + [2], [0, 1, 2], r"fold \d would train without class 2 \(1 image\(s\)\)"),
        ([0, 1] * 10, [1] * 4, r"y_test holds a single class \(\[1\]\); need at least 2"),
    ],
    ids=["class-with-one-image", "one-class-test-set"],
)
def test_snakemake_refuses_before_training_naming_the_problem(tmp_path, y_train, y_test, message):
    import re

    import yaml

    from workflow_utils import snakemake, workflow_copy

    work = workflow_copy(tmp_path / "work")
    np.savez(work / "mine.npz", **arrays(y_train=y_train, y_test=y_test))
    config = yaml.safe_load((work / "tests/config/tiny.yaml").read_text())
    config["datasets"] = {"mine": {"kind": "arrays", "path": "mine.npz"}}
    (work / "mine.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(work, "results/mine/folds.csv", "--configfile", "mine.yaml", check=False)
    assert proc.returncode != 0
    logs = "".join(p.read_text() for p in (work / "logs").rglob("*.log"))
    assert re.search(message, logs), logs[-2000:]
    assert not (work / "results/mine/folds.csv").exists() and not list((work / "results").rglob("*.h5"))
