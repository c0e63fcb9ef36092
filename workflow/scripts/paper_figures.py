from common import setup

log = setup(snakemake)

from robustcurves import io
from robustcurves.report import paper_figures
from robustcurves.stages import aggregate

p = snakemake.params
frames = {
    name: aggregate.stack(aggregate.read_fold_frames(snakemake.input[name], p.fold_keys))
    for name in ("history", "evaluation", "robustness", "clever")
}
table = paper_figures.check(
    frames,
    p.paper,
    p.regimes,
    cw=p.cw,
    warmup=p.warmup,
    confidence=p.confidence,
    clever_radius=p.clever_radius,
)
caption = (
    f"{snakemake.wildcards.dataset}: what the paper's text says of its {p.paper} figures, beside this run"
)
out = snakemake.output
io.write_table(table, out.csv, {out.md: paper_figures.markdown(table, caption, p.confidence)})
log.info("%s", table[["id", "verdict", "reason"]].to_string())
