from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import io
from robustcurves.stages import aggregate
from robustcurves.statistics import claims, trends

p = snakemake.params


def stacked(name):
    """The per-fold tables of input `name` stacked with regime and fold columns; None without the input."""
    if name not in snakemake.input.keys():
        return None
    return aggregate.stack(aggregate.read_fold_frames(snakemake.input[name], p.fold_keys))


evaluation, robustness = stacked("evaluation"), stacked("robustness")
distances = pd.read_csv(snakemake.input.distances)
s = p.statistics
io.write_csv(
    trends.trend_table(evaluation, robustness, s["warmup"], s["confidence"]), snakemake.output.trends
)
table = claims.claims(
    evaluation,
    distances,
    normal=s["normal"],
    overfit=s["overfit"],
    cw=p.cw,
    linf_attacks=p.linf_attacks,
    warmup=s["warmup"],
    confidence=s["confidence"],
    level_margin=s["level_margin"],
    primary=s["primary"],
    robustness=robustness,
    images=stacked("images"),
    clever=stacked("clever"),
    whitebox_images=stacked("whitebox_images"),
)
log.info("claims:\n%s", table.to_string())
io.write_csv(table, snakemake.output.csv)
io.write_text(claims.markdown(table), snakemake.output.md)
