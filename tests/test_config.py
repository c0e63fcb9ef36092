"""The config schema: every shipped config is valid; mistakes are errors that name the key."""

import copy
from pathlib import Path

import pytest
import yaml

from robustcurves.config import ConfigError, check
from workflow_utils import ROOT, snakemake

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.mark.parametrize(
    "path",
    [
        "config.yaml",
        *sorted(
            str(p.relative_to(ROOT))
            for p in [*ROOT.glob("configs/*.yaml"), *ROOT.glob("tests/config/*.yaml")]
        ),
    ],
)
def test_shipped_configs_are_valid(path):
    check(yaml.safe_load((ROOT / path).read_text()), SCHEMA)


def broken(**changes):
    config = copy.deepcopy(DEFAULT)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = config
        for p in parents:
            node = node[p]
        if value is None:
            del node[key]
        else:
            node[key] = value
    return config


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epoch": 5}, "(top level): unknown key 'epoch'"),
        ({"epochs": "35"}, "epochs: '35' is not of type 'integer'"),
        ({"folds": 1}, "folds: 1 is less than the minimum of 2"),
        ({"attacks__pgd__max_iters": 10}, "attacks.pgd: unknown key 'max_iters'"),
        ({"attacks__fgsm__eps": 3}, "attacks.fgsm.eps: 3 is greater than the maximum of 1"),
        ({"attacks__cw__method": "deepfool"}, "attacks.cw.method: 'deepfool' is not one of"),
        ({"regimes__over fit": {"learning_rate": 0.1}}, "'over fit' is not a valid name"),
        ({"regimes__fast": {"lr": 0.1}}, "regimes.fast: unknown key 'lr'"),
        (
            {"datasets__mnist5k__regimes": {"fast": {"learning_rate": 1}}},
            "datasets.mnist5k.regimes.fast: no such regime",
        ),
        ({"datasets__mine": {"kind": "arrays"}}, "datasets.mine: 'path' is a required property"),
        ({"metrics__every": 0}, "metrics.every: 0 is less than the minimum of 1"),
        ({"seed": None}, "(top level): 'seed' is a required property"),
    ],
)
def test_mistakes_name_the_key(changes, message):
    with pytest.raises(ConfigError) as err:
        check(broken(**changes), SCHEMA)
    assert message in str(err.value)


def test_snakemake_stops_at_start_with_the_message(tmp_path):
    config = broken(attacks__pgd__max_iters=10)
    Path(tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(ROOT, "-n", "--configfile", str(tmp_path / "bad.yaml"), check=False)
    assert proc.returncode != 0
    assert "attacks.pgd: unknown key 'max_iters'" in proc.stderr + proc.stdout
