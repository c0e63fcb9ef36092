"""One home per default (issue 21): a library function's keyword default for a config setting is the
schema's. Each function below is held to the settings it takes, as validation fills them into a config;
a default typed into a signature, and left behind when the schema's changes, fails here."""

import inspect

import pytest

from robustcurves import backend
from robustcurves.attacks import apgd, cw, cw_linesearch, fgsm, pgd
from robustcurves.config import defaults
from robustcurves.measures import clever
from robustcurves.report import figure, paper_figures
from robustcurves.stages import whitebox
from robustcurves.statistics import claims, inference, trends
from workflow_utils import ROOT

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def validated(*keys, **given):
    """The setting at `keys` of a config holding `given`, once validated (the workflow's config)."""
    value = defaults(SCHEMA, **{"datasets": {"d": {"kind": "mnist5k"}}, **given})
    for key in keys:
        value = value[key]
    return value


def attack(method, **given):
    return validated("attacks", "a", attacks={"a": {"method": method, **given}})


def defaulted(module, parameter: str) -> list:
    """The functions of `module` that give `parameter` a default."""
    found = []
    for _, function in inspect.getmembers(module, inspect.isfunction):
        p = inspect.signature(function).parameters.get(parameter)
        if function.__module__ == module.__name__ and p is not None and p.default is not p.empty:
            found.append(function)
    return found


# (function, the settings it takes, {parameter: setting} where the names differ, parameters that are no
# setting's default); `implementation` of FGSM and PGD: unset, the backend decides (config.py fills it)
FUNCTIONS = [
    (clever.clever_scores, validated("robustness", "clever"), {}, ()),
    (clever.clever_checked, validated("robustness", "clever"), {}, ()),
    (clever.fit_check, validated("robustness", "clever"), {}, ()),
    (fgsm.fgsm, attack("fgsm"), {}, ("implementation",)),
    (fgsm.fgsm_batched, attack("fgsm"), {}, ()),
    (pgd.pgd_with_success, attack("pgd"), {}, ()),
    (apgd.apgd, attack("apgd"), {}, ()),
    (apgd.apgd_with_success, attack("apgd"), {}, ()),
    (cw.cw, attack("cw"), {}, ()),
    (cw.carlini_wagner_l2, attack("cw", algorithm="adam"), {}, ()),
    (cw_linesearch.carlini_wagner_l2_linesearch, attack("cw", algorithm="line-search"), {}, ()),
    (whitebox.attack_snapshot, validated("whitebox"), {}, ()),
    (whitebox.masking_flags, validated("whitebox"), {"images": "masking_images"}, ()),
    # threads=None: leave the backend's threads as they are (the workflow always gives the config's)
    (backend.configure, validated("compute"), {"gpu_requested": "gpu"}, ("threads",)),
    (figure.theme, validated("figures"), {}, ()),
    (figure.save, validated("figures"), {}, ()),
    # every statistics function with a default confidence
    *[
        (f, validated("statistics"), {}, ())
        for module in (inference, trends, claims)
        for f in defaulted(module, "confidence")
    ],
    *[(f, validated("statistics"), {}, ()) for f in defaulted(paper_figures, "confidence")],
]


def plain(value):
    """Tuples as lists, mappings as dicts: a signature may hold an immutable copy of a schema list."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "function, settings, renamed, not_settings",
    FUNCTIONS,
    ids=[f"{f.__module__}.{f.__qualname__}" for f, *_ in FUNCTIONS],
)
def test_library_defaults_are_the_schemas(function, settings, renamed, not_settings):
    given = {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not p.empty and name not in not_settings
    }
    held = {name: renamed.get(name, name) for name in given if renamed.get(name, name) in settings}
    assert held, f"{function.__qualname__} takes none of these settings: a parameter or setting renamed?"
    differ = {
        name: (given[name], settings[key])
        for name, key in held.items()
        if plain(given[name]) != plain(settings[key])
    }
    assert not differ, f"{function.__qualname__}: (default, schema's) {differ}"


def test_the_statistics_functions_are_all_held():
    held = {f.__name__ for f, settings, *_ in FUNCTIONS if f.__module__.startswith("robustcurves.statistics")}
    assert held >= {"fold_test", "decide", "detectable", "claims", "trend_table"}
