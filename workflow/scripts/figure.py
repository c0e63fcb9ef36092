from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves.report import figure

w, p = snakemake.wildcards, snakemake.params
summaries = {name: pd.read_csv(path) for name, path in snakemake.input.items()}
figure.theme(p.style["context"])
fig = figure.draw(w.figure, summaries, dataset=w.dataset, regimes=p.regimes, attack=p.attack)
figure.save(fig, snakemake.output, dpi=p.style["dpi"])
log.info("wrote %s", ", ".join(snakemake.output))
