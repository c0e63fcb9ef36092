# The trends and the paper's claims checked, each by the test of its kind (robustcurves/statistics/).


rule statistics:
    input:
        evaluation=lambda wc: fold_outputs("evaluation.csv", wc.dataset),
        robustness=lambda wc: fold_outputs("robustness.csv", wc.dataset),
        distances="results/{dataset}/summary/distances.csv",
        clever=lambda wc: fold_outputs("clever.csv", wc.dataset),
        images=lambda wc: fold_outputs("evaluation_images.csv", wc.dataset),
        whitebox_images=lambda wc: fold_outputs("whitebox_images.csv", wc.dataset),
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
        # [regime, fold] of each evaluation, robustness, clever, images and whitebox_images input, in their order
        fold_keys=fold_keys(),
        statistics=canonical(STATISTICS),
        cw=cw_attack(),
        linf_attacks={a: p["eps"] for a, p in attacks_by_method("fgsm", "pgd").items()},
    script:
        "../scripts/statistics.py"
