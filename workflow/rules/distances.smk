# L0, L2 and Linf of each adversarial set from its clean images (robustcurves/stages/distances.py).


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
