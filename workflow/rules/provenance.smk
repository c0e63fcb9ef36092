# The provenance record, written beside a dataset's results once they are all there
# (robustcurves/stages/provenance.py).


rule provenance:
    input:
        lambda wc: dataset_outputs(wc.dataset),
    output:
        "results/{dataset}/provenance.json",
    log:
        "logs/provenance/{dataset}.log",
    benchmark:
        "logs/benchmarks/provenance/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **provenance_params(),
        # the network the dataset ran (a user model's with the digest of its source)
        model=model_params,
    script:
        "../scripts/provenance.py"
