from common import setup

log = setup(snakemake)

import pandas as pd

from robustcurves import adversarial, data, io, metrics

adv, attrs = adversarial.load(snakemake.input.adversarial)
x = data.to_float(data.load(snakemake.input.data)["x_test"][adv["indices"]])
d = metrics.distances(x, adv["x_adv"])
table = pd.DataFrame({"index": adv["indices"], "label": adv["labels"], "success": adv["success"], **d})
ok = table[table["success"]]
log.info(
    "%s: %d/%d successful; mean L0 %.1f, L2 %.4f, Linf %.4f over successes",
    attrs["attack"],
    len(ok),
    len(table),
    ok["l0"].mean(),
    ok["l2"].mean(),
    ok["linf"].mean(),
)
io.write_csv(table, snakemake.output[0])
