# The paper's distance tables, one per regime (robustcurves/report/table.py).


rule table:
    input:
        "results/{dataset}/summary/distances.csv",
    output:
        csv=report(
            "results/{dataset}/tables/distances_{regime}.csv",
            caption="../report/table.rst",
            category="{dataset}",
            subcategory="distances",
            labels={"regime": "{regime}"},
        ),
        md="results/{dataset}/tables/distances_{regime}.md",
        tex="results/{dataset}/tables/distances_{regime}.tex",
    log:
        "logs/table/{dataset}/{regime}.log",
    benchmark:
        "logs/benchmarks/table/{dataset}/{regime}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/table.py"
