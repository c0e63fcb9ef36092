from common import setup

log = setup(snakemake, tensorflow=True)

from robustcurves import adversarial, data, evaluation, io
from robustcurves.models import Snapshots

dataset = data.load(snakemake.input.data)
sets = {}
for attack, path in zip(snakemake.params.attacks, snakemake.input.adversarial, strict=True):
    adv, _ = adversarial.load(path)
    sets[attack] = (adv["x_adv"], adv["labels"])
with Snapshots(snakemake.input.snapshots) as snapshots:
    table = evaluation.evaluate_snapshots(
        snapshots, data.to_float(dataset["x_test"]), dataset["y_test"], sets
    )
log.info("evaluated %d snapshots on clean + %d adversarial sets", table["epoch"].nunique(), len(sets))
io.write_csv(table, snakemake.output[0])
