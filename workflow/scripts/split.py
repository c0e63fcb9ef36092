from common import setup

log = setup(snakemake)

import numpy as np

from robustcurves import data, io
from robustcurves.stages import split

dataset = data.load(snakemake.input[0])
y = dataset["y_train"]
table = split.folds(y, snakemake.params.folds, snakemake.params.seed, dataset["class_names"])
log.info(
    "%d training samples into %d folds of sizes %s",
    len(y),
    snakemake.params.folds,
    np.bincount(table["fold"]),
)
io.write_csv(table, snakemake.output[0])
