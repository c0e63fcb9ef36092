from common import setup

log = setup(snakemake, tensorflow=True)

from robustcurves import data, evaluation, io, seeding, selection
from robustcurves.models import Snapshots, logits_fn, predict

w, p = snakemake.wildcards, snakemake.params
dataset = data.load(snakemake.input.data)
x_test, y_test = data.to_float(dataset["x_test"]), dataset["y_test"]
epoch = io.read_json(snakemake.input.best)["epoch"]
with Snapshots(snakemake.input.snapshots) as snapshots:
    # The same images for every epoch: correctly classified by the fold's best snapshot.
    correct = predict(logits_fn(snapshots.model(epoch)), x_test) == y_test
    seed = seeding.derive(p.seed, w.dataset, w.regime, w.fold, "robustness")
    idx = selection.attack_indices(correct, p.metrics["samples"], seed)
    epochs = selection.metric_epochs(snapshots.epochs, p.metrics["every"])
    log.info("robustness of %d snapshots on %d test images", len(epochs), len(idx))
    table = evaluation.robustness(
        snapshots,
        x_test[idx],
        y_test[idx],
        epochs=epochs,
        seed=seed,
        clever=p.metrics["clever"],
        empirical_robustness=p.metrics["empirical_robustness"],
    )
io.write_csv(table, snakemake.output[0])
