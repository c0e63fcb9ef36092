# Dataset preparation: one HDF5 per dataset, then the stratified fold split.


rule prepare:
    input:
        prepare_input,
    output:
        "resources/{dataset}.h5",
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "logs/benchmarks/prepare/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        dataset=prepare_params,
    script:
        "../scripts/prepare.py"


rule split:
    input:
        "resources/{dataset}.h5",
    output:
        "results/{dataset}/folds.csv",
    log:
        "logs/split/{dataset}.log",
    benchmark:
        "logs/benchmarks/split/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        folds=config["folds"],
        seed=config["seed"],
    script:
        "../scripts/split.py"
