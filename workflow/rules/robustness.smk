# Per-snapshot robustness: CLEVER, loss sensitivity and empirical robustness; CLEVER per image too
# (robustcurves/stages/robustness.py).


rule robustness:
    input:
        data="resources/{dataset}.h5",
        snapshots="results/{dataset}/{regime}/fold{fold}/snapshots.h5",
    output:
        robustness="results/{dataset}/{regime}/fold{fold}/robustness.csv",
        # every metric image's CLEVER score: epoch, image, score, raw, reason
        clever="results/{dataset}/{regime}/fold{fold}/clever.csv",
    log:
        "logs/robustness/{dataset}/{regime}/fold{fold}.log",
    benchmark:
        "logs/benchmarks/robustness/{dataset}/{regime}/fold{fold}.tsv"
    conda:
        TF_ENV
    threads: COMPUTE["threads"]
    resources:
        **tf_resources(runtime=240),
    params:
        robustness=canonical(config["robustness"]),
        seed=config["seed"],
        compute=compute_params(),
    script:
        "../scripts/robustness.py"
