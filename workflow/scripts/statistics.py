from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import aggregate, io, stats

p = snakemake.params
evaluation = aggregate.stack(aggregate.read_fold_frames(snakemake.input.evaluation, p.fold_keys))
robustness = aggregate.stack(aggregate.read_fold_frames(snakemake.input.robustness, p.fold_keys))
distances = pd.read_csv(snakemake.input.distances)
s = p.statistics
trends = stats.trend_table(evaluation, robustness, s["warmup"], s["confidence"])
io.write_csv(trends, snakemake.output.trends)
whitebox = None
if "whitebox" in snakemake.input.keys():
    whitebox = aggregate.stack(aggregate.read_fold_frames(snakemake.input.whitebox, p.fold_keys))
claims = stats.claims(
    evaluation,
    robustness,
    distances,
    normal=s["normal"],
    overfit=s["overfit"],
    cw=p.cw,
    linf_attacks=p.linf_attacks,
    warmup=s["warmup"],
    confidence=s["confidence"],
    whitebox=whitebox,
)
log.info("claims:\n%s", claims.to_string())
io.write_csv(claims, snakemake.output.csv)
io.write_text(claims.to_markdown(index=False) + "\n", snakemake.output.md)
