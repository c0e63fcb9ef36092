from common import setup

log = setup(snakemake)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from robustcurves import data, io  # noqa: E402

y = data.load(snakemake.input[0])["y_train"]
fold = data.stratified_folds(y, snakemake.params.folds, snakemake.params.seed)
log.info("%d training samples into %d folds of sizes %s", len(y), snakemake.params.folds, np.bincount(fold))
io.write_csv(pd.DataFrame({"index": np.arange(len(y)), "label": y, "fold": fold}), snakemake.output[0])
