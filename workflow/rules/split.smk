# The stratified fold split of a dataset's training samples (robustcurves/stages/split.py).


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
