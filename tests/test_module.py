"""The workflow as a Snakemake module of another workflow (tests/module/Snakefile): its library comes
from the installed package, its schema and scripts from its own tree, whatever the caller's directory."""

import shutil

from workflow_utils import ROOT, snakemake


def test_another_workflow_runs_a_target_through_the_module(tmp_path):
    caller, direct = tmp_path / "caller", tmp_path / "direct"
    for d in (caller, direct):
        d.mkdir()
        shutil.copy(ROOT / "tests/config/tiny.yaml", d / "study.yaml")
    module = str(ROOT / "tests/module/Snakefile")
    out = snakemake(caller, "-s", module, "-d", str(caller), "summary/folds.txt").stderr
    assert "robustcurves_prepare" in out and "robustcurves_split" in out
    assert (caller / "summary/folds.txt").read_text().split()[0] == "4501"  # header + the tiny set's 4,500
    # the same folds as the workflow run on its own with that config
    folds = "results/mnist5k/folds.csv"
    snakemake(direct, folds, "-s", str(ROOT / "Snakefile"), "--configfile", "study.yaml")
    assert (caller / folds).read_bytes() == (direct / folds).read_bytes()
