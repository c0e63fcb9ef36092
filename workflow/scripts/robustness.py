from common import setup

log = setup(snakemake, keras=True)

from robustcurves import data, io
from robustcurves.models import Snapshots
from robustcurves.stages import robustness

w, p = snakemake.wildcards, snakemake.params
x_test, y_test = data.load_test(snakemake.input.data)
with Snapshots(snakemake.input.snapshots) as snapshots:
    table, clever = robustness.fold_tables(
        snapshots, x_test, y_test, **p.robustness, seed=p.seed, dataset=w.dataset, fold=w.fold
    )
io.write_csv(table, snakemake.output.robustness)
io.write_csv(clever, snakemake.output.clever)
