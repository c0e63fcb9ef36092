from common import setup

log = setup(snakemake, keras=True)

from robustcurves import adversarial, data, io
from robustcurves.models import Snapshots
from robustcurves.stages import evaluate

w, p = snakemake.wildcards, snakemake.params
x_test, y_test = data.load_test(snakemake.input.data)
sets = {}
for attack, path in zip(p.attacks, snakemake.input.adversarial, strict=True):
    adv, _ = adversarial.load(path)
    # success: broken at the crafting snapshot, for the transfer rate of the real adversarials
    sets[attack] = (adv["x_adv"], adv["labels"], adv["indices"], adv["success"])
with Snapshots(snakemake.input.snapshots) as snapshots:
    table, images = evaluate.fold_tables(
        snapshots,
        x_test,
        y_test,
        sets,
        metric_samples=p.metric_samples,
        seed=p.seed,
        dataset=w.dataset,
        fold=w.fold,
    )
log.info("evaluated %d snapshots on clean + %d adversarial sets", table["epoch"].nunique(), len(sets))
io.write_csv(table, snakemake.output.csv)
# per attacked image: the image-level paired tests between regimes (statistics.claims.image_differences)
io.write_csv(images, snakemake.output.images)
