"""Every shipped config plans a complete DAG: a preset that no longer parses is caught before a run."""

import inspect
from pathlib import Path

import pytest
import yaml

from robustcurves.config import check
from workflow_utils import ROOT, planned_jobs

PRESETS = sorted(p.relative_to(ROOT) for p in [ROOT / "config.yaml", *(ROOT / "configs").glob("*.yaml")])


@pytest.mark.parametrize("preset", PRESETS, ids=str)
def test_preset_plans_every_stage(preset: Path):
    # --forceall: the plan of a fresh run, whatever this checkout has already computed
    jobs = planned_jobs(ROOT, "--forceall", "--configfile", str(preset))
    for rule in ("train", "select_best", "craft", "evaluate", "robustness", "distances", "statistics"):
        assert jobs.get(rule, 0) > 0, f"{preset}: no {rule} job planned ({jobs})"
    assert jobs["train"] % 2 == 0  # every fold of both regimes


def test_default_runs_cw_is_arts_with_a_longer_binary_search_and_the_papers_is_arts():
    # ART's defaults broke only about half of the normal regime's images on mnist5k (issue 19, item 8):
    # the default run continues ART's binary search; the paper preset runs ART's CarliniL2Method as is
    from art.attacks.evasion import CarliniL2Method  # imports TensorFlow: here only

    # ART's own defaults, from its signature: the schema's line-search defaults must be these
    signature = inspect.signature(CarliniL2Method.__init__).parameters
    keys = ["confidence", "learning_rate", "binary_search_steps", "max_iter", "initial_const"]
    ART = {k: signature[k].default for k in [*keys, "max_halving", "max_doubling"]}
    schema = ROOT / "workflow/schemas/config.schema.yaml"
    default, paper = (
        check(yaml.safe_load((ROOT / name).read_text()), schema)["attacks"]["cw"]
        for name in ("config.yaml", "configs/paper.yaml")
    )
    assert {k: paper[k] for k in ART} == ART and paper["algorithm"] == "line-search"
    differs = {k for k in ART if default[k] != ART[k]}
    assert differs == {"binary_search_steps"} and default["binary_search_steps"] > ART["binary_search_steps"]
