# The paper's Tables 2–5 beside this run's distances, for datasets the paper used (docs/paper.md).


rule paper_comparison:
    input:
        "results/{dataset}/summary/distances.csv",
    output:
        csv=report(
            "results/{dataset}/tables/paper_comparison.csv",
            caption="../report/paper_comparison.rst",
            category="{dataset}",
            subcategory="paper comparison",
        ),
        md="results/{dataset}/tables/paper_comparison.md",
    log:
        "logs/paper_comparison/{dataset}.log",
    benchmark:
        "logs/benchmarks/paper_comparison/{dataset}.tsv"
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        paper=lambda wc: paper_dataset(wc.dataset),
        regimes=paper_regimes(),
        attacks={a: config["attacks"][a]["method"] for a in ATTACKS},
    script:
        "../scripts/paper_comparison.py"
