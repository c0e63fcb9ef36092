# How robustness to adversarial examples evolves while a network trains.
# Thin rules; the science lives in workflow/robustcurves. See README.md and ../shared/DESIGN.md.

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version

try:
    from robustcurves.config import SCHEMA, check
except ImportError as err:
    raise WorkflowError(
        f"the workflow's library, robustcurves, is not installed in this environment ({err}): "
        "run `make` once, or `pip install -e` this project where Snakemake runs (README.md)"
    ) from err

min_version("9.0")


# A preset given with --configfile (configs/*.yaml, tests/config/*.yaml) is a complete config and
# replaces config.yaml rather than being merged into it; --config key=value still overrides either.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


check(config, SCHEMA, warn=logger.warning)  # workflow/schemas/config.schema.yaml


# The report's front page: the study, its settings and each dataset's answer (workflow/rules/front_page.smk).
report: "workflow/report/workflow.rst"


# One file per rule, named as the rule and its script, and as its library module but for train's
# training.py, select_best's selection.py and the report's rules (front_page, html_table: report.py;
# paper_comparison: paper.py).
include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/select_best.smk"
include: "workflow/rules/craft.smk"
include: "workflow/rules/distances.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/whitebox.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figure.smk"
include: "workflow/rules/table.smk"
include: "workflow/rules/statistics.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/html_table.smk"
include: "workflow/rules/front_page.smk"
include: "workflow/rules/paper_comparison.smk"
include: "workflow/rules/paper_figures.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        report_outputs(),
