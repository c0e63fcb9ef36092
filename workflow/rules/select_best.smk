# Each fold's best epoch, by validation accuracy (robustcurves/stages/select_best.py).


rule select_best:
    input:
        "results/{dataset}/{regime}/fold{fold}/history.csv",
    output:
        "results/{dataset}/{regime}/fold{fold}/best_epoch.json",
    log:
        "logs/select_best/{dataset}/{regime}/fold{fold}.log",
    benchmark:
        "logs/benchmarks/select_best/{dataset}/{regime}/fold{fold}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/select_best.py"
