from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import io
from robustcurves.stages import select_best

best = select_best.best_epoch(pd.read_csv(snakemake.input[0]))
log.info("best epoch %d (validation accuracy %.4f)", best["epoch"], best["val_accuracy"])
io.write_json(best, snakemake.output[0])
