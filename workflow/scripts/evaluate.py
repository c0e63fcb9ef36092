from common import setup

log = setup(snakemake, keras=True)

from robustcurves import adversarial, data, evaluation, io, selection
from robustcurves.models import Snapshots

w, p = snakemake.wildcards, snakemake.params
dataset = data.load(snakemake.input.data)
x_test, y_test = data.to_float(dataset["x_test"]), dataset["y_test"]
sets = {}
for attack, path in zip(p.attacks, snakemake.input.adversarial, strict=True):
    adv, _ = adversarial.load(path)
    # success: broken at the crafting snapshot, for the transfer rate of the real adversarials
    sets[attack] = (adv["x_adv"], adv["labels"], adv["indices"], adv["success"])
# the fold's metric images (as the robustness rule draws them), for the vanishing-gradient flag
idx, _ = selection.fold_images(len(y_test), p.metric_samples, p.seed, w.dataset, w.fold, "robustness")
with Snapshots(snakemake.input.snapshots) as snapshots:
    table, images = evaluation.evaluation_tables(snapshots, x_test, y_test, sets, x_metric=x_test[idx])
log.info("evaluated %d snapshots on clean + %d adversarial sets", table["epoch"].nunique(), len(sets))
io.write_csv(table, snakemake.output.csv)
# per attacked image: the image-level paired tests between regimes (stats.image_differences)
io.write_csv(images, snakemake.output.images)
