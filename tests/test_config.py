"""The config schema: every shipped config is valid; mistakes are errors that name the key."""

import copy
from pathlib import Path

import pytest
import yaml

from robustcurves.config import ConfigError, check
from workflow_utils import ROOT, planned_jobs, snakemake

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
# the default run, with every default filled in
DEFAULT = check(yaml.safe_load((ROOT / "config.yaml").read_text()), SCHEMA)


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
        ({"robustness__every": 0}, "robustness.every: 0 is less than the minimum of 1"),
        (
            {"model": "vgg16"},
            "model: 'vgg16' is not lenet5, resnet20, module:function or path/to/file.py:function",
        ),
        ({"datasets__mnist5k__model": "mypkg.build"}, "datasets.mnist5k.model: 'mypkg.build' is not lenet5"),
        (
            {"regimes__fast": {"learning_rate": 0.1, "optimizer": "rmsprop"}},
            "regimes.fast.optimizer: 'rmsprop' is not one of",
        ),
        ({"datasets": None}, "(top level): 'datasets' is a required property"),
        ({"attacks__pgd": {"eps": 0.1}}, "attacks.pgd: 'method' is a required property"),
        ({"figures__clever": {"dpi": 0}}, "figures.clever.dpi: 0 is less than the minimum of 1"),
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


def test_a_missing_method_is_the_only_complaint():
    # defaults of every method's branch must not pile up as unknown keys when the method is missing
    with pytest.raises(ConfigError) as err:
        check(broken(attacks__pgd={"eps": 0.1}), SCHEMA)
    assert str(err.value).count("\n") == 1, err.value


SHORT = {"datasets": {"mnist5k": {"kind": "mnist5k", "test_fraction": 0.2}}}


def test_every_key_has_a_default_and_config_yaml_adds_nothing_to_them():
    assert check(copy.deepcopy(SHORT), SCHEMA) == DEFAULT
    for section in ("attack", "metrics", "statistics", "compute", "figures"):
        assert check({**copy.deepcopy(SHORT), section: {}}, SCHEMA) == DEFAULT, section


def test_a_new_attack_gets_its_methods_defaults():
    config = check({**copy.deepcopy(SHORT), "attacks": {"mine": {"method": "pgd", "eps": 0.1}}}, SCHEMA)
    assert config["attacks"] == {"mine": {**DEFAULT["attacks"]["pgd"], "eps": 0.1}}
    two = {"c": {"method": "cw"}, "f": {"method": "fgsm"}}
    config = check({**copy.deepcopy(SHORT), "attacks": two}, SCHEMA)
    # the default run's cw searches 25 constants (breaks >= 95 % of mnist5k); a new cw entry gets ART's 10
    cw = {**DEFAULT["attacks"]["cw"], "binary_search_steps": 10}
    assert config["attacks"] == {"c": cw, "f": DEFAULT["attacks"]["fgsm"]}


def test_a_figure_section_takes_the_shared_settings_it_does_not_set():
    config = check({**copy.deepcopy(SHORT), "figures": {"dpi": 99, "clever": {"context": "talk"}}}, SCHEMA)
    assert config["figures"]["clever"] == {"dpi": 99, "context": "talk"}
    assert config["figures"]["headline"] == {"dpi": 99, "context": "paper"}
    assert config["figures"]["format"] == DEFAULT["figures"]["format"]


def test_defaults_do_not_leak_between_configs():
    a = check(copy.deepcopy(SHORT), SCHEMA)
    a["attacks"]["cw"]["max_iter"] = 1
    a["figures"]["clever"]["dpi"] = 1
    assert check(copy.deepcopy(SHORT), SCHEMA) == DEFAULT


def dry_run(tmp_path, config):
    """Jobs per rule and every planned output file of `snakemake -n` on `config` (None: config.yaml).

    `--forceall`: the whole plan, whatever results a run in the project left behind."""
    args = ["--forceall"]
    if config is not None:
        path = tmp_path / f"config{len(list(tmp_path.glob('config*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(config))
        args += ["--configfile", str(path)]
    files = snakemake(ROOT, "-n", "--summary", *args).stdout.splitlines()[1:]
    return planned_jobs(ROOT, *args), sorted(line.split("\t")[0] for line in files)


@pytest.fixture(scope="module")
def default_dag(tmp_path_factory):
    jobs, files = dry_run(tmp_path_factory.mktemp("dag"), None)
    assert jobs["train"] == 10 and len(files) > 100 and "results/mnist5k/tables/claims.md" in files
    return jobs, files


