from common import setup

log = setup(snakemake, keras=True)

from robustcurves import data, io
from robustcurves.models import Snapshots
from robustcurves.stages import whitebox

w, p = snakemake.wildcards, snakemake.params
x_test, y_test = data.load_test(snakemake.input.data)
best = io.read_json(snakemake.input.best)["epoch"]
with Snapshots(snakemake.input.snapshots) as snapshots:
    table, images = whitebox.fold_table(
        snapshots, x_test, y_test, best=best, **p.whitebox, seed=p.seed, dataset=w.dataset, fold=w.fold
    )
io.write_csv(table, snakemake.output.table)
io.write_csv(images, snakemake.output.images)
