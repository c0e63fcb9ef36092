"""The tiny config end to end with models other than LeNet-5: ResNet-20 for one dataset (the global
`model`), a user's batch-normalised function `mypkg.models:build` for the other (a per-dataset
`model`), kept in the project directory as a user would."""

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import separable
from robustcurves import registry
from workflow_utils import planned_jobs, snakemake, workflow_copy

pytestmark = pytest.mark.slow
TESTS = Path(__file__).resolve().parent
MODELS = {"resnet": "resnet20", "mine": "mypkg.models:build"}


@pytest.fixture(scope="module")
def models_run(tmp_path_factory):
    work = workflow_copy(tmp_path_factory.mktemp("models"))
    shutil.copytree(TESTS / "mypkg", work / "mypkg", ignore=shutil.ignore_patterns("__pycache__"))
    x, y = separable(n=300, shape=(16, 16, 1), classes=3, seed=4)
    x = (x * 255).astype(np.uint8)
    np.savez(work / "patches.npz", x_train=x[:240], y_train=y[:240], x_test=x[240:], y_test=y[240:])
    config = yaml.safe_load((work / "tests/config/tiny.yaml").read_text())
    config["model"] = "resnet20"
    config["datasets"] = {
        "resnet": {"kind": "arrays", "path": "patches.npz"},
        "mine": {"kind": "arrays", "path": "patches.npz", "model": "mypkg.models:build"},
    }
    # enough steps for the moving statistics of batch normalisation to settle within 3 epochs
    config["batch_size"] = 16
    # ART's FGSM and our CW and white-box PGD exercise every path a model takes; fewer jobs than tiny's
    config["attacks"] = {name: config["attacks"][name] for name in ("fgsm", "cw")}
    config["whitebox"]["attacks"] = ["pgd", "cw"]
    config["regimes"]["overfit"] = {"optimizer": "sgd", "learning_rate": 0.05, "weight_decay": 1e-4}
    (work / "models.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(work, "--configfile", "models.yaml")
    (work / "console.txt").write_text(proc.stdout + proc.stderr)
    return work


@pytest.mark.parametrize("dataset", MODELS)
def test_every_output_of_the_study_exists_for_each_model(models_run, dataset):
    for name in registry.FIGURES:
        assert (models_run / f"results/{dataset}/figures/{name}.png").stat().st_size > 0
    claims = pd.read_csv(models_run / f"results/{dataset}/tables/claims.csv")
    assert len(claims) > 5 and claims["verdict"].notna().all()
    for regime in ("normal", "overfit"):
        with h5py.File(models_run / f"results/{dataset}/{regime}/fold0/snapshots.h5") as f:
            assert f.attrs["model"] == MODELS[dataset]
        evaluation = pd.read_csv(models_run / f"results/{dataset}/{regime}/fold0/evaluation.csv")
        assert set(evaluation["epoch"]) == {1, 2, 3} and evaluation["asr"].between(0, 1).all()
        robustness = pd.read_csv(models_run / f"results/{dataset}/{regime}/fold0/robustness.csv")
        assert robustness["degenerate"].isna().iloc[-1], "the last snapshot learned: its metrics are measured"
        assert np.isfinite(robustness["clever"].iloc[-1])
        whitebox = pd.read_csv(models_run / f"results/{dataset}/{regime}/fold0/whitebox.csv")
        assert len(whitebox) and np.isfinite(whitebox["clean_accuracy"]).all()


def test_the_regimes_train_differently(models_run):
    # the same initial weights per fold (a paired design), then Adam 1e-4 against SGD 0.05
    normal, overfit = (
        pd.read_csv(models_run / f"results/resnet/{r}/fold0/history.csv") for r in ("normal", "overfit")
    )
    assert np.isfinite(overfit["train_loss"]).all()
    assert not np.allclose(normal["train_loss"], overfit["train_loss"])


def test_editing_a_users_model_retrains_it_and_nothing_else(models_run):
    source = models_run / "mypkg/models.py"
    source.write_text(source.read_text().replace("Dropout(0.2)", "Dropout(0.3)"))
    jobs = planned_jobs(models_run, "--configfile", "models.yaml")
    assert jobs["train"] == 4, jobs  # the 2 folds x 2 regimes of `mine`, not `resnet`'s too
