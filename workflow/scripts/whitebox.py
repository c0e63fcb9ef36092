from common import setup

log = setup(snakemake, keras=True)

from robustcurves import data, io, selection, whitebox
from robustcurves.models import Snapshots

w, p = snakemake.wildcards, snakemake.params
settings = dict(p.whitebox)
dataset = data.load(snakemake.input.data)
x_test, y_test = data.to_float(dataset["x_test"]), dataset["y_test"]
# No regime in the seed: both regimes of a fold face the same images (a paired comparison).
idx, seed = selection.fold_images(len(y_test), settings.pop("samples"), p.seed, w.dataset, w.fold, "whitebox")
best = io.read_json(snakemake.input.best)["epoch"]
with Snapshots(snakemake.input.snapshots) as snapshots:
    epochs = sorted({*selection.metric_epochs(snapshots.epochs, settings.pop("every")), best})
    log.info("white-box attacks on %d snapshots (%s), %d test images", len(epochs), epochs, len(idx))
    table = whitebox.whitebox(snapshots, x_test[idx], y_test[idx], epochs=epochs, seed=seed, **settings)
table["best"] = table["epoch"] == best
io.write_csv(table, snakemake.output[0])
