from common import setup

log = setup(snakemake, keras=True)

from robustcurves import data, evaluation, io, selection
from robustcurves.models import Snapshots

w, p = snakemake.wildcards, snakemake.params
dataset = data.load(snakemake.input.data)
x_test, y_test = data.to_float(dataset["x_test"]), dataset["y_test"]
# the same images and CLEVER samples for every regime and epoch of a fold (common random numbers)
idx, seed = selection.fold_images(len(y_test), p.metrics["samples"], p.seed, w.dataset, w.fold, "robustness")
with Snapshots(snakemake.input.snapshots) as snapshots:
    epochs = selection.metric_epochs(snapshots.epochs, p.metrics["every"])
    log.info("robustness of %d snapshots on %d test images", len(epochs), len(idx))
    table, clever = evaluation.robustness_tables(
        snapshots,
        x_test[idx],
        y_test[idx],
        epochs=epochs,
        seed=seed,
        clever=p.metrics["clever"],
        empirical_robustness=p.metrics["empirical_robustness"],
        x_test=x_test,
    )
io.write_csv(table, snakemake.output.robustness)
io.write_csv(clever, snakemake.output.clever)
