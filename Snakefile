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


# The report's front page: the study, its settings and each dataset's answer (workflow/rules/front.smk).
report: "workflow/report/workflow.rst"


# One file per stage, named as its rule, its script and its library module (but train's training.py and
# select_best's selection.py); front.smk and paper.smk group the report's front page and the paper's tables.
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
include: "workflow/rules/front.smk"
include: "workflow/rules/paper.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        report_outputs(),
