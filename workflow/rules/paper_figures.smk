# What the paper's text says of its figures (paper_figures.csv) beside this run, with a verdict each
# (docs/paper.md).


rule paper_figures:
    input:
        history=lambda wc: fold_outputs("history.csv", wc.dataset),
        evaluation=lambda wc: fold_outputs("evaluation.csv", wc.dataset),
        robustness=lambda wc: fold_outputs("robustness.csv", wc.dataset),
        clever=lambda wc: fold_outputs("clever.csv", wc.dataset),
    output:
        csv=report(
            "results/{dataset}/tables/paper_figures.csv",
            caption="../report/paper_figures.rst",
            category="{dataset}",
            subcategory="paper comparison",
        ),
        md="results/{dataset}/tables/paper_figures.md",
    log:
        "logs/paper_figures/{dataset}.log",
    benchmark:
        "logs/benchmarks/paper_figures/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        paper=lambda wc: paper_dataset(wc.dataset),
        # [regime, fold] of each input, in their order
        fold_keys=fold_keys(),
        regimes=paper_regimes(),
        cw=cw_attack(),
        warmup=STATISTICS["warmup"],
        confidence=STATISTICS["confidence"],
        clever_radius=config["robustness"]["clever"]["radius"],
    script:
        "../scripts/paper_figures.py"
