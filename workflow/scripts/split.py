from common import setup

log = setup(snakemake)

import numpy as np
import pandas as pd

from robustcurves import data, io

y = data.load(snakemake.input[0])["y_train"]
fold = data.stratified_folds(y, snakemake.params.folds, snakemake.params.seed)
log.info("%d training samples into %d folds of sizes %s", len(y), snakemake.params.folds, np.bincount(fold))
io.write_csv(pd.DataFrame({"index": np.arange(len(y)), "label": y, "fold": fold}), snakemake.output[0])
