from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import plots

w, p = snakemake.wildcards, snakemake.params
summaries = {path.rsplit("/", 1)[-1].removesuffix(".csv"): pd.read_csv(path) for path in snakemake.input}
plots.theme(p.style["context"])
fig = getattr(plots, w.figure)(*summaries.values(), dataset=w.dataset, regimes=p.regimes)
plots.save(fig, snakemake.output, dpi=p.style["dpi"])
log.info("wrote %s", ", ".join(snakemake.output))
