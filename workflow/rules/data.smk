# Dataset preparation: one HDF5 per dataset, then the stratified fold split.


def prepare_input(wildcards):
    ds = dataset_config(wildcards)
    if ds["kind"] == "arrays":
        return ds["path"]
    if ds["kind"] in ("cifar10", "stl10"):
        return ds.get("archive", f"resources/archives/{wildcards.dataset}.tar.gz")
    return []


def prepare_params(wildcards):
    """Everything that changes the prepared arrays; the archive's checksum when one is configured."""
    ds = dataset_config(wildcards)
    keep = {k: v for k, v in ds.items() if k in ("kind", "test_fraction", "sha256")}
    return {**keep, "seed": config["seed"]}


rule prepare:
    input:
        prepare_input,
    output:
        "resources/{dataset}.h5",
    params:
        dataset=prepare_params,
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "logs/benchmarks/prepare/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../scripts/prepare.py"


rule split:
    input:
        "resources/{dataset}.h5",
    output:
        "results/{dataset}/folds.csv",
    params:
        folds=config["folds"],
        seed=config["seed"],
    log:
        "logs/split/{dataset}.log",
    benchmark:
        "logs/benchmarks/split/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../scripts/split.py"
