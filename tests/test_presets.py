"""Every shipped config plans a complete DAG: a preset that no longer parses is caught before a run."""

from pathlib import Path

import pytest

from workflow_utils import ROOT, planned_jobs

PRESETS = sorted(p.relative_to(ROOT) for p in [ROOT / "config.yaml", *(ROOT / "configs").glob("*.yaml")])


@pytest.mark.parametrize("preset", PRESETS, ids=str)
def test_preset_plans_every_stage(preset: Path):
    # --forceall: the plan of a fresh run, whatever this checkout has already computed
    jobs = planned_jobs(ROOT, "--forceall", "--configfile", str(preset))
    for rule in ("train", "select_best", "craft", "evaluate", "robustness", "distances", "statistics"):
        assert jobs.get(rule, 0) > 0, f"{preset}: no {rule} job planned ({jobs})"
    assert jobs["train"] % 2 == 0  # every fold of both regimes
