from common import setup

log = setup(snakemake, keras=True)

import pandas as pd

from robustcurves import data, seeding
from robustcurves.stages import train

w, p = snakemake.wildcards, snakemake.params
dataset = data.load(snakemake.input.data)
fold = pd.read_csv(snakemake.input.folds)["fold"].to_numpy()
k = int(w.fold)
train.train(
    train.Split.from_fold(dataset, fold, k),
    classes=len(dataset["class_names"]),
    epochs=p.epochs,
    batch_size=p.batch_size,
    model=p.model["name"],
    learning_rate=p.regime["learning_rate"],
    optimizer=p.regime["optimizer"],
    momentum=p.regime["momentum"],
    weight_decay=p.regime["weight_decay"],
    augment=p.regime["augment"],
    # no regime in the seed: a fold starts from the same weights in every regime (a paired design)
    seed=seeding.derive(p.seed, w.dataset, k, "train"),
    snapshots_path=snakemake.output.snapshots,
    history_path=snakemake.output.history,
    label=f"{w.dataset}/{w.regime}/fold{k}",
)
