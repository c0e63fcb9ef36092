from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import table

w = snakemake.wildcards
distances = table.distance_table(pd.read_csv(snakemake.input[0]), w.regime)
caption = (
    f"{w.dataset} {w.regime}: distance between clean and adversarial images per attack "
    "(successful attacks only)"
)
table.write(distances, snakemake.output.csv, snakemake.output.md, snakemake.output.tex, caption)
log.info("%s", distances.to_string())
