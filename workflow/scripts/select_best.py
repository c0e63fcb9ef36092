from common import setup

log = setup(snakemake)

import pandas as pd  # noqa: E402

from robustcurves import io, selection  # noqa: E402

best = selection.best_epoch(pd.read_csv(snakemake.input[0]))
log.info("best epoch %d (validation accuracy %.4f)", best["epoch"], best["val_accuracy"])
io.write_json(best, snakemake.output[0])
