from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import io
from robustcurves.report import paper_comparison

p = snakemake.params
table = paper_comparison.comparison(pd.read_csv(snakemake.input[0]), p.paper, p.regimes, p.attacks)
caption = (
    f"{snakemake.wildcards.dataset}: distances of the successful adversarials beside the paper's "
    f"{p.paper} tables"
)
io.write_table(table, snakemake.output.csv, {snakemake.output.md: paper_comparison.markdown(table, caption)})
log.info("%s", table.to_string())
