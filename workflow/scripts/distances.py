from common import setup

log = setup(snakemake)

from robustcurves import adversarial, data, io
from robustcurves.stages import distances

adv, attrs = adversarial.load(snakemake.input.adversarial)
x = data.to_float(data.load(snakemake.input.data)["x_test"][adv["indices"]])
table = distances.table(x, adv)
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
