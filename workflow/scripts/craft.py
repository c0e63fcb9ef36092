from common import setup

log = setup(snakemake, keras=True)

from robustcurves import adversarial, data, io
from robustcurves.models import Snapshots
from robustcurves.stages import craft

w, p = snakemake.wildcards, snakemake.params
x_test, y_test = data.load_test(snakemake.input.data)
epoch = io.read_json(snakemake.input.best)["epoch"]
with Snapshots(snakemake.input.snapshots) as snapshots:
    model = snapshots.model(epoch)
log.info("crafting against the best snapshot, epoch %d", epoch)
crafted = craft.craft(
    model, x_test, y_test, p.attack, samples=p.samples, seed=p.seed, dataset=w.dataset, regime=w.regime,
    fold=w.fold, attack=w.attack,
)  # fmt: skip
adversarial.save(snakemake.output[0], **crafted, attack=w.attack, params=p.attack, epoch=epoch)
