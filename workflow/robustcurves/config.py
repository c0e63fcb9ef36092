"""Config validation with messages that name the offending key, not a dump of the schema, and the
schema's defaults filled in: the validated config is the one source of every setting, and the schema
the one home of every default, the library's included (`default`)."""

from __future__ import annotations

import copy
import json
import warnings
from functools import cache
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


# Sections renamed after the stage that reads them (issue 28): old name -> new name. The old names are
# accepted, with a warning, until the next release.
RENAMED = {"attack": "craft", "metrics": "robustness"}


def check(config: dict, schema_path, warn=None) -> dict:
    """Fill in the schema's defaults (in place, as `snakemake.utils.validate(set_default=True)` does),
    then raise ConfigError listing every violation as `path.to.key: what is wrong`. Returns `config`.

    A section under its old name (RENAMED) moves to its new one, said through `warn` (a callable taking
    the message; default: a FutureWarning)."""
    from jsonschema import Draft202012Validator

    schema = yaml.safe_load(Path(schema_path).read_text())
    _rename_sections(config, warn or _future_warning)
    # Defaults first, in a pass of their own, so that no check runs before a default it depends on is
    # in place (a schema's keyword order is not an evaluation order).
    _fill_defaults(config, schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    problems = [
        f"  {'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {_message(e)}" for e in errors
    ]
    if not errors:
        _fill_implementations(config)
        problems += _cross_checks(config)
    if problems:
        raise ConfigError(
            "invalid configuration (see workflow/schemas/config.schema.yaml):\n" + "\n".join(problems)
        )
    return config


def _future_warning(message: str) -> None:
    # Python's category for a deprecation that users, not only developers, should see
    warnings.warn(message, FutureWarning, stacklevel=4)


def _rename_sections(config: dict, warn) -> None:
    """A section under its old name (RENAMED) moves to its new one, `warn` naming both."""
    for old, new in RENAMED.items():
        if old not in config:
            continue
        if new in config:
            raise ConfigError(
                f"invalid configuration: both `{old}` and `{new}`; `{old}` is the old name of `{new}`: "
                f"keep `{new}` only"
            )
        warn(f"config section `{old}` is now `{new}`; the old name is accepted until the next release")
        config[new] = config.pop(old)


def load(path) -> dict:
    """A config file as the workflow sees it: validated, the schema's defaults filled in.

    Raises ConfigError naming the file if it is missing, or naming the key that is wrong."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config not found")
    return check(yaml.safe_load(path.read_text()), SCHEMA)


def defaults(schema_path, **given) -> dict:
    """The config that `given` (e.g. `datasets=...`) becomes once validated: the default run's."""
    return check(copy.deepcopy(given), schema_path)


@cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


@cache
def _filled(given: str) -> dict:
    config = json.loads(given)
    _fill_defaults(config, _schema())
    return config


def default(*keys: str, **given):
    """The schema's default of the setting at `keys` (a section, e.g. `default("robustness", "clever")`, or
    one value), as validation fills it into a config holding `given`; a copy.

    The library's functions take their settings' defaults from here, so that a setting has its default
    in one place, the schema (tests/test_defaults.py holds the signatures to it).
    """
    value = _filled(json.dumps(given, sort_keys=True))
    for key in keys:
        value = value[key]
    return copy.deepcopy(value)


def attack_defaults(method: str, **given) -> dict:
    """The settings that validation fills into an `attacks` entry of `method` holding `given` (CW's
    `algorithm`, say): the method's own defaults, not the default run's attacks."""
    return default("attacks", "_", attacks={"_": {"method": method, **given}})


def _fill_defaults(config, schema: dict) -> None:
    from jsonschema import Draft202012Validator

    for _ in _with_defaults(Draft202012Validator)(schema).iter_errors(config):
        pass
    if isinstance(config, dict) and isinstance(config.get("figures"), dict):
        _inherit_figure_style(config["figures"], schema)


def _with_defaults(validator_class):
    """`validator_class` whose `properties` also sets each absent property that has a `default`.

    It works wherever the validator descends: nested objects, `additionalProperties` maps (each
    attack, each dataset) and the `then` of an `if` that holds (an attack's method-specific settings).
    """
    from jsonschema import validators

    properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in props.items():
                if isinstance(subschema, dict) and "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from properties(validator, props, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


def _inherit_figure_style(figures: dict, schema: dict) -> None:
    """A figure's own section takes the shared `figures` settings it does not set itself."""
    shared = [k for k in schema["$defs"]["style"]["properties"] if k in figures]
    for section in figures.values():
        if isinstance(section, dict):
            for key in shared:
                section.setdefault(key, copy.deepcopy(figures[key]))


def _message(error) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"unknown key {', '.join(map(repr, extra))}" + (
            f" (allowed: {', '.join(allowed)})" if allowed else ""
        )
    if error.validator == "pattern" and "x-message" in error.schema:  # the schema's own words
        return f"{error.instance!r} is {error.schema['x-message']}"
    if error.validator == "pattern" and isinstance(error.instance, str):
        return f"{error.instance!r} is not a valid name (letters, digits, _ and -, starting with a letter)"
    return error.message


# attack and metric settings that name an implementation, and the backends ART runs on
ART_BACKENDS = ("tensorflow",)
IMPLEMENTATIONS = ("art", "batched")


def implementation(given: str | None, backend: str) -> str:
    """`art` (ART's) or `batched` (ours) for an attack or measure that ART implements too: the given
    one, else ART's on the backends ART runs on (the paper protocol's) and ours elsewhere. The one
    place this is decided: the validation fills the config with it, `art_adapter.use_art` applies it.

    Raises ValueError for any other value."""
    if given not in (None, *IMPLEMENTATIONS):
        raise ValueError(f"unknown implementation {given!r}; choose {' or '.join(IMPLEMENTATIONS)}")
    return given or ("art" if backend in ART_BACKENDS else "batched")


def _fill_implementations(config: dict) -> None:
    """FGSM and PGD without an `implementation` take `implementation`'s: the default depends on
    `compute.backend`, which a schema cannot say."""
    backend = config["compute"]["backend"]
    for attack in config["attacks"].values():
        if attack["method"] in ("fgsm", "pgd"):
            attack["implementation"] = implementation(attack.get("implementation"), backend)


def _art_requests(config: dict) -> list[str]:
    """The config keys that ask for ART's own implementation."""
    keys = [
        f"attacks.{name}.implementation"
        for name, a in config["attacks"].items()
        if a.get("implementation") == "art"
    ]
    if config["robustness"]["clever"]["implementation"] == "art":
        keys.append("robustness.clever.implementation")
    return keys


def _cross_checks(config: dict) -> list[str]:
    """What a schema cannot say: references between sections, ART on a backend it does not run on."""
    problems = []
    backend = config["compute"]["backend"]
    if backend not in ART_BACKENDS:
        problems += [
            f"  {key}: art is ART's implementation, which runs on {', '.join(ART_BACKENDS)} only, not on"
            f" compute.backend {backend}; use batched (ours) or remove the key"
            for key in _art_requests(config)
        ]
    for name, dataset in config["datasets"].items():
        for regime in dataset.get("regimes", {}):
            if regime not in config["regimes"]:
                problems.append(
                    f"  datasets.{name}.regimes.{regime}: no such regime "
                    f"(defined: {', '.join(config['regimes'])})"
                )
    return problems
