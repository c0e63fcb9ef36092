# Fold summaries, the paper's figures and distance tables: each its own target.


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
    script:
        "../scripts/aggregate.py"


rule figure:
    input:
        figure_inputs,
    output:
        report(
            expand(
                "results/{{dataset}}/figures/{{figure}}.{ext}", ext=figure_formats()
            ),
            caption="../report/figure.rst",
            category="{dataset}",
            subcategory="figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "logs/figure/{dataset}/{figure}.log",
    benchmark:
        "logs/benchmarks/figure/{dataset}/{figure}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        regimes=REGIMES,
        style=figure_style,
    script:
        "../scripts/figure.py"


rule table:
    input:
        "results/{dataset}/summary/distances.csv",
    output:
        csv="results/{dataset}/tables/distances_{regime}.csv",
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
