from common import setup

log = setup(snakemake)

from robustcurves import data
from robustcurves.stages import prepare

ds = snakemake.params.dataset
dataset, source, checksum = prepare.prepare(ds["kind"], ds, snakemake.input[0] if snakemake.input else None)
log.info(
    "%s: %d train and %d test images of shape %s, %d classes (%s)",
    source,
    len(dataset["y_train"]),
    len(dataset["y_test"]),
    dataset["x_train"].shape[1:],
    len(dataset["class_names"]),
    ", ".join(dataset["class_names"]),
)
if ds.get("subset"):
    log.info("a stratified subset %s of the source, seed %d (from the config's)", ds["subset"], ds["seed"])
data.save(dataset, snakemake.output[0], source=source, checksum=checksum)
