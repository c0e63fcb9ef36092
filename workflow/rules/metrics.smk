# Per-snapshot robustness: CLEVER, loss sensitivity and empirical robustness.


rule robustness:
    input:
        data="resources/{dataset}.h5",
        snapshots=FOLD_DIR + "/snapshots.h5",
        best=FOLD_DIR + "/best_epoch.json",
    output:
        FOLD_DIR + "/robustness.csv",
    params:
        metrics=config["metrics"],
        seed=config["seed"],
    log:
        "logs/robustness/{dataset}/{regime}/fold{fold}.log",
    benchmark:
        "logs/benchmarks/robustness/{dataset}/{regime}/fold{fold}.tsv"
    conda:
        TF_ENV
    threads: COMPUTE.get("threads", 1)
    resources:
        **tf_resources(runtime=240),
    script:
        "../scripts/robustness.py"
