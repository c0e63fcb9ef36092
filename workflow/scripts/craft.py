from common import setup

log = setup(snakemake, keras=True)

from robustcurves import adversarial, attacks, data, io, seeding, selection
from robustcurves.models import Snapshots, logits_fn, predict

w, p = snakemake.wildcards, snakemake.params
dataset = data.load(snakemake.input.data)
x_test, y_test = data.to_float(dataset["x_test"]), dataset["y_test"]
epoch = io.read_json(snakemake.input.best)["epoch"]
with Snapshots(snakemake.input.snapshots) as snapshots:
    model = snapshots.model(epoch)
forward = logits_fn(model)

# The attack set depends on the fold, not on the attack: every attack sees the same images; nor on the
# regime's seed: the regimes attack the same images where both classify them correctly.
correct = predict(forward, x_test) == y_test
indices = selection.attack_indices(
    correct, p.samples, seeding.derive(p.seed, w.dataset, w.fold, "attack-set")
)
if len(indices) == 0:
    log.warning("the epoch-%d snapshot classifies no test image correctly: empty attack set", epoch)
x, y = x_test[indices], y_test[indices]
log.info(
    "%s on %d of %d correctly classified test images (epoch %d): %s",
    w.attack,
    len(indices),
    correct.sum(),
    epoch,
    p.attack,
)
x_adv = attacks.craft(
    model, x, y, p.attack, seed=seeding.derive(p.seed, w.dataset, w.regime, w.fold, w.attack)
)
success = predict(forward, x_adv) != y if len(x) else correct[:0]
log.info("attack success rate against epoch %d: %d/%d", epoch, success.sum(), len(success))
adversarial.save(
    snakemake.output[0], x_adv, indices, y, success, attack=w.attack, params=p.attack, epoch=epoch
)
