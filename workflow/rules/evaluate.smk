# Every snapshot replayed on the clean test set and the fold's adversarial sets (robustcurves/stages/evaluate.py).


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
        metric_samples=config["robustness"]["samples"],
        seed=config["seed"],
        compute=compute_params(),
    script:
        "../scripts/evaluate.py"
