# Fold summaries: mean and std over folds per epoch or per attack (robustcurves/stages/aggregate.py).


rule aggregate:
    input:
        summary_inputs,
    output:
        "results/{dataset}/summary/{summary}.csv",
    log:
        "logs/aggregate/{dataset}/{summary}.log",
    benchmark:
        "logs/benchmarks/aggregate/{dataset}/{summary}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        fold_keys=summary_keys,
    script:
        "../scripts/aggregate.py"
