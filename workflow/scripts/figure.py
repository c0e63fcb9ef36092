from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import plots

w, p = snakemake.wildcards, snakemake.params
summaries = {name: pd.read_csv(path) for name, path in snakemake.input.items()}
plots.theme(p.style["context"])
fig = plots.draw(w.figure, summaries, dataset=w.dataset, regimes=p.regimes, attack=p.attack)
plots.save(fig, snakemake.output, dpi=p.style["dpi"])
log.info("wrote %s", ", ".join(snakemake.output))
