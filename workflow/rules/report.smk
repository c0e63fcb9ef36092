# Fold summaries, the paper's figures and distance tables: each its own target.


def summary_inputs(wildcards):
    name, dataset = wildcards.summary, wildcards.dataset
    if name == "distances":
        return fold_outputs("distances/{attack}.csv", dataset, attack=ATTACKS)
    return fold_outputs(f"{name}.csv", dataset)


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
        lambda wc: expand(
            "results/{dataset}/summary/{summary}.csv",
            dataset=wc.dataset,
            summary=FIGURE_INPUTS[wc.figure],
        ),
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
    params:
        regimes=REGIMES,
        style=config["figures"],
    log:
        "logs/figure/{dataset}/{figure}.log",
    benchmark:
        "logs/benchmarks/figure/{dataset}/{figure}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=2000,
        runtime=10,
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
