"""Every shipped config plans a complete DAG: a preset that no longer parses is caught before a run, and
none reads a file that nothing builds (a clean clone has only the project and `../shared`)."""

import inspect
from pathlib import Path

import pytest
import yaml

from robustcurves.config import check
from workflow_utils import ROOT, planned_jobs

PRESETS = sorted(p.relative_to(ROOT) for p in [ROOT / "config.yaml", *(ROOT / "configs").glob("*.yaml")])
SHARED = ROOT.parent / "shared"  # beside the project for developers and CI; users have none


def missing_data(preset: Path, root: Path = ROOT) -> list[tuple[str, Path]]:
    """(dataset, file) for every data file the preset reads that is not on disk (relative to `root`)."""
    datasets = yaml.safe_load((root / preset).read_text())["datasets"]
    files = [(name, ds[key]) for name, ds in datasets.items() for key in ("path", "archive") if key in ds]
    return [(name, root / f) for name, f in files if not (root / f).exists()]


def require_data(preset: Path, root: Path = ROOT, shared: Path = SHARED) -> None:
    """Skip a preset whose absent data would come from `../shared`; fail one reading any other absent file."""
    missing = missing_data(preset, root)
    elsewhere = [(n, f) for n, f in missing if not f.resolve().is_relative_to(shared.resolve())]
    assert not elsewhere, f"{preset} reads files outside the project and ../shared that nothing builds: " + (
        ", ".join(f"{n}: {f}" for n, f in elsewhere)
    )
    if missing:
        pytest.skip(f"{preset}: its data comes from ../shared, absent here ({missing[0][1]})")


@pytest.mark.parametrize("preset", PRESETS, ids=str)
def test_preset_plans_every_stage(preset: Path):
    require_data(preset)
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


def test_a_preset_reading_an_unbuilt_file_fails_and_one_from_an_absent_shared_is_skipped(tmp_path):
    project, shared = tmp_path / "project", tmp_path / "shared"
    project.mkdir()
    (project / "local.yaml").write_text("datasets: {a: {kind: arrays, path: /tmp/nobody-wrote-this.npz}}")
    with pytest.raises(AssertionError, match=r"local.yaml reads .* a: /tmp/nobody-wrote-this.npz"):
        require_data(Path("local.yaml"), project, shared)
    (project / "shared.yaml").write_text("datasets: {a: {kind: arrays, path: ../shared/data/c.npz}}")
    with pytest.raises(pytest.skip.Exception, match="shared.yaml: its data comes from ../shared"):
        require_data(Path("shared.yaml"), project, shared)
    (shared / "data").mkdir(parents=True)
    (shared / "data/c.npz").write_bytes(b"")
    require_data(Path("shared.yaml"), project, shared)  # present: planned like any other
