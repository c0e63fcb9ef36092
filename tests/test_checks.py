"""The sanity checks' one list (robustcurves/checks.py) against its page (docs/checks.md), the functions
it names and the columns where it says each flag lands."""

import importlib
import re
from pathlib import Path

import pandas as pd
import pytest

from robustcurves.checks import CHECKS

ROOT = Path(__file__).resolve().parents[1]


def test_every_check_has_its_section_on_the_page_and_the_page_no_other():
    sections = re.findall(r"^## (\S+)$", (ROOT / "docs/checks.md").read_text(), flags=re.M)
    assert sections == [c.name for c in CHECKS]


def test_every_check_names_a_function_that_exists_and_says_one_sentence():
    for check in CHECKS:
        module, function = check.function.split(":")
        assert callable(getattr(importlib.import_module(f"robustcurves.{module}"), function)), check.name
        assert check.detects.endswith(".") and check.detects.count(". ") == 0, check.name


@pytest.mark.slow
def test_every_flag_lands_in_the_column_it_names(tiny_run):
    fold = {"dataset": "mnist5k", "regime": "overfit", "fold": 0}
    landed = [land for check in CHECKS for land in check.lands if ":" in land]
    assert landed
    for land in landed:
        path, column = land.split(":")
        assert column in pd.read_csv(tiny_run / path.format(**fold)).columns, land