def test_a_two_line_config_is_the_default_run(tmp_path, default_dag):
    assert dry_run(tmp_path, SHORT) == default_dag


def test_a_three_line_config_changes_only_what_it_says(tmp_path, default_dag):
    jobs, files = dry_run(tmp_path, {**SHORT, "folds": 2, "epochs": 3})
    default_jobs, default_files = default_dag
    per_fold = {"train", "select_best", "robustness", "evaluate", "craft", "distances", "whitebox"}
    assert jobs == {k: v * 2 // 5 if k in per_fold else v for k, v in default_jobs.items()}
    assert files == [f for f in default_files if not any(f"/fold{k}/" in f for k in (2, 3, 4))]


# Keys that have no default on purpose: what the user must say (a dataset, its kind and file, an
# attack's method, a regime's rate), what is absent unless given (a mirror, a local archive), and a
# figure's own style (it takes the shared figures.dpi/context).
NO_DEFAULT = {
    "datasets",
    "kind",
    "path",
    "url",
    "sha256",
    "archive",
    "method",
    "learning_rate@$defs",
    # a dataset's regime overrides and model: unset, the regime's and the global model hold
    "optimizer@$defs",
    "momentum@$defs",
    "weight_decay@$defs",
    "augment@$defs",
    "model@properties",
    # a dataset's subset: absent, the whole dataset; a split it leaves out is kept whole
    "subset",
    "train@$defs",
    "test@$defs",
    "dpi@$defs",
    "context@$defs",
    # FGSM's and PGD's: ART's on tensorflow, ours elsewhere, filled in by robustcurves/config.py
    # from compute.backend (tests/test_backend_config.py)
    "implementation@properties",
}


def conditional_defaults(node) -> set:
    """Properties whose default depends on another setting: given in both the `then` and the `else`."""
    branches = [node.get(k, {}).get("properties", {}) for k in ("then", "else")]
    return {n for n, sub in branches[0].items() if "default" in sub and "default" in branches[1].get(n, {})}


def properties_without_default(node, where=""):
    if isinstance(node, dict):
        by_condition = conditional_defaults(node) if "if" in node else set()
        for name, sub in node.get("properties", {}).items():
            if sub != {} and "default" not in sub and name not in NO_DEFAULT | by_condition:
                if f"{name}@{where.split('.')[0]}" not in NO_DEFAULT:
                    yield f"{where}.properties.{name}".lstrip(".")
        for key, sub in node.items():
            if key != "if":  # a condition names settings, it does not define them
                yield from properties_without_default(sub, f"{where}.{key}".lstrip("."))
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from properties_without_default(sub, f"{where}[{i}]")


def test_every_setting_has_its_default_in_the_schema():
    # the rules and scripts read the validated config without defaults of their own
    schema = yaml.safe_load(SCHEMA.read_text())
    assert list(properties_without_default(schema)) == []


def test_every_figure_has_its_style_section_and_no_other():
    from robustcurves import registry

    figures = yaml.safe_load(SCHEMA.read_text())["properties"]["figures"]["properties"]
    sections = {k for k, v in figures.items() if v.get("$ref") == "#/$defs/style"}
    assert sections == set(registry.FIGURES)


def test_a_section_under_its_old_name_is_accepted_with_a_message_naming_the_new_one(tmp_path):
    # `attack` and `metrics` were renamed after the stages that read them (craft, robustness)
    old = {**copy.deepcopy(SHORT), "attack": {"samples": 50}, "metrics": {"every": 3}}
    with pytest.warns(FutureWarning) as warned:
        config = check(copy.deepcopy(old), SCHEMA)
    assert config["craft"]["samples"] == 50 and config["robustness"]["every"] == 3
    assert "attack" not in config and "metrics" not in config
    messages = [str(w.message) for w in warned]
    assert any("config section `metrics` is now `robustness`" in m for m in messages)
    assert any("config section `attack` is now `craft`" in m for m in messages)
    new = check({**copy.deepcopy(SHORT), "craft": {"samples": 50}, "robustness": {"every": 3}}, SCHEMA)
    assert config == new
    with pytest.raises(ConfigError, match="both `metrics` and `robustness`"):
        check({**copy.deepcopy(SHORT), "metrics": {}, "robustness": {}}, SCHEMA)
    # and Snakemake runs such a config, saying so
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(old))
    proc = snakemake(ROOT, "-n", "--forceall", "--configfile", str(path))
    assert "config section `attack` is now `craft`" in proc.stderr + proc.stdout
