# Adversarial sets crafted against each fold's best snapshot (robustcurves/stages/craft.py).


rule craft:
    input:
        data="resources/{dataset}.h5",
        snapshots="results/{dataset}/{regime}/fold{fold}/snapshots.h5",
        best="results/{dataset}/{regime}/fold{fold}/best_epoch.json",
    output:
        "results/{dataset}/{regime}/fold{fold}/adversarial/{attack}.h5",
    log:
        "logs/craft/{dataset}/{regime}/fold{fold}/{attack}.log",
    benchmark:
        "logs/benchmarks/craft/{dataset}/{regime}/fold{fold}/{attack}.tsv"
    conda:
        TF_ENV
    threads: COMPUTE["threads"]
    resources:
        **tf_resources(runtime=240),
    params:
        attack=attack_params,
        samples=config["craft"]["samples"],
        seed=config["seed"],
        compute=compute_params(),
    script:
        "../scripts/craft.py"
