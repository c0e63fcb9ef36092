from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import tables

w = snakemake.wildcards
table = tables.distance_table(pd.read_csv(snakemake.input[0]), w.regime)
caption = (
    f"{w.dataset} {w.regime}: distance between clean and adversarial images per attack "
    "(successful attacks only)"
)
tables.write(table, snakemake.output.csv, snakemake.output.md, snakemake.output.tex, caption)
log.info("%s", table.to_string())
