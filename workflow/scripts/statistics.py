from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import io, statistics
from robustcurves.stages import aggregate

p = snakemake.params


def stacked(name):
    """The per-fold tables of input `name` stacked with regime and fold columns; None without the input."""
    if name not in snakemake.input.keys():
        return None
    return aggregate.stack(aggregate.read_fold_frames(snakemake.input[name], p.fold_keys))


evaluation, robustness = stacked("evaluation"), stacked("robustness")
distances = pd.read_csv(snakemake.input.distances)
s = p.statistics
trends = statistics.trend_table(evaluation, robustness, s["warmup"], s["confidence"])
io.write_csv(trends, snakemake.output.trends)
claims = statistics.claims(
    evaluation,
    robustness,
    distances,
    normal=s["normal"],
    overfit=s["overfit"],
    cw=p.cw,
    linf_attacks=p.linf_attacks,
    warmup=s["warmup"],
    confidence=s["confidence"],
    whitebox=stacked("whitebox"),
    clever=stacked("clever"),
    images=stacked("images"),
)
log.info("claims:\n%s", claims.to_string())
io.write_csv(claims, snakemake.output.csv)
io.write_text(claims.to_markdown(index=False) + "\n", snakemake.output.md)
