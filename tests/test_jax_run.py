"""The tiny config end to end on Keras's JAX backend (compute.backend: jax): every output of the
TensorFlow run, every Keras job's log naming JAX, our FGSM and PGD in place of ART's (said in the log),
and snapshots that load on TensorFlow with the predictions JAX made."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from backends import needs_other

from robustcurves import registry
from workflow_utils import snakemake, workflow_copy

pytestmark = [pytest.mark.slow, needs_other]
KERAS_RULES = ("train", "craft", "evaluate", "robustness", "whitebox")


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    work = workflow_copy(tmp_path_factory.mktemp("jax"))
    config = yaml.safe_load((work / "tests/config/tiny.yaml").read_text())
    config["compute"] = {"backend": "jax"}
    (work / "jax.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(work, "--configfile", "jax.yaml")
    (work / "console.txt").write_text(proc.stdout + proc.stderr)
    return work


def test_every_output_of_the_study_exists(jax_run):
    dry = snakemake(jax_run, "--configfile", "jax.yaml", "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    for name in registry.FIGURES:
        assert (jax_run / f"results/mnist5k/figures/{name}.png").stat().st_size > 0
    claims = pd.read_csv(jax_run / "results/mnist5k/tables/claims.csv")
    assert len(claims) > 5 and claims["verdict"].notna().all()
    provenance = json.loads((jax_run / "results/mnist5k/provenance.json").read_text())
    assert provenance["backend"] == "jax"


def test_every_keras_job_ran_on_jax_and_says_so(jax_run):
    logs = [p for rule in KERAS_RULES for p in (jax_run / "logs" / rule).rglob("*.log")]
    assert len(logs) >= 4 * len(KERAS_RULES)
    for log in logs:
        text = log.read_text()
        assert "JAX 0." in text and "backend jax, using /CPU:0" in text, log
        assert "TensorFlow 2." not in text, log
    craft = (jax_run / "logs/craft/mnist5k/normal/fold0/pgd.log").read_text()
    assert "ART" in craft and "jax" in craft  # ART is not used here, and the log says which attack is


def test_histories_learn_and_adversarials_are_valid(jax_run):
    for regime in ("normal", "overfit"):
        hist = pd.read_csv(jax_run / f"results/mnist5k/{regime}/fold0/history.csv")
        assert hist["epoch"].tolist() == [1, 2, 3] and np.isfinite(hist["train_loss"]).all()
    overfit = pd.read_csv(jax_run / "results/mnist5k/overfit/fold0/history.csv")
    assert overfit["test_accuracy"].iloc[-1] > 0.8
    dist = pd.read_csv(jax_run / "results/mnist5k/overfit/fold0/distances/fgsm.csv")
    assert np.allclose(dist["linf"], 0.3, atol=1e-6) and dist["success"].mean() > 0


def test_jax_snapshots_load_on_tensorflow_with_the_same_predictions(jax_run):
    """The snapshot format is backend-neutral: JAX's weights give TensorFlow JAX's test accuracy."""
    import h5py

    from robustcurves import models
    from robustcurves.data import to_float

    fold = jax_run / "results/mnist5k/overfit/fold0"
    hist = pd.read_csv(fold / "history.csv")
    with h5py.File(jax_run / "resources/mnist5k.h5") as f:
        x, y = to_float(f["x_test"][()]), f["y_test"][()]
    with models.Snapshots(fold / "snapshots.h5") as s:
        model = s.model(3)
    accuracy = float(np.mean(models.predict(models.logits_fn(model), x) == y))
    assert accuracy == pytest.approx(hist["test_accuracy"].iloc[-1], abs=1 / len(y))
