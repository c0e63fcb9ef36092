"""compute.backend in the config: ART's implementations only where ART runs, ours as the default
elsewhere, and the paper preset planned on every backend."""

import pytest
import yaml

from robustcurves import config
from workflow_utils import ROOT, planned_jobs

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
DATASETS = {"d": {"kind": "mnist5k"}}


def implementations(backend: str) -> dict:
    c = config.defaults(SCHEMA, datasets=DATASETS, compute={"backend": backend})
    return {name: a.get("implementation") for name, a in c["attacks"].items()}


def test_fgsm_and_pgd_are_arts_on_tensorflow_and_ours_elsewhere():
    assert implementations("tensorflow") == {"fgsm": "art", "pgd": "art", "cw": "batched"}
    assert implementations("jax") == implementations("torch") == {
        "fgsm": "batched", "pgd": "batched", "cw": "batched",
    }  # fmt: skip


def test_an_art_implementation_on_another_backend_is_refused_by_name():
    attacks = {"p": {"method": "pgd", "implementation": "art"}, "f": {"method": "fgsm"}}
    with pytest.raises(config.ConfigError) as err:
        config.defaults(
            SCHEMA,
            datasets=DATASETS,
            attacks=attacks,
            compute={"backend": "jax"},
            metrics={"clever": {"implementation": "art"}},
        )
    text = str(err.value)
    assert "attacks.p.implementation: art is ART's implementation" in text and "compute.backend jax" in text
    assert "robustness.clever.implementation" in text
    assert "attacks.f" not in text  # unset: ours, filled in


def test_an_unknown_backend_is_refused():
    with pytest.raises(config.ConfigError, match="compute.backend"):
        config.defaults(SCHEMA, datasets=DATASETS, compute={"backend": "mxnet"})


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_the_paper_preset_plans_on_every_backend(tmp_path, backend):
    override = tmp_path / "backend.yaml"
    override.write_text(yaml.safe_dump({"compute": {"backend": backend}}))
    jobs = planned_jobs(ROOT, "--forceall", "--configfile", str(ROOT / "configs/paper.yaml"), str(override))
    # both paper datasets, 2 regimes x 5 folds each, every stage
    assert jobs["train"] == 20 and jobs["craft"] == 60 and jobs["robustness"] == 20
    assert jobs["whitebox"] == 20 and jobs["statistics"] == 2
