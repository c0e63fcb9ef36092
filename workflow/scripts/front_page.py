from common import setup

log = setup(snakemake)

from pathlib import Path

from robustcurves import io
from robustcurves.report import pages

inputs = snakemake.input
page = pages.front_page(
    snakemake.wildcards.dataset,
    figure=inputs.figure if "figure" in inputs.keys() else None,
    claims_md=Path(inputs.claims).read_text() if "claims" in inputs.keys() else None,
    note=snakemake.params.note,
    full_table=snakemake.params.full_table,
)
io.write_text(page, snakemake.output[0])
log.info("wrote %s", snakemake.output[0])
