# Adversarial sets crafted against each fold's best snapshot, their distances, and their replay on
# every snapshot.


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
        samples=config["attack"]["samples"],
        seed=config["seed"],
        compute=compute_params(),
    script:
        "../scripts/craft.py"


rule distances:
    input:
        data="resources/{dataset}.h5",
        adversarial="results/{dataset}/{regime}/fold{fold}/adversarial/{attack}.h5",
    output:
        "results/{dataset}/{regime}/fold{fold}/distances/{attack}.csv",
    log:
        "logs/distances/{dataset}/{regime}/fold{fold}/{attack}.log",
    benchmark:
        "logs/benchmarks/distances/{dataset}/{regime}/fold{fold}/{attack}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../scripts/distances.py"


rule evaluate:
    input:
        data="resources/{dataset}.h5",
        snapshots="results/{dataset}/{regime}/fold{fold}/snapshots.h5",
        adversarial=expand(
            "results/{dataset}/{regime}/fold{fold}/adversarial/{attack}.h5",
            attack=ATTACKS,
            allow_missing=True,
        ),
    output:
        csv="results/{dataset}/{regime}/fold{fold}/evaluation.csv",
        images="results/{dataset}/{regime}/fold{fold}/evaluation_images.csv",
    log:
        "logs/evaluate/{dataset}/{regime}/fold{fold}.log",
    benchmark:
        "logs/benchmarks/evaluate/{dataset}/{regime}/fold{fold}.tsv"
    conda:
        TF_ENV
    threads: COMPUTE["threads"]
    resources:
        **tf_resources(runtime=60),
    params:
        attacks=ATTACKS,
        metric_samples=config["metrics"]["samples"],
        seed=config["seed"],
        compute=compute_params(),
    script:
        "../scripts/evaluate.py"
