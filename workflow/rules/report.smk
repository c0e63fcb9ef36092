# Fold summaries, the paper's figures and distance tables: each its own target; the claims; the
# provenance record written beside a dataset's results once they are all there.


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


rule figure:
    input:
        unpack(figure_inputs),
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
        attack=cw_attack(),
    script:
        "../scripts/figure.py"


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


rule statistics:
    input:
        evaluation=lambda wc: fold_outputs("evaluation.csv", wc.dataset),
        robustness=lambda wc: fold_outputs("robustness.csv", wc.dataset),
        distances="results/{dataset}/summary/distances.csv",
        whitebox=lambda wc: fold_outputs("whitebox.csv", wc.dataset),
        clever=lambda wc: fold_outputs("clever.csv", wc.dataset),
        images=lambda wc: fold_outputs("evaluation_images.csv", wc.dataset),
    output:
        trends="results/{dataset}/summary/trends.csv",
        csv=report(
            "results/{dataset}/tables/claims.csv",
            caption="../report/claims.rst",
            category="{dataset}",
            subcategory="claims",
        ),
        md="results/{dataset}/tables/claims.md",
    log:
        "logs/statistics/{dataset}.log",
    benchmark:
        "logs/benchmarks/statistics/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        # [regime, fold] of each evaluation, robustness, whitebox, clever and images input, in their order
        fold_keys=fold_keys(),
        statistics=canonical(STATISTICS),
        cw=cw_attack(),
        linf_attacks={a: p["eps"] for a, p in attacks_by_method("fgsm", "pgd").items()},
    script:
        "../scripts/statistics.py"


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
    script:
        "../scripts/provenance.py"
