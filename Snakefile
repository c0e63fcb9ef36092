# How robustness to adversarial examples evolves while a network trains.
# Thin rules; the science lives in workflow/robustcurves. See README.md and ../shared/DESIGN.md.

from snakemake.utils import min_version, validate

min_version("9.0")


# A preset given with --configfile (configs/*.yaml, tests/config/*.yaml) is a complete config and
# replaces config.yaml rather than being merged into it; --config key=value still overrides either.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
