"""Config validation with messages that name the offending key, not a dump of the schema."""

from __future__ import annotations

from pathlib import Path

import yaml


class ConfigError(ValueError):
    pass


def check(config: dict, schema_path) -> None:
    """Raise ConfigError listing every violation of the schema as `path.to.key: what is wrong`."""
    from jsonschema import Draft202012Validator

    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    problems = [
        f"  {'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {_message(e)}" for e in errors
    ]
    problems += _cross_checks(config) if not errors else []
    if problems:
        raise ConfigError(
            "invalid configuration (see workflow/schemas/config.schema.yaml):\n" + "\n".join(problems)
        )


def _message(error) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"unknown key {', '.join(map(repr, extra))}" + (
            f" (allowed: {', '.join(allowed)})" if allowed else ""
        )
    if error.validator == "pattern" and isinstance(error.instance, str):
        return f"{error.instance!r} is not a valid name (letters, digits, _ and -, starting with a letter)"
    return error.message


def _cross_checks(config: dict) -> list[str]:
    """What a schema cannot say: references between sections."""
    problems = []
    for name, dataset in config["datasets"].items():
        for regime in dataset.get("regimes", {}):
            if regime not in config["regimes"]:
                problems.append(
                    f"  datasets.{name}.regimes.{regime}: no such regime "
                    f"(defined: {', '.join(config['regimes'])})"
                )
    return problems
