from common import setup

log = setup(snakemake)

from pathlib import Path

from robustcurves import io
from robustcurves.report import pages

io.write_text(pages.table_html(Path(snakemake.input[0]).read_text()), snakemake.output[0])
log.info("wrote %s", snakemake.output[0])
