# White-box robustness: every k-th snapshot (and the best) attacked itself, on images shared by both regimes.


rule whitebox:
    input:
        data="resources/{dataset}.h5",
        snapshots="results/{dataset}/{regime}/fold{fold}/snapshots.h5",
        best="results/{dataset}/{regime}/fold{fold}/best_epoch.json",
    output:
        table="results/{dataset}/{regime}/fold{fold}/whitebox.csv",
        images="results/{dataset}/{regime}/fold{fold}/whitebox_images.csv",
    log:
        "logs/whitebox/{dataset}/{regime}/fold{fold}.log",
    benchmark:
        "logs/benchmarks/whitebox/{dataset}/{regime}/fold{fold}.tsv"
    conda:
        TF_ENV
    threads: COMPUTE["threads"]
    resources:
        **tf_resources(runtime=240),
    params:
        whitebox=canonical(WHITEBOX),
        seed=config["seed"],
        compute=compute_params(),
    script:
        "../scripts/whitebox.py"
