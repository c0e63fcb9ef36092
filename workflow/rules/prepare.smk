# Dataset preparation: one HDF5 per dataset, from its source (robustcurves/stages/prepare.py).


rule prepare:
    input:
        prepare_input,
    output:
        "resources/{dataset}.h5",
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "logs/benchmarks/prepare/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        dataset=prepare_params,
    script:
        "../scripts/prepare.py"
