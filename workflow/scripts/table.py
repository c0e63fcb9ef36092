from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import io
from robustcurves.report import table

w = snakemake.wildcards
distances = table.distance_table(pd.read_csv(snakemake.input[0]), w.regime)
caption = (
    f"{w.dataset} {w.regime}: distance between clean and adversarial images per attack "
    "(successful attacks only)"
)
out = snakemake.output
rendered = {out.md: table.markdown(distances, caption), out.tex: table.latex(distances, caption)}
io.write_table(distances, out.csv, rendered)
log.info("%s", distances.to_string())
