# Training per dataset x regime x fold, with a snapshot after every epoch (robustcurves/stages/train.py).


rule train:
    input:
        data="resources/{dataset}.h5",
        folds="results/{dataset}/folds.csv",
    output:
        snapshots="results/{dataset}/{regime}/fold{fold}/snapshots.h5",
        history="results/{dataset}/{regime}/fold{fold}/history.csv",
    log:
        "logs/train/{dataset}/{regime}/fold{fold}.log",
    benchmark:
        "logs/benchmarks/train/{dataset}/{regime}/fold{fold}.tsv"
    conda:
        TF_ENV
    threads: COMPUTE["threads"]
    resources:
        **tf_resources(runtime=240),
    params:
        model=model_params,
        regime=regime_settings,
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        seed=config["seed"],
        compute=compute_params(),
    script:
        "../scripts/train.py"
